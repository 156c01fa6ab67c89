/* The signed answer to an approval request (login, form filling, signing, consent): what the
 * device key signs, as ``tungban.wallet.services.decide`` checks it. */

import { termsDigest } from "./jose.js";

/** A typed number as the platform compares it: Unicode NFKC (full-width digits "４７", as a
 * Chinese keyboard may give, become "47") without spaces; as ``normalize_code`` in the CLI's
 * ``tungban/wallet/client.py``. */
export function normalizeCode(text) {
  return String(text === null || text === undefined ? "" : text).normalize("NFKC").replace(/\s+/g, "");
}

/** Whether ``text`` is a complete number from a sign-in page: two digits once normalized. */
export const codeComplete = (text) => /^[0-9]{2}$/.test(normalizeCode(text));

/** The decision JWS payload for request ``req`` (as the wallet API returns it):
 * ``{request_id, requester, nonce, decision, claims}`` (claims sorted; empty when declined),
 * plus every value the request binds, copied unchanged from ``req.binds`` (e.g. ``documents``,
 * the SHA-256 digests of the documents to sign, in order; ``terms``, the consent terms' digest;
 * or whatever a domain registered with its approval kind: ``tungban.wallet.kinds``). A request
 * without ``binds`` (opened before the kind registry) binds ``documents`` and ``terms`` as the
 * signing and consent requests of that time did. Approving a request with ``code_required``
 * (shown on a sign-in page) carries ``code``: the number the resident typed from that page,
 * normalized (cross-device phishing, issue 13 item 6). Approving a request that asks a question
 * (``req.choice``, e.g. which company to act for: ``tungban.wallet.choices``) carries ``choice``:
 * the chosen option's id, or ``null`` when there was none to choose. */
export function decisionPayload(req, decision, claims, code, choice) {
  const payload = {
    request_id: req.id, requester: req.requester.id, nonce: req.nonce, decision,
    claims: decision === "approve" ? [...claims].sort() : [],
  };
  if (req.binds && typeof req.binds === "object" && !Array.isArray(req.binds)) {
    for (const [name, value] of Object.entries(req.binds)) {
      if (!(name in payload)) payload[name] = value;
    }
  } else {
    if (Array.isArray(req.documents) && req.documents.length) {
      payload.documents = req.documents.map((d) => d.sha256);
    }
    if (req.terms_sha256) {
      payload.terms = req.terms_sha256;
    }
  }
  if (decision === "approve" && req.code_required && code !== undefined && code !== null) {
    payload.code = normalizeCode(code);
  }
  if (decision === "approve" && req.choice) {
    payload.choice = choice === undefined ? null : choice;
  }
  return payload;
}

/** What you see is what you sign: true when ``req`` needs no terms check, or when the terms
 * digest it would sign (``binds.terms``, else ``terms_sha256``) and the one it displays
 * (``terms_sha256``) are both that of the consent terms it shows (``consent``). */
export async function termsMatch(req) {
  const bound = req.binds && typeof req.binds === "object" ? req.binds.terms : undefined;
  if (!(req.kind === "consent" || req.terms_sha256 || bound !== undefined)) return true;
  const shown = req.consent ? await termsDigest(req.consent) : null;
  const digests = [req.terms_sha256, bound === undefined ? req.terms_sha256 : bound];
  return digests.every((d) => !!d && shown === String(d).toLowerCase());
}

/** What you see is what you sign, for documents: true when ``req`` binds no ``documents``, or
 * when the digests it binds are those of the documents it lists (``documents[].sha256``), in
 * the same order. */
export function documentsMatch(req) {
  const bound = req.binds && typeof req.binds === "object" ? req.binds.documents : undefined;
  if (bound === undefined) return true;
  const shown = Array.isArray(req.documents) ? req.documents.map((d) => d.sha256) : [];
  return Array.isArray(bound) && bound.length === shown.length && bound.every((d, i) => d === shown[i]);
}
