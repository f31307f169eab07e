// Autosave: while a draft is open, send it every 20 seconds if anything changed,
// so a closed tab or a lost connection loses at most a few seconds of typing.
// Without JavaScript, "Save draft" does the same.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  var status = document.getElementById("autosave-status");
  if (!form || form.getAttribute("data-autosave") !== "on" || !window.fetch) { return; }
  var dirty = false;
  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("change", function () { dirty = true; });
  form.addEventListener("submit", function () { dirty = false; });

  function save() {
    if (!dirty) { return; }
    dirty = false;
    var data = new FormData(form);
    data.set("action", "autosave");
    // Not form.action: the buttons named "action" shadow that property.
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Autosave": "1" }
    }).then(function (response) {
      if (response.status === 204) {
        status.textContent = "Draft saved automatically at " + new Date().toLocaleTimeString("en-GB", { timeZone: "Europe/London", timeZoneName: "short" });
      } else {
        dirty = true;
        status.textContent = "Not saved automatically: press Save draft";
      }
    }).catch(function () {
      dirty = true;
      status.textContent = "Not saved: no connection. Keep this tab open.";
    });
  }
  window.setInterval(save, 20000);
}());
// What could identify the caller, checked by the server a moment after typing stops:
// the same marks a supervisor sees at review. Nothing is saved by the check.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  var panel = document.getElementById("pii-check");
  if (!form || !panel || !window.fetch) { return; }
  var url = panel.getAttribute("data-check-url");
  if (!url) { return; }
  var timer = null;
  function check() {
    var data = new FormData(form);
    data.delete("action");
    fetch(url, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null) { panel.innerHTML = html; } })
      .catch(function () { /* the next keystroke tries again */ });
  }
  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 800);
  });
}());
