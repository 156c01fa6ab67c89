/* QR codes (ISO/IEC 18004) drawn in the browser by the vendored qrcode-generator
 * (core/static/core/vendor/qrcode-generator.js, a classic script that defines ``qrcode``). */

import { AppError } from "./api.js";
import { T } from "./messages.js";

/** A QR code of ``text`` as an SVG data URL (4 px a module, a quiet zone of 4 modules): error
 * correction M, or L when M cannot hold it; the smallest version that fits. ``null`` when no
 * QR code can hold it. ``factory``: qrcode-generator's ``qrcode`` (default: the global one);
 * throws AppError ``network`` when the vendor script did not load. */
export function qrDataUrl(text, factory = globalThis.qrcode) {
  if (typeof factory !== "function") throw new AppError("network", T.network); // vendor script not loaded
  factory.stringToBytes = factory.stringToBytesFuncs["UTF-8"];
  for (const level of ["M", "L"]) {
    const qr = factory(0, level);
    qr.addData(text, "Byte");
    try {
      qr.make();
    } catch (e) {
      continue; // "code length overflow": try the lower level
    }
    const svg = qr.createSvgTag({ cellSize: 4, margin: 16 });
    return "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg);
  }
  return null;
}
