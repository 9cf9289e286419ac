/* Forms with a case picker: once a case is picked, a link beside it opens that case's page
   (the whole story of the case, in a new tab so nothing typed here is lost). */
(function ($) {
  "use strict";
  $(function () {
    var picker = document.getElementById("case");
    if (!picker) { return; }
    var link = document.createElement("a");
    link.className = "small ml-2 case-page-link";
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = picker.dataset.caseLinkLabel;
    picker.parentNode.appendChild(link);
    function update() {
      var id = (picker.value || "").split(",")[0];
      link.style.display = /^\d+$/.test(id) ? "" : "none";
      link.href = "/admin/case_page/?id=" + id;
    }
    $(picker).on("change", update);
    update();
  });
})(window.jQuery);
