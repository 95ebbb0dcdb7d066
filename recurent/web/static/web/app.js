/* Small progressive enhancements; every page works without them. */
(function () {
  "use strict";
  // Tabs: buttons with data-tab="id" show the panel with that id, and remember it in the URL hash.
  function setupTabs(root) {
    root.querySelectorAll("[data-tabs]").forEach(function (bar) {
      var buttons = bar.querySelectorAll("[data-tab]");
      function show(id) {
        buttons.forEach(function (b) {
          var on = b.getAttribute("data-tab") === id;
          b.setAttribute("aria-selected", on ? "true" : "false");
          var panel = document.getElementById(b.getAttribute("data-tab"));
          if (panel) panel.hidden = !on;
        });
      }
      buttons.forEach(function (b) {
        b.addEventListener("click", function (e) {
          e.preventDefault();
          show(b.getAttribute("data-tab"));
          history.replaceState(null, "", "#" + b.getAttribute("data-tab"));
        });
      });
      var wanted = location.hash.slice(1);
      var initial = bar.querySelector('[data-tab="' + wanted + '"]') ? wanted : null;
      // A panel holding a validation error opens first (before the one remembered in the URL).
      var marked = bar.querySelector(".tab-error");
      if (marked) initial = marked.getAttribute("data-tab");
      if (!initial) {
        buttons.forEach(function (b) {
          var p = document.getElementById(b.getAttribute("data-tab"));
          if (!initial && p && p.querySelector(".has-error, .errorlist")) initial = b.getAttribute("data-tab");
        });
      }
      show(initial || buttons[0].getAttribute("data-tab"));
      // The error banner's links open the tab that holds the error.
      document.querySelectorAll("[data-open-tab]").forEach(function (a) {
        a.addEventListener("click", function (e) {
          if (!bar.querySelector('[data-tab="' + a.getAttribute("data-open-tab") + '"]')) return;
          e.preventDefault();
          show(a.getAttribute("data-open-tab"));
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { setupTabs(document); });
  document.addEventListener("htmx:load", function (e) { if (e.target.querySelectorAll) setupTabs(e.target); });
  // Confirm dangerous actions: <button data-confirm="...">.
  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) e.preventDefault();
  });
})();
