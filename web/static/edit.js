// The plot page's edit forms (the plot, its holders, shares and assets): each field is judged as it is
// typed, by the server's own rules (POST check-values), and the reason is written beside it; nothing is saved
// until the form is sent.
(function () {
  "use strict";
  var main = document.getElementById("edit-form");
  if (!main) return;
  var url = main.dataset.check;

  function watch(form) {
    var timer = null;
    function show(result) {
      form.querySelectorAll(".message").forEach(function (m) {
        var name = m.id.slice(2);
        var input = document.getElementById("f-" + name);
        var bad = result.problems && result.problems[name];
        var text = bad || (result.warnings && result.warnings[name]) || "";
        m.textContent = text;
        m.className = "message" + (bad ? " bad" : text ? " warn" : "");
        if (input) {
          if (bad) input.setAttribute("aria-invalid", "true");
          else input.removeAttribute("aria-invalid");
        }
      });
    }
    function judge() {
      fetch(url, {method: "POST", body: new FormData(form), credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (result) { if (result) show(result); })
        .catch(function () {});
    }
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(judge, 250);
    });
  }

  document.querySelectorAll("form.edit-form").forEach(watch);
})();
