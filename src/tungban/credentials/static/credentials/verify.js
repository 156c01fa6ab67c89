/* 認證易: fill the form from a #vc=… link (the QR code of the app or of a printed
 * certificate) and submit it, so the credential travels in a POST body and never in a URL
 * a server logs; and, where the browser has BarcodeDetector, scan a QR code with the camera. */
(function () {
  "use strict";
  var form = document.getElementById("verify-form");
  var area = document.getElementById("credential");
  var message = document.getElementById("scan-message");
  if (!form || !area) return;

  function say(key) {
    if (message) message.textContent = message.getAttribute("data-" + key) || "";
  }

  function submitWith(value) {
    area.value = value;
    say("checking");
    var button = document.getElementById("verify-submit");
    if (button) button.disabled = true;
    form.submit();
  }

  // 1. A link opened from a QR code: …/verify/#vc=<SD-JWT>.
  var hash = window.location.hash || "";
  if (hash.indexOf("#vc=") === 0 && hash.length > 4) {
    var value = hash.slice(4);
    try { value = decodeURIComponent(value); } catch (e) { /* keep it as it is */ }
    // Drop the fragment from the address bar and the history entry.
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    submitWith(value);
    return;
  }

  // 2. After a check, move the focus to the verdict so screen readers read it first.
  var verdict = document.getElementById("verdict");
  if (verdict) verdict.focus();

  // 3. Scanning with the camera, where the browser can decode QR codes itself.
  var scanButton = document.getElementById("scan-button");
  var scanner = document.getElementById("scanner");
  var video = document.getElementById("scan-video");
  var stopButton = document.getElementById("scan-stop");
  if (!("BarcodeDetector" in window) || !scanButton || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  scanButton.hidden = false;
  var stream = null;
  var timer = null;

  function stop() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    if (video) video.srcObject = null;
    scanner.hidden = true;
    scanButton.hidden = false;
    scanButton.focus();
  }

  function found(text) {
    stop();
    submitWith(text);
  }

  scanButton.addEventListener("click", function () {
    var detector;
    try {
      detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    } catch (e) {
      say("no-camera");
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (s) {
      stream = s;
      video.srcObject = s;
      scanner.hidden = false;
      scanButton.hidden = true;
      say("looking");
      return video.play();
    }).then(function () {
      var tick = function () {
        if (!stream) return;
        detector.detect(video).then(function (codes) {
          var code = codes.find(function (c) { return c.rawValue; });
          if (code) { found(code.rawValue); } else { timer = setTimeout(tick, 200); }
        }).catch(function () { timer = setTimeout(tick, 400); });
      };
      tick();
    }).catch(function () {
      stop();
      say("no-camera");
    });
  });
  if (stopButton) stopButton.addEventListener("click", function () { stop(); message.textContent = ""; });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && stream) stop();
  });
})();
