// Follows a payment on its page (issue 18): asks the status URL in #live[data-status-url]
// every few seconds and reloads the page when the answer's "value" is no longer the one the
// page was drawn with (#live[data-value]); a request unanswered after 10 s is abandoned so one
// hung request never stops the following. No inline script (strict CSP): served from 'self'.
(function () {
  "use strict";
  const live = document.getElementById("live");
  if (!live || !live.dataset.statusUrl || !window.fetch) {
    return;
  }
  const every = 2000;
  const patience = 10000; // a request that hangs (a phone losing its network) is given up
  const until = Date.now() + 30 * 60 * 1000; // stop after half an hour: the Refresh link stays
  async function check() {
    const abort = window.AbortController ? new AbortController() : null;
    const timer = abort ? window.setTimeout(() => abort.abort(), patience) : null;
    try {
      const answer = await fetch(live.dataset.statusUrl, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store",
        signal: abort ? abort.signal : undefined,
      });
      if (answer.ok) {
        const body = await answer.json();
        if (body.value !== live.dataset.value) {
          window.location.reload();
          return;
        }
      }
    } catch (e) {
      // offline for a moment, or the request hung and was given up: try again
    } finally {
      if (timer) {
        window.clearTimeout(timer);
      }
    }
    if (Date.now() < until) {
      window.setTimeout(check, every);
    }
  }
  window.setTimeout(check, every);
})();
