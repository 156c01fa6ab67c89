import assert from "node:assert/strict";
import { test } from "node:test";
import { app } from "./vectors.mjs";

const { b64u, enc } = await app("lib/encoding.js");
const { canonicalJson, sha256Hex } = await app("lib/jose.js");
const { checkExchange, leafHash, nodeHash, verifyInclusion } = await app("lib/log.js");

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
