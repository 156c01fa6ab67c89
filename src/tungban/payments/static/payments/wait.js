// Waits for a payment on the counter's screen or the kiosk: asks the order's status every few
// seconds and reloads the page once its state changes (no inline script: strict CSP).
(function () {
  "use strict";
  var panel = document.getElementById("pay-status");
  if (!panel || !panel.dataset.statusUrl) return;
  var shown = panel.dataset.state;
  var delay = 2000;
  function ask() {
    fetch(panel.dataset.statusUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      // given up after 10 s, so one hung request never stops the screen from following
      signal: window.AbortSignal && AbortSignal.timeout ? AbortSignal.timeout(10000) : undefined,
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (s && s.state !== shown) { window.location.reload(); return; }
        if (!s || !s.finished) { delay = Math.min(delay * 1.25, 10000); window.setTimeout(ask, delay); }
      })
      .catch(function () { window.setTimeout(ask, 10000); });
  }
  window.setTimeout(ask, delay);
})();
