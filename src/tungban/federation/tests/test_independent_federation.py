"""Issue 23, acceptance 2 on the real topology: the trust anchor and the Guangdong platform as
separate instances (:mod:`tungban.testing.federation`), the Hong Kong platform the live server,
everything enrolled with the operators' commands and the anchor's policy of the demo. The
OpenWallet Foundation's ``@openid-federation/core`` 0.2.1 (``js/resolve.mjs``) resolves the
chains of the HK platform's OpenID provider, of HK's and GD's hosted services (leaf →
platform → anchor) and of GD's provider, and re-verifies the resolve endpoint's ``trust_chain``.

0.2.1's ``resolveTrustChains`` drops every chain under the anchor's policy: its ``subset_of``
throws on a parameter the leaf does not have (a provider has no ``openid_relying_party``) and on
a space-separated ``scope``, where §6.1.3.1 (draft 45) ignores an absent non-essential
parameter and treats ``scope`` as a list. The script therefore also runs the library's own
steps (``fetchEntityConfigurationChains``, ``fetchEntityStatementChain`` — every signature —,
``combineMetadataPolicies``, ``applyMetadataPolicyToMetadata``) with two shims for exactly
those departures; the resolved metadata compared with ours comes from there, and the test
asserts that ``resolveTrustChains`` still disagrees (so the shims are dropped once a release
conforms)."""

from __future__ import annotations

import pytest

from tungban.federation import errors
from tungban.federation.services import chain, entities
from tungban.testing.federation import federation as running  # noqa: F401 - the fixture

from .test_independent import run_node, ts_resolver  # noqa: F401 - the fixture


@pytest.mark.own_database  # the statements do not depend on the database: CI runs it once
@pytest.mark.live_http
def test_every_chain_of_the_federation_verifies_independently_until_revoked(running, ts_resolver):  # noqa: F811
    """One federation for both halves (setting up the three instances is the test's cost): every
    chain verifies there; then the anchor revokes the GD platform and no chain of GD's service
    verifies there either."""
    info = running.info
    leaves = [info["hk"], info["hk_service"], info["gd"], info["gd_service"]]
    anchor_jwks = chain.fetch_entity_configuration(info["anchor"])["jwks"]
    hk_root = entities.root()
    job = {
        "entity_ids": leaves,
        "steps": leaves,
        "trust_anchors": [info["anchor"]],
        "resolve": [
            {
                "url": f"{info['hk']}/federation/resolve?sub={leaf}&trust_anchor={info['anchor']}",
                "anchor_jwks": anchor_jwks,
                "resolver_jwks": entities.federation_jwks(hk_root),
            }
            for leaf in (info["hk_service"], info["gd_service"])
        ],
    }
    out = run_node(ts_resolver, job)
    for leaf in leaves:
        assert out["configurations"][leaf]["sub"] == leaf, out["configurations"][leaf]
        ours = chain.resolve(leaf)
        found = out["steps"][leaf]
        assert isinstance(found, list) and len(found) == 1, (leaf, found)
        assert tuple(found[0]["path"]) == ours.path
        assert found[0]["metadata"] == ours.metadata, leaf
        # the library's resolveTrustChains on its own still departs from §6.1 here
        assert out["chains"][leaf] == [], (leaf, out["chains"][leaf])
    assert "openid_provider" in out["steps"][info["hk"]][0]["metadata"]
    assert len(out["steps"][info["gd_service"]][0]["path"]) == 3  # service → GD platform → anchor
    for resolved in out["resolve"]:
        assert resolved["ok"], resolved
        assert len(resolved["checked"]) == 4  # leaf EC, GD/HK's statement, the anchor's, anchor EC

    # The anchor revokes the GD platform: at the next resolution no chain verifies there either.
    running.anchor.run("federation_revoke", "--entity-id", info["gd"], "--reason", "contract ended")
    out = run_node(
        ts_resolver,
        {"entity_ids": [info["gd_service"]], "steps": [info["gd_service"]], "trust_anchors": [info["anchor"]]},
    )
    steps = out["steps"][info["gd_service"]]
    assert steps == [] or "error" in steps, steps
    assert out["chains"][info["gd_service"]] in ([],) or "error" in out["chains"][info["gd_service"]]
    with pytest.raises(errors.InvalidTrustChain):
        chain.resolve(info["gd_service"])  # and not here
