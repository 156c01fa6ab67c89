import assert from "node:assert/strict";
import { test } from "node:test";
import { app } from "./vectors.mjs";

const { canonicalJson, sha256Hex, signJws } = await app("lib/jose.js");
const { inboxRoute, messageContent, verifyMessage } = await app("lib/inbox.js");

// A message as GET /api/v1/notify/app/inbox gives it, signed as tungban.notify.services signs it.
async function signed(overrides = {}, claimsOverrides = {}, headerOverrides = {}) {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const jwk = { ...(await crypto.subtle.exportKey("jwk", keys.publicKey)), kid: "k1" };
  const m = {
    id: "0b6f8f3c-1f7e-4a59-9d43-2c1a9e9f0c11", sender: { id: "td", name_en: "Transport Department", name_zh: "運輸署" },
    subject_en: "Vehicle licence renewal", subject_zh: "車輛牌照續期",
    body_en: "Your licence expires soon.", body_zh: "您的牌照即將到期。", created_at: "2026-12-05T08:00:00Z", read: false,
  };
  const claims = { iss: "http://localhost:8000", jti: m.id, iat: 1, sender: m.sender,
    content: await sha256Hex(canonicalJson(messageContent(m))), ...claimsOverrides };
  m.signature = await signJws({ alg: "ES256", kid: "k1", typ: "notification+jwt", ...headerOverrides }, claims, keys.privateKey);
  return { m: { ...m, ...overrides }, jwks: { keys: [jwk] } };
}

test("a message signed by the platform names its verified sender", async () => {
  const { m, jwks } = await signed();
  assert.deepEqual(await verifyMessage(m, jwks), { id: "td", name_en: "Transport Department", name_zh: "運輸署" });
});

test("an altered, re-addressed or foreign-signed message is not verified (phishing)", async () => {
  let { m, jwks } = await signed({ body_en: "Pay HK$500 at http://phish.example" });
  assert.equal(await verifyMessage(m, jwks), null);
  ({ m, jwks } = await signed({ sender: { id: "ird", name_en: "Inland Revenue Department", name_zh: "稅務局" } }));
  assert.equal(await verifyMessage(m, jwks), null);
  ({ m, jwks } = await signed());
  assert.equal(await verifyMessage(m, { keys: [] }), null);
  const other = await signed();
  assert.equal(await verifyMessage(m, other.jwks), null);
  ({ m, jwks } = await signed({}, { jti: "another" }));
  assert.equal(await verifyMessage(m, jwks), null);
  ({ m, jwks } = await signed({}, {}, { typ: "JWT" }));
  assert.equal(await verifyMessage(m, jwks), null);
  assert.equal(await verifyMessage({ ...m, signature: "not.a.jws" }, jwks), null);
});

test("inbox routes", () => {
  assert.deepEqual(inboxRoute("#inbox"), { id: null });
  assert.deepEqual(inboxRoute("#inbox/0b6f8f3c-1f7e-4a59-9d43-2c1a9e9f0c11"), { id: "0b6f8f3c-1f7e-4a59-9d43-2c1a9e9f0c11" });
  assert.equal(inboxRoute("#inboxes"), null);
  assert.equal(inboxRoute("#consents"), null);
});
