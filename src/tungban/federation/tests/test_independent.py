"""Issue 23, acceptance 2: every entity statement and trust chain the platform produces verifies
with an implementation the platform does not use: the OpenWallet Foundation's TypeScript
``@openid-federation/core`` 0.2.1 (``resolveTrustChains``, ``fetchEntityConfiguration``), run
by ``js/resolve.mjs`` under Node.js with signatures checked by ``node:crypto``. Versions pinned in
``js/package-lock.json``, installed by :func:`tungban.testing.npm.pinned_script` (Node.js 20+
and npm required: without them these tests fail, they do not skip).

Limits of that library (0.2.1) met here: it reads a trust mark's ``id`` (earlier drafts; the
platform sends both ``id`` and ``trust_mark_type``), it does not check trust marks' signatures
nor status, nor the anchor's keys against pinned ones (it trusts the anchor's own
configuration), and its ``subset_of`` wants a JSON array where OpenID Connect's ``scope`` is a
space-separated string: the anchor's policy on ``scope`` therefore makes it drop the chain (a
difference recorded in docs/integrators.md §18), so the chains compared here run under a
policy without ``scope``. The resolve endpoint's ``trust_chain`` is re-verified JWT by JWT with
``node:crypto`` alone."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from tungban.federation import errors, views_federation
from tungban.federation.services import chain, entities

from .conftest import RP_POLICY

JS = Path(__file__).with_name("js")
NODE_TIMEOUT = 120
#: The anchor's policy without ``scope`` (see the module docstring).
TS_POLICY = {"openid_relying_party": {k: v for k, v in RP_POLICY["openid_relying_party"].items() if k != "scope"}}


@pytest.fixture(scope="session")
def ts_resolver(request, tmp_path_factory) -> Path:
    from tungban.testing import npm

    return npm.pinned_script(
        request,
        tmp_path_factory,
        JS,
        "resolve.mjs",
        name="openid-federation",
        installed="@openid-federation/core",
        purpose="Acceptance 2 of issue 23 (independent OpenID Federation verifier)",
    )


def run_node(script: Path, job: dict) -> dict:
    proc = subprocess.run(
        ["node", str(script)], input=json.dumps(job), capture_output=True, text=True, timeout=NODE_TIMEOUT
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _enrol(world, policy=TS_POLICY):
    entities.enrol(
        world.anchor,
        entity_id=world.service.entity_id,
        jwks=entities.federation_jwks(world.service),
        entity_types=["federation_entity", "openid_relying_party"],
        name_en=world.service.name_en,
        name_zh=world.service.name_zh,
        metadata_policy=policy,
    )


def _job(world) -> dict:
    return {
        "entity_ids": [world.service.entity_id],
        "trust_anchors": [world.anchor.entity_id],
        "resolve": [
            {
                "url": f"{world.url}/federation/resolve?sub={world.service.entity_id}"
                f"&trust_anchor={world.anchor.entity_id}",
                "anchor_jwks": entities.federation_jwks(world.anchor),
                "resolver_jwks": entities.federation_jwks(world.anchor),
            }
        ],
    }


def test_the_service_chain_and_metadata_match_the_independent_resolver(federation, ts_resolver):
    _enrol(federation)
    ours = chain.resolve(federation.service.entity_id, anchors=federation.anchors)
    out = run_node(ts_resolver, _job(federation))
    assert out["configurations"][federation.service.entity_id]["sub"] == federation.service.entity_id
    chains = out["chains"][federation.service.entity_id]
    assert isinstance(chains, list) and len(chains) == 1, chains
    assert chains[0]["anchor"] == federation.anchor.entity_id
    assert chains[0]["metadata"] == ours.metadata
    [resolved] = out["resolve"]
    assert resolved["ok"], resolved
    assert len(resolved["checked"]) == 3 and resolved["metadata"] == ours.metadata


def test_a_revoked_subordinate_yields_no_chain_there_either(federation, ts_resolver):
    _enrol(federation)
    entities.revoke(federation.anchor, federation.service.entity_id, reason="test")
    out = run_node(ts_resolver, _job(federation))
    chains = out["chains"][federation.service.entity_id]
    assert chains == [] or "error" in chains, chains
    assert not out["resolve"][0]["ok"]


def test_a_tampered_statement_yields_no_chain_there_either(federation, ts_resolver, monkeypatch):
    """The fetch endpoint serves the anchor's subordinate statement with its payload altered
    after signing (the leaf's keys swapped for a stranger's): the signature no longer covers
    it, and both resolvers refuse the chain."""
    _enrol(federation)
    stranger = entities.ensure_entity(path="federation/services/stranger", role="service", name_en="s", name_zh="s")
    genuine = entities.subordinate_statement

    def tampered(superior, entity_id, **kw):
        header, payload, signature = genuine(superior, entity_id, **kw).split(".")
        claims = entities.unverified_claims(f"{header}.{payload}.{signature}")
        claims["jwks"] = entities.federation_jwks(stranger)
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return f"{header}.{body}.{signature}"

    monkeypatch.setattr(views_federation.entities, "subordinate_statement", tampered)
    out = run_node(ts_resolver, _job(federation))
    chains = out["chains"][federation.service.entity_id]
    assert chains == [] or "error" in chains, chains
    assert not out["resolve"][0]["ok"]
    with pytest.raises(errors.InvalidTrustChain, match="signature"):
        chain.resolve(federation.service.entity_id, anchors=federation.anchors)
