/* hexmesh UI: copy buttons, snippet tabs and the access forms' token. Progressive enhancement: every page works without it. */
(function () {
  "use strict";
  var live = document.createElement("div");
  live.className = "visually-hidden";
  live.setAttribute("aria-live", "polite");
  document.addEventListener("DOMContentLoaded", function () { document.body.appendChild(live); });

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    var label = button.querySelector("span");
    copy(source.textContent).then(function () {
      button.classList.add("is-done");
      if (label) { label.textContent = "Copied"; }
      live.textContent = "Copied to the clipboard";
      setTimeout(function () {
        button.classList.remove("is-done");
        if (label) { label.textContent = "Copy"; }
      }, 1800);
    }, function () {
      if (label) { label.textContent = "Select and copy"; }
      live.textContent = "Copying failed; select the text and copy it";
    });
  });

  function setupTabs(root) {
    var tabs = Array.prototype.slice.call(root.querySelectorAll('[role="tab"]'));
    function select(tab, focus) {
      tabs.forEach(function (t) {
        var on = t === tab;
        t.setAttribute("aria-selected", on ? "true" : "false");
        t.tabIndex = on ? 0 : -1;
        document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
      });
      if (focus) { tab.focus(); }
    }
    tabs.forEach(function (tab, i) {
      tab.addEventListener("click", function () { select(tab, false); });
      tab.addEventListener("keydown", function (e) {
        var next = null;
        if (e.key === "ArrowRight") { next = tabs[(i + 1) % tabs.length]; }
        if (e.key === "ArrowLeft") { next = tabs[(i - 1 + tabs.length) % tabs.length]; }
        if (e.key === "Home") { next = tabs[0]; }
        if (e.key === "End") { next = tabs[tabs.length - 1]; }
        if (next) { e.preventDefault(); select(next, true); }
      });
    });
    root.classList.add("is-tabbed");
    if (tabs.length) { select(tabs[0], false); }
  }

  // The API token of access-request forms: typed once per tab, kept in sessionStorage (gone with
  // the tab, never sent as a cookie), and put back into empty token fields.
  var TOKEN = "hexmesh-token";
  function remember(form) {
    var field = form.querySelector("[data-token]");
    try { if (field && field.value) { sessionStorage.setItem(TOKEN, field.value); } } catch (e) { /* storage off */ }
  }
  document.addEventListener("submit", function (event) {
    if (event.target.matches && event.target.matches("[data-token-form]")) { remember(event.target); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-tabs]"), setupTabs);
    var saved = null;
    try { saved = sessionStorage.getItem(TOKEN); } catch (e) { saved = null; }
    if (saved) {
      Array.prototype.forEach.call(document.querySelectorAll("input[data-token]"), function (field) {
        if (!field.value) { field.value = saved; }
      });
    }
  });
})();
