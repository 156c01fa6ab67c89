"""The operators' commands (docs/integrators.md §18 "How a partner joins the federation")."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from tungban.federation.models import Entity, Partner, Subordinate, TrustAnchor, TrustMark
from tungban.federation.services import entities, trustmarks

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_a_partner_joins_with_the_commands(settings, tmp_path):
    settings.TUNGBAN_ISSUER = "https://anchor.example.org"
    with pytest.raises(CommandError, match="federation_init"):
        run("federation_enrol", "--entity-id", "https://gd.example.org", "--jwks-file", "x", "--entity-type", "x")
    anchor = json.loads(
        run(
            "federation_init",
            "--role",
            "anchor",
            "--name-en",
            "Anchor",
            "--name-zh",
            "信任錨",
            "--json-out",
            str(tmp_path / "anchor.json"),
        )
    )
    assert anchor["entity_id"] == "https://anchor.example.org"
    assert anchor["thumbprints"] == [k["kid"] for k in anchor["jwks"]["keys"]]
    assert json.loads((tmp_path / "anchor.json").read_text()) == anchor
    # the partner's platform sends its JWK Set out of band (here: a key of its own)
    gd_jwks = {"keys": [dict(entities.federation_jwks(Entity.objects.get(path=""))["keys"][0], kid="gd")]}
    (tmp_path / "gd.json").write_text(json.dumps({"entity_id": "https://gd.example.org", "jwks": gd_jwks}))
    (tmp_path / "policy.json").write_text(json.dumps({"openid_relying_party": {"scope": {"subset_of": ["openid"]}}}))
    out = json.loads(
        run(
            "federation_enrol",
            "--entity-id",
            "https://gd.example.org",
            "--jwks-file",
            str(tmp_path / "gd.json"),
            "--entity-type",
            "federation_entity",
            "--entity-type",
            "openid_provider",
            "--policy-file",
            str(tmp_path / "policy.json"),
            "--name-en",
            "GD",
        )
    )
    assert out["thumbprints"] and out["entity_id"] == "https://gd.example.org"
    sub = Subordinate.objects.get(entity_id="https://gd.example.org")
    assert sub.metadata_policy["openid_relying_party"]["scope"] == {"subset_of": ["openid"]}
    run(
        "federation_trust_mark",
        "issue",
        "--subject",
        "https://gd.example.org/federation/services/gd",
        "--department-en",
        "GD Gov",
        "--department-zh",
        "廣東政務",
        "--out",
        str(tmp_path / "mark.jwt"),
    )
    token = (tmp_path / "mark.jwt").read_text().strip()
    assert trustmarks.status(token) == "active"
    run(
        "federation_trust_mark",
        "revoke",
        "--subject",
        "https://gd.example.org/federation/services/gd",
        "--reason",
        "ended",
    )
    assert trustmarks.status(token) == "revoked"
    assert TrustMark.objects.get().revoked_reason == "ended"
    run("federation_revoke", "--entity-id", "https://gd.example.org", "--reason", "contract ended")
    assert Subordinate.objects.get(entity_id="https://gd.example.org").revoked_at is not None
    with pytest.raises(CommandError):
        run("federation_revoke", "--entity-id", "https://nobody.example.org", "--reason", "x")


def test_a_platform_pins_its_anchor_hosts_a_service_and_records_a_partner(settings, tmp_path):
    settings.TUNGBAN_ISSUER = "https://hk.example.org"
    run(
        "federation_init",
        "--role",
        "platform",
        "--name-en",
        "HK",
        "--name-zh",
        "香港",
        "--authority-hint",
        "https://anchor.example.org",
    )
    root = Entity.objects.get(path="")
    assert root.authority_hints == ["https://anchor.example.org"]
    service = json.loads(
        run(
            "federation_service",
            "--slug",
            "hk-cross-boundary",
            "--name-en",
            "HK CB",
            "--name-zh",
            "香港跨境",
            "--department",
            "DH",
            "--required-acr",
            "urn:tungban:acr:basic",
            "--json-out",
            str(tmp_path / "svc.json"),
        )
    )
    assert service["entity_id"] == "https://hk.example.org/federation/services/hk-cross-boundary"
    assert service["protocol_jwks"]["keys"]
    entity = Entity.objects.get(path="federation/services/hk-cross-boundary")
    assert entity.required_acr == "urn:tungban:acr:basic"
    assert entity.metadata["openid_relying_party"]["redirect_uris"] == [f"{service['entity_id']}/callback"]
    assert Subordinate.objects.filter(superior=root, entity_id=service["entity_id"]).exists()
    (tmp_path / "anchor.json").write_text(json.dumps(entities.federation_jwks(root)))
    run(
        "federation_anchor",
        "--entity-id",
        "https://anchor.example.org",
        "--jwks-file",
        str(tmp_path / "anchor.json"),
        "--name-en",
        "Anchor",
        "--name-zh",
        "信任錨",
    )
    assert TrustAnchor.objects.get().jwks == entities.federation_jwks(root)
    token = entities.sign(
        root,
        {
            "iss": "https://anchor.example.org",
            "sub": service["entity_id"],
            "trust_mark_type": "https://anchor.example.org/t",
            "iat": 1,
            "exp": 2,
        },
        typ="t",
    )
    (tmp_path / "mark.jwt").write_text(token)
    run(
        "federation_receive_trust_mark",
        "--path",
        "federation/services/hk-cross-boundary",
        "--file",
        str(tmp_path / "mark.jwt"),
    )
    entity.refresh_from_db()
    assert entity.trust_marks == [{"trust_mark_type": "https://anchor.example.org/t", "trust_mark": token}]
    run(
        "federation_partner",
        "--entity-id",
        "https://gd.example.org",
        "--name-en",
        "GD",
        "--name-zh",
        "廣東",
        "--jurisdiction",
        "CN-GD",
        "--legal-basis-en",
        "GBA standard contract",
        "--legal-basis-zh",
        "大灣區標準合同",
        "--filing-reference",
        "GBA-SC-HK-2026-0001",
        "--acr-map",
        '{"urn:gd:loa:2": "urn:tungban:acr:basic"}',
    )
    partner = Partner.objects.get()
    assert (partner.filing_reference, partner.acr_map) == (
        "GBA-SC-HK-2026-0001",
        {"urn:gd:loa:2": "urn:tungban:acr:basic"},
    )
    with pytest.raises(CommandError, match="acr-map"):
        run(
            "federation_partner",
            "--entity-id",
            "https://gd.example.org",
            "--name-en",
            "GD",
            "--name-zh",
            "廣東",
            "--jurisdiction",
            "CN-GD",
            "--legal-basis-en",
            "x",
            "--legal-basis-zh",
            "x",
            "--filing-reference",
            "x",
            "--acr-map",
            "nope",
        )
