/* The top bar's grouped menus are <details>/<summary> (they open and close without script,
   by mouse or Enter/Space). This adds what a dropdown is expected to do: one open at a time,
   closed by a click or a tap outside, by Escape (focus back on its title) and when keyboard
   focus moves on past it. */
(function () {
  "use strict";

  function menus() { return document.querySelectorAll("#mainnav details.navmenu"); }

  function closeAll(except) {
    menus().forEach(function (m) { if (m !== except) { m.open = false; } });
  }

  // "toggle" does not bubble: listen while it travels down.
  document.addEventListener("toggle", function (e) {
    var m = e.target;
    if (m.matches && m.matches("#mainnav details.navmenu") && m.open) { closeAll(m); }
  }, true);

  document.addEventListener("click", function (e) {
    if (!e.target.closest || !e.target.closest("#mainnav details.navmenu")) { closeAll(null); }
  });

  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") { return; }
    var open = document.querySelector("#mainnav details.navmenu[open]");
    if (!open) { return; }
    open.open = false;
    open.querySelector("summary").focus();
  });

  document.addEventListener("focusout", function (e) {
    var m = e.target.closest && e.target.closest("#mainnav details.navmenu");
    if (m && e.relatedTarget && !m.contains(e.relatedTarget)) { m.open = false; }
  });
})();
