/* The signed answer to an approval request (login, form filling, signing, consent): what the
 * device key signs, as ``tungban.wallet.services.decide`` checks it. */

import { termsDigest } from "./jose.js";

/** The decision JWS payload for request ``req`` (as the wallet API returns it):
 * ``{request_id, requester, nonce, decision, claims}`` (claims sorted; empty when declined),
 * plus ``documents`` (the documents' SHA-256 digests, in order) for a signing request and
 * ``terms`` (the consent terms' digest) when the request has one. */
export function decisionPayload(req, decision, claims) {
  const payload = {
    request_id: req.id, requester: req.requester.id, nonce: req.nonce, decision,
    claims: decision === "approve" ? [...claims].sort() : [],
  };
  if (Array.isArray(req.documents) && req.documents.length) {
    // A signing decision covers exactly these documents: their SHA-256 digests, in order.
    payload.documents = req.documents.map((d) => d.sha256);
  }
  if (req.terms_sha256) {
    // A consent decision covers exactly the terms shown: data user, provider, product, purpose, limits.
    payload.terms = req.terms_sha256;
  }
  return payload;
}

/** What you see is what you sign: true when ``req`` needs no terms check, or when the digest it
 * carries (``terms_sha256``) is that of the consent terms it shows (``consent``). */
export async function termsMatch(req) {
  if (!(req.kind === "consent" || req.terms_sha256)) return true;
  const shown = req.consent ? await termsDigest(req.consent) : null;
  return !!req.terms_sha256 && shown === String(req.terms_sha256).toLowerCase();
}
