// trainyard site: sorting and filtering of tables marked .sortable /
// .filterable. Only an enhancement: every page reads the same without it.
(function () {
  "use strict";
  function cellValue(row, index) {
    var cell = row.cells[index];
    return cell ? cell.textContent.trim() : "";
  }
  function compare(a, b) {
    var x = parseFloat(a), y = parseFloat(b);
    var numeric = /^[-+]?[0-9.]+(e[-+]?[0-9]+)?$/i;
    if (numeric.test(a) && numeric.test(b)) { return x - y; }
    return a < b ? -1 : a > b ? 1 : 0;
  }
  function makeSortable(table) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(headers, function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var order = compare(cellValue(r1, index), cellValue(r2, index));
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }
  function makeFilterable(table) {
    var wrapper = document.createElement("p");
    wrapper.className = "filter";
    var label = document.createElement("label");
    label.textContent = "Filter runs: ";
    var input = document.createElement("input");
    input.type = "search";
    input.id = table.id + "-filter";
    input.placeholder = "branch, mode, outcome, run id…";
    label.htmlFor = input.id;
    wrapper.appendChild(label);
    wrapper.appendChild(input);
    var container = table.parentNode.classList.contains("scroll") ? table.parentNode : table;
    container.parentNode.insertBefore(wrapper, container);
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var text = row.textContent.toLowerCase();
        row.hidden = !words.every(function (word) { return text.indexOf(word) !== -1; });
      });
    });
  }
  document.querySelectorAll("table.sortable").forEach(makeSortable);
  document.querySelectorAll("table.filterable").forEach(makeFilterable);
})();
