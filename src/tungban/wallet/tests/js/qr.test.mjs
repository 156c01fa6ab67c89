import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import { app } from "./vectors.mjs";

const require = createRequire(import.meta.url);
const qrcode = require("../../../core/static/core/vendor/qrcode-generator.js");
const { qrDataUrl } = await app("lib/qr.js");
const { AppError } = await app("lib/api.js");
const { T } = await app("lib/messages.js");

test("a QR code is an SVG data URL with a 4-module quiet zone", () => {
  const url = qrDataUrl("http://localhost:8000/verify/#vc=abc~", qrcode);
  assert.match(url, /^data:image\/svg\+xml;charset=utf-8,/);
  const svg = decodeURIComponent(url.split(",").slice(1).join(","));
  assert.match(svg, /^<svg /);
  assert.doesNotMatch(svg, /style=/); // nothing for the CSP to refuse
  const size = Number(/width="(\d+)px"/.exec(svg)[1]);
  assert.equal((size - 32) % 4, 0); // 4 px a module, 16 px (4 modules) each side
});

test("text too long for error correction M falls back to L; too long for any QR code gives null", () => {
  const long = "x".repeat(2200); // version 40 holds 2331 bytes at M, 2953 at L
  assert.ok(qrDataUrl(long, qrcode));
  assert.ok(qrDataUrl("y".repeat(2900), qrcode)); // only L holds it
  assert.equal(qrDataUrl("z".repeat(3000), qrcode), null);
});

test("without the vendor script, an AppError", () => {
  T.network = "Cannot reach tungban.";
  assert.throws(() => qrDataUrl("x", undefined), (e) => e instanceof AppError && e.code === "network");
});
