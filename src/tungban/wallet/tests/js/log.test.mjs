import assert from "node:assert/strict";
import { test } from "node:test";
import { app } from "./vectors.mjs";

const { b64u, enc } = await app("lib/encoding.js");
const { canonicalJson, sha256Hex } = await app("lib/jose.js");
const { checkExchange, checkHead, leafHash, nodeHash, verifyConsistency, verifyInclusion } = await app("lib/log.js");

const hex = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));
const toHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const b64 = (bytes) => btoa(String.fromCharCode(...bytes));

// transparency-dev/merkle testonly (RFC 9162 §2.1): the 8-leaf tree and inclusion proofs.
const ROOT8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";
const LEAF0 = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"; // leaf hash of ""
const PATH = {
  0: ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
};

test("RFC 9162 inclusion proofs verify, and fail for another index or root", async () => {
  assert.equal(toHex(await leafHash("")), LEAF0);
  const path = PATH[0].map(hex);
  assert.equal(await verifyInclusion(hex(LEAF0), 0, 8, path, hex(ROOT8)), true);
  assert.equal(await verifyInclusion(hex(LEAF0), 1, 8, path, hex(ROOT8)), false);
  assert.equal(await verifyInclusion(hex(LEAF0), 0, 8, path, hex(LEAF0)), false);
  assert.equal(await verifyInclusion(hex(LEAF0), 8, 8, path, hex(ROOT8)), false);
  assert.equal(await verifyInclusion(hex(LEAF0), 0, 1, [], hex(LEAF0)), true);
});

test("an exchange is checked against a signed tree head: head, record and proof", async () => {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const jwk = { ...(await crypto.subtle.exportKey("jwk", keys.publicKey)), kid: "k1" };
  const x = { id: "e1", data_user: { id: "td" }, product: { id: "p" }, consent_id: "c1", outcome: "delivered" };
  const record = { id: "e1", data_user: "td", product: "p", consent: "c1", outcome: "delivered", request_id: "r" };
  const body = canonicalJson({ at: "2026-12-04T00:00:00.000000+00:00", kind: "exchange", ref: "e1",
    record_sha256: await sha256Hex(canonicalJson(record)) });
  const other = await leafHash("other");
  const root = await nodeHash(await leafHash(body), other);
  const claims = { iss: "t", iat: 1, tree_size: 2, root_hash: b64(root), timestamp: 1000 };
  const input = b64u(enc.encode(JSON.stringify({ alg: "ES256", kid: "k1", typ: "tree-head+jwt" }))) + "." + b64u(enc.encode(JSON.stringify(claims)));
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, enc.encode(input));
  const head = { tree_size: 2, root_hash: b64(root), timestamp: 1000, signature: input + "." + b64u(sig) };
  const log = { leaf_index: 0, leaf_body: body, record, inclusion_path: [b64(other)], tree_head: head };
  const jwks = { keys: [jwk] };
  assert.equal(await checkExchange({ ...x, log }, jwks), null);
  assert.equal(await checkExchange({ ...x, log: null }, jwks), "missing");
  assert.equal(await checkExchange({ ...x, outcome: "no_record", log }, jwks), "record");
  assert.equal(await checkExchange({ ...x, log: { ...log, inclusion_path: [b64(root)] } }, jwks), "proof");
  assert.equal(await checkExchange({ ...x, log: { ...log, tree_head: { ...head, tree_size: 3 } } }, jwks), "head");
  assert.equal(await checkExchange({ ...x, log }, { keys: [] }), "head");
});

// RFC 9162 §2.1.4 consistency proofs (issue 14 review, H1 b): a plain recursive MTH and
// SUBPROOF as the RFC writes them make the proofs; verifyConsistency must accept exactly those.
const LEAVES = Array.from({ length: 8 }, (_, i) => "leaf-" + i);
async function mth(d) {
  if (d.length === 1) return leafHash(d[0]);
  let k = 1; while (k * 2 < d.length) k *= 2;
  return nodeHash(await mth(d.slice(0, k)), await mth(d.slice(k)));
}
async function subproof(m, d, b) {
  const n = d.length;
  if (m === n) return b ? [] : [await mth(d)];
  let k = 1; while (k * 2 < n) k *= 2;
  if (m <= k) return [...(await subproof(m, d.slice(0, k), b)), await mth(d.slice(k))];
  return [...(await subproof(m - k, d.slice(k), false)), await mth(d.slice(0, k))];
}

test("RFC 9162 consistency proofs verify for every pair of sizes, and fail when tampered", async () => {
  for (let n = 1; n <= 8; n++) {
    for (let m = 1; m <= n; m++) {
      const path = await subproof(m, LEAVES.slice(0, n), true);
      const [r1, r2] = [await mth(LEAVES.slice(0, m)), await mth(LEAVES.slice(0, n))];
      assert.equal(await verifyConsistency(m, n, r1, r2, path), true, `${m} -> ${n}`);
      if (m < n) {
        assert.equal(await verifyConsistency(m, n, r2, r2, path), false, `${m} -> ${n}, another old root`);
        assert.equal(await verifyConsistency(m, n, r1, r1, path), false, `${m} -> ${n}, another new root`);
        assert.equal(await verifyConsistency(m, n, r1, r2, path.slice(1)), false, `${m} -> ${n}, short path`);
      }
    }
  }
  assert.equal(await verifyConsistency(3, 2, await mth(LEAVES.slice(0, 3)), await mth(LEAVES.slice(0, 2)), []), false);
  // The same proof as tungban.ledger.merkle makes (3 -> 7 leaves).
  const fromPython = ["/KifV8n4yOtAR6f/nTM6z54PM4SyCyVbzqsPIW3Momc=", "92g2MlrsVpnY1x+OQunUfFwpsIBZuiljhPfKQK06QK4=",
    "YKU+7Q3oepDI5ZQnxZxGJTwzp2oJUCpRgBMAknt+a9w=", "jq5r07Ogfx917nKlMWKebrMeQuYvdg5H3lKlPDZB7yM="];
  assert.deepEqual((await subproof(3, LEAVES.slice(0, 7), true)).map(b64), fromPython);
  assert.equal(b64(await mth(LEAVES.slice(0, 7))), "CwB/uRXrmyoUb1SxyG7FO2ZPjkVbdmCwtu4T7cDZIcA=");
});

test("a head must be published and extend the head the app kept (issue 14 review, H1 b, c)", async () => {
  const heads = [];
  for (let n = 1; n <= 8; n++) {
    heads.push({ seq: n, tree_size: n, root_hash: b64(await mth(LEAVES.slice(0, n))), timestamp: 1000 + n, signature: "s" + n });
  }
  const forked = { ...heads[6], root_hash: b64(await mth(["x", ...LEAVES.slice(1, 7)])), signature: "f7" };
  const calls = [];
  const getJson = async (path, params) => {
    calls.push(path);
    if (path === "/api/v1/log/heads") return { heads: heads.slice(params.start - 1) };
    if (path === "/api/v1/log/consistency") {
      return { consistency_path: (await subproof(params.first, LEAVES.slice(0, params.second), true)).map(b64) };
    }
    throw new Error("unexpected " + path);
  };
  // No head kept yet: a published head is kept.
  assert.deepEqual(await checkHead(heads[2], null, getJson), { problem: null, keep: heads[2] });
  // It grows: the proof from the kept head to the new one verifies, the new one is kept.
  assert.deepEqual(await checkHead(heads[6], heads[2], getJson), { problem: null, keep: heads[6] });
  assert.ok(calls.includes("/api/v1/log/consistency"));
  assert.deepEqual(await checkHead(heads[6], heads[6], getJson), { problem: null, keep: heads[6] });
  // Not published (a private fork signed for this app), or published under another seq.
  assert.equal((await checkHead(forked, heads[2], getJson)).problem, "unpublished");
  assert.equal((await checkHead({ ...heads[4], seq: undefined }, null, getJson)).problem, "unpublished");
  // Smaller than the kept head: cut back.
  assert.equal((await checkHead(heads[1], heads[6], getJson)).problem, "rollback");
  // Published but not an extension of the kept head (a rewritten log).
  const rewritten = [...heads.slice(0, 6), forked];
  const get2 = async (path, params) => (path === "/api/v1/log/heads" ? { heads: rewritten.slice(params.start - 1) } : getJson(path, params));
  assert.equal((await checkHead(forked, heads[2], get2)).problem, "inconsistent");
  // Same size, another root.
  assert.equal((await checkHead(forked, heads[6], get2)).problem, "inconsistent");
  // The platform does not answer: not verified.
  const down = async () => { throw new Error("503"); };
  assert.equal((await checkHead(heads[6], heads[2], down)).problem, "unpublished");
});
