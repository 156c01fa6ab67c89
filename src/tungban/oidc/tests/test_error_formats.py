"""Issue 13 item 17: OAuth error formats at the token, revocation and userinfo endpoints
(RFC 6749 §5.2, RFC 6750 §3.1). OAuth error descriptions are ASCII (RFC 6749 §5.2), so
they are English whatever the request's language."""

import base64
import json
import time

import pytest
import requests

from tungban.oidc.models import Token, access_token_digest
from tungban.testing.factories import make_client

pytestmark = pytest.mark.django_db


def _basic(client_id: str, secret: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


@pytest.fixture
def secret(db):
    return make_client("svc-a")[1]


def test_missing_grant_type_is_invalid_request(issuer, secret):
    resp = requests.post(f"{issuer}/oidc/token", data={"code": "x"}, headers=_basic("svc-a", secret))
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_request" and "grant_type" in resp.json()["error_description"]


def test_json_body_is_invalid_request(issuer, secret):
    resp = requests.post(
        f"{issuer}/oidc/token",
        data=json.dumps({"grant_type": "client_credentials"}),
        headers={**_basic("svc-a", secret), "Content-Type": "application/json"},
    )
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"
    assert "x-www-form-urlencoded" in resp.json()["error_description"]


def test_an_unknown_grant_type_is_still_unsupported_grant_type(issuer, secret):
    resp = requests.post(f"{issuer}/oidc/token", data={"grant_type": "password"}, headers=_basic("svc-a", secret))
    assert resp.status_code == 400 and resp.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("client_id", ["svc-a", "no-such-client"])
def test_wrong_secret_with_basic_is_401_invalid_client_with_a_challenge(issuer, secret, client_id):
    resp = requests.post(
        f"{issuer}/oidc/token", data={"grant_type": "client_credentials"}, headers=_basic(client_id, "wrong")
    )
    assert resp.status_code == 401
    body = resp.json()
    assert body["error"] == "invalid_client"
    description = body["error_description"]
    assert "[" not in description and "client_secret_basic" not in description  # words, not a Python list
    if client_id == "svc-a":
        assert "Client authentication failed" in description
    challenge = resp.headers["WWW-Authenticate"]
    assert challenge.startswith('Basic realm="tungban"') and 'error="invalid_client"' in challenge


def test_wrong_secret_in_the_form_is_invalid_client_without_a_basic_challenge(issuer, secret):
    resp = requests.post(
        f"{issuer}/oidc/token",
        data={"grant_type": "client_credentials", "client_id": "svc-a", "client_secret": "wrong"},
    )
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" not in resp.headers
    assert "[" not in resp.json()["error_description"]


def test_revocation_with_a_wrong_secret_is_invalid_client(issuer, secret):
    resp = requests.post(f"{issuer}/oidc/revoke", data={"token": "x"}, headers=_basic("svc-a", "wrong"))
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"
    assert "[" not in resp.json()["error_description"] and resp.headers["WWW-Authenticate"].startswith("Basic ")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic eDp5"}, {"Authorization": "Bearer"}])
def test_userinfo_without_a_token_is_a_bare_bearer_challenge(issuer, headers):
    """RFC 6750 §3.1: no credentials → 401 with ``WWW-Authenticate: Bearer realm=…`` and no
    error code or other error information, in the header or the body."""
    for method in (requests.get, requests.post):
        resp = method(f"{issuer}/oidc/userinfo", headers={"Accept-Language": "zh-HK", **headers})
        assert resp.status_code == 401
        assert resp.headers["WWW-Authenticate"] == 'Bearer realm="tungban"'
        assert "missing_authorization" not in resp.text and "error" not in resp.text
        assert resp.content == b""


def test_userinfo_errors_have_one_format(issuer, secret, resident):
    """Every userinfo error is ``{"error", "error_description"}`` (RFC 6750 §3), in ASCII,
    with a Bearer challenge naming the code."""
    client = make_client("svc-b", "https://rp-b.example/cb")[0]
    now = int(time.time())
    Token.objects.create(
        access_token=access_token_digest("own-token"), client=client, scope="openid", issued_at=now, expires_in=600
    )
    Token.objects.create(
        access_token=access_token_digest("profile-only"),
        client=client,
        resident=resident,
        scope="profile",
        issued_at=now,
        expires_in=600,
    )
    cases = [
        ("nope", 401, "invalid_token"),
        ("own-token", 401, "invalid_token"),
        ("profile-only", 403, "insufficient_scope"),
    ]
    for token, status, code in cases:
        resp = requests.get(
            f"{issuer}/oidc/userinfo", headers={"Authorization": f"Bearer {token}", "Accept-Language": "zh-HK"}
        )
        assert resp.status_code == status, (token, resp.text)
        body = resp.json()
        assert set(body) == {"error", "error_description"} and body["error"] == code, body
        assert body["error_description"].isascii()
        assert f'error="{code}"' in resp.headers["WWW-Authenticate"]
    resident.status = "suspended"
    resident.save()
    Token.objects.create(
        access_token=access_token_digest("suspended"),
        client=client,
        resident=resident,
        scope="openid",
        issued_at=now,
        expires_in=600,
    )
    resp = requests.get(f"{issuer}/oidc/userinfo", headers={"Authorization": "Bearer suspended"})
    assert set(resp.json()) == {"error", "error_description"} and resp.json()["error_description"].isascii()
