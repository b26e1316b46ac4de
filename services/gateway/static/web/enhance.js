// Progressive enhancement only: every page works without this file.
// Hold countdowns: <span data-countdown="ISO time" data-label="left" data-hours="h"> shows
// "(left 14:58)", or "(left 71 h 59 min)" an hour or more ahead, beside the expiry's time
// (with its date when not today), which stays the reference for screen readers and no-JS.
(function () {
  "use strict";
  function tick() {
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = Math.max(0, Math.round((Date.parse(el.getAttribute("data-countdown")) - Date.now()) / 1000));
      // An hour or more (an approved request waits up to days): hours and minutes, not
      // thousands of minutes; "min" is the same word in fi, sv and en.
      var count = left >= 3600
        ? Math.floor(left / 3600) + " " + (el.getAttribute("data-hours") || "h") + " " +
          String(Math.floor((left % 3600) / 60)).padStart(2, "0") + " min"
        : Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      var text = "(" + el.getAttribute("data-label") + " " + count + ")";
      if (el.textContent !== text) { el.textContent = text; }
    });
  }
  // On a phone the main menu folds behind a "Menu" button (without JavaScript it stays open).
  function menu() {
    var toggle = document.querySelector(".menu-toggle");
    var nav = document.getElementById("main-nav");
    if (!toggle || !nav) { return; }
    var narrow = window.matchMedia("(max-width: 40rem)");
    function fold(open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("folded", !open);
    }
    function apply() { toggle.hidden = !narrow.matches; fold(!narrow.matches); }
    toggle.addEventListener("click", function () {
      fold(toggle.getAttribute("aria-expanded") !== "true");
    });
    narrow.addEventListener("change", apply);
    apply();
  }
  document.addEventListener("DOMContentLoaded", function () {
    menu();
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }  // GOV.UK: the error summary takes the focus
    if (document.querySelector("[data-countdown]")) {
      document.querySelectorAll("[data-countdown]").forEach(function (el) { el.setAttribute("aria-hidden", "true"); });
      tick();
      setInterval(tick, 1000);
    }
  });
})();
