/* Japanese for the JavaScript widgets Flask-Admin bundles (Select2 3.x, daterangepicker 1.x).
   Select2 is loaded before this file; daterangepicker comes later with the list and form
   scripts, so its wrapper is installed on DOM ready, before those scripts build any widget. */
(function ($) {
  "use strict";
  if ($.fn.select2) {
    $.extend($.fn.select2.defaults, {
      formatNoMatches: function () { return "該当するものがありません"; },
      formatInputTooShort: function (input, min) { return "あと" + (min - input.length) + "文字入力してください"; },
      formatInputTooLong: function (input, max) { return (input.length - max) + "文字多すぎます"; },
      formatSelectionTooBig: function (limit) { return limit + "件までしか選べません"; },
      formatLoadMore: function () { return "読み込み中…"; },
      formatSearching: function () { return "検索中…"; },
      formatAjaxError: function () { return "読み込めませんでした"; }
    });
  }
  $(function () {
  if ($.fn.daterangepicker) {
    var original = $.fn.daterangepicker;
    var locale = {
      applyLabel: "適用", cancelLabel: "キャンセル", fromLabel: "開始", toLabel: "終了",
      weekLabel: "週", customRangeLabel: "期間を指定",
      daysOfWeek: ["日", "月", "火", "水", "木", "金", "土"],
      monthNames: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
      firstDay: 0
    };
    $.fn.daterangepicker = function (options, callback) {
      options = $.extend({}, options || {});
      options.locale = $.extend({}, locale, options.locale || {});
      return original.call(this, options, callback);
    };
  }
  });
})(jQuery);
