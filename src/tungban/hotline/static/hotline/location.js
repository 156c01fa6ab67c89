// "Use my location" (issue 22): a progressive enhancement of the 1823 case form. Without
// JavaScript, or without geolocation, the button stays hidden and the person types the place.
(function () {
  "use strict";
  var button = document.getElementById("use-location");
  if (!button || !("geolocation" in navigator)) return;
  var status = document.getElementById("location-status");
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        document.getElementById("lat").value = pos.coords.latitude.toFixed(6);
        document.getElementById("long").value = pos.coords.longitude.toFixed(6);
        status.textContent = "";
      },
      function () {
        status.textContent = button.dataset.failed;
      },
      { enableHighAccuracy: true, timeout: 15000 }
    );
  });
})();
