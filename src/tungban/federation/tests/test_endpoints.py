"""The federation endpoints (§8, §9): content types, Cache-Control, §8.9 errors; the resolve
endpoint's complete chain; the trust mark status endpoint's signed answer."""

from __future__ import annotations

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from tungban.federation.constants import (
    ENTITY_STATEMENT_MEDIA_TYPE,
    RESOLVE_RESPONSE_MEDIA_TYPE,
    TRUST_MARK_STATUS_MEDIA_TYPE,
)
from tungban.federation.services import entities, trustmarks


def claims_of(token: str, jwks: dict) -> dict:
    return dict(jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["ES256"]).claims)


def test_entity_configurations_are_served_with_their_type_and_a_bounded_cache(federation):
    for url, entity in (
        (f"{federation.url}/.well-known/openid-federation", federation.anchor),
        (f"{federation.service.entity_id}/.well-known/openid-federation", federation.service),
    ):
        r = requests.get(url, timeout=10)
        assert r.status_code == 200
        assert r.headers["Content-Type"] == ENTITY_STATEMENT_MEDIA_TYPE
        max_age = int(r.headers["Cache-Control"].split("max-age=")[1])
        claims = claims_of(r.text, entities.federation_jwks(entity))
        assert 0 < max_age <= claims["exp"] - claims["iat"]
        assert claims["sub"] == entity.entity_id
    anchor_claims = claims_of(
        requests.get(f"{federation.url}/.well-known/openid-federation", timeout=10).text,
        entities.federation_jwks(federation.anchor),
    )
    assert anchor_claims["trust_mark_issuers"] == {federation.mark_type_id: [federation.anchor.entity_id]}
    assert "authority_hints" not in anchor_claims
    assert anchor_claims["metadata"]["federation_entity"]["federation_trust_mark_endpoint"].endswith(
        "/federation/trust_mark"
    )
    r = requests.get(f"{federation.url}/federation/services/nope/.well-known/openid-federation", timeout=10)
    assert (r.status_code, r.json()["error"]) == (404, "not_found")


@pytest.mark.parametrize(
    "params, status, code",
    [
        ({}, 400, "invalid_request"),
        ({"sub": "https://stranger.example.org"}, 404, "not_found"),
        ({"sub": "SELF"}, 404, "invalid_subject"),
        ({"sub": "SERVICE", "iss": "https://other.example.org"}, 404, "invalid_issuer"),
    ],
)
def test_fetch_errors_follow_section_8_9(federation, params, status, code):
    params = {
        k: {"SELF": federation.anchor.entity_id, "SERVICE": federation.service.entity_id}.get(v, v)
        for k, v in params.items()
    }
    r = requests.get(f"{federation.url}/federation/fetch", params=params, timeout=10)
    assert (r.status_code, r.json()["error"]) == (status, code)
    assert r.headers["Content-Type"] == "application/json"
    assert r.json()["error_description"]


def test_fetch_serves_the_subordinate_statement_until_revoked(federation):
    url = f"{federation.url}/federation/fetch"
    r = requests.get(url, params={"sub": federation.service.entity_id}, timeout=10)
    assert r.headers["Content-Type"] == ENTITY_STATEMENT_MEDIA_TYPE
    assert r.headers["Cache-Control"] == "no-cache"
    assert claims_of(r.text, entities.federation_jwks(federation.anchor))["sub"] == federation.service.entity_id
    entities.revoke(federation.anchor, federation.service.entity_id, reason="test")
    r = requests.get(url, params={"sub": federation.service.entity_id}, timeout=10)
    assert (r.status_code, r.json()["error"]) == (404, "not_found")


def test_list_filters_by_entity_type_and_refuses_unsupported_parameters(federation):
    url = f"{federation.url}/federation/list"
    assert requests.get(url, timeout=10).json() == [federation.service.entity_id]
    assert requests.get(url, params={"entity_type": "openid_relying_party"}, timeout=10).json() == [
        federation.service.entity_id
    ]
    assert requests.get(url, params={"entity_type": "openid_provider"}, timeout=10).json() == []
    r = requests.get(url, params={"trust_marked": "true"}, timeout=10)
    assert (r.status_code, r.json()["error"]) == (400, "unsupported_parameter")


def test_resolve_returns_the_complete_signed_chain(federation):
    r = requests.get(
        f"{federation.url}/federation/resolve",
        params={
            "sub": federation.service.entity_id,
            "trust_anchor": federation.anchor.entity_id,
            "entity_type": "openid_relying_party",
        },
        timeout=20,
    )
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == RESOLVE_RESPONSE_MEDIA_TYPE
    anchor_keys = entities.federation_jwks(federation.anchor)
    claims = claims_of(r.text, anchor_keys)
    assert claims["sub"] == federation.service.entity_id
    assert list(claims["metadata"]) == ["openid_relying_party"]
    assert claims["trust_marks"][0]["trust_mark_type"] == federation.mark_type_id
    leaf, statement, anchor_ec = claims["trust_chain"]
    assert claims_of(leaf, entities.federation_jwks(federation.service))["iss"] == federation.service.entity_id
    # the anchor's subordinate statement is in the chain (cf. spid-cie-oidc #307)
    st = claims_of(statement, anchor_keys)
    assert (st["iss"], st["sub"]) == (federation.anchor.entity_id, federation.service.entity_id)
    assert claims_of(anchor_ec, anchor_keys)["sub"] == federation.anchor.entity_id


def test_resolve_errors(federation):
    url = f"{federation.url}/federation/resolve"
    r = requests.get(url, params={"sub": federation.service.entity_id}, timeout=10)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")
    r = requests.get(
        url, params={"sub": federation.service.entity_id, "trust_anchor": "https://x.example.org"}, timeout=10
    )
    assert (r.status_code, r.json()["error"]) == (404, "invalid_trust_anchor")
    entities.revoke(federation.anchor, federation.service.entity_id, reason="test")
    r = requests.get(
        url, params={"sub": federation.service.entity_id, "trust_anchor": federation.anchor.entity_id}, timeout=20
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_trust_chain")


def test_trust_mark_status_is_signed_and_follows_revocation(federation):
    token = federation.service.trust_marks[0]["trust_mark"]
    url = f"{federation.url}/federation/trust_mark_status"

    def status():
        r = requests.post(url, data={"trust_mark": token}, timeout=10)
        assert r.headers["Content-Type"] == TRUST_MARK_STATUS_MEDIA_TYPE
        claims = claims_of(r.text, entities.federation_jwks(federation.anchor))
        assert claims["trust_mark"] == token and claims["iss"] == federation.anchor.entity_id
        return claims["status"]

    assert status() == "active"
    trustmarks.revoke(federation.mark, reason="withdrawn")
    assert status() == "revoked"
    r = requests.post(url, data={"trust_mark": "x.y.z"}, timeout=10)
    assert claims_of(r.text, entities.federation_jwks(federation.anchor))["status"] == "invalid"
    r = requests.post(url, data={}, timeout=10)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")
    assert requests.get(url, timeout=10).status_code == 405


def test_trust_mark_endpoint_serves_the_current_mark(federation):
    url = f"{federation.url}/federation/trust_mark"
    r = requests.get(
        url, params={"trust_mark_type": federation.mark_type_id, "sub": federation.service.entity_id}, timeout=10
    )
    assert r.status_code == 200
    assert trustmarks.status(r.text) == "active"
    trustmarks.revoke(federation.mark, reason="withdrawn")
    r = requests.get(
        url, params={"trust_mark_type": federation.mark_type_id, "sub": federation.service.entity_id}, timeout=10
    )
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
