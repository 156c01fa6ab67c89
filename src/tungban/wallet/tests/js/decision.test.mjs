import assert from "node:assert/strict";
import { test } from "node:test";
import { app, vectors } from "./vectors.mjs";

const { decisionPayload, termsMatch } = await app("lib/decision.js");

const base = { id: "r-1", requester: { id: "svc" }, nonce: "n-1", kind: "login", claims: [] };

test("a decision covers the request, its nonce and the ticked claims, sorted; declining shares none", () => {
  assert.deepEqual(decisionPayload(base, "approve", ["phone_number", "name", "hkid"]),
    { request_id: "r-1", requester: "svc", nonce: "n-1", decision: "approve", claims: ["hkid", "name", "phone_number"] });
  assert.deepEqual(decisionPayload(base, "decline", ["name"]).claims, []);
});

test("a signing decision lists the documents' digests in order; a consent decision carries the terms digest", () => {
  const sign = { ...base, kind: "sign", documents: [{ name: "b.pdf", sha256: "bb" }, { name: "a.pdf", sha256: "aa" }] };
  assert.deepEqual(decisionPayload(sign, "approve", []).documents, ["bb", "aa"]);
  assert.equal("documents" in decisionPayload(base, "approve", []), false);
  const { terms, sha256 } = vectors.terms[0];
  const consent = { ...base, kind: "consent", consent: terms, terms_sha256: sha256 };
  assert.equal(decisionPayload(consent, "approve", []).terms, sha256);
});

test("what you see is what you sign: the terms digest must be that of the terms shown", async () => {
  const { terms, sha256 } = vectors.terms[0];
  assert.equal(await termsMatch(base), true);
  assert.equal(await termsMatch({ ...base, kind: "consent", consent: terms, terms_sha256: sha256 }), true);
  assert.equal(await termsMatch({ ...base, kind: "consent", consent: terms, terms_sha256: sha256.toUpperCase() }), true);
  assert.equal(await termsMatch({ ...base, kind: "consent", consent: { ...terms, purpose: "Something else" }, terms_sha256: sha256 }), false);
  assert.equal(await termsMatch({ ...base, kind: "consent", consent: terms }), false);
  assert.equal(await termsMatch({ ...base, kind: "login", terms_sha256: sha256 }), false);
});
