import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { app, vectors } from "./vectors.mjs";

const { b64json } = await app("lib/encoding.js");
const { AppError, api, apiFetch, configureApi } = await app("lib/api.js");
const { T } = await app("lib/messages.js");

Object.assign(T, { network: "Cannot reach tungban.", http_error: "Something went wrong (HTTP {status})." });
configureApi({ base: "/api/v1/wallet", lang: "en", origin: "http://localhost:8000" });
const realFetch = globalThis.fetch;
afterEach(() => { globalThis.fetch = realFetch; });

function answer(status, body, calls) {
  globalThis.fetch = async (url, init) => {
    calls.push({ url, init });
    return new Response(body === null ? null : typeof body === "string" ? body : JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  };
}

test("a call with a device carries a fresh proof for exactly this method and URL", async () => {
  const v = vectors.device_proof;
  const privateKey = await crypto.subtle.importKey("jwk", v.private_jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const device = { deviceId: v.device_id, keyPair: { privateKey } };
  const calls = [];
  answer(200, { ok: true }, calls);
  assert.deepEqual(await api("PATCH", "/me", { device, body: { phone: "1" } }), { ok: true });
  await api("GET", "/app/history", { device, base: "/api/v1/exchange" });
  const [first, second] = calls;
  assert.equal(first.url, "/api/v1/wallet/me");
  assert.equal(first.init.method, "PATCH");
  assert.equal(first.init.body, '{"phone":"1"}');
  assert.equal(first.init.headers["Content-Type"], "application/json");
  assert.equal(first.init.headers["Accept-Language"], "en");
  const proof = first.init.headers.Authorization.replace(/^Device /, "");
  assert.deepEqual(b64json(proof.split(".")[0]), { alg: "ES256", kid: v.device_id, typ: "dpop+jwt" });
  const payload = b64json(proof.split(".")[1]);
  assert.equal(payload.htm, "PATCH");
  assert.equal(payload.htu, "http://localhost:8000/api/v1/wallet/me");
  const again = b64json(second.init.headers.Authorization.replace(/^Device /, "").split(".")[1]);
  assert.equal(again.htu, "http://localhost:8000/api/v1/exchange/app/history");
  assert.notEqual(again.jti, payload.jti);
});

test("no device, no Authorization header; 204 gives null", async () => {
  const calls = [];
  answer(204, null, calls);
  assert.equal(await api("POST", "/bindings", { body: {} }), null);
  assert.equal(calls[0].init.headers.Authorization, undefined);
});

test("a refusal becomes an AppError with the platform's code, message, field and status", async () => {
  answer(409, { error: "request_already_decided", message: "Already answered.", field: "decision" }, []);
  const err = await api("POST", "/requests/x/decision", { body: {} }).catch((e) => e);
  assert.ok(err instanceof AppError);
  assert.deepEqual([err.code, err.message, err.field, err.status], ["request_already_decided", "Already answered.", "decision", 409]);
  answer(502, "<html>bad gateway</html>", []);
  const other = await apiFetch("GET", "/me").catch((e) => e);
  assert.deepEqual([other.code, other.message, other.field, other.status], ["http_502", "Something went wrong (HTTP 502).", null, 502]);
});

test("a network failure becomes AppError network", async () => {
  globalThis.fetch = async () => { throw new TypeError("Failed to fetch"); };
  const err = await api("GET", "/me").catch((e) => e);
  assert.deepEqual([err.code, err.message, err.status], ["network", "Cannot reach tungban.", 0]);
});
