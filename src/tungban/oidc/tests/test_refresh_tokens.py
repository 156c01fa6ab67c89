"""Refresh tokens (RFC 6749 §6) with ``offline_access`` (OIDC Core §11): rotation, reuse
detection (RFC 9700 §4.14.2), revocation (RFC 7009 §2.1) and the refusals."""

import time

import pytest
import requests

from tungban.oidc.models import OFFLINE_ACCESS_SCOPE, Token, access_token_digest
from tungban.testing.factories import DEFAULT_SCOPE, jwt_claims, login, make_client, userinfo

pytestmark = pytest.mark.django_db
RP = "https://rp-a.example/cb"
OFFLINE = f"{DEFAULT_SCOPE} {OFFLINE_ACCESS_SCOPE}"


@pytest.fixture
def client(db):
    return make_client("svc-a", RP, allowed_scopes=["openid", "profile", OFFLINE_ACCESS_SCOPE])


def _refresh(issuer, refresh_token, secret, client_id="svc-a", **extra):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    return requests.post(f"{issuer}/oidc/token", data=data, auth=(client_id, secret))


def test_offline_access_gives_a_refresh_token_stored_as_a_hash(issuer, client, app):
    _, secret = client
    tokens = login(issuer, app, "svc-a", secret, RP, scope=OFFLINE)
    assert tokens["refresh_token"] and OFFLINE_ACCESS_SCOPE in tokens["scope"].split()
    assert not Token.objects.filter(refresh_token=tokens["refresh_token"]).exists()  # never in clear
    assert Token.objects.get(access_token=access_token_digest(tokens["access_token"])).refresh_token is not None


def test_no_refresh_token_without_offline_access(issuer, client, app):
    tokens = login(issuer, app, "svc-a", client[1], RP, scope=DEFAULT_SCOPE)
    assert "refresh_token" not in tokens


def test_refresh_rotates_and_keeps_the_login(issuer, client, app, resident):
    _, secret = client
    first = login(issuer, app, "svc-a", secret, RP, scope=OFFLINE, only=["name"])
    resp = _refresh(issuer, first["refresh_token"], secret)
    assert resp.status_code == 200, resp.text
    second = resp.json()
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    before, after = jwt_claims(first["id_token"]), jwt_claims(second["id_token"])
    assert after["sub"] == before["sub"] and after["auth_time"] == before["auth_time"] and after["acr"] == before["acr"]
    assert "nonce" not in after  # OIDC Core §12.2
    info = userinfo(issuer, second["access_token"]).json()
    assert set(info) == {"sub", "name", "family_name", "given_name"}  # the claims approved at login
    assert userinfo(issuer, first["access_token"]).status_code == 401  # the rotated row is revoked


def test_reusing_a_rotated_refresh_token_revokes_the_grant(issuer, client, app):
    """Reuse detection (RFC 9700 §4.14.2): once the successor was used, the old token is a replay."""
    _, secret = client
    first = login(issuer, app, "svc-a", secret, RP, scope=OFFLINE)
    second = _refresh(issuer, first["refresh_token"], secret).json()
    third = _refresh(issuer, second["refresh_token"], secret).json()
    replay = _refresh(issuer, first["refresh_token"], secret)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # The legitimate holder's tokens die too: one of the two is an attacker.
    assert _refresh(issuer, third["refresh_token"], secret).json()["error"] == "invalid_grant"
    assert userinfo(issuer, third["access_token"]).status_code == 401


def test_refresh_retry_within_grace_period_keeps_the_login(issuer, client, app, settings):
    """Issue 14 item 6: a refresh whose answer was lost is retried with the same token within
    ``TUNGBAN_REFRESH_GRACE`` and gets an equivalent pair; the pair never received is revoked."""
    settings.TUNGBAN_REFRESH_GRACE = 30
    _, secret = client
    first = login(issuer, app, "svc-a", secret, RP, scope=OFFLINE)
    lost = _refresh(issuer, first["refresh_token"], secret).json()
    retry = _refresh(issuer, first["refresh_token"], secret)
    assert retry.status_code == 200, retry.text
    retried = retry.json()
    assert userinfo(issuer, retried["access_token"]).status_code == 200
    assert jwt_claims(retried["id_token"])["sub"] == jwt_claims(first["id_token"])["sub"]
    assert userinfo(issuer, lost["access_token"]).status_code == 401  # never received: revoked
    assert _refresh(issuer, retried["refresh_token"], secret).status_code == 200  # the login goes on
    # The revoked, never-received successor is not a way back in: it is a replay.
    assert _refresh(issuer, lost["refresh_token"], secret).json()["error"] == "invalid_grant"


def test_refresh_retry_after_the_grace_period_revokes_the_grant(issuer, client, app, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.TUNGBAN_REFRESH_GRACE = 30
    _, secret = client
    first = login(issuer, app, "svc-a", secret, RP, scope=OFFLINE)
    second = _refresh(issuer, first["refresh_token"], secret).json()
    Token.objects.filter(rotated_at__isnull=False).update(rotated_at=timezone.now() - timedelta(seconds=31))
    late = _refresh(issuer, first["refresh_token"], secret)
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
    assert _refresh(issuer, second["refresh_token"], secret).json()["error"] == "invalid_grant"


def test_refresh_retry_by_another_client_is_refused(issuer, client, app):
    _, secret = client
    _, other_secret = make_client("svc-b", "https://rp-b.example/cb", allowed_scopes=["openid", OFFLINE_ACCESS_SCOPE])
    first = login(issuer, app, "svc-a", secret, RP, scope=OFFLINE)
    second = _refresh(issuer, first["refresh_token"], secret).json()
    assert _refresh(issuer, first["refresh_token"], other_secret, client_id="svc-b").json()["error"] == "invalid_grant"
    # The grace is for the client's own retry: a rotated token in other hands is a leak.
    assert _refresh(issuer, second["refresh_token"], secret).json()["error"] == "invalid_grant"


def test_refresh_bound_to_client_and_scope(issuer, client, app):
    _, secret = client
    other, other_secret = make_client(
        "svc-b", "https://rp-b.example/cb", allowed_scopes=["openid", OFFLINE_ACCESS_SCOPE]
    )
    tokens = login(issuer, app, "svc-a", secret, RP, scope=OFFLINE)
    assert _refresh(issuer, tokens["refresh_token"], other_secret, client_id="svc-b").json()["error"] == "invalid_grant"
    assert _refresh(issuer, tokens["refresh_token"], "wrong-secret").json()["error"] == "invalid_client"
    wider = _refresh(issuer, tokens["refresh_token"], secret, scope=f"{OFFLINE} phone")
    assert wider.json()["error"] == "invalid_scope"
    narrower = _refresh(issuer, tokens["refresh_token"], secret, scope="openid offline_access")
    assert narrower.status_code == 200 and set(narrower.json()["scope"].split()) == {"openid", OFFLINE_ACCESS_SCOPE}
    # Narrowing narrows that access token, not the grant: the next refresh may ask for all of it.
    again = _refresh(issuer, narrower.json()["refresh_token"], secret)
    assert again.status_code == 200 and set(again.json()["scope"].split()) == set(tokens["scope"].split())


def test_refresh_refused_for_clients_without_offline_access(issuer, app):
    _, secret = make_client("svc-c", RP)  # offline_access not granted by the administrator
    tokens = login(issuer, app, "svc-c", secret, RP, scope=OFFLINE)
    assert "refresh_token" not in tokens and OFFLINE_ACCESS_SCOPE not in tokens["scope"].split()
    assert _refresh(issuer, "anything", secret, client_id="svc-c").json()["error"] == "unauthorized_client"


def test_expired_suspended_and_unknown(issuer, client, app, resident, settings):
    _, secret = client
    tokens = login(issuer, app, "svc-a", secret, RP, scope=OFFLINE)
    assert _refresh(issuer, "not-a-token", secret).json()["error"] == "invalid_grant"
    resp = requests.post(f"{issuer}/oidc/token", data={"grant_type": "refresh_token"}, auth=("svc-a", secret))
    assert resp.json()["error"] == "invalid_request"
    resident.status = "suspended"
    resident.save()
    assert _refresh(issuer, tokens["refresh_token"], secret).json()["error"] == "invalid_grant"
    resident.status = "active"
    resident.save()
    Token.objects.filter(access_token=access_token_digest(tokens["access_token"])).update(
        refresh_expires_at=int(time.time()) - 1
    )
    assert _refresh(issuer, tokens["refresh_token"], secret).json()["error"] == "invalid_grant"


@pytest.mark.parametrize("hint", ["refresh_token", "access_token", None])
def test_revoking_a_refresh_token_revokes_the_grant(issuer, client, app, hint):
    _, secret = client
    first = login(issuer, app, "svc-a", secret, RP, scope=OFFLINE)
    second = _refresh(issuer, first["refresh_token"], secret).json()
    data = {"token": second["refresh_token"], **({"token_type_hint": hint} if hint else {})}
    resp = requests.post(f"{issuer}/oidc/revoke", data=data, auth=("svc-a", secret))
    assert resp.status_code == 200
    # A wrong hint only orders the lookups (RFC 7009 §2.1): the refresh token is found anyway.
    assert userinfo(issuer, second["access_token"]).status_code == 401
    assert _refresh(issuer, second["refresh_token"], secret).json()["error"] == "invalid_grant"
    assert not Token.objects.filter(authorization_code__code=first["code"], revoked_at__isnull=True).exists()


def test_revoking_the_access_token_ends_its_refresh_token(issuer, client, app):
    _, secret = client
    tokens = login(issuer, app, "svc-a", secret, RP, scope=OFFLINE)
    resp = requests.post(
        f"{issuer}/oidc/revoke",
        data={"token": tokens["access_token"], "token_type_hint": "refresh_token"},
        auth=("svc-a", secret),
    )
    assert resp.status_code == 200 and userinfo(issuer, tokens["access_token"]).status_code == 401
    assert _refresh(issuer, tokens["refresh_token"], secret).json()["error"] == "invalid_grant"


def test_no_refresh_token_for_anonymous_form_filling(issuer, client, app):
    tokens = login(issuer, app, "svc-a", client[1], RP, scope=f"profile {OFFLINE_ACCESS_SCOPE}")
    assert "refresh_token" not in tokens and "id_token" not in tokens


def test_logout_ends_offline_access(issuer, client, app):
    _, secret = client
    tokens = login(issuer, app, "svc-a", secret, RP, scope=OFFLINE)
    resp = requests.get(
        f"{issuer}/oidc/logout",
        params={"id_token_hint": tokens["id_token"], "client_id": "svc-a"},
        allow_redirects=False,
    )
    assert resp.status_code in (200, 302)
    assert _refresh(issuer, tokens["refresh_token"], secret).json()["error"] == "invalid_grant"


def test_discovery_lists_refresh(issuer, db):
    meta = requests.get(f"{issuer}/.well-known/openid-configuration").json()
    assert "refresh_token" in meta["grant_types_supported"] and OFFLINE_ACCESS_SCOPE in meta["scopes_supported"]


def test_the_app_tells_the_resident_about_offline_access(issuer, client, app):
    from tungban.testing.factories import PIN, authorize_params, pkce, start_authorization

    _, challenge = pkce()
    rid = start_authorization(requests.Session(), issuer, authorize_params("svc-a", RP, challenge, scope=OFFLINE))
    assert app.show(rid, PIN)["offline_access_days"] == 30
    rid = start_authorization(requests.Session(), issuer, authorize_params("svc-a", RP, challenge, scope=DEFAULT_SCOPE))
    assert app.show(rid, PIN)["offline_access_days"] is None


@pytest.mark.live_http  # concurrent requests: real server threads on their own connections
@pytest.mark.django_db(transaction=True)
def test_concurrent_reuse_and_revocation_leave_no_live_token(issuer, client, app):
    """A refresh racing with a second use of the same token leaves at most one pair alive;
    racing with its revocation, none (rotation and revocation lock the grant in one order)."""
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("concurrent requests need a server database (SQLite tests use one in-memory connection)")
    _, secret = client
    for rival in ("refresh", "revoke"):
        tokens = login(issuer, app, "svc-a", secret, RP, scope=OFFLINE)
        barrier, answers = threading.Barrier(3), []

        def refresh():
            barrier.wait()
            answers.append(_refresh(issuer, tokens["refresh_token"], secret).status_code)

        def revoke():
            barrier.wait()
            data = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}
            answers.append(requests.post(f"{issuer}/oidc/revoke", data=data, auth=("svc-a", secret)).status_code)

        threads = [threading.Thread(target=refresh), threading.Thread(target=refresh if rival == "refresh" else revoke)]
        for t in threads:
            t.start()
        barrier.wait()
        for t in threads:
            t.join()
        assert len(answers) == 2
        live = Token.objects.filter(authorization_code__code=tokens["code"], revoked_at__isnull=True).count()
        # Two refreshes with one token are a retry within the grace period (issue 14 item 6):
        # at most the last pair lives. A refresh racing with revocation leaves nothing alive.
        assert live <= (1 if rival == "refresh" else 0), rival
