/* The browser's own checks of required fields, lengths and numbers speak the browser's language
   ("Please fill out this field." on an English Windows). Give each one a Japanese message; the
   server checks everything again and answers in Japanese too. */
(function () {
  "use strict";
  function message(el) {
    var v = el.validity;
    if (v.valueMissing) {
      if (el.type === "file") { return "ファイルを選んでください。"; }
      if (el.tagName === "SELECT" || el.type === "radio") { return "選択肢から選んでください。"; }
      if (el.type === "checkbox") { return "この項目にチェックを入れてください。"; }
      return "この項目を入力してください。";
    }
    if (v.typeMismatch) {
      return el.type === "email" ? "メールアドレスの形式で入力してください。" : "入力の形式が正しくありません。";
    }
    if (v.tooLong) { return el.maxLength + "文字以内で入力してください。"; }
    if (v.tooShort) { return el.minLength + "文字以上で入力してください（現在" + el.value.length + "文字）。"; }
    if (v.badInput) { return "数値を半角で入力してください。"; }
    if (v.rangeUnderflow) { return el.min + "以上の値を入力してください。"; }
    if (v.rangeOverflow) { return el.max + "以下の値を入力してください。"; }
    if (v.stepMismatch) { return "入力できない値です。"; }
    if (v.patternMismatch) { return el.title || "入力の形式が正しくありません。"; }
    return "入力内容を確認してください。";
  }
  document.addEventListener("invalid", function (event) {
    var el = event.target;
    if (!el.setCustomValidity) { return; }
    el.setCustomValidity("");
    if (!el.validity.valid) { el.setCustomValidity(message(el)); }
  }, true);
  function reset(event) {
    if (event.target.setCustomValidity) { event.target.setCustomValidity(""); }
  }
  document.addEventListener("input", reset, true);
  document.addEventListener("change", reset, true);
})();
