/* The platform's authorization page (oidc/authorize.html): draws the app link's QR code with the
 * vendored qrcode-generator (core/static/core/vendor/), counts down, and polls the approval's
 * status until the resident answers in the app, then continues to the service. Its inputs are
 * data attributes of #waiting: data-status-url, data-complete-url, data-ttl (seconds).
 *
 * Issue 16: phone-first (on a narrow or touch screen the QR code, which that phone cannot scan,
 * is folded into its disclosure); the QR code and the number kept on screen when zoomed; the
 * countdown announced only at milestones (#timer-announce: 60 s, 30 s, expiry), and "More time"
 * offered from 30 s before the end (WCAG 2.2.1 Timing Adjustable): POST <id>/extend gives the
 * request a fresh time to live, within the server's cap. */
(function () {
  "use strict";
  var waiting = document.getElementById("waiting");
  if (!waiting) return;
  var WARN = 30; // seconds before the end: "More time" shown (WCAG 2.2.1 asks for at least 20)
  var box = document.getElementById("qr");
  var qr = qrcode(0, "M"); // error correction M, the smallest version that holds the URL
  qr.addData(box.dataset.text, "Byte");
  qr.make();
  box.innerHTML = qr.createSvgTag({ cellSize: 5, margin: 20, title: { text: box.dataset.title, id: "qr-title" } });
  var details = document.getElementById("qr-details");
  var phone = window.matchMedia("(max-width: 600px), (pointer: coarse)").matches;
  if (details && phone) details.open = false;
  // Zoomed in (e.g. 200%): bring the QR code and the number into view, once.
  var ways = waiting.querySelector(".login-ways");
  if (!phone && ways) {
    var r = ways.getBoundingClientRect();
    if (r.bottom > window.innerHeight || r.top < 0) ways.scrollIntoView({ block: r.height > window.innerHeight ? "start" : "end" });
  }
  var statusUrl = waiting.dataset.statusUrl;
  var completeUrl = waiting.dataset.completeUrl;
  var extendUrl = statusUrl.replace(/status$/, "extend");
  var end = Date.now() + (parseInt(waiting.dataset.ttl, 10) || 0) * 1000;
  var cd = document.getElementById("countdown");
  var live = document.getElementById("timer-announce");
  var more = document.getElementById("more-time");
  var canExtend = true;
  var said = {};
  function say(key, n) {
    live.textContent = live.dataset[key].replace("{n}", n);
  }
  function tick() {
    var left = Math.max(0, Math.round((end - Date.now()) / 1000));
    cd.textContent = left;
    if (left <= 0) {
      more.hidden = true;
      if (!said.expired) { said.expired = true; say("expired"); }
      return;
    }
    if (left <= WARN && canExtend) {
      more.hidden = false;
      if (!said.warn) { said.warn = true; say("warn", left); }
    } else if (left <= 60 && left > WARN && !said.minute) { said.minute = true; say("minute"); }
  }
  more.addEventListener("click", function () {
    more.disabled = true;
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    fetch(extendUrl, { method: "POST", credentials: "same-origin", cache: "no-store", headers: { "X-CSRFToken": token ? token.value : "" } }).then(function (r) { return r.json(); }).then(function (d) {
      more.disabled = false;
      if (typeof d.expires_in !== "number") return;
      end = Date.now() + d.expires_in * 1000;
      canExtend = !!d.can_extend;
      said = {};
      more.hidden = true;
      tick();
      say("extended", d.expires_in);
    }).catch(function () { more.disabled = false; });
  });
  tick();
  setInterval(tick, 1000);
  // a status request unanswered after 10 s is given up (a phone losing its network), so one
  // hung request never stops the page from following the app's decision
  function patience() {
    return window.AbortSignal && AbortSignal.timeout ? AbortSignal.timeout(10000) : undefined;
  }
  function poll() {
    fetch(statusUrl, { credentials: "same-origin", cache: "no-store", signal: patience() }).then(function (r) { return r.json(); }).then(function (d) {
      if (d.status && d.status !== "pending") { window.location.assign(completeUrl); return; }
      setTimeout(poll, 1000);
    }).catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 1000);
})();
