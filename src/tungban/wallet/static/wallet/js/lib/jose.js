/* The device key and the JWS it signs (RFC 7515 compact serialisation, ES256 per RFC 7518 §3.4),
 * canonical JSON and SHA-256 digests as the platform makes them. WebCrypto only: runs in the
 * browser and in Node >= 20 (the unit tests in tests/js/). */

import { b64u, enc, randomId } from "./encoding.js";

/** A new ECDSA P-256 key pair whose private key is NOT extractable (it never leaves the device). */
export async function newDeviceKey() {
  return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
}

/** The public JWK of ``keyPair``: ``{kty, crv, x, y}`` only (RFC 7518 §6.2.1). */
export async function publicJwk(keyPair) {
  const jwk = await crypto.subtle.exportKey("jwk", keyPair.publicKey);
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

/** JWS compact serialisation, ES256. WebCrypto's ECDSA signature is already r||s (64 bytes),
 * the JWS form (RFC 7518 §3.4). Returns ``header.payload.signature``. */
export async function signJws(header, payload, privateKey) {
  const input = b64u(enc.encode(JSON.stringify(header))) + "." + b64u(enc.encode(JSON.stringify(payload)));
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, enc.encode(input));
  return input + "." + b64u(sig);
}

/** The proof for ``Authorization: Device <JWS>`` on one API call, in the shape of a DPoP proof
 * (RFC 9449 §4.2): header ``{alg: ES256, kid: <device id>, typ: dpop+jwt}``, payload
 * ``{htm, htu, iat, jti}`` (``htu``: the absolute URL without query; ``iat`` in seconds).
 * The platform checks it in ``tungban.wallet.services.authenticate_device``. */
export async function deviceProof({ method, url, deviceId, privateKey, iat, jti }) {
  const payload = { htm: method, htu: url, iat: iat === undefined ? Math.floor(Date.now() / 1000) : iat, jti: jti || randomId() };
  return signJws({ alg: "ES256", kid: deviceId, typ: "dpop+jwt" }, payload, privateKey);
}

/** Canonical JSON as the platform makes it (``tungban.ledger`` ``canonical``: sorted keys, no
 * spaces, non-ASCII kept). Keys sort by UTF-16 code unit, which equals Python's order for
 * keys in the Basic Multilingual Plane. */
export function canonicalJson(value) {
  if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
  if (value && typeof value === "object") {
    return "{" + Object.keys(value).sort().map((k) => JSON.stringify(k) + ":" + canonicalJson(value[k])).join(",") + "}";
  }
  return JSON.stringify(value === undefined ? null : value);
}

/** SHA-256 of the UTF-8 of ``text``, as 64 lowercase hex digits. */
export async function sha256Hex(text) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 of the UTF-8 of ``text``, base64url (an SD-JWT ``sd_hash``, SD-JWT §4.3.1). */
export async function sha256B64u(text) {
  return b64u(await crypto.subtle.digest("SHA-256", enc.encode(text)));
}

/** The digest of a consent's terms that the decision JWS carries as ``terms``: the SHA-256 (hex)
 * of their canonical JSON (``tungban.exchange.services.terms_digest``). */
export const termsDigest = (terms) => sha256Hex(canonicalJson(terms));
