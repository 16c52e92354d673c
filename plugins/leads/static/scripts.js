// Script editor: changing a step's type, an outcome's result or an action re-renders the editor (the
// hidden "Apply" button), so the fields that belong to the new choice appear. Without JavaScript the
// next button press does the same.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLSelectElement) || !target.hasAttribute("data-refresh")) return;
    var form = target.closest("form[data-script-editor]");
    var button = form && form.querySelector("[data-refresh-button]");
    if (button) button.click();
  });
})();
