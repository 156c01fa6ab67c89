// Follows a payment on its page (issue 18): asks the status URL in #live[data-status-url]
// every few seconds and reloads the page when the answer's "value" is no longer the one the
// page was drawn with (#live[data-value]). No inline script (strict CSP): served from 'self'.
(function () {
  "use strict";
  const live = document.getElementById("live");
  if (!live || !live.dataset.statusUrl || !window.fetch) {
    return;
  }
  const every = 2000;
  const until = Date.now() + 30 * 60 * 1000; // stop after half an hour: the Refresh link stays
  async function check() {
    try {
      const answer = await fetch(live.dataset.statusUrl, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (answer.ok) {
        const body = await answer.json();
        if (body.value !== live.dataset.value) {
          window.location.reload();
          return;
        }
      }
    } catch (e) {
      // offline for a moment: try again
    }
    if (Date.now() < until) {
      window.setTimeout(check, every);
    }
  }
  window.setTimeout(check, every);
})();
