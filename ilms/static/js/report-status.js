// Report pages: polls a report's or a PDF's status and, once it is ready or has failed, reloads the
// page (which then offers the download, or says what failed with a "Try again" button) or, on a
// dashboard, says so beside the figures. Without JavaScript the page's own "Check again" link does it.
(() => {
  const box = document.querySelector("[data-report-status]");
  if (!box || box.dataset.idle === "true") return;
  const url = box.dataset.reportStatus;
  const reload = box.dataset.reload === "true";
  const every = 4000;
  const giveUpAfter = 150; // ten minutes
  let tries = 0;

  async function check() {
    tries += 1;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const status = await response.json();
        if (status.ready || status.failed) {
          if (reload) {
            window.location.reload();
          } else {
            const message = box.querySelector("[data-message]");
            if (message) message.textContent = status.message;
          }
          return;
        }
      }
    } catch {
      // The network may be down for a moment: try again at the next tick.
    }
    if (tries < giveUpAfter) window.setTimeout(check, every);
  }

  window.setTimeout(check, every);
})();
