// Progressive enhancement only: every page works without this file.
// Hold countdowns: <span data-countdown="ISO time" data-label="left"> shows "(left 14:58)"
// beside the expiry's clock time, which stays the reference for screen readers and no-JS.
(function () {
  "use strict";
  function tick() {
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = Math.max(0, Math.round((Date.parse(el.getAttribute("data-countdown")) - Date.now()) / 1000));
      var text = "(" + el.getAttribute("data-label") + " " + Math.floor(left / 60) + ":" +
        String(left % 60).padStart(2, "0") + ")";
      if (el.textContent !== text) { el.textContent = text; }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }  // GOV.UK: the error summary takes the focus
    if (document.querySelector("[data-countdown]")) {
      document.querySelectorAll("[data-countdown]").forEach(function (el) { el.setAttribute("aria-hidden", "true"); });
      tick();
      setInterval(tick, 1000);
    }
  });
})();
