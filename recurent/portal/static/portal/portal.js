// The portal's only script: confirm before an irreversible request (<button data-confirm="...">),
// kept out of the page so the Content-Security-Policy allows no inline script.
document.addEventListener("click", function (e) {
  var el = e.target.closest && e.target.closest("[data-confirm]");
  if (el && !window.confirm(el.getAttribute("data-confirm"))) e.preventDefault();
});
