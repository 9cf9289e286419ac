/* 実務者会議: filter the rows, mark and count the rows that will be saved. The server decides
   what changed; this only helps the eye across a long list. */
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  if (!form) { return; }
  var rows = Array.prototype.slice.call(form.querySelectorAll("tr[data-case-row]"));
  var counter = document.getElementById("changed-count");

  function isChanged(row) {
    var text = row.querySelector("textarea");
    if (!text) { return false; }
    if (text.value.trim()) { return true; }
    if (row.querySelector("input[type=checkbox]").checked) { return true; }
    return Array.prototype.some.call(row.querySelectorAll("select"), function (select) {
      return select.value !== select.dataset.initial;
    });
  }
  function recount() {
    var count = 0;
    rows.forEach(function (row) {
      var changed = isChanged(row);
      row.classList.toggle("table-warning", changed);
      if (changed) { count += 1; }
    });
    counter.textContent = String(count);
  }
  form.addEventListener("input", recount);
  form.addEventListener("change", recount);
  recount();

  var filter = document.getElementById("review-filter");
  filter.addEventListener("input", function () {
    var term = filter.value.trim().toLowerCase();
    rows.forEach(function (row) {
      row.classList.toggle("d-none", term && row.dataset.search.toLowerCase().indexOf(term) < 0);
    });
  });
  filter.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); }
  });
})();
