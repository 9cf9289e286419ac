/* The chosen file's name in the Japanese file chooser (templates/admin/_file_input.html); the
   label's first text comes back when the choice is cleared. */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.classList || !input.classList.contains("custom-file-input")) { return; }
    var label = input.parentNode.querySelector(".custom-file-label");
    if (!label) { return; }
    if (!label.hasAttribute("data-empty")) { label.setAttribute("data-empty", label.textContent); }
    label.textContent = input.files && input.files.length ? input.files[0].name
                                                          : label.getAttribute("data-empty");
  }, true);
})();
