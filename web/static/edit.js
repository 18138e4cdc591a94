// The plot edit form: each field is judged as it is typed, by the server's own rules (POST check-values),
// and the reason is written beside it; nothing is saved until the form is sent.
(function () {
  "use strict";
  var form = document.getElementById("edit-form");
  if (!form) return;
  var timer = null;
  function show(result) {
    form.querySelectorAll(".message").forEach(function (m) {
      var name = m.id.slice(2);
      var input = document.getElementById("f-" + name);
      var text = (result.problems && result.problems[name]) || (result.warnings && result.warnings[name]) || "";
      m.textContent = text;
      m.className = "message" + (result.problems && result.problems[name] ? " bad" : text ? " warn" : "");
      if (input) {
        if (result.problems && result.problems[name]) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
      }
    });
  }
  function check() {
    var body = new FormData(form);
    fetch(form.dataset.check, {method: "POST", body: body, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (result) { if (result) show(result); })
      .catch(function () {});
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 250);
  });
})();
