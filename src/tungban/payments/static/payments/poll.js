// Follows a payment or an application on its page (issue 18): the element with
// data-status-url and data-value names the status URL and the value the page was drawn with;
// data-field names the answer's member to compare (default "value"). Every few seconds it asks
// the URL and reloads the page when that member differs; it stops when the answer says
// "finished" or after half an hour (the page's Refresh link stays). A request unanswered after
// 10 s is abandoned, so one hung request never stops the following ones.
// No inline script (strict CSP): served from 'self'. Used by the resident's pages, the counter
// and the kiosk.
(function () {
  "use strict";
  const live = document.querySelector("[data-status-url][data-value]");
  if (!live || !window.fetch) {
    return;
  }
  const field = live.dataset.field || "value";
  const every = 2000;
  const patience = 10000; // a request that hangs (a phone losing its network) is given up
  const until = Date.now() + 30 * 60 * 1000;
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
        if (String(body[field]) !== live.dataset.value) {
          window.location.reload();
          return;
        }
        if (body.finished === true) {
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
