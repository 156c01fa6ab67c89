"""The scope registry: apps' scopes, key-only scopes, the claims each releases."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from tungban.core.errors import DomainError
from tungban.identity import eme
from tungban.oidc import scopes
from tungban.oidc import services as oidc


def test_the_platform_scopes_are_registered_by_their_apps():
    assert scopes.supported()[:7] == ["openid", "profile", "hkid", "address", "billing_address", "phone", "email"]
    assert {s: scopes.get(s).app for s in ("offline_access", "signing", "cdeg", "credentials")} == {
        "offline_access": "oidc",
        "signing": "signing",
        "cdeg": "exchange",
        "credentials": "credentials",
    }
    assert scopes.key_only() >= {"cdeg", "credentials"}
    assert not {"openid", "profile", "signing", "offline_access"} & scopes.key_only()


def test_claims_for_follows_the_catalogue_order_and_ignores_unknown_scopes():
    assert scopes.claims_for({"profile"}) == ["name", "name#zh-Hant", "gender", "birthdate"]
    assert scopes.claims_for({"email", "hkid", "no-such-scope", "signing"}) == ["hkid", "email"]


def test_discovery_claims_come_from_the_registry():
    meta = oidc.discovery()
    assert meta["scopes_supported"] == scopes.supported()
    assert set(meta["claims_supported"]) >= {"sub", "acr", "family_name", *eme.CLAIMS}


def test_register_is_idempotent_and_refuses_conflicts_and_bad_definitions():
    cdeg = scopes.get("cdeg")
    assert scopes.register("cdeg", cdeg.description, key_only=True, app="exchange") == cdeg
    with pytest.raises(ImproperlyConfigured):
        scopes.register("cdeg", cdeg.description, key_only=False, app="exchange")
    with pytest.raises(ImproperlyConfigured):
        scopes.register("two words", "bad")
    with pytest.raises(ImproperlyConfigured):
        scopes.register("x-unknown-claim", "bad", claims=["no_such_claim"])
    with pytest.raises(ImproperlyConfigured):
        scopes.register("x-foreign-claim", "bad", claims=[eme.Claim("x_claim", "another-scope", "X", lambda r: 1)])
    with pytest.raises(ImproperlyConfigured):
        scopes.register("x-membership", "harmless-sounding", claims=["hkid"])  # another scope's claim
    assert scopes.get("cdeg") == cdeg
    assert all(scopes.get(s) is None for s in ("two words", "x-unknown-claim", "x-foreign-claim", "x-membership"))
    assert "x_claim" not in eme.CLAIMS


def test_clients_may_only_be_given_registered_scopes():
    with pytest.raises(DomainError) as refused:
        oidc.check_client_metadata(
            ["https://rp.example/cb"], [], ["openid", "no-such-scope"], supported_scopes=scopes.supported()
        )
    assert refused.value.code == "invalid_scope"
    oidc.check_client_metadata(
        ["https://rp.example/cb"], [], ["openid", "signing", "cdeg"], supported_scopes=scopes.supported()
    )


def test_the_old_constants_are_live_views_of_the_registry():
    from tungban.oidc.models import KEY_ONLY_SCOPES, SUPPORTED_SCOPES

    assert list(SUPPORTED_SCOPES) == scopes.supported() and "signing" in SUPPORTED_SCOPES
    assert set(KEY_ONLY_SCOPES) == scopes.key_only()
    assert KEY_ONLY_SCOPES.intersection(["openid", "cdeg"]) == {"cdeg"}
    assert "no-such-scope" not in SUPPORTED_SCOPES
