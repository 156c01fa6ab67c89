"""Entity statements (OpenID Federation 1.0 §3): what the platform signs, verified with joserfc
against the published keys; key rollover."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import KeySet

from tungban.federation import errors
from tungban.federation.constants import ENTITY_STATEMENT_TYP, KeyUse, Role
from tungban.federation.models import EntityKey
from tungban.federation.services import entities

from .conftest import make_service

pytestmark = pytest.mark.django_db

ANCHOR = "https://anchor.example.org"


def verified(token: str, jwks: dict) -> tuple[dict, dict]:
    got = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["ES256"])
    return dict(got.header), dict(got.claims)


@pytest.fixture
def platform(settings):
    settings.TUNGBAN_ISSUER = "https://hk.example.org"
    return entities.ensure_entity(
        path="", role=Role.PLATFORM, name_en="HK platform", name_zh="香港平台", authority_hints=[ANCHOR]
    )


def test_the_platform_configuration_is_self_signed_and_carries_the_openid_provider(platform):
    token = entities.entity_configuration(platform)
    header, claims = verified(token, entities.federation_jwks(platform))
    assert header["typ"] == ENTITY_STATEMENT_TYP and header["alg"] == "ES256"
    assert header["kid"] == entities.federation_jwks(platform)["keys"][0]["kid"]
    assert claims["iss"] == claims["sub"] == "https://hk.example.org"
    assert claims["exp"] - claims["iat"] == entities.entity_lifetime()
    assert claims["authority_hints"] == [ANCHOR]
    assert claims["jwks"] == entities.federation_jwks(platform)
    fed = claims["metadata"]["federation_entity"]
    assert fed["organization_name"] == "HK platform"
    assert fed["federation_fetch_endpoint"] == "https://hk.example.org/federation/fetch"
    assert fed["federation_resolve_endpoint"] == "https://hk.example.org/federation/resolve"
    assert fed["federation_trust_mark_status_endpoint"] == "https://hk.example.org/federation/trust_mark_status"
    op = claims["metadata"]["openid_provider"]
    assert op["issuer"] == "https://hk.example.org"
    assert op["client_registration_types_supported"] == ["automatic"]
    assert op["jwks"]["keys"] and all("d" not in k for k in op["jwks"]["keys"])
    assert "trust_mark_issuers" not in claims


def test_a_service_configuration_names_its_superior_and_its_protocol_keys(platform):
    service = make_service("hk-cross-boundary")
    _header, claims = verified(entities.entity_configuration(service), entities.federation_jwks(service))
    assert claims["iss"] == "https://hk.example.org/federation/services/hk-cross-boundary"
    assert claims["authority_hints"] == ["https://hk.example.org"]
    rp = claims["metadata"]["openid_relying_party"]
    assert rp["token_endpoint_auth_method"] == "private_key_jwt"
    assert rp["client_registration_types"] == ["automatic"]
    assert rp["jwks"] == entities.protocol_jwks(service)
    assert rp["jwks"] != claims["jwks"]  # protocol and federation keys are apart (§1.2)
    assert "federation_fetch_endpoint" not in claims["metadata"]["federation_entity"]
    # the protocol key signs; its public half is the published one
    assert entities.protocol_key(service).as_dict(private=False)["x"] == rp["jwks"]["keys"][0]["x"]


def test_the_subordinate_statement_pins_the_enrolled_keys_with_policy_and_constraints(platform):
    service = make_service("svc")
    policy = {"openid_relying_party": {"scope": {"subset_of": ["openid"]}}}
    entities.enrol(
        platform,
        entity_id=service.entity_id,
        jwks=entities.federation_jwks(service),
        entity_types=["openid_relying_party"],
        name_en="svc",
        name_zh="服務",
        metadata_policy=policy,
        constraints={"max_path_length": 0},
    )
    _h, claims = verified(
        entities.subordinate_statement(platform, service.entity_id), entities.federation_jwks(platform)
    )
    assert (claims["iss"], claims["sub"]) == (platform.entity_id, service.entity_id)
    assert claims["jwks"] == entities.federation_jwks(service)
    assert claims["metadata_policy"] == policy
    assert claims["constraints"] == {"max_path_length": 0}
    assert claims["source_endpoint"] == "https://hk.example.org/federation/fetch"
    assert claims["exp"] - claims["iat"] == entities.statement_lifetime()


def test_no_statement_about_self_a_stranger_or_a_revoked_subordinate(platform):
    service = make_service("svc")
    with pytest.raises(errors.InvalidSubject):
        entities.subordinate_statement(platform, platform.entity_id)
    with pytest.raises(errors.EntityNotFound):
        entities.subordinate_statement(platform, "https://stranger.example.org")
    entities.revoke(platform, service.entity_id, reason="test")
    with pytest.raises(errors.EntityNotFound):
        entities.subordinate_statement(platform, service.entity_id)
    assert service.entity_id not in entities.list_subordinates(platform)


def test_enrolment_refuses_private_keys_and_bad_identifiers(platform):
    service = make_service("svc")
    private = entities.protocol_key(service).as_dict(private=True)
    with pytest.raises(errors.InvalidRequest, match="private"):
        entities.enrol(platform, entity_id=ANCHOR, jwks={"keys": [private]}, entity_types=[], name_en="", name_zh="")
    with pytest.raises(errors.InvalidRequest, match="URL"):
        entities.enrol(
            platform,
            entity_id="ftp://x",
            jwks=entities.federation_jwks(service),
            entity_types=[],
            name_en="",
            name_zh="",
        )
    with pytest.raises(errors.InvalidRequest, match="malformed|no keys"):
        entities.pin_anchor(ANCHOR, {"keys": []}, name_en="a", name_zh="a")


def test_ensure_entity_is_idempotent(platform):
    first = make_service("svc")
    again = make_service("svc")
    assert first.pk == again.pk
    assert EntityKey.objects.filter(entity=first).count() == 2  # one federation, one protocol


def test_a_rolled_over_key_stays_published_for_the_longest_statement_lifetime(platform, settings):
    old_kid = entities.federation_jwks(platform)["keys"][0]["kid"]
    new = entities.rotate_key(platform, KeyUse.FEDERATION)
    kids = [k["kid"] for k in entities.federation_jwks(platform)["keys"]]
    assert kids == [new.kid, old_kid]
    header, _ = verified(entities.entity_configuration(platform), entities.federation_jwks(platform))
    assert header["kid"] == new.kid
    EntityKey.objects.filter(kid=old_kid).update(
        retired_at=timezone.now() - dt.timedelta(seconds=entities.retirement_seconds() + 1)
    )
    assert [k["kid"] for k in entities.federation_jwks(platform)["keys"]] == [new.kid]


def test_a_received_trust_mark_must_name_the_entity(platform):
    service = make_service("svc")
    other = make_service("other")
    token = entities.sign(
        platform,
        {"iss": platform.entity_id, "sub": other.entity_id, "trust_mark_type": "t", "iat": 1, "exp": 2},
        typ="x",
    )
    with pytest.raises(errors.InvalidRequest, match="is for"):
        entities.receive_trust_mark(service, token)
    with pytest.raises(errors.InvalidRequest, match="not a JWT"):
        entities.receive_trust_mark(service, "garbage")
