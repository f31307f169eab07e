// On a narrow screen the menu folds behind a "Menu" button. Without JavaScript the
// button stays hidden and the menu wraps onto several lines instead: still usable.
(function () {
  "use strict";
  var button = document.getElementById("menu-toggle");
  var menu = document.getElementById("menu");
  if (!button || !menu) { return; }
  document.documentElement.classList.add("js-menu");
  button.hidden = false;
  button.addEventListener("click", function () {
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    menu.classList.toggle("open", open);
  });
}());
