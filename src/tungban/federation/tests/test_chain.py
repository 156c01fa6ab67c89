"""Trust chain resolution (OpenID Federation 1.0 §10) against the live server: a valid chain,
then each bad input of issue 23 refused at the chain level."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey

from tungban.federation import errors
from tungban.federation.constants import TRUST_MARK_TYP
from tungban.federation.services import chain, entities, trustmarks

from .conftest import RP_POLICY, make_service


def resolve(world, **kw):
    kw.setdefault("anchors", world.anchors)
    kw.setdefault("required_trust_marks", [world.mark_type_id])
    return chain.resolve(world.service.entity_id, entity_type="openid_relying_party", **kw)


def test_a_valid_chain_resolves_with_policy_applied_and_the_trust_mark_verified(federation):
    found = resolve(federation)
    assert found.subject == federation.service.entity_id
    assert found.path == (federation.service.entity_id, federation.anchor.entity_id)
    # §4: leaf EC, the anchor's subordinate statement about the leaf, the anchor's EC.
    assert len(found.statements) == 3
    assert entities.unverified_claims(found.statements[1])["iss"] == federation.anchor.entity_id
    rp = found.metadata["openid_relying_party"]
    assert rp["token_endpoint_auth_method"] == "private_key_jwt"
    # subset_of ["openid", "profile"] keeps the declared scope values inside the set
    assert set(rp["scope"].split() if isinstance(rp["scope"], str) else rp["scope"]) <= {"openid", "profile"}
    assert rp["jwks"] == entities.protocol_jwks(federation.service)
    assert [m["trust_mark_type"] for m in found.trust_marks] == [federation.mark_type_id]
    assert found.trust_marks[0]["department_en"] == "Department of Health"
    assert found.expires_at <= int(time.time()) + entities.statement_lifetime()


def test_the_default_anchors_are_the_pinned_rows(federation):
    found = chain.resolve(federation.service.entity_id)
    assert found.anchor == federation.anchor.entity_id


def test_an_expired_subordinate_statement_is_refused(federation, settings):
    settings.TUNGBAN_FEDERATION_STATEMENT_LIFETIME = -600
    with pytest.raises(errors.InvalidTrustChain, match="expired"):
        resolve(federation)


def test_an_expired_entity_configuration_is_refused(federation, settings):
    settings.TUNGBAN_FEDERATION_ENTITY_LIFETIME = -600
    with pytest.raises(errors.InvalidTrustChain, match="expired"):
        resolve(federation)


def _stranger_jwks() -> dict:
    key = ECKey.import_key(ec.generate_private_key(ec.SECP256R1()).public_key())
    return {"keys": [{**key.as_dict(private=False), "kid": key.thumbprint()}]}


def test_a_leaf_signed_with_keys_the_superior_did_not_pin_is_refused(federation):
    entities.enrol(
        federation.anchor,
        entity_id=federation.service.entity_id,
        jwks=_stranger_jwks(),
        entity_types=["openid_relying_party"],
        name_en="x",
        name_zh="x",
        metadata_policy=RP_POLICY,
    )
    with pytest.raises(errors.InvalidTrustChain, match="signature"):
        resolve(federation)


def test_an_anchor_whose_configuration_does_not_verify_with_the_pinned_keys_is_refused(federation):
    with pytest.raises(errors.InvalidTrustChain, match="signature"):
        resolve(federation, anchors={federation.anchor.entity_id: _stranger_jwks()})


def test_a_chain_to_an_unknown_anchor_is_refused(federation):
    with pytest.raises(errors.InvalidTrustAnchor):
        resolve(federation, anchors={"https://anchor.example.org": _stranger_jwks()})


def test_no_pinned_anchor_at_all_is_refused(federation):
    with pytest.raises(errors.InvalidTrustAnchor):
        resolve(federation, anchors={})


def test_a_metadata_policy_violation_is_refused(federation):
    policy = {"openid_relying_party": {"token_endpoint_auth_method": {"one_of": ["self_signed_tls_client_auth"]}}}
    entities.enrol(
        federation.anchor,
        entity_id=federation.service.entity_id,
        jwks=entities.federation_jwks(federation.service),
        entity_types=["openid_relying_party"],
        name_en="x",
        name_zh="x",
        metadata_policy=policy,
    )
    with pytest.raises(errors.InvalidMetadata, match="token_endpoint_auth_method"):
        resolve(federation)


def test_a_missing_entity_type_is_refused(federation):
    with pytest.raises(errors.InvalidMetadata, match="openid_provider"):
        chain.resolve(federation.service.entity_id, entity_type="openid_provider", anchors=federation.anchors)


def test_a_revoked_member_is_refused_at_the_next_resolution_and_re_enrolment_restores_it(federation):
    resolve(federation)
    entities.revoke(federation.anchor, federation.service.entity_id, reason="contract ended")
    with pytest.raises(errors.InvalidTrustChain, match="404"):
        resolve(federation)
    entities.enrol(
        federation.anchor,
        entity_id=federation.service.entity_id,
        jwks=entities.federation_jwks(federation.service),
        entity_types=["openid_relying_party"],
        name_en="x",
        name_zh="x",
        metadata_policy=RP_POLICY,
    )
    assert resolve(federation).subject == federation.service.entity_id


def test_a_naming_constraint_excluding_the_leaf_is_refused(federation):
    entities.enrol(
        federation.anchor,
        entity_id=federation.service.entity_id,
        jwks=entities.federation_jwks(federation.service),
        entity_types=["openid_relying_party"],
        name_en="x",
        name_zh="x",
        constraints={"naming_constraints": {"permitted": [".gov.example"]}},
    )
    with pytest.raises(errors.InvalidTrustChain, match="permits"):
        resolve(federation)


def test_allowed_entity_types_removes_the_others(federation):
    entities.enrol(
        federation.anchor,
        entity_id=federation.service.entity_id,
        jwks=entities.federation_jwks(federation.service),
        entity_types=["openid_relying_party"],
        name_en="x",
        name_zh="x",
        constraints={"allowed_entity_types": ["openid_provider"]},
    )
    with pytest.raises(errors.InvalidMetadata, match="openid_relying_party"):
        resolve(federation)


# --- trust marks (§7.3) -----------------------------------------------------------------------


def _present(service, token: str, mark_type: str) -> None:
    """Publish ``token`` in the service's configuration as is (receive_trust_mark would refuse
    some of the bad ones)."""
    service.trust_marks = [{"trust_mark_type": mark_type, "trust_mark": token}]
    service.save(update_fields=["trust_marks"])


def _claims(world, **over) -> dict:
    now = int(time.time())
    claims = {
        "iss": world.anchor.entity_id,
        "sub": world.service.entity_id,
        "trust_mark_type": world.mark_type_id,
        "id": world.mark_type_id,
        "iat": now,
        "exp": now + 600,
        "jti": "forged",
    }
    return {**claims, **over}


def test_a_trust_mark_with_a_bad_signature_is_refused(federation):
    other = make_service("other")
    _present(federation.service, entities.sign(other, _claims(federation), typ=TRUST_MARK_TYP), federation.mark_type_id)
    with pytest.raises(errors.InvalidTrustMark, match="signature"):
        resolve(federation)


def test_a_trust_mark_for_another_subject_is_refused(federation):
    other = make_service("other")
    _mark, token = trustmarks.issue(federation.mark_type, other.entity_id, department_en="D", department_zh="署")
    _present(federation.service, token, federation.mark_type_id)
    with pytest.raises(errors.InvalidTrustMark, match="is for"):
        resolve(federation)


def test_an_expired_trust_mark_is_refused(federation, settings):
    settings.TUNGBAN_FEDERATION_TRUST_MARK_LIFETIME = -600
    _mark, token = trustmarks.issue(
        federation.mark_type, federation.service.entity_id, department_en="D", department_zh="署"
    )
    _present(federation.service, token, federation.mark_type_id)
    settings.TUNGBAN_FEDERATION_TRUST_MARK_LIFETIME = 86400
    with pytest.raises(errors.InvalidTrustMark, match="expired"):
        resolve(federation)


def test_a_trust_mark_revoked_at_the_status_endpoint_is_refused(federation):
    resolve(federation)
    trustmarks.revoke(federation.mark, reason="department withdrew the service")
    with pytest.raises(errors.InvalidTrustMark, match="revoked"):
        resolve(federation)


def test_a_trust_mark_from_an_issuer_the_anchor_does_not_list_is_refused(federation):
    other = make_service("other")
    token = entities.sign(other, _claims(federation, iss=other.entity_id), typ=TRUST_MARK_TYP)
    _present(federation.service, token, federation.mark_type_id)
    with pytest.raises(errors.InvalidTrustMark, match="not a trust mark issuer"):
        resolve(federation)


def test_a_missing_required_trust_mark_is_refused_but_the_chain_is_valid_without_it(federation):
    federation.service.trust_marks = []
    federation.service.save(update_fields=["trust_marks"])
    with pytest.raises(errors.InvalidTrustMark, match="none presented"):
        resolve(federation)
    assert resolve(federation, required_trust_marks=()).trust_marks == ()


def test_the_private_network_guard_refuses_loopback_unless_allowed(federation, settings):
    settings.TUNGBAN_FEDERATION_ALLOW_PRIVATE = False
    with pytest.raises(errors.FetchFailed, match="private network"):
        resolve(federation)


def test_a_non_url_is_refused(federation):
    with pytest.raises(errors.InvalidTrustChain):
        chain.resolve("not-a-url", anchors=federation.anchors)
