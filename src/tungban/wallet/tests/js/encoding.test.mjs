import assert from "node:assert/strict";
import { test } from "node:test";
import { app } from "./vectors.mjs";

const { b64u, b64uDecode, b64json, randomId, enc } = await app("lib/encoding.js");

test("b64u is base64url without padding (RFC 4648 §5)", () => {
  for (const len of [0, 1, 2, 3, 4, 5, 31, 32, 33, 255]) {
    const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 37 + 251) % 256);
    assert.equal(b64u(bytes), Buffer.from(bytes).toString("base64url"));
    assert.equal(b64u(bytes.buffer), Buffer.from(bytes).toString("base64url"));
    assert.deepEqual(new Uint8Array(b64uDecode(b64u(bytes))), bytes);
  }
  // A view into a larger buffer encodes only its own bytes.
  const big = Uint8Array.from([1, 2, 3, 4, 5, 6]);
  assert.equal(b64u(big.subarray(2, 4)), Buffer.from([3, 4]).toString("base64url"));
});

test("b64uDecode accepts padded and unpadded text, and - _ as + /", () => {
  assert.deepEqual(new Uint8Array(b64uDecode("-_8")), Uint8Array.from([0xfb, 0xff]));
  assert.deepEqual(new Uint8Array(b64uDecode("-_8=")), Uint8Array.from([0xfb, 0xff]));
  assert.throws(() => b64uDecode("a"));
});

test("b64json reads a JWT segment; randomId is 24 base64url characters, fresh each time", () => {
  assert.deepEqual(b64json(b64u(enc.encode('{"名":"通辦"}'))), { 名: "通辦" });
  const ids = new Set(Array.from({ length: 50 }, randomId));
  assert.equal(ids.size, 50);
  for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{24}$/);
});
