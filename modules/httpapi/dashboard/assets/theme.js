// Applies the theme the operator chose before the page is drawn, so a dark page never flashes light. Without a
// stored choice no data-theme is set and the stylesheet follows prefers-color-scheme. app.js owns the toggle.
"use strict";
(function () {
  try {
    var t = localStorage.getItem("joyride-theme");
    if (t === "dark" || t === "light") document.documentElement.dataset.theme = t;
  } catch (e) {
    // Storage refused (private mode, disabled cookies): the system's preference applies.
  }
})();
