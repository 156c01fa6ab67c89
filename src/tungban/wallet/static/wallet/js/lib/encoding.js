/* Base64url (RFC 4648 §5, no padding) and UTF-8, as JOSE uses them (RFC 7515 §2). */

export const enc = new TextEncoder();
export const dec = new TextDecoder();

/** Base64url of an ArrayBuffer or a typed array / DataView, without padding. */
export function b64u(data) {
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 1) bin += String.fromCharCode(bytes[i]);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The bytes (an ArrayBuffer) of base64url ``text``, padded or not. Throws on bad input. */
export function b64uDecode(text) {
  const s = String(text).replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(s + "=".repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

/** 18 random bytes as base64url (24 characters): a JWS ``jti`` or a ``nonce``. */
export const randomId = () => b64u(crypto.getRandomValues(new Uint8Array(18)));

/** The JSON value encoded as base64url UTF-8 (a JWT segment or an SD-JWT disclosure). */
export const b64json = (part) => JSON.parse(dec.decode(b64uDecode(part)));
