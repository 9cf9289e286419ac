/* 新規受理: add companion rows, and offer women already registered under the name typed.
   Everything here only helps; the server decides (and offers the same women on save). */
(function () {
  "use strict";
  var form = document.getElementById("intake-form");
  if (!form) { return; }

  var companions = document.getElementById("companions");
  var template = document.getElementById("companion-template");
  document.getElementById("add-companion").addEventListener("click", function () {
    var index = companions.querySelectorAll(".companion-row").length;
    var html = template.innerHTML.replace(/__index__/g, String(index));
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var row = holder.firstElementChild;
    companions.insertBefore(row, document.getElementById("no-companions"));
    document.getElementById("no-companions").classList.add("d-none");
    row.querySelector("input").focus();
  });

  var womanId = document.getElementById("woman_id");
  var chosen = document.getElementById("chosen-woman");
  var fresh = document.getElementById("new-woman");
  var box = document.getElementById("intake-candidates");
  function choose(woman) {
    womanId.value = woman ? String(woman.id) : "";
    chosen.classList.toggle("d-none", !woman);
    fresh.classList.toggle("d-none", !!woman);
    if (woman) {
      chosen.querySelector("[data-chosen-name]").textContent = woman.name;
      chosen.querySelector("[data-chosen-detail]").textContent =
        "（" + woman.furigana + "） " + woman.birth;
    }
  }
  document.getElementById("unchoose-woman").addEventListener("click", function () {
    choose(null);
  });

  function text(tag, content, className) {
    var el = document.createElement(tag);
    el.textContent = content;
    if (className) { el.className = className; }
    return el;
  }
  var timer = null;
  function lookup() {
    var name = form.elements.name.value.trim();
    var furigana = form.elements.furigana.value.trim();
    if (name.length < 2 && furigana.length < 2) { box.textContent = ""; return; }
    var url = box.dataset.url + "?name=" + encodeURIComponent(name) +
      "&furigana=" + encodeURIComponent(furigana);
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (women) {
        box.textContent = "";
        if (!women.length) { return; }
        var panel = document.createElement("div");
        panel.className = "alert alert-warning py-2 mb-0";
        panel.appendChild(text("div", box.dataset.title, "font-weight-bold mb-1"));
        women.forEach(function (woman) {
          var line = document.createElement("div");
          line.className = "d-flex align-items-center mb-1 candidate";
          var label = text("span", woman.name + "（" + woman.furigana + "） " + woman.birth,
                           "mr-auto");
          if (woman.cases.length) {
            label.appendChild(document.createTextNode(" ／ " + box.dataset.cases + ": "));
            woman.cases.forEach(function (c, i) {
              if (i) { label.appendChild(document.createTextNode("、")); }
              var open = text("a", c.number + "（" + c.status + "）");
              open.href = c.url;  // her case page, in a new tab: nothing typed here is lost
              open.target = "_blank";
              open.rel = "noopener";
              label.appendChild(open);
            });
          }
          line.appendChild(label);
          var pick = text("button", box.dataset.pick, "btn btn-sm btn-primary ml-2");
          pick.type = "button";
          pick.addEventListener("click", function () { choose(woman); });
          line.appendChild(pick);
          panel.appendChild(line);
        });
        box.appendChild(panel);
      })
      .catch(function () { box.textContent = ""; });
  }
  ["name", "furigana"].forEach(function (name) {
    form.elements[name].addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(lookup, 300);
    });
  });
})();
