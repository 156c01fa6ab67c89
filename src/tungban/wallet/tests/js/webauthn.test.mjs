import assert from "node:assert/strict";
import { test } from "node:test";
import { app } from "./vectors.mjs";

const { b64u, enc } = await app("lib/encoding.js");
const { creationOptions, credentialJson, passkeyError, requestOptions } = await app("lib/webauthn.js");
const { AppError } = await app("lib/api.js");
const { T } = await app("lib/messages.js");

const bytes = (...b) => Uint8Array.from(b).buffer;

test("the platform's JSON options become the browser's: challenge and ids as bytes", () => {
  const json = {
    rp: { id: "localhost", name: "tungban" }, challenge: b64u(bytes(1, 2, 3)),
    user: { id: b64u(bytes(9, 9)), name: "A123456(3)", displayName: "CHAN Tai Man" },
    excludeCredentials: [{ type: "public-key", id: b64u(bytes(7)) }], pubKeyCredParams: [{ type: "public-key", alg: -7 }],
  };
  const pk = creationOptions(json);
  assert.deepEqual(new Uint8Array(pk.challenge), Uint8Array.from([1, 2, 3]));
  assert.deepEqual(new Uint8Array(pk.user.id), Uint8Array.from([9, 9]));
  assert.equal(pk.user.name, "A123456(3)");
  assert.deepEqual(new Uint8Array(pk.excludeCredentials[0].id), Uint8Array.from([7]));
  assert.equal(json.challenge, b64u(bytes(1, 2, 3))); // the input is left as it was
  const req = requestOptions({ challenge: b64u(bytes(4)), allowCredentials: [{ type: "public-key", id: b64u(bytes(5, 6)) }], userVerification: "required" });
  assert.deepEqual(new Uint8Array(req.challenge), Uint8Array.from([4]));
  assert.deepEqual(new Uint8Array(req.allowCredentials[0].id), Uint8Array.from([5, 6]));
  assert.equal(req.userVerification, "required");
});

test("a registration credential in the JSON form py_webauthn verifies", () => {
  const cred = {
    id: "cred-1", rawId: bytes(1, 2), type: "public-key", authenticatorAttachment: "platform",
    response: { clientDataJSON: enc.encode('{"type":"webauthn.create"}').buffer, attestationObject: bytes(3), getTransports: () => ["internal"] },
  };
  assert.deepEqual(credentialJson(cred), {
    id: "cred-1", rawId: b64u(bytes(1, 2)), type: "public-key", authenticatorAttachment: "platform", clientExtensionResults: {},
    response: { clientDataJSON: b64u(enc.encode('{"type":"webauthn.create"}')), attestationObject: b64u(bytes(3)), transports: ["internal"] },
  });
});

test("an assertion keeps authenticatorData, signature and a non-empty userHandle", () => {
  const cred = {
    id: "cred-1", rawId: bytes(1), type: "public-key",
    response: { clientDataJSON: bytes(2), authenticatorData: bytes(3), signature: bytes(4), userHandle: bytes() },
  };
  const out = credentialJson(cred);
  assert.deepEqual(out.response, { clientDataJSON: b64u(bytes(2)), authenticatorData: b64u(bytes(3)), signature: b64u(bytes(4)) });
  cred.response.userHandle = bytes(5);
  assert.equal(credentialJson(cred).response.userHandle, b64u(bytes(5)));
});

test("a cancelled ceremony and a failed one are told apart", () => {
  Object.assign(T, { passkey_cancelled: "Cancelled.", passkey_failed: "Failed: {reason}" });
  const cancelled = passkeyError(Object.assign(new Error("x"), { name: "NotAllowedError" }));
  assert.ok(cancelled instanceof AppError);
  assert.deepEqual([cancelled.code, cancelled.message], ["passkey_cancelled", "Cancelled."]);
  const failed = passkeyError(Object.assign(new Error("no authenticator"), { name: "InvalidStateError" }));
  assert.deepEqual([failed.code, failed.message], ["passkey_failed", "Failed: no authenticator"]);
});
