import assert from "node:assert/strict";
import { test } from "node:test";
import { app, made, vectors } from "./vectors.mjs";

const { decisionPayload, documentsMatch, termsMatch } = await app("lib/decision.js");

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

test("a decision repeats every value the request binds, whatever the kind registered", () => {
  const pledge = { ...base, kind: "sampledomain.pledge", binds: { pledge: "ab12", items: [1, 2] } };
  const payload = decisionPayload(pledge, "approve", []);
  assert.equal(payload.pledge, "ab12");
  assert.deepEqual(payload.items, [1, 2]);
  const forged = { ...base, binds: { request_id: "other", nonce: "other" } };
  assert.equal(decisionPayload(forged, "approve", []).request_id, "r-1");
  assert.equal(decisionPayload(forged, "approve", []).nonce, "n-1");
  const sign = { ...base, kind: "sign", documents: [{ sha256: "shown" }], binds: { documents: ["bound"] } };
  assert.deepEqual(decisionPayload(sign, "approve", []).documents, ["bound"]);
});

test("a consent whose bound terms digest differs from the terms shown is not signed", async () => {
  const { terms, sha256 } = vectors.terms[0];
  const consent = { ...base, kind: "consent", consent: terms, terms_sha256: sha256 };
  assert.equal(await termsMatch({ ...consent, binds: { terms: sha256 } }), true);
  assert.equal(await termsMatch({ ...consent, binds: { terms: "0".repeat(64) } }), false);
});

test("documents are signed only when the bound digests are those of the documents listed", () => {
  const docs = [{ name: "a.pdf", sha256: "aa" }, { name: "b.pdf", sha256: "bb" }];
  assert.equal(documentsMatch({ ...base }), true);
  assert.equal(documentsMatch({ ...base, documents: docs, binds: { documents: ["aa", "bb"] } }), true);
  assert.equal(documentsMatch({ ...base, documents: docs, binds: { documents: ["bb", "aa"] } }), false);
  assert.equal(documentsMatch({ ...base, documents: docs, binds: { documents: ["aa"] } }), false);
  assert.equal(documentsMatch({ ...base, documents: docs, binds: { documents: "aa" } }), false);
});

test("approving a request shown on a sign-in page carries the number typed, as the CLI app builds it", async () => {
  const { normalizeCode, codeComplete } = await app("lib/decision.js");
  const { request, cases } = vectors.decision;
  const payloads = cases.map((c) => decisionPayload(request, c.decision, c.claims, c.typed));
  cases.forEach((c, i) => assert.deepEqual(payloads[i], c.payload));
  made("decision_payloads", payloads);
  assert.equal(normalizeCode("４７"), "47");
  assert.equal(normalizeCode(" 4 7\n"), "47");
  assert.equal(codeComplete("０５"), true);
  assert.equal(codeComplete("5"), false);
  assert.equal(codeComplete("4a"), false);
  assert.equal(codeComplete("123"), false);
  // No number is added to requests that need none, nor when declining.
  assert.equal("code" in decisionPayload(base, "approve", [], "47"), false);
  assert.equal("code" in decisionPayload(request, "decline", [], "47"), false);
});
