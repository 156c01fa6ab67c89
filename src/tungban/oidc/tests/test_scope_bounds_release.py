"""Issue 13 item 13: the access token's scope bounds what userinfo and form data release.
A refresh that narrows the scope (RFC 6749 §6) narrows what that token reads; a refresh can
never widen the scope beyond what the resident granted at login."""

import pytest
import requests

from tungban.oidc.models import OFFLINE_ACCESS_SCOPE
from tungban.testing.factories import login, make_client, userinfo

pytestmark = pytest.mark.django_db
RP = "https://rp-a.example/cb"
FULL = f"openid profile hkid email {OFFLINE_ACCESS_SCOPE}"


@pytest.fixture
def secret(db):
    return make_client(
        "svc-a", RP, allowed_scopes=["openid", "profile", "hkid", "email", "phone", OFFLINE_ACCESS_SCOPE]
    )[1]


def _refresh(issuer, refresh_token, secret, **extra):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    return requests.post(f"{issuer}/oidc/token", data=data, auth=("svc-a", secret))


def test_narrowed_refresh_releases_nothing_outside_its_scope(issuer, secret, app, resident):
    tokens = login(issuer, app, "svc-a", secret, RP, scope=FULL)
    full = userinfo(issuer, tokens["access_token"]).json()
    assert {"hkid", "name", "birthdate", "email"} <= set(full)

    narrowed = _refresh(issuer, tokens["refresh_token"], secret, scope="openid")
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["scope"] == "openid"
    info = userinfo(issuer, narrowed.json()["access_token"]).json()
    assert set(info) == {"sub"}, info  # no HKID, names, date of birth or e-mail

    # profile only: names and date of birth, still no HKID or e-mail
    profile = _refresh(issuer, narrowed.json()["refresh_token"], secret, scope="openid profile")
    info = userinfo(issuer, profile.json()["access_token"]).json()
    assert "name" in info and "birthdate" in info
    assert "hkid" not in info and "email" not in info

    # the grant itself is not narrowed: asking for all of it again gives it back
    again = _refresh(issuer, profile.json()["refresh_token"], secret)
    assert set(again.json()["scope"].split()) == set(FULL.split())
    assert {"hkid", "email"} <= set(userinfo(issuer, again.json()["access_token"]).json())


def test_refresh_cannot_widen_the_granted_scope(issuer, secret, app):
    tokens = login(issuer, app, "svc-a", secret, RP, scope=f"openid profile {OFFLINE_ACCESS_SCOPE}")
    # phone is allowed for the client but was not granted at this login
    wider = _refresh(issuer, tokens["refresh_token"], secret, scope=f"openid profile phone {OFFLINE_ACCESS_SCOPE}")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    narrowed = _refresh(issuer, tokens["refresh_token"], secret, scope="openid")
    assert narrowed.status_code == 200
    wider = _refresh(issuer, narrowed.json()["refresh_token"], secret, scope="openid hkid")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    back = _refresh(issuer, narrowed.json()["refresh_token"], secret)
    assert set(back.json()["scope"].split()) == {"openid", "profile", OFFLINE_ACCESS_SCOPE}
    assert "hkid" not in userinfo(issuer, back.json()["access_token"]).json()


def test_claims_approved_but_outside_the_scope_are_not_released(issuer, secret, app):
    """Only what both the resident approved and the token's scope names is released."""
    tokens = login(issuer, app, "svc-a", secret, RP, scope=FULL, only=["name"])
    narrowed = _refresh(issuer, tokens["refresh_token"], secret, scope="openid hkid")
    assert narrowed.status_code == 200
    assert set(userinfo(issuer, narrowed.json()["access_token"]).json()) == {"sub"}  # hkid was unticked
