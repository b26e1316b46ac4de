// Progressive enhancement only: every page works without this file.
// Hold countdowns: <time datetime="..." data-countdown> shows the minutes left, politely.
(function () {
  "use strict";
  function tick() {
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var left = Math.max(0, Math.round((Date.parse(el.getAttribute("datetime")) - Date.now()) / 1000));
      var text = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      if (el.textContent !== text) { el.textContent = text; }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("time[data-countdown]")) { tick(); setInterval(tick, 1000); }
  });
})();
