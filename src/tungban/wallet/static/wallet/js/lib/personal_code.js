/* The personal code (個人碼, issue 16): a QR the resident shows to prove who they are. The
 * platform gives the app, per verifier, an SD-JWT bound to a key made on this device for that
 * verifier (tungban.credentials.services.personal_code); the QR is its presentation with a
 * key-binding JWT (aud: the verifier, iat, nonce) made here, fresh every REFRESH seconds. */

import { signJws } from "./jose.js";
import { buildPresentation } from "./sdjwt.js";

/** A new P-256 key pair for one verifier: not extractable, kept on this device only. */
export const newHolderKey = () => crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);

/** Seconds between new codes: well within a verifier's limit (``maxAge``, at most 60). */
export const refreshSeconds = (maxAge) => Math.max(5, Math.min(40, Math.floor((Number(maxAge) || 60) * 2 / 3)));

/** Whether a kept personal-code credential (``{expiresAt}``, ms) can still make codes at ``now``
 * for at least a minute. */
export const usable = (kept, now = Date.now()) => Boolean(kept && kept.sdJwt && kept.expiresAt - now > 60000);

/** The code (QR text) of the kept credential ``kept`` (``{sdJwt, keyPair, aud}``) showing
 * ``names``: ``{text, iat}`` (SD-JWT §4 with a KB-JWT, lib/sdjwt.js). */
export function makeCode(kept, names, { iat, nonce } = {}) {
  return buildPresentation(kept.sdJwt, names, { privateKey: kept.keyPair.privateKey, aud: kept.aud, iat, nonce });
}

/** The proof that this device holds ``keyPair`` (issue 16 review L1), sent with its public key
 * as ``holder_proof``: a JWS by it, header ``{alg: ES256, typ: personal-code-pop+jwt}``, payload
 * ``{aud: verifierId, device: deviceId, iat}`` (tungban.credentials.services.personal_code
 * ``check_holder_proof``). */
export function holderProof(keyPair, { verifierId, deviceId, iat }) {
  const when = iat === undefined ? Math.floor(Date.now() / 1000) : iat;
  return signJws({ alg: "ES256", typ: "personal-code-pop+jwt" }, { aud: verifierId, device: deviceId, iat: when }, keyPair.privateKey);
}
