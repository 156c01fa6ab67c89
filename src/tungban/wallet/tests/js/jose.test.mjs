import assert from "node:assert/strict";
import { test } from "node:test";
import { app, made, vectors } from "./vectors.mjs";

const { b64u, b64uDecode, b64json, enc } = await app("lib/encoding.js");
const { canonicalJson, deviceProof, publicJwk, sha256Hex, signJws, termsDigest, newDeviceKey } = await app("lib/jose.js");

const importKey = (jwk, usage) => crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, [usage]);
async function verifyJws(token, publicJwk) {
  const [h, p, s] = token.split(".");
  return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, await importKey(publicJwk, "verify"), b64uDecode(s), enc.encode(h + "." + p));
}

test("canonical JSON is the platform's, byte for byte (tungban.ledger canonical)", () => {
  for (const { value, text } of vectors.canonical_json) assert.equal(canonicalJson(value), text);
  made("canonical_json", vectors.canonical_json.map(({ value }) => canonicalJson(value)));
  assert.equal(canonicalJson({ a: undefined }), '{"a":null}');
});

test("the consent-terms digest is the platform's (exchange.services.terms_digest)", async () => {
  for (const { terms, sha256 } of vectors.terms) assert.equal(await termsDigest(terms), sha256);
  made("terms_sha256", await Promise.all(vectors.terms.map(({ terms }) => termsDigest(terms))));
  assert.equal(await sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const changed = { ...vectors.terms[0].terms, max_uses: 2 };
  assert.notEqual(await termsDigest(changed), vectors.terms[0].sha256);
});

test("a device proof from the CLI app verifies with WebCrypto (ES256 is r||s)", async () => {
  const v = vectors.device_proof;
  assert.equal(await verifyJws(v.proof, v.public_jwk), true);
  const [h, p] = v.proof.split(".");
  assert.deepEqual(b64json(h), v.header);
  assert.deepEqual(b64json(p), v.payload);
  const other = await publicJwk(await newDeviceKey());
  assert.equal(await verifyJws(v.proof, other), false);
});

test("the web app's device proof has the CLI's header and payload shape (RFC 9449 §4.2)", async () => {
  const v = vectors.device_proof;
  const privateKey = await importKey(v.private_jwk, "sign");
  const proof = await deviceProof({ method: v.method, url: v.url, deviceId: v.device_id, privateKey });
  made("device_proof", proof);
  const [h, p] = proof.split(".");
  assert.deepEqual(b64json(h), { alg: "ES256", kid: v.device_id, typ: "dpop+jwt" });
  const payload = b64json(p);
  assert.deepEqual(Object.keys(payload).sort(), Object.keys(v.payload).sort());
  assert.equal(payload.htm, v.method);
  assert.equal(payload.htu, v.url);
  assert.ok(Number.isInteger(payload.iat) && Math.abs(payload.iat - Date.now() / 1000) < 60);
  assert.match(payload.jti, /^[A-Za-z0-9_-]{16,}$/);
  assert.equal(await verifyJws(proof, v.public_jwk), true);
  const fixed = await deviceProof({ method: "POST", url: v.url, deviceId: v.device_id, privateKey, iat: 1700000000, jti: "j".repeat(24) });
  assert.deepEqual(b64json(fixed.split(".")[1]), { htm: "POST", htu: v.url, iat: 1700000000, jti: "j".repeat(24) });
});

test("the device key is not extractable; its public JWK has only kty, crv, x, y", async () => {
  const pair = await newDeviceKey();
  assert.equal(pair.privateKey.extractable, false);
  await assert.rejects(crypto.subtle.exportKey("jwk", pair.privateKey));
  const jwk = await publicJwk(pair);
  assert.deepEqual(Object.keys(jwk).sort(), ["crv", "kty", "x", "y"]);
  const token = await signJws({ alg: "ES256" }, { a: 1 }, pair.privateKey);
  assert.equal(b64uDecode(token.split(".")[2]).byteLength, 64);
  assert.equal(await verifyJws(token, jwk), true);
  assert.equal(b64u(new Uint8Array(0)), "");
});
