#!/usr/bin/env node
// Verify a tungban SD-JWT VC presentation with an independent implementation: the
// OpenWallet Foundation's TypeScript SD-JWT libraries (@sd-jwt/sd-jwt-vc, with
// @sd-jwt/crypto-nodejs for ES256 and SHA-256 and @sd-jwt/jwt-status-list, through
// SDJwtVcInstance, for the status list). tungban itself uses the Python `sd-jwt` library and
// joserfc; nothing here comes from them. Used by ../test_independent_verifier.py.
//
// Reads one JSON job on stdin and prints one JSON object on stdout.
//
// Verify (the default mode):
//   {"presentation": "<jwt>~<disclosure>~...~<kb-jwt or empty>",
//    "issuer_jwks": {"keys": [...]},          // the issuer's JWKS; the key is chosen by kid
//    "issuer": "https://.../issuers/swd",     // optional: the expected iss
//    "status_list_tokens": {"<uri>": "<statuslist+jwt>"},
//    "expected": {"aud": "...", "nonce": "..."},  // a KB-JWT is required when given
//    "type_metadata": {"<vct>": {...}},       // optional: SD-JWT VC Type Metadata to load
//    "now": 1700000000}                       // optional: epoch seconds
//   -> {"verified": bool, "claims": {disclosed claims}, "payload": {...}, "status": {"uri",
//       "idx", "value"} | null, "kb": {...} | null, "type_metadata": {...} | null,
//       "stage": "...", "error": "..." | null, "library": {name: version}}
//
// Everything the library checks is done by SDJwtVcInstance.verify: the issuer-signed JWT's
// ES256 signature (verifier), iat/nbf/exp, the disclosures' digests, the KB-JWT (signature
// with cnf.jwk via kbVerifier, typ kb+jwt, nonce, sd_hash over the presentation), the status
// list token (fetched through statusListFetcher, its signature through statusVerifier, the
// entry read by @sd-jwt/jwt-status-list, judged by statusValidator) and, when type metadata is
// given, the Type Metadata document (vctFetcher, validated by the library's schema).
// On top of the library, because it does not check them (see "checks" in the output):
// header typ dc+sd-jwt, iss, vct present, KB-JWT aud, the status list token's typ and sub,
// and that every disclosure is referenced by a digest in the issuer-signed JWT (RFC 9901
// §7.1 step 3.3; @sd-jwt 0.19 silently drops unreferenced disclosures, 0.20 rejects them).
//
// Present ("mode": "present"): a holder-side presentation made by the same library,
//   {"mode": "present", "sd_jwt": "...", "disclose": ["name", ...], "holder_private_jwk": {...},
//    "aud": "...", "nonce": "...", "iat": 1700000000}
//   -> {"presentation": "..."}

import { readFileSync } from "node:fs";

import { ES256, digest, generateSalt } from "@sd-jwt/crypto-nodejs";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";

const SD_JWT_TYPS = ["dc+sd-jwt", "vc+sd-jwt"];
const STATUS_LIST_TYP = "statuslist+jwt";
const REGISTERED = new Set(["iss", "sub", "vct", "vct#integrity", "iat", "nbf", "exp", "status", "cnf", "_sd_alg"]);

function libraryVersions() {
  const out = {};
  for (const name of ["@sd-jwt/sd-jwt-vc", "@sd-jwt/core", "@sd-jwt/crypto-nodejs", "@sd-jwt/jwt-status-list"]) {
    try {
      out[name] = JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url), "utf8")).version;
    } catch {
      out[name] = null;
    }
  }
  return out;
}

function b64urlJson(part) {
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
}

function headerOf(data) {
  // `data` is the signing input "<header>.<payload>" the library hands to a verifier.
  return b64urlJson(data.split(".")[0]);
}

// Every digest the issuer signed: `_sd` entries of objects and `...` entries of arrays.
function signedDigests(value, out = new Set()) {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item && typeof item === "object" && !Array.isArray(item) && typeof item["..."] === "string" && Object.keys(item).length === 1) {
        out.add(item["..."]);
      } else {
        signedDigests(item, out);
      }
    }
  } else if (value && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (key === "_sd" && Array.isArray(item)) {
        for (const d of item) out.add(d);
      } else {
        signedDigests(item, out);
      }
    }
  }
  return out;
}

async function verify(job) {
  const out = {
    verified: false, claims: {}, payload: null, status: null, kb: null, type_metadata: null,
    stage: "decode", error: null, checks: [], library: libraryVersions(),
  };
  const keys = new Map(((job.issuer_jwks || {}).keys || []).map((k) => [k.kid, k]));
  const tokens = job.status_list_tokens || {};
  const expected = job.expected || null;
  const types = job.type_metadata || null;
  let stage = "decode";

  // The issuer's key, chosen by the kid in the header of the JWT being verified.
  const issuerKey = (data, typs) => {
    const header = headerOf(data);
    if (header.alg !== "ES256") throw new Error(`unexpected alg ${header.alg}`);
    if (!typs.includes(header.typ)) throw new Error(`unexpected typ ${header.typ}`);
    const jwk = keys.get(header.kid);
    if (!jwk) throw new Error(`no issuer key with kid ${header.kid}`);
    return jwk;
  };

  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    hashAlg: "sha-256",
    saltGenerator: generateSalt,
    verifier: async (data, signature) => {
      stage = "issuer_signature";
      return (await ES256.getVerifier(issuerKey(data, SD_JWT_TYPS)))(data, signature);
    },
    statusVerifier: async (data, signature) => {
      stage = "status_signature";
      return (await ES256.getVerifier(issuerKey(data, [STATUS_LIST_TYP])))(data, signature);
    },
    kbVerifier: async (data, signature, payload) => {
      stage = "key_binding";
      const jwk = payload && payload.cnf && payload.cnf.jwk;
      if (!jwk) throw new Error("the credential has no cnf.jwk to check the KB-JWT with");
      if (headerOf(data).alg !== "ES256") throw new Error("KB-JWT is not ES256");
      return (await ES256.getVerifier(jwk))(data, signature);
    },
    statusListFetcher: async (uri) => {
      stage = "status_fetch";
      const token = tokens[uri];
      if (!token) throw new Error(`no status list token for ${uri}`);
      const claims = b64urlJson(token.split(".")[1]);
      if (claims.sub !== uri) throw new Error(`status list token sub ${claims.sub} is not ${uri}`);
      out.status = { uri, idx: null, value: null };
      return token;
    },
    statusValidator: async (value) => {
      stage = "status";
      out.status.value = value;
      if (value !== 0) throw new Error(`status is ${value} (${{ 1: "invalid/revoked", 2: "suspended" }[value] || "unknown"}), not 0 (valid)`);
    },
    ...(types ? {
      loadTypeMetadataFormat: true,
      vctFetcher: async (vct) => {
        stage = "type_metadata";
        if (!types[vct]) throw new Error(`no type metadata for ${vct}`);
        return types[vct];
      },
    } : {}),
  });

  try {
    const options = { currentDate: job.now, skewSeconds: 60 };
    if (expected && expected.nonce) options.keyBindingNonce = expected.nonce;
    stage = "verify";
    const result = await sdjwt.verify(job.presentation, options);
    const payload = result.payload;
    out.payload = payload;
    if (out.status) out.status.idx = payload.status.status_list.idx;
    if (result.typeMetadata) out.type_metadata = result.typeMetadata.mergedTypeMetadata;
    out.checks.push("library: issuer signature, disclosures, validity, key binding, status list, type metadata");

    // Checks the library leaves to the caller.
    stage = "checks";
    const header = b64urlJson(job.presentation.split("~")[0].split(".")[0]);
    if (!SD_JWT_TYPS.includes(header.typ)) throw new Error(`header typ ${header.typ}`);
    if (job.issuer && payload.iss !== job.issuer) throw new Error(`iss ${payload.iss} is not ${job.issuer}`);
    if (typeof payload.vct !== "string" || !payload.vct) throw new Error("no vct");
    if (expected) {
      if (!result.kb) throw new Error("no KB-JWT verified");
      if (expected.aud && result.kb.payload.aud !== expected.aud) throw new Error(`KB-JWT aud ${result.kb.payload.aud} is not ${expected.aud}`);
      out.kb = { header: result.kb.header, payload: result.kb.payload };
    }
    out.checks.push("verify.mjs: typ, iss, vct, KB-JWT aud, status list sub");

    stage = "disclosures";
    const decoded = await sdjwt.decode(job.presentation);
    const signed = signedDigests(decoded.jwt.payload);
    const disclosures = decoded.disclosures || [];
    for (const d of disclosures) {
      const dg = await d.digest({ hasher: digest, alg: "sha-256" });
      if (!signed.has(dg)) throw new Error(`disclosure ${d.encode()} is not referenced by the issuer-signed JWT`);
    }
    out.checks.push("verify.mjs: every disclosure is referenced by the issuer-signed JWT");
    for (const d of disclosures) {
      if (d.key !== undefined && !REGISTERED.has(d.key)) out.claims[d.key] = payload[d.key];
    }
    out.stage = "done";
    out.verified = true;
  } catch (err) {
    out.stage = stage;
    out.error = `${err && err.name ? err.name + ": " : ""}${err && err.message ? err.message : String(err)}`;
  }
  return out;
}

async function present(job) {
  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    hashAlg: "sha-256",
    saltGenerator: generateSalt,
    kbSigner: await ES256.getSigner(job.holder_private_jwk),
    kbSignAlg: "ES256",
  });
  const frame = Object.fromEntries((job.disclose || []).map((name) => [name, true]));
  const presentation = await sdjwt.present(job.sd_jwt, frame, {
    kb: { payload: { iat: job.iat || Math.floor(Date.now() / 1000), aud: job.aud, nonce: job.nonce } },
  });
  return { presentation, library: libraryVersions() };
}

let job;
try {
  job = JSON.parse(readFileSync(0, "utf8"));
} catch (err) {
  process.stdout.write(JSON.stringify({ verified: false, error: `bad job: ${err.message}` }) + "\n");
  process.exit(2);
}
const output = job.mode === "present" ? await present(job) : await verify(job);
process.stdout.write(JSON.stringify(output) + "\n");
