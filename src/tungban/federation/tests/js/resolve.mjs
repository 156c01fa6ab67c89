// Acceptance 2 of issue 23: the platform's entity statements and trust chains verified by an
// implementation the platform does not use, the OpenWallet Foundation's @openid-federation/core.
//
// Input (stdin, JSON): {"entity_ids": [...], "steps": [...], "trust_anchors": [...],
//   "resolve": [{"url": resolve endpoint URL with its query, "anchor_jwks": {...}, "resolver_jwks": {...}}]}
// Output (stdout, JSON): {"chains": {entity_id: [{"path", "statements", "metadata"}] | {"error"}},
//   "resolve": [{"ok", "sub", "metadata", "checked", "error"?}]}
import { createPublicKey, verify } from "node:crypto";
import {
  applyMetadataPolicyToMetadata,
  combineMetadataPolicies,
  fetchEntityConfiguration,
  fetchEntityConfigurationChains,
  fetchEntityStatementChain,
  resolveTrustChains,
} from "@openid-federation/core";

const HASH = { ES256: "sha256", ES384: "sha384", ES512: "sha512" };

// verifyJwtCallback: the library hands the signing input, the signature and the JWK it chose.
async function verifyJwtCallback({ header, data, signature, jwk }) {
  const key = createPublicKey({ key: jwk, format: "jwk" });
  return verify(HASH[header.alg] ?? "sha256", data, { key, dsaEncoding: "ieee-p1363" }, signature);
}

const b64 = (s) => Buffer.from(s, "base64url");
function decode(jwt) {
  const [h, p] = jwt.split(".");
  return { header: JSON.parse(b64(h)), claims: JSON.parse(b64(p)) };
}

// A compact JWS verified with one of jwks' keys (by kid), by node:crypto alone.
function verifyCompact(jwt, jwks) {
  const [h, p, s] = jwt.split(".");
  const header = JSON.parse(b64(h));
  const jwk = (jwks?.keys ?? []).find((k) => k.kid === header.kid);
  if (!jwk) return false;
  const key = createPublicKey({ key: jwk, format: "jwk" });
  return verify(HASH[header.alg] ?? "sha256", Buffer.from(`${h}.${p}`), { key, dsaEncoding: "ieee-p1363" }, b64(s));
}

const input = JSON.parse(await new Promise((ok) => {
  let text = "";
  process.stdin.on("data", (d) => (text += d));
  process.stdin.on("end", () => ok(text));
}));

const out = { chains: {}, configurations: {}, steps: {}, resolve: [] };
for (const entityId of input.entity_ids ?? []) {
  try {
    const ec = await fetchEntityConfiguration({ entityId, verifyJwtCallback });
    out.configurations[entityId] = { iss: ec.iss, sub: ec.sub };
  } catch (e) {
    out.configurations[entityId] = { error: String(e?.message ?? e) };
  }
  try {
    const chains = await resolveTrustChains({ entityId, trustAnchorEntityIds: input.trust_anchors, verifyJwtCallback });
    out.chains[entityId] = chains.map((c) => ({
      path: c.chain.map((s) => [s.iss, s.sub]),
      anchor: c.trustAnchorEntityConfiguration.sub,
      metadata: c.resolvedLeafMetadata,
    }));
  } catch (e) {
    out.chains[entityId] = { error: String(e?.message ?? e) };
  }
}

// The library's own steps (resolveTrustChains' body: fetchEntityConfigurationChains,
// fetchEntityStatementChain — every signature —, combineMetadataPolicies,
// applyMetadataPolicyToMetadata) with two shims for its departures from §6.1 (draft 45):
// (1) a policy entry for an entity type or a parameter the leaf does not have is left out
// unless "essential" (§6.1.3.1: an operator on an absent, non-essential parameter does
// nothing; 0.2.1's subset_of throws), (2) OpenID Connect's space-separated "scope" is an array
// while the policy is applied and joined afterwards (§6.1.3.1: scope is a list of values).
function shimmedPolicy(policy, metadata) {
  const out = {};
  for (const [type, params] of Object.entries(policy ?? {})) {
    for (const [name, ops] of Object.entries(params ?? {})) {
      const present = metadata?.[type]?.[name] !== undefined;
      if (!present && !ops.essential && !("value" in ops) && !("default" in ops) && !("add" in ops)) continue;
      (out[type] ??= {})[name] = ops;
    }
  }
  return out;
}
for (const entityId of input.steps ?? []) {
  try {
    const configurationChains = await fetchEntityConfigurationChains({
      leafEntityId: entityId,
      trustAnchorEntityIds: input.trust_anchors,
      verifyJwtCallback,
    });
    const found = [];
    for (const configurations of configurationChains) {
      const statements = await fetchEntityStatementChain({ entityConfigurations: configurations, verifyJwtCallback });
      if (statements.some((s) => s.exp < new Date())) continue;
      const leaf = configurations[0];
      const withoutLeaf = statements.slice(0, -1);
      const { mergedPolicy } = combineMetadataPolicies({ statements: withoutLeaf });
      if (withoutLeaf[0]?.metadata) throw new Error("superior metadata is not expected in this federation");
      const metadata = JSON.parse(JSON.stringify(leaf.metadata ?? {}));
      const rp = metadata.openid_relying_party;
      const scopeWasString = typeof rp?.scope === "string";
      if (scopeWasString) rp.scope = rp.scope.split(" ").filter(Boolean);
      let { resolvedLeafMetadata } = applyMetadataPolicyToMetadata({
        leafMetadata: metadata,
        policyMetadata: shimmedPolicy(mergedPolicy, metadata),
      });
      if (scopeWasString && Array.isArray(resolvedLeafMetadata.openid_relying_party?.scope)) {
        resolvedLeafMetadata = JSON.parse(JSON.stringify(resolvedLeafMetadata));
        resolvedLeafMetadata.openid_relying_party.scope = resolvedLeafMetadata.openid_relying_party.scope.join(" ");
      }
      found.push({
        path: configurations.map((c) => c.sub),
        statements: statements.map((s) => [s.iss, s.sub]),
        metadata: resolvedLeafMetadata,
      });
    }
    out.steps[entityId] = found;
  } catch (e) {
    out.steps[entityId] = { error: String(e?.message ?? e) };
  }
}

// The resolve endpoint's answer: its own signature, then every JWT of its trust_chain, each
// with the keys of the next statement (the superior's statement about its issuer, or the
// anchor's configuration), the anchor's configuration with the keys pinned out of band.
for (const job of input.resolve ?? []) {
  try {
    const r = await fetch(job.url);
    const text = await r.text();
    if (r.headers.get("content-type") !== "application/resolve-response+jwt") throw new Error(`content type ${r.headers.get("content-type")}: ${text}`);
    if (!verifyCompact(text, job.resolver_jwks)) throw new Error("the resolve response's signature does not verify");
    const { claims } = decode(text);
    const chain = claims.trust_chain;
    const checked = [];
    for (let i = 0; i < chain.length; i++) {
      const keys = i === chain.length - 1 ? job.anchor_jwks : decode(chain[i + 1]).claims.jwks;
      const { claims: c } = decode(chain[i]);
      const linked = i === chain.length - 1 || i === 0 ? c.iss === c.sub : true;
      const nextSub = i < chain.length - 1 ? decode(chain[i + 1]).claims.sub : null;
      // statement i is issued by the subject of statement i+1 (§4)
      const issuerMatches = i === chain.length - 1 || i === 0 || c.iss === nextSub;
      checked.push({ iss: c.iss, sub: c.sub, signature: verifyCompact(chain[i], keys), linked: linked && issuerMatches });
    }
    out.resolve.push({ ok: checked.every((x) => x.signature && x.linked), sub: claims.sub, metadata: claims.metadata, checked });
  } catch (e) {
    out.resolve.push({ ok: false, error: String(e?.message ?? e) });
  }
}
process.stdout.write(JSON.stringify(out));
