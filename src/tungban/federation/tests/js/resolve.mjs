// Acceptance 2 of issue 23: the platform's entity statements and trust chains verified by an
// implementation the platform does not use, the OpenWallet Foundation's @openid-federation/core.
//
// Input (stdin, JSON): {"entity_ids": [...], "trust_anchors": [...],
//   "resolve": [{"url": resolve endpoint URL with its query, "anchor_jwks": {...}, "resolver_jwks": {...}}]}
// Output (stdout, JSON): {"chains": {entity_id: [{"path", "statements", "metadata"}] | {"error"}},
//   "resolve": [{"ok", "sub", "metadata", "checked", "error"?}]}
import { createPublicKey, verify } from "node:crypto";
import { fetchEntityConfiguration, resolveTrustChains } from "@openid-federation/core";

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

const out = { chains: {}, configurations: {}, resolve: [] };
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
