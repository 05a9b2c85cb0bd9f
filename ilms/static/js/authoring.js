/* Authoring pages: the live preview of lesson texts, and a question before deleting.
   Everything here only adds to pages that work without it: the lesson form has a Preview button
   that renders the same previews on the server, and delete buttons work without confirmation. */
(function () {
  "use strict";

  var DELAY_MS = 400;

  function livePreview(form) {
    var url = form.getAttribute("data-preview-url");
    var token = form.querySelector("input[name=csrf_token]");
    if (!url || !token) {
      return;
    }
    form.querySelectorAll("textarea[data-preview]").forEach(function (area) {
      var target = document.getElementById(area.getAttribute("data-preview"));
      var timer = null;
      var latest = 0;
      if (!target) {
        return;
      }
      area.addEventListener("input", function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(function () {
          var ticket = ++latest;
          window.fetch(url, {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRFToken": token.value },
            body: JSON.stringify({ text: area.value })
          }).then(function (response) {
            return response.ok ? response.json() : null;
          }).then(function (data) {
            // Only the answer to the newest request counts: older ones may arrive late.
            if (data && ticket === latest) {
              target.innerHTML = data.html;  // sanitised by the server (nh3)
            }
          }).catch(function () { /* the Preview button still works */ });
        }, DELAY_MS);
      });
    });
  }

  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) {
          event.preventDefault();
        }
      });
    });
  }

  document.querySelectorAll("form[data-preview-url]").forEach(livePreview);
  confirmations();
}());
