// Autosave: while a draft is open, send it every 20 seconds if anything changed,
// so a closed tab or a lost connection loses at most a few seconds of typing.
// Without JavaScript, "Save draft" does the same.
// Each save names the version the page holds (the hidden "version" field) and gets the
// new one back: a save that meets a newer version (another tab, a submit) is refused
// with 409, and autosave then stops for good, so it never overwrites anything; the
// handler's own Save draft shows both versions. A submit waits for a save in flight.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  var status = document.getElementById("autosave-status");
  if (!form || form.getAttribute("data-autosave") !== "on" || !window.fetch) { return; }
  var version = form.querySelector("input[name=version]");
  var dirty = false;
  var stopped = false;
  var inFlight = null;
  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("change", function () { dirty = true; });
  form.addEventListener("submit", function (event) {
    if (inFlight) {
      // Let the autosave finish first: the button then posts the version it made.
      event.preventDefault();
      var button = event.submitter;
      inFlight.then(function () { form.requestSubmit(button); });
      return;
    }
    dirty = false;
    stopped = true;
  });

  function say(text, alarm) {
    status.textContent = text;
    status.setAttribute("role", alarm ? "alert" : "status");
    status.className = alarm ? "error" : "muted";
  }

  function save() {
    if (!dirty || stopped || inFlight) { return; }
    dirty = false;
    var data = new FormData(form);
    data.set("action", "autosave");
    // Not form.action: the buttons named "action" shadow that property.
    inFlight = fetch(form.getAttribute("action"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Autosave": "1" }
    }).then(function (response) {
      if (response.status === 204) {
        var now = response.headers.get("X-Report-Version");
        if (now && version) { version.value = now; }
        say("Draft saved automatically at " + window.ukTime(new Date()), false);
        return null;
      }
      if (response.status === 409) { stopped = true; }
      if (response.status === 409 || response.status === 422) {
        return response.text().then(function (text) { say(text, true); });
      }
      dirty = true;
      say("Not saved automatically: press Save draft", true);
      return null;
    }).catch(function () {
      dirty = true;
      say("Not saved: no connection. Keep this tab open.", true);
    }).then(function () { inFlight = null; });
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
