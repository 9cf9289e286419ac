/* Flask-Admin's "add inline row" renames the new row's inputs (companions-0-name …) but not
   its labels, which keep pointing at the parent form's fields (for="name"). Point them at the
   row's own inputs, so a click or a screen reader lands on the right field. */
(function ($) {
  "use strict";
  $(function () {
    if (!window.faForm || !window.faForm.addInlineField) {
      return;
    }
    var add = window.faForm.addInlineField;
    window.faForm.addInlineField = function (el) {
      var result = add.apply(this, arguments);
      var $row = $(el).closest(".inline-field").find("> .inline-field-list > .inline-field").last();
      var prefix = $row.attr("id");
      $row.find("label[for]").each(function () {
        var target = $(this).attr("for");
        if (prefix && target && target.indexOf(prefix + "-") !== 0) {
          $(this).attr("for", prefix + "-" + target);
        }
      });
      return result;
    };
  });
})(jQuery);
