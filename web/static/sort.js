/* Sort a table by a header click (numbers as numbers); no library. */
document.querySelectorAll("table.sortable th").forEach(function (th, column) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0], rows = Array.from(body.rows);
    var numeric = th.dataset.type === "number", dir = th.dataset.dir === "asc" ? -1 : 1;
    rows.sort(function (a, b) {
      var x = a.cells[column].textContent.trim(), y = b.cells[column].textContent.trim();
      return dir * (numeric ? Number(x) - Number(y) : x.localeCompare(y, "vi"));
    });
    th.dataset.dir = dir === 1 ? "asc" : "desc";
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
