// The alerts pages' live parts (no inline script: the content security policy runs only files served here).
// An element with data-live-unread="/alerts/live" is the unread badge: an EventSource on that console endpoint
// (same origin; the console relays the alerts service's stream) sets its number on each "unread" event, and an
// "alert" event shows the #live-note ("new alerts, reload"). The console answers 204 once the session is over,
// which stops EventSource; when the stream drops otherwise, a new one is opened after a pause.
(function () {
  "use strict";

  function watch(badge) {
    var url = badge.getAttribute("data-live-unread");
    var note = document.getElementById("live-note");
    var source = null;

    function open() {
      source = new EventSource(url);
      source.addEventListener("unread", function (event) {
        var count = parseInt(event.data, 10);
        if (isNaN(count)) return;
        badge.textContent = String(count);
        badge.classList.toggle("badge-zero", count === 0);
        badge.setAttribute("data-count", String(count));
      });
      source.addEventListener("alert", function () {
        if (note) note.hidden = false;
      });
      source.addEventListener("signedout", function () {
        source.close();
      });
      source.addEventListener("error", function () {
        // CLOSED: the console said no more (204, a signed-out session) or the connection failed for good
        if (source.readyState === EventSource.CLOSED) {
          window.setTimeout(function () {
            if (document.visibilityState !== "hidden") open();
          }, 15000);
        }
      });
    }

    open();
    window.addEventListener("pagehide", function () { if (source) source.close(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-unread]").forEach(watch);
    var note = document.getElementById("live-note");
    var reload = note ? note.querySelector("a") : null;
    if (reload) {
      reload.addEventListener("click", function (event) {
        event.preventDefault();
        window.location.reload();
      });
    }
  });
})();
