#!/usr/bin/env node
// The TypeScript side of bench/credentials.py row (e): the OpenWallet Foundation SD-JWT VC
// verifier (@sd-jwt/sd-jwt-vc with @sd-jwt/crypto-nodejs and @sd-jwt/jwt-status-list, the
// versions pinned for src/tungban/credentials/tests/independent) run once over N presentations.
//
// Reads one JSON job on stdin:
//   {"items": [["<presentation>", "<nonce>"], ...], "issuer_jwks": {"keys": [...]},
//    "issuer": "https://.../issuers/swd", "aud": "https://.../verify",
//    "status_list_tokens": {"<uri>": "<statuslist+jwt>"}, "warmup": 50}
// and prints one JSON object {"library": run, "cached_status": run, "checks", "versions"},
// each run {"count", "valid", "seconds", "cpu_seconds", "per_second", "invalid_examples"}:
// "library" is SDJwtVcInstance as configured by verify.mjs; "cached_status" the same with
// each status list token verified and decoded once (the library decodes the whole list,
// 131,072 entries, on every verification; tungban caches it by the token's content).
//
// Only the verification loop is timed (process.hrtime and process.cpuUsage around it), after
// an untimed warm-up pass over the first `warmup` items (the JIT; tungban's side is warmed by
// the rows before it). Per presentation, as src/tungban/credentials/tests/independent/verify.mjs:
// SDJwtVcInstance.verify (issuer ES256 signature with the key chosen by kid, iat/nbf/exp, the
// disclosures' digests, the KB-JWT: ES256 signature with cnf.jwk, typ, nonce, sd_hash; the
// status list token: fetched from the job, its ES256 signature, the entry, which must be 0),
// then what the library leaves to the caller: header typ dc+sd-jwt, iss, vct, KB-JWT aud,
// the status list token's sub, and that every disclosure is referenced by a digest the
// issuer signed.

import { readFileSync } from "node:fs";

import { ES256, digest, generateSalt } from "@sd-jwt/crypto-nodejs";
import { Jwt } from "@sd-jwt/core"; // a dependency of @sd-jwt/sd-jwt-vc, pinned by the lockfile
import { getListFromStatusListJWT } from "@sd-jwt/jwt-status-list";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";

const SD_JWT_TYPS = ["dc+sd-jwt", "vc+sd-jwt"];
const STATUS_LIST_TYP = "statuslist+jwt";

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

const b64urlJson = (part) => JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
const headerOf = (data) => b64urlJson(data.split(".")[0]);

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

const job = JSON.parse(readFileSync(0, "utf8"));
const keys = new Map(((job.issuer_jwks || {}).keys || []).map((k) => [k.kid, k]));
const tokens = job.status_list_tokens || {};

const issuerKey = (data, typs) => {
  const header = headerOf(data);
  if (header.alg !== "ES256") throw new Error(`unexpected alg ${header.alg}`);
  if (!typs.includes(header.typ)) throw new Error(`unexpected typ ${header.typ}`);
  const jwk = keys.get(header.kid);
  if (!jwk) throw new Error(`no issuer key with kid ${header.kid}`);
  return jwk;
};

// The status list check as the library does it: on every verification the token is fetched,
// its signature verified and the whole list decoded (@sd-jwt/jwt-status-list).
const config = {
  hasher: digest,
  hashAlg: "sha-256",
  saltGenerator: generateSalt,
  verifier: async (data, signature) => (await ES256.getVerifier(issuerKey(data, SD_JWT_TYPS)))(data, signature),
  statusVerifier: async (data, signature) => (await ES256.getVerifier(issuerKey(data, [STATUS_LIST_TYP])))(data, signature),
  kbVerifier: async (data, signature, payload) => {
    const jwk = payload && payload.cnf && payload.cnf.jwk;
    if (!jwk) throw new Error("the credential has no cnf.jwk to check the KB-JWT with");
    if (headerOf(data).alg !== "ES256") throw new Error("KB-JWT is not ES256");
    return (await ES256.getVerifier(jwk))(data, signature);
  },
  statusListFetcher: async (uri) => {
    const token = tokens[uri];
    if (!token) throw new Error(`no status list token for ${uri}`);
    if (b64urlJson(token.split(".")[1]).sub !== uri) throw new Error(`status list token sub is not ${uri}`);
    return token;
  },
  statusValidator: async (value) => {
    if (value !== 0) throw new Error(`status is ${value}, not 0 (valid)`);
  },
};

// The same, with the status list verified and decoded once per token (the token string is
// the cache key, as in tungban's verifier): the library's own Jwt.verify and
// getListFromStatusListJWT, only not repeated. Overrides SDJwtVcInstance.verifyStatus.
class CachedStatusInstance extends SDJwtVcInstance {
  constructor(cfg) {
    super(cfg);
    this.lists = new Map();
  }

  async verifyStatus(result, options) {
    const ref = result.payload.status && result.payload.status.status_list;
    if (!ref) return;
    const token = await config.statusListFetcher(ref.uri);
    let list = this.lists.get(token);
    if (!list) {
      await Jwt.fromEncode(token).verify(config.statusVerifier, options);
      list = getListFromStatusListJWT(token);
      this.lists.set(token, list);
    }
    await config.statusValidator(list.getStatus(ref.idx));
  }
}

async function verifyOne(sdjwt, presentation, nonce) {
  const result = await sdjwt.verify(presentation, { keyBindingNonce: nonce, skewSeconds: 60 });
  const payload = result.payload;
  const header = b64urlJson(presentation.split("~")[0].split(".")[0]);
  if (!SD_JWT_TYPS.includes(header.typ)) throw new Error(`header typ ${header.typ}`);
  if (job.issuer && payload.iss !== job.issuer) throw new Error(`iss ${payload.iss}`);
  if (typeof payload.vct !== "string" || !payload.vct) throw new Error("no vct");
  if (!result.kb) throw new Error("no KB-JWT verified");
  if (result.kb.payload.aud !== job.aud) throw new Error(`KB-JWT aud ${result.kb.payload.aud}`);
  const decoded = await sdjwt.decode(presentation);
  const signed = signedDigests(decoded.jwt.payload);
  for (const d of decoded.disclosures || []) {
    if (!signed.has(await d.digest({ hasher: digest, alg: "sha-256" }))) throw new Error("unreferenced disclosure");
  }
}

async function run(sdjwt) {
  for (const [presentation, nonce] of items.slice(0, job.warmup ?? 50)) {
    try { await verifyOne(sdjwt, presentation, nonce); } catch { /* counted in the timed pass */ }
  }
  let valid = 0;
  const invalid = [];
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const [presentation, nonce] of items) {
    try {
      await verifyOne(sdjwt, presentation, nonce);
      valid += 1;
    } catch (err) {
      if (invalid.length < 5) invalid.push(String(err && err.message ? err.message : err));
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return {
    count: items.length,
    valid,
    seconds,
    cpu_seconds: (cpu.user + cpu.system) / 1e6,
    per_second: seconds ? items.length / seconds : null,
    invalid_examples: invalid,
  };
}

const items = job.items || [];
const library = await run(new SDJwtVcInstance(config));
const cached = await run(new CachedStatusInstance(config));
process.stdout.write(JSON.stringify({
  library,
  cached_status: cached,
  checks: "issuer signature (kid, alg, typ), iat/nbf/exp, disclosure digests (all referenced), KB-JWT (signature with cnf.jwk, typ, nonce, aud, sd_hash), status list token (signature, typ, sub, entry = 0), iss, vct",
  versions: libraryVersions(),
}) + "\n");
