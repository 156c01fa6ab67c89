/* The platform's authorization page (oidc/authorize.html): draws the app link's QR code with the
 * vendored qrcode-generator (core/static/core/vendor/), counts down, and polls the approval's
 * status until the resident answers in the app, then continues to the service. Its inputs are
 * data attributes of #waiting: data-status-url, data-complete-url, data-ttl (seconds). */
(function () {
  "use strict";
  var waiting = document.getElementById("waiting");
  if (!waiting) return;
  var box = document.getElementById("qr");
  var qr = qrcode(0, "M"); // error correction M, the smallest version that holds the URL
  qr.addData(box.dataset.text, "Byte");
  qr.make();
  box.innerHTML = qr.createSvgTag({ cellSize: 5, margin: 20, title: { text: box.dataset.title, id: "qr-title" } });
  var statusUrl = waiting.dataset.statusUrl;
  var completeUrl = waiting.dataset.completeUrl;
  var left = parseInt(waiting.dataset.ttl, 10) || 0;
  var cd = document.getElementById("countdown");
  setInterval(function () { if (left > 0) { left -= 1; cd.textContent = left; } }, 1000);
  function poll() {
    fetch(statusUrl, { credentials: "same-origin", cache: "no-store" }).then(function (r) { return r.json(); }).then(function (d) {
      if (d.status && d.status !== "pending") { window.location.assign(completeUrl); return; }
      setTimeout(poll, 1000);
    }).catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 1000);
})();
