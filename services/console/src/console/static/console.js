// The console's own script: small, no inline handlers (the content security policy runs only files served here).
// - marks the page as scripted (the phone menu collapses only then: without script it stays open above the page);
// - the menu button on phone-sized screens;
// - the CSRF header on the page's own fetch() calls (htmx sends it from hx-headers on <body>);
// - a confirmation before forms marked data-confirm;
// - selects marked data-autosubmit submit their form when changed.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function csrfToken() {
    return document.body ? document.body.getAttribute("data-csrf-token") : null;
  }

  // fetch() to this origin with a changing method carries the session's CSRF token
  var plainFetch = window.fetch ? window.fetch.bind(window) : null;
  if (plainFetch) {
    window.fetch = function (input, init) {
      init = init || {};
      var method = (init.method || "GET").toUpperCase();
      var url = new URL(typeof input === "string" ? input : input.url, window.location.href);
      var token = csrfToken();
      if (token && url.origin === window.location.origin && ["GET", "HEAD", "OPTIONS"].indexOf(method) < 0) {
        var headers = new Headers(init.headers || {});
        if (!headers.has("X-CSRF-Token")) headers.set("X-CSRF-Token", token);
        init.headers = headers;
      }
      return plainFetch(input, init);
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.querySelector(".menu-toggle");
    if (toggle) {
      toggle.addEventListener("click", function () {
        var open = document.body.classList.toggle("menu-open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { if (select.form) select.form.requestSubmit(); });
    });
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute ? form.getAttribute("data-confirm") : null;
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);
})();
