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
  // Address fields: county and sector for Romania (sector only in Bucharest), region elsewhere.
  function setupAddress() {
    var country = document.getElementById("id_country"), county = document.getElementById("id_county");
    if (!country || !county) return;
    function box(id) { var el = document.getElementById(id); return el && el.closest(".field"); }
    function sync() {
      var ro = (country.value || "").trim().toUpperCase() === "RO";
      var pairs = [["id_county", ro], ["id_sector", ro && county.value === "RO-B"], ["id_region", !ro]];
      pairs.forEach(function (p) { var b = box(p[0]); if (b && !b.classList.contains("has-error")) b.hidden = !p[1]; });
    }
    country.addEventListener("input", sync);
    county.addEventListener("change", sync);
    sync();
  }
  document.addEventListener("DOMContentLoaded", setupAddress);
  // Copy buttons: <button data-copy="input id" data-copied="label after copying">.
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("[data-copy]");
    if (!b) return;
    var input = document.getElementById(b.getAttribute("data-copy"));
    if (!input) return;
    input.select();
    var done = function () { b.textContent = b.getAttribute("data-copied") || b.textContent; };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    else { document.execCommand("copy"); done(); }
  });
  // A choice that takes effect at once: <select data-autosubmit> (no inline handlers: CSP).
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("[data-autosubmit]") && e.target.form) e.target.form.submit();
  });
  // Confirm dangerous actions: <button data-confirm="...">.
  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) e.preventDefault();
  });
})();
