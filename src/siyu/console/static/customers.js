// Customers list: a "select all" box in the header of the selection column. An extra: without
// JavaScript each row is still ticked by hand.
(function () {
  "use strict";

  function addSelectAll(root) {
    root.querySelectorAll(".bulk-form th.select").forEach(function (header) {
      if (header.querySelector("input")) return;
      var form = header.closest("form");
      var box = document.createElement("input");
      box.type = "checkbox";
      box.setAttribute("aria-label", header.textContent.trim());
      header.textContent = "";
      header.appendChild(box);
      box.addEventListener("change", function () {
        form.querySelectorAll('input[name="ids"]').forEach(function (row) { row.checked = box.checked; });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { addSelectAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { addSelectAll(event.target); });
})();
