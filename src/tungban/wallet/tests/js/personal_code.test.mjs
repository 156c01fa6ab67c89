import assert from "node:assert/strict";
import { test } from "node:test";
import { app, vectors } from "./vectors.mjs";

const { holderProof, makeCode, refreshSeconds, usable } = await app("lib/personal_code.js");
const { b64json } = await app("lib/encoding.js");
const { disclosedNames } = await app("lib/sdjwt.js");

test("a new code comes well before a verifier's 60-second limit", () => {
  assert.ok(refreshSeconds(60) < 60 && refreshSeconds(60) >= 5);
  assert.ok(refreshSeconds(10) < 10);
  assert.ok(refreshSeconds(undefined) < 60);
});

test("a kept credential is used only while it has a minute left", () => {
  const now = Date.now();
  assert.equal(usable({ sdJwt: "x", expiresAt: now + 120000 }, now), true);
  assert.equal(usable({ sdJwt: "x", expiresAt: now + 30000 }, now), false);
  assert.equal(usable(null, now), false);
});

test("the code is the presentation with a KB-JWT addressed to the verifier", async () => {
  const v = vectors.sd_jwt;
  const privateKey = await crypto.subtle.importKey("jwk", v.holder_private_jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const { text, iat } = await makeCode({ sdJwt: v.issued, keyPair: { privateKey }, aud: "counter" }, v.disclose, { nonce: "n1" });
  const kb = b64json(text.split("~").at(-1).split(".")[1]);
  assert.equal(kb.aud, "counter");
  assert.equal(kb.nonce, "n1");
  assert.equal(kb.iat, iat);
  assert.deepEqual(disclosedNames(text).sort(), [...v.disclose].sort());
});

test("the proof of possession is a JWS by the holder key over the verifier and the device", async () => {
  const keyPair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  const jws = await holderProof(keyPair, { verifierId: "counter", deviceId: "dev-1", iat: 1700000000 });
  const [h, p, s] = jws.split(".");
  assert.deepEqual(b64json(h), { alg: "ES256", typ: "personal-code-pop+jwt" });
  assert.deepEqual(b64json(p), { aud: "counter", device: "dev-1", iat: 1700000000 });
  const sig = Uint8Array.from(Buffer.from(s, "base64url"));
  const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, keyPair.publicKey, sig, new TextEncoder().encode(h + "." + p));
  assert.equal(ok, true);
});
