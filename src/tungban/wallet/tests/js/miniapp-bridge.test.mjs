import assert from "node:assert/strict";
import { test } from "node:test";
import { app } from "./vectors.mjs";

const { createBroker } = await app("lib/miniapp-bridge.js");

function broker({ answers = [], granted = [], fetchError = null } = {}) {
  const log = [];
  const miniapp = { id: "library-card", permissions: [
    { id: "profile.name", granted: granted.includes("profile.name") },
    { id: "payment.request", granted: granted.includes("payment.request") },
  ] };
  const b = createBroker({
    app: miniapp,
    lang: "en",
    known: new Set(["profile.name", "payment.request", "profile.address"]),
    launch: async () => ({ sub: "pairwise-1", launch_token: "jws" }),
    ask: async (perm) => { log.push(["ask", perm.id]); return answers.shift(); },
    grant: async (id) => { log.push(["grant", id]); },
    fetchData: async (id) => {
      log.push(["data", id]);
      if (fetchError) throw fetchError;
      return { name_en: "CHAN, Tai Man" };
    },
    text: (code) => "text:" + code,
  });
  return { b, log };
}

test("launch gives the pairwise id and the signed context without asking", async () => {
  const { b, log } = broker();
  assert.deepEqual(await b.handle({ id: 1, method: "launch" }), {
    id: 1, ok: true, result: { lang: "en", miniapp: "library-card", sub: "pairwise-1", launch_token: "jws" },
  });
  assert.deepEqual(log, []);
});

test("deny by default: an ungranted permission asks the resident; yes grants, then fetches", async () => {
  const { b, log } = broker({ answers: [true] });
  const reply = await b.handle({ id: 2, method: "request", params: { permission: "profile.name" } });
  assert.deepEqual(reply, { id: 2, ok: true, result: { name_en: "CHAN, Tai Man" } });
  assert.deepEqual(log, [["ask", "profile.name"], ["grant", "profile.name"], ["data", "profile.name"]]);
  // Granted now: the next call is not asked again.
  await b.handle({ id: 3, method: "request", params: { permission: "profile.name" } });
  assert.deepEqual(log.slice(3), [["data", "profile.name"]]);
});

test("a refusal answers permission_denied and is not asked again in the session", async () => {
  const { b, log } = broker({ answers: [false] });
  const first = await b.handle({ id: 4, method: "request", params: { permission: "payment.request" } });
  assert.deepEqual(first, { id: 4, ok: false, error: { code: "permission_denied", message: "text:permission_denied" } });
  const again = await b.handle({ id: 5, method: "request", params: { permission: "payment.request" } });
  assert.equal(again.error.code, "permission_denied");
  assert.deepEqual(log, [["ask", "payment.request"]]);
});

test("undeclared, unknown and malformed requests are refused without asking", async () => {
  const { b, log } = broker();
  assert.equal((await b.handle({ id: 6, method: "request", params: { permission: "profile.address" } })).error.code, "not_declared");
  assert.equal((await b.handle({ id: 7, method: "request", params: { permission: "hkid" } })).error.code, "unknown_permission");
  assert.equal((await b.handle({ id: 8, method: "request", params: {} })).error.code, "bad_request");
  assert.equal((await b.handle({ id: 9, method: "fetch" })).error.code, "unknown_method");
  assert.equal((await b.handle({ method: "launch" })).error.code, "bad_request");
  assert.deepEqual(log, []);
});

test("the platform's refusal of a granted permission (revoked elsewhere) makes the app ask again", async () => {
  const { b, log } = broker({ granted: ["profile.name"], answers: [false], fetchError: { code: "permission_not_granted", message: "revoked" } });
  const reply = await b.handle({ id: 10, method: "request", params: { permission: "profile.name" } });
  assert.equal(reply.error.code, "permission_denied");
  assert.deepEqual(log, [["data", "profile.name"], ["ask", "profile.name"]]);
});

test("a granted permission whose action is not available passes the platform's code on", async () => {
  const { b } = broker({ granted: ["payment.request"], fetchError: { code: "action_not_available", message: "not yet" } });
  const reply = await b.handle({ id: 11, method: "request", params: { permission: "payment.request" } });
  assert.deepEqual(reply, { id: 11, ok: false, error: { code: "action_not_available", message: "not yet" } });
});
