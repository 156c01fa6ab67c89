/* The resident's check that an exchange in the history is in the public transparency log
 * (issue 14 item 10), as tungban.ledger.witness.check_record does it for the CLI app:
 * the signed tree head (compact JWS, ES256, typ tree-head+jwt) verifies with the platform JWKS;
 * the leaf names the exchange and fixes SHA-256 of the canonical JSON of what the app shows;
 * and the RFC 9162 §2.1.3.2 inclusion proof of SHA-256(0x00 || leaf body) leads to the head's
 * root. WebCrypto only: runs in the browser and in Node >= 20 (tests/js/log.test.mjs). */

import { b64json, b64uDecode, enc } from "./encoding.js";
import { canonicalJson, sha256Hex } from "./jose.js";

/** Standard base64 (RFC 4648 §4, as the log sends hashes) to bytes. */
export const b64 = (text) => Uint8Array.from(atob(String(text)), (c) => c.charCodeAt(0));

async function sha256(...parts) {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", all));
}

/** RFC 9162 §2.1.1: SHA-256(0x00 || UTF-8 body). */
export const leafHash = (body) => sha256(Uint8Array.of(0), enc.encode(body));
/** RFC 9162 §2.1.1: SHA-256(0x01 || left || right). */
export const nodeHash = (left, right) => sha256(Uint8Array.of(1), left, right);

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const half = (n) => Math.floor(n / 2);
const odd = (n) => n % 2 === 1;

/** RFC 9162 §2.1.3.2: does ``path`` prove the leaf with hash ``hash`` at 0-based ``index`` is in
 * the tree of ``size`` leaves whose root is ``root`` (all hashes as bytes)? */
export async function verifyInclusion(hash, index, size, path, root) {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return false;
  let fn = index, sn = size - 1, r = hash;
  for (const p of path) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = await nodeHash(p, r);
      if (!odd(fn)) while (!(odd(fn) || fn === 0)) { fn = half(fn); sn = half(sn); }
    } else {
      r = await nodeHash(r, p);
    }
    fn = half(fn); sn = half(sn);
  }
  return sn === 0 && same(r, root);
}

/** Does the signed tree head's JWS verify with ``jwks`` (the platform's /oidc/jwks), with
 * typ tree-head+jwt and claims equal to the head's? */
export async function verifyTreeHead(head, jwks) {
  try {
    const [h, p, s] = head.signature.split(".");
    const header = b64json(h), claims = b64json(p);
    if (header.alg !== "ES256" || header.typ !== "tree-head+jwt") return false;
    const jwk = ((jwks && jwks.keys) || []).find((k) => k.kid === header.kid);
    if (!jwk) return false;
    const key = await crypto.subtle.importKey("jwk", { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
      { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, b64uDecode(s), enc.encode(h + "." + p));
    return ok && ["tree_size", "root_hash", "timestamp"].every((k) => claims[k] === head[k]);
  } catch (e) {
    return false;
  }
}

/** The logged fields of an exchange as the app shows it: the server's ``log.record`` with what
 * the app displays put over it (tungban.wallet.client.shown_record). */
export function shownRecord(x) {
  const shown = { id: x.id, data_user: x.data_user.id, product: x.product.id, consent: x.consent_id === undefined ? null : x.consent_id };
  if (completed(x)) shown.outcome = x.outcome; // an attempt's leaf is its start: no outcome yet
  return { ...((x.log && x.log.record) || {}), ...shown };
}

/** A completed exchange's leaf is its record (kind "exchange"); an attempt still in flight is
 * proved by the leaf of its start (kind "exchange_attempt", issue 14 item 4). */
const completed = (x) => (x.state || "completed") === "completed";

/** Check one exchange of the history; returns null when verified, else why not:
 * "missing" (not in the log), "head" (the signed tree head does not verify), "record" (the
 * leaf does not fix what is shown), "proof" (the inclusion proof fails), "malformed". */
export async function checkExchange(x, jwks) {
  const log = x.log;
  if (!log) return "missing";
  try {
    if (!(await verifyTreeHead(log.tree_head, jwks))) return "head";
    const body = JSON.parse(log.leaf_body);
    const digest = await sha256Hex(canonicalJson(shownRecord(x)));
    const kind = completed(x) ? "exchange" : "exchange_attempt";
    if (body.kind !== kind || body.ref !== x.id || body.record_sha256 !== digest) return "record";
    const ok = await verifyInclusion(await leafHash(log.leaf_body), log.leaf_index, log.tree_head.tree_size,
      log.inclusion_path.map(b64), b64(log.tree_head.root_hash));
    return ok ? null : "proof";
  } catch (e) {
    return "malformed";
  }
}

const powerOfTwo = (n) => { while (n > 1 && !odd(n)) n = half(n); return n === 1; };

/** RFC 9162 §2.1.4.2: does ``path`` prove that the tree of ``second`` leaves with root
 * ``secondRoot`` extends the tree of ``first`` leaves with root ``firstRoot`` (hashes as bytes)?
 * As tungban.ledger.merkle.verify_consistency; arithmetic without 32-bit bit operations. */
export async function verifyConsistency(first, second, firstRoot, secondRoot, path) {
  if (!Number.isInteger(first) || !Number.isInteger(second) || first < 1 || first > second) return false;
  if (first === second) return path.length === 0 && same(firstRoot, secondRoot);
  path = [...path];
  if (!path.length) return false;
  if (powerOfTwo(first)) path.unshift(firstRoot);
  let fn = first - 1, sn = second - 1;
  while (odd(fn)) { fn = half(fn); sn = half(sn); }
  let fr = path[0], sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if (!odd(fn)) while (!(odd(fn) || fn === 0)) { fn = half(fn); sn = half(sn); }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = half(fn); sn = half(sn);
  }
  return sn === 0 && same(fr, firstRoot) && same(sr, secondRoot);
}

const HEAD_FIELDS = ["seq", "tree_size", "root_hash", "timestamp", "signature"];

/** Tie a signed tree head the app was shown (its signature already verified) to the published
 * log and to the largest head it accepted before, ``kept`` (issue 14 review, H1 b and c), as
 * tungban.ledger.witness.check_head does for the CLI app: ``head`` must be listed unchanged in
 * /api/v1/log/heads at its ``seq``, and be ``kept`` or extend it by the RFC 9162 §2.1.4
 * consistency proof from /api/v1/log/consistency. ``getJson(path, params)`` fetches a platform
 * endpoint and throws on failure. Returns ``{problem, keep}``: problem null and the head to keep
 * now, or problem "unpublished" (not listed, or the list could not be fetched), "rollback"
 * (smaller than the kept head) or "inconsistent" (does not extend it), and keep null. */
export async function checkHead(head, kept, getJson) {
  const fail = (problem) => ({ problem, keep: null });
  try {
    if (!Number.isInteger(head.seq)) return fail("unpublished");
    const page = await getJson("/api/v1/log/heads", { start: head.seq });
    const listed = (page && page.heads && page.heads[0]) || null;
    if (!listed || HEAD_FIELDS.some((k) => listed[k] !== head[k])) return fail("unpublished");
  } catch (e) {
    return fail("unpublished");
  }
  const keep = Object.fromEntries(HEAD_FIELDS.map((k) => [k, head[k]]));
  if (!kept) return { problem: null, keep };
  try {
    const [oldSize, newSize] = [kept.tree_size, head.tree_size];
    if (newSize < oldSize) return fail("rollback");
    if (newSize === oldSize) return kept.root_hash === head.root_hash ? { problem: null, keep: kept } : fail("inconsistent");
    if (oldSize === 0) return { problem: null, keep }; // every tree extends the empty one
    const proof = await getJson("/api/v1/log/consistency", { first: oldSize, second: newSize });
    const path = proof.consistency_path.map(b64);
    const ok = await verifyConsistency(oldSize, newSize, b64(kept.root_hash), b64(head.root_hash), path);
    return ok ? { problem: null, keep } : fail("inconsistent");
  } catch (e) {
    return fail("inconsistent");
  }
}
