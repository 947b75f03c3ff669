// The member pages' script (no inline handlers: the content security policy runs only files served here).
// - a button marked data-copy="<selector>" copies that field's value to the clipboard and says so for a moment
//   (data-copied); without the clipboard API (plain http on an intranet) it selects the text and uses the older
//   copy command, and the field stays selectable by hand either way.
(function () {
  "use strict";

  function copied(button) {
    var label = button.textContent;
    button.textContent = button.getAttribute("data-copied") || label;
    button.setAttribute("data-done", "1");
    window.setTimeout(function () { button.textContent = label; button.removeAttribute("data-done"); }, 2000);
  }

  function fallback(field, button) {
    field.focus();
    field.select();
    try {
      if (document.execCommand("copy")) copied(button);
    } catch (e) { /* the text stays selected for a manual copy */ }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var field = document.querySelector(button.getAttribute("data-copy"));
        if (!field) return;
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(function () { copied(button); },
                                                          function () { fallback(field, button); });
        } else {
          fallback(field, button);
        }
      });
    });
  });
})();
