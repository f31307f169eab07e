// One UK clock for the console's scripts, written as the server writes it
// (handler_console/clock.py: "00:11:13 GMT"). The options are spelled out because
// Chromium's en-GB default writes the hour after midnight as "0:11:13".
(function () {
  "use strict";
  var format = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Europe/London",
    timeZoneName: "short",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23"
  });
  window.ukTime = function (date) { return format.format(date); };
}());
