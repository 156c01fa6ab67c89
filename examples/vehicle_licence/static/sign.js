/* Pages waiting for the resident's answer in the tungban app (signing the declaration,
   the address from the Water Supplies Department): ask this service for the result until
   the resident has answered, then reload (the page then shows the result, or goes back to
   the form). Works without this script too: the "check now" link reloads the page. */
(function () {
  "use strict";
  var box = document.getElementById("sign-pending") || document.getElementById("address-pending");
  if (!box) return;
  var url = box.getAttribute("data-status-url");
  var every = Math.max(500, Number(box.getAttribute("data-poll-ms")) || 2000);
  var expires = Number(box.getAttribute("data-expires")) || 0;
  var countdown = box.querySelector("[data-template]");
  var template = countdown ? countdown.getAttribute("data-template") || "" : "";

  function tick() {
    if (!countdown || !expires || template.indexOf("{time}") < 0) return;
    var left = Math.max(0, Math.floor(expires - Date.now() / 1000));
    countdown.textContent = template.replace("{time}", Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0"));
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (data) {
        if (data && data.status && data.status !== "pending") {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, every);
      })
      .catch(function () { window.setTimeout(poll, every); });
  }

  tick();
  window.setInterval(tick, 1000);
  window.setTimeout(poll, every);
})();
