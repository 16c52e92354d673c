/* Leads: small behaviours the lead pages share (no inline scripts: CSP). */
(function () {
  "use strict";
  // A "select all" box ticks every box of the same name in its form.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[data-check-all]")) return;
    var form = box.form || box.closest("form");
    if (!form) return;
    form.querySelectorAll('input[type=checkbox][name="' + box.getAttribute("data-check-all") + '"]').forEach(function (other) {
      other.checked = box.checked;
    });
  });
})();
