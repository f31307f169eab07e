// The queue refreshes itself: fetch the table body every few seconds and swap it in.
// Without JavaScript the page still works, with its Refresh link.
(function () {
  "use strict";
  var table = document.getElementById("queue");
  var body = document.getElementById("queue-rows");
  var stamp = document.getElementById("queue-updated");
  if (!table || !body || !window.fetch) { return; }
  var url = table.getAttribute("data-rows-url");
  var seconds = parseInt(table.getAttribute("data-refresh-seconds"), 10) || 5;

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
        if (stamp) { stamp.textContent = "Updated " + new Date().toLocaleTimeString("en-GB"); }
      })
      .catch(function () {
        if (stamp) { stamp.textContent = "Could not refresh: check the connection"; }
      });
  }
  window.setInterval(refresh, seconds * 1000);
}());
