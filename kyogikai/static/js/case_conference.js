/* 個別ケース検討会議: add cases by number or name, answer the consent gate as agencies, cases
   and the date change, ask for an override's reason in place. The server decides on save. */
(function ($) {
  "use strict";
  var form = document.getElementById("conference-form");
  if (!form) { return; }
  var panels = document.getElementById("conference-cases");
  var search = document.getElementById("case-search");
  var results = document.getElementById("case-results");

  function caseIds() {
    return Array.prototype.map.call(panels.querySelectorAll(".conference-case"),
      function (panel) { return panel.dataset.caseId; });
  }
  function agencyIds() {
    return Array.prototype.map.call(
      form.querySelectorAll("#conference-agencies input:checked"), function (el) { return el.value; });
  }
  function nextIndex() {
    var max = -1;
    panels.querySelectorAll(".conference-case").forEach(function (panel) {
      max = Math.max(max, parseInt(panel.dataset.index, 10));
    });
    return max + 1;
  }

  function enhance(panel) {
    if ($ && $.fn.select2) {
      $(panel).find("select.role-multi").select2({width: "100%"});
    }
    var status = panel.querySelector(".case-status");
    var ended = (status.dataset.ended || "").split(",");
    status.addEventListener("change", function () {
      panel.querySelector(".end-reason").classList.toggle("d-none", ended.indexOf(status.value) < 0);
    });
    panel.querySelector(".remove-case").addEventListener("click", function () {
      panel.parentNode.removeChild(panel);
      refreshGate();
    });
  }
  panels.querySelectorAll(".conference-case").forEach(enhance);

  function showMembers() {
    var chosen = agencyIds();
    document.querySelectorAll("#members li").forEach(function (li) {
      var visible = chosen.indexOf(li.dataset.memberAgency) >= 0;
      var box = li.querySelector("input");
      li.classList.toggle("d-none", !visible && !box.checked);
    });
  }

  var gateTimer = null;
  function refreshGate() {
    clearTimeout(gateTimer);
    gateTimer = setTimeout(askGate, 150);
  }
  function askGate() {
    var ids = caseIds();
    if (!ids.length) { return; }
    var params = new URLSearchParams();
    params.append("held_on", form.elements.held_on.value);
    agencyIds().forEach(function (id) { params.append("agencies", id); });
    ids.forEach(function (id) { params.append("cases", id); });
    fetch(form.dataset.gateUrl + "?" + params.toString(),
          {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) {
        if (!answer) { return; }
        var waiting = !answer.held_on || !agencyIds().length;
        panels.querySelectorAll(".conference-case").forEach(function (panel) {
          var box = panel.querySelector("[data-gate]");
          var override = panel.querySelector("[data-override]");
          var missing = answer.cases[panel.dataset.caseId] || [];
          box.className = "gate-answer small mb-2 alert py-1 " +
            (waiting ? "alert-secondary" : (missing.length ? "alert-danger" : "alert-success"));
          box.textContent = waiting ? form.dataset.msgWait :
            (missing.length ? form.dataset.msgMissing + missing.join("、") : form.dataset.msgOk);
          var needs = !waiting && missing.length > 0;
          override.classList.toggle("d-none", !needs && !override.querySelector("textarea").value);
        });
      })
      .catch(function () {});
  }

  function addCase(id) {
    if (caseIds().indexOf(String(id)) >= 0) { return; }
    var url = form.dataset.panelUrl + "?case=" + encodeURIComponent(id) + "&index=" + nextIndex();
    fetch(url, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        if (!html) { return; }
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var panel = holder.querySelector(".conference-case");
        panels.appendChild(panel);
        enhance(panel);
        results.textContent = "";
        search.value = "";
        refreshGate();
      });
  }

  var searchTimer = null;
  search.addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      var q = search.value.trim();
      if (!q) { results.textContent = ""; return; }
      fetch(form.dataset.casesUrl + "?q=" + encodeURIComponent(q),
            {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (found) {
          results.textContent = "";
          if (!found.length) {
            var none = document.createElement("div");
            none.className = "list-group-item small text-muted";
            none.textContent = form.dataset.msgNone;
            results.appendChild(none);
            return;
          }
          found.forEach(function (item) {
            var button = document.createElement("button");
            button.type = "button";
            button.className = "list-group-item list-group-item-action py-1 small case-result";
            button.textContent = item.label;
            button.addEventListener("click", function () { addCase(item.id); });
            results.appendChild(button);
          });
        });
    }, 250);
  });
  search.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {  // Enter picks the first match instead of submitting the form
      event.preventDefault();
      var first = results.querySelector(".case-result");
      if (first) { first.click(); }
    }
  });

  form.querySelectorAll("#conference-agencies input").forEach(function (box) {
    box.addEventListener("change", function () { showMembers(); refreshGate(); });
  });
  form.elements.held_on.addEventListener("change", refreshGate);
  form.elements.held_on.addEventListener("input", refreshGate);
  showMembers();
  refreshGate();
})(window.jQuery);
