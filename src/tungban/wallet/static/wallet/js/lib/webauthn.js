/* Passkeys (WebAuthn Level 2): the platform's options in their JSON form (base64url binary
 * fields, as py_webauthn's options_to_json makes them) to the browser's, and the browser's
 * credential back to the standard JSON form that py_webauthn's verify_*_response accept. */

import { AppError } from "./api.js";
import { b64u, b64uDecode } from "./encoding.js";
import { T, fmt } from "./messages.js";

/** Throws an AppError when this page cannot use passkeys (not https, or no WebAuthn). */
export function requireWebAuthn() {
  if (!globalThis.isSecureContext) throw new AppError("insecure", T.insecure);
  if (!globalThis.PublicKeyCredential || !navigator.credentials) throw new AppError("no_webauthn", T.no_webauthn);
}

/** PublicKeyCredentialCreationOptions from their JSON form (challenge, user.id, excludeCredentials ids decoded). */
export function creationOptions(o) {
  const pk = Object.assign({}, o, { challenge: b64uDecode(o.challenge), user: Object.assign({}, o.user, { id: b64uDecode(o.user.id) }) });
  if (Array.isArray(o.excludeCredentials)) pk.excludeCredentials = o.excludeCredentials.map((c) => Object.assign({}, c, { id: b64uDecode(c.id) }));
  return pk;
}

/** PublicKeyCredentialRequestOptions from their JSON form (challenge, allowCredentials ids decoded). */
export function requestOptions(o) {
  const pk = Object.assign({}, o, { challenge: b64uDecode(o.challenge) });
  if (Array.isArray(o.allowCredentials)) pk.allowCredentials = o.allowCredentials.map((c) => Object.assign({}, c, { id: b64uDecode(c.id) }));
  return pk;
}

/** The standard JSON form of a credential (what py_webauthn's verify_*_response accept). */
export function credentialJson(cred) {
  const r = cred.response;
  const out = { id: cred.id, rawId: b64u(cred.rawId), type: cred.type, response: { clientDataJSON: b64u(r.clientDataJSON) }, clientExtensionResults: {} };
  if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
  if (r.attestationObject) {
    out.response.attestationObject = b64u(r.attestationObject);
    if (typeof r.getTransports === "function") out.response.transports = r.getTransports();
  }
  if (r.authenticatorData) {
    out.response.authenticatorData = b64u(r.authenticatorData);
    out.response.signature = b64u(r.signature);
    if (r.userHandle && r.userHandle.byteLength) out.response.userHandle = b64u(r.userHandle);
  }
  return out;
}

/** An AppError for a failed ceremony: ``passkey_cancelled`` (cancelled or timed out) or ``passkey_failed``. */
export function passkeyError(err) {
  if (err && (err.name === "NotAllowedError" || err.name === "AbortError")) return new AppError("passkey_cancelled", T.passkey_cancelled);
  return new AppError("passkey_failed", fmt(T.passkey_failed, { reason: (err && err.message) || String(err) }));
}

/** Make a passkey (registration ceremony). Throws an AppError. */
export async function createPasskey(options) {
  requireWebAuthn();
  try {
    return await navigator.credentials.create({ publicKey: creationOptions(options) });
  } catch (err) {
    throw passkeyError(err);
  }
}

/** Use a passkey (authentication ceremony, user verification). Throws an AppError. */
export async function getAssertion(options) {
  requireWebAuthn();
  try {
    return await navigator.credentials.get({ publicKey: requestOptions(options) });
  } catch (err) {
    throw passkeyError(err);
  }
}
