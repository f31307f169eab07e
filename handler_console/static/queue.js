// The queue refreshes itself: fetch the table body every few seconds and swap it in.
// The tab's title shows how many callers wait, and a handler who asks for it hears a
// short tone when one joins. Without JavaScript the page still works, with its
// Refresh link. Times are UK time, labelled as the server labels them (clock.js).
(function () {
  "use strict";
  var table = document.getElementById("queue");
  var body = document.getElementById("queue-rows");
  var stamp = document.getElementById("queue-updated");
  var soundChoice = document.getElementById("sound-choice");
  var sound = document.getElementById("queue-sound");
  if (!table || !body || !window.fetch) { return; }
  var url = table.getAttribute("data-rows-url");
  var seconds = parseInt(table.getAttribute("data-refresh-seconds"), 10) || 5;
  var baseTitle = document.title;
  var waiting = parseInt(table.getAttribute("data-waiting"), 10) || 0;

  function showCount(count) {
    document.title = (count ? "(" + count + " waiting) " : "") + baseTitle;
  }

  function beep() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) { return; }
    var context = new Context();
    var tone = context.createOscillator();
    var gain = context.createGain();
    tone.frequency.value = 880;
    gain.gain.value = 0.1;
    tone.connect(gain);
    gain.connect(context.destination);
    tone.start();
    tone.stop(context.currentTime + 0.25);
  }

  if (soundChoice && sound && window.localStorage) {
    soundChoice.hidden = false;
    sound.checked = window.localStorage.getItem("queue-sound") === "on";
    sound.addEventListener("change", function () {
      window.localStorage.setItem("queue-sound", sound.checked ? "on" : "off");
    });
  }
  showCount(waiting);

  function refresh() {
    // Do not swap rows under a handler who is pressing a Take button.
    if (body.contains(document.activeElement)) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected || !response.ok) {
          // Signed out (idle) or refused: load the page, which shows why.
          window.location.reload();
          return null;
        }
        return response.text();
      })
      .then(function (html) {
        if (html === null || html === undefined) { return; }
        body.innerHTML = html;
        var count = body.querySelectorAll("tr[data-call]").length;
        if (count > waiting && sound && sound.checked) { beep(); }
        waiting = count;
        table.setAttribute("data-waiting", String(count));
        showCount(count);
        if (stamp) { stamp.textContent = "Updated " + window.ukTime(new Date()); }
      })
      .catch(function () {
        if (stamp) { stamp.textContent = "Could not refresh: check the connection"; }
      });
  }
  window.setInterval(refresh, seconds * 1000);
}());
