/* Client form (and the set-up's company step): fill the fields from ANAF's registry by CUI
   (efactura:registry-lookup, JSON). The form works the same without it; when ANAF does not answer,
   a line under the field says so. data-registry-cui names the CUI input (default id_tax_id) and
   data-registry-map renames the registry's client fields to the form's (name -> legal_name). */
(function () {
  "use strict";
  var form = document.querySelector("form[data-registry-url]");
  if (!form) return;
  var url = form.getAttribute("data-registry-url");
  var cui = document.getElementById(form.getAttribute("data-registry-cui") || "id_tax_id");
  var rename = JSON.parse(form.getAttribute("data-registry-map") || "{}");
  function target(name) { return rename[name] || name; }
  var button = document.getElementById("registry-fill");
  var status = document.getElementById("registry-status");
  if (!cui || !button || !status) return;
  var bar = document.getElementById("registry-bar");
  var field = cui.closest(".field");
  if (bar && field) { field.appendChild(bar); }
  if (bar) bar.hidden = false;
  var texts = JSON.parse(document.getElementById("registry-texts").textContent);
  var busy = false;

  function say(text, kind) {
    status.textContent = text;
    status.className = "registry-status small" + (kind ? " registry-" + kind : "");
  }

  function fill(fields) {
    // A Bucharest address comes as city "SECTORn": the form shows "București" and the sector.
    var sector = form.querySelector("#id_sector"), m = /^SECTOR(\d)$/.exec(fields.city || "");
    if (sector && m) { fields = Object.assign({}, fields, {city: "București", sector: m[1]}); }
    Object.keys(fields).forEach(function (name) {
      var el = form.querySelector("#id_" + target(name));
      var value = fields[name];
      if (!el || value === null || value === undefined) return;
      if (el.type === "checkbox") el.checked = !!value;
      else el.value = value;
      el.dispatchEvent(new Event("change", {bubbles: true}));
    });
  }

  function lookup() {
    var value = cui.value.trim();
    if (!value || busy) return;
    busy = true;
    button.disabled = true;
    say(texts.asking, "");
    fetch(url + "?cui=" + encodeURIComponent(value), {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) { return {status: r.status, body: body}; });
      })
      .then(function (res) {
        if (res.status === 200 && res.body.found) {
          fill(res.body.fields || {});
          var note = texts.filled;
          if (res.body.inactive) note += " " + texts.inactive;
          say(note, res.body.inactive ? "warning" : "ok");
        } else if (res.status === 404) {
          say(texts.not_found, "warning");
        } else if (res.status === 400 && res.body.error) {
          say(res.body.error.message, "error");
        } else {
          say(texts.unavailable, "warning");
        }
      })
      .catch(function () { say(texts.unavailable, "warning"); })
      .then(function () { busy = false; button.disabled = false; });
  }

  button.addEventListener("click", function (e) { e.preventDefault(); lookup(); });
  // A new client whose CUI was just typed: look it up once, without a click, if the name is empty.
  cui.addEventListener("change", function () {
    var name = form.querySelector("#id_" + target("name"));
    if (name && !name.value.trim()) lookup();
  });
})();
