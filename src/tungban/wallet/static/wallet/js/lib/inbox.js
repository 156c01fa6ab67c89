/* Messages from departments (issue 16, notifications): checking the platform's signature.
 *
 * Every message carries a compact JWS (ES256, typ notification+jwt) by the platform; its claims
 * name the sender ({id, name_en, name_zh}) and fix ``content``: SHA-256 (hex) of the canonical
 * JSON of what the app shows ({id, sender (id), subject_en, subject_zh, body_en, body_zh};
 * tungban.notify.services.content_of). The app shows "verified sender" only when the signature
 * verifies with the platform's published keys (/oidc/jwks) and covers exactly this message.
 * WebCrypto only: runs in the browser and in Node >= 20 (tests/js/inbox.test.mjs). */

import { b64json, b64uDecode, enc } from "./encoding.js";
import { canonicalJson, sha256Hex } from "./jose.js";

/** What the signature covers, from a message as the API gives it. */
export function messageContent(m) {
  return {
    id: m.id, sender: m.sender && m.sender.id,
    subject_en: m.subject_en, subject_zh: m.subject_zh, body_en: m.body_en, body_zh: m.body_zh,
  };
}

/** The verified sender ``{id, name_en, name_zh}`` of message ``m``, or null when its signature
 * does not verify with ``jwks`` or does not cover this message. */
export async function verifyMessage(m, jwks) {
  try {
    const [h, p, s] = String(m.signature || "").split(".");
    const header = b64json(h), claims = b64json(p);
    if (header.alg !== "ES256" || header.typ !== "notification+jwt") return null;
    const jwk = ((jwks && jwks.keys) || []).find((k) => k.kid === header.kid);
    if (!jwk) return null;
    const key = await crypto.subtle.importKey("jwk", { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
      { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, b64uDecode(s), enc.encode(h + "." + p));
    if (!ok || claims.jti !== m.id) return null;
    if (claims.content !== (await sha256Hex(canonicalJson(messageContent(m))))) return null;
    const sender = claims.sender || {};
    return sender.id === (m.sender && m.sender.id) ? sender : null;
  } catch (e) {
    return null;
  }
}

/** ``#inbox`` → {id: null}; ``#inbox/<id>`` → {id}; anything else → null. */
export function inboxRoute(hash) {
  const m = /^#inbox(?:\/([0-9a-f-]{36}))?$/.exec(hash || "");
  return m ? { id: m[1] || null } : null;
}
