/* SD-JWT VC presentations made on the phone (SD-JWT, draft-ietf-oauth-selective-disclosure-jwt
 * §4 and §7.3): the issuer-signed JWT, the disclosures of the chosen claims only, and a
 * key-binding JWT (typ kb+jwt) signed with the device key. The platform never sees what is shown. */

import { b64json, randomId } from "./encoding.js";
import { sha256B64u, signJws } from "./jose.js";

/** The holder key an SD-JWT is bound to (the issuer-signed JWT's ``cnf.jwk``), or null. */
export function cnfJwk(sdJwt) {
  try {
    return (b64json(String(sdJwt).split("~")[0].split(".")[1]).cnf || {}).jwk || null;
  } catch (e) {
    return null;
  }
}

/** The claim names of the disclosures in an SD-JWT (issued or presented), in order. */
export function disclosedNames(sdJwt) {
  return String(sdJwt).split("~").slice(1).filter(Boolean).flatMap((d) => {
    try {
      const decoded = b64json(d);
      return Array.isArray(decoded) && decoded.length === 3 ? [decoded[1]] : [];
    } catch (e) { return []; }
  });
}

/** The presentation of the issued SD-JWT ``issued`` disclosing the claims ``names``: the
 * issuer-signed JWT and the chosen disclosures as issued (SD-JWT §4), then, when ``privateKey``
 * is given (the credential is bound to this device), a key-binding JWT (§4.3) with header
 * ``{alg: ES256, typ: kb+jwt}`` and payload ``{iat, aud, nonce, sd_hash}`` (``sd_hash``:
 * base64url SHA-256 of everything before it). ``iat`` (seconds) and ``nonce`` default to now
 * and a random value. Returns ``{text, iat}`` (``iat`` null without key binding). */
export async function buildPresentation(issued, names, { privateKey = null, aud = "", iat, nonce } = {}) {
  const [jwt, ...rest] = String(issued).split("~");
  const chosen = rest.filter((d) => {
    if (!d) return false;
    try {
      const decoded = b64json(d);
      return Array.isArray(decoded) && decoded.length === 3 && names.includes(decoded[1]);
    } catch (e) { return false; }
  });
  const sdJwt = jwt + "~" + chosen.map((d) => d + "~").join("");
  if (!privateKey) return { text: sdJwt, iat: null };
  const when = iat === undefined ? Math.floor(Date.now() / 1000) : iat;
  const payload = { iat: when, aud, nonce: nonce || randomId(), sd_hash: await sha256B64u(sdJwt) };
  const kb = await signJws({ alg: "ES256", typ: "kb+jwt" }, payload, privateKey);
  return { text: sdJwt + kb, iat: when };
}
