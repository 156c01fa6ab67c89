// Part fpolicy of issue 23: the OpenWallet Foundation's @openid-federation/core 0.2.1 runs the same
// metadata policy cases as tungban's federation/services/policy.py (test_policy.py compares them).
//
// Input (stdin, JSON): {"cases": {name: {"policies": [anchor's first ...], "metadata": {...}}}}
// Output (stdout, JSON): {name: {"merged": {...}, "resolved": {...}} | {"error": "..."}}
import { applyMetadataPolicyToMetadata, combineMetadataPolicies } from "@openid-federation/core";

const input = JSON.parse(await new Promise((ok) => {
  let text = "";
  process.stdin.on("data", (d) => (text += d));
  process.stdin.on("end", () => ok(text));
}));

const out = {};
for (const [name, job] of Object.entries(input.cases)) {
  try {
    // The library takes the chain's statements without the leaf, leaf side first, anchor last.
    const statements = [...job.policies].reverse().map((metadata_policy) => ({ metadata_policy }));
    const { mergedPolicy } = combineMetadataPolicies({ statements });
    const { resolvedLeafMetadata } = applyMetadataPolicyToMetadata({
      leafMetadata: job.metadata,
      policyMetadata: mergedPolicy,
    });
    out[name] = { merged: mergedPolicy, resolved: resolvedLeafMetadata };
  } catch (e) {
    out[name] = { error: String(e?.message ?? e) };
  }
}
process.stdout.write(JSON.stringify(out));
