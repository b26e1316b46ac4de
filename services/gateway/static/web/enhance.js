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
