import assert from "node:assert/strict";
import { test } from "node:test";
import { app, made, vectors } from "./vectors.mjs";

const { b64json, b64uDecode, enc } = await app("lib/encoding.js");
const { sha256B64u } = await app("lib/jose.js");
const { buildPresentation, cnfJwk, disclosedNames } = await app("lib/sdjwt.js");

const v = vectors.sd_jwt;
const importKey = (jwk, usage) => crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, [usage]);
async function verifyJws(token, jwk) {
  const [h, p, s] = token.split(".");
  return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, await importKey(jwk, "verify"), b64uDecode(s), enc.encode(h + "." + p));
}

test("cnfJwk reads the holder key the credential is bound to", () => {
  const cnf = cnfJwk(v.issued);
  assert.equal(cnf.x, v.holder_public_jwk.x);
  assert.equal(cnf.y, v.holder_public_jwk.y);
  assert.equal(cnfJwk("not.a.jwt~"), null);
});

test("the CLI app's presentation: its KB-JWT verifies and its sd_hash covers what precedes it", async () => {
  const kb = v.presentation.split("~").at(-1);
  assert.equal(await verifyJws(kb, v.holder_public_jwk), true);
  assert.equal(b64json(kb.split(".")[1]).sd_hash, await sha256B64u(v.sd_jwt));
  assert.deepEqual(disclosedNames(v.presentation).sort(), [...v.disclose].sort());
});

test("the web app's presentation discloses the same claims, with a key-binding JWT (SD-JWT §4.3)", async () => {
  const privateKey = await importKey(v.holder_private_jwk, "sign");
  const { text, iat } = await buildPresentation(v.issued, v.disclose, { privateKey, aud: v.aud, nonce: v.nonce });
  made("presentation", text);
  const parts = text.split("~");
  const kb = parts.at(-1);
  const sdJwt = parts.slice(0, -1).join("~") + "~";
  assert.equal(parts[0], v.issued.split("~")[0]); // the issuer-signed JWT, untouched
  assert.deepEqual(disclosedNames(text).sort(), [...v.disclose].sort());
  assert.deepEqual(new Set(parts.slice(1, -1)), new Set(v.sd_jwt.split("~").slice(1, -1))); // the disclosures as issued
  assert.deepEqual(b64json(kb.split(".")[0]), v.kb_header);
  const payload = b64json(kb.split(".")[1]);
  assert.deepEqual(Object.keys(payload).sort(), Object.keys(v.kb_payload).sort());
  assert.equal(payload.aud, v.aud);
  assert.equal(payload.nonce, v.nonce);
  assert.equal(payload.iat, iat);
  assert.equal(payload.sd_hash, await sha256B64u(sdJwt));
  assert.equal(await verifyJws(kb, v.holder_public_jwk), true);
});

test("without a key (an unbound credential) the presentation has no KB-JWT; nothing chosen, no disclosure", async () => {
  const { text, iat } = await buildPresentation(v.issued, ["given_name"], {});
  assert.equal(iat, null);
  assert.ok(text.endsWith("~"));
  assert.deepEqual(disclosedNames(text), ["given_name"]);
  const none = await buildPresentation(v.issued, [], {});
  assert.equal(none.text, v.issued.split("~")[0] + "~");
});
