/* The commune page: a finding's plot outlined on the map when its row is hovered, the map pans to it on a
   click; the bulk form's selection counted, "select all" ticks the page's rows. */
(function () {
  "use strict";
  var frame = document.getElementById("review-map");
  function reviewMap() {
    try { return frame && frame.contentWindow && frame.contentWindow.geolandMap; } catch (e) { return null; }
  }
  document.querySelectorAll("tr[data-plot]").forEach(function (row) {
    var plot = Number(row.dataset.plot);
    row.addEventListener("mouseenter", function () { var m = reviewMap(); if (m) m.highlight(plot, false); });
    row.addEventListener("focusin", function () { var m = reviewMap(); if (m) m.highlight(plot, false); });
    row.addEventListener("click", function (e) {
      if (e.target.closest("a, input, button, select, label")) return;
      var m = reviewMap();
      if (m) m.highlight(plot, true);
      document.querySelectorAll("tr.current").forEach(function (r) { r.classList.remove("current"); });
      row.classList.add("current");
    });
  });
  var boxes = document.querySelectorAll("input[name=ids]"), all = document.getElementById("select-all");
  var count = document.getElementById("selected-count");
  function counted() {
    var n = 0;
    boxes.forEach(function (b) { if (b.checked) n++; });
    if (count) count.textContent = String(n);
    if (all) { all.checked = n > 0 && n === boxes.length; all.indeterminate = n > 0 && n < boxes.length; }
  }
  boxes.forEach(function (b) { b.addEventListener("change", counted); });
  if (all) all.addEventListener("change", function () { boxes.forEach(function (b) { b.checked = all.checked; }); counted(); });
  counted();
})();
