"""A security review of the FAPI 2.0 implementation (issue 13 item 21): one test per finding,
each failing before its fix."""

from __future__ import annotations

import secrets
import time

import pytest
import requests
from joserfc import jwt

from tungban.oidc.models import OFFLINE_ACCESS_SCOPE
from tungban.oidc.tests.test_fapi import RP, SCOPE, Holder
from tungban.testing.factories import authorize_params, bind_cli, make_client, pkce

pytestmark = pytest.mark.django_db
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def bank(issuer):
    """The FAPI client of test_fapi (its holder: keys, DPoP nonce)."""
    holder = Holder(issuer)
    make_client("bank", RP, jwks=holder.jwks(), fapi=True, allowed_scopes=["openid", "profile", OFFLINE_ACCESS_SCOPE])
    return holder


@pytest.fixture
def app(issuer, resident, app_home):
    return bind_cli(issuer, resident, app_home)


def _with_aud(holder: Holder, aud) -> dict:
    """Client authentication with a ``private_key_jwt`` assertion whose ``aud`` is ``aud``."""
    now = int(time.time())
    claims = {"iss": holder.client_id, "sub": holder.client_id, "aud": aud, "iat": now, "exp": now + 60}
    claims["jti"] = secrets.token_urlsafe(12)
    assertion = jwt.encode({"alg": holder.alg, "kid": "bank-1"}, claims, holder.key, algorithms=[holder.alg])
    return {"client_id": holder.client_id, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}


# --- 1. private_key_jwt audience (FAPI 2.0 SP §5.3.2.1 item 8, draft-ietf-oauth-rfc7523bis) ---


@pytest.mark.parametrize(
    "aud",
    ["{iss}/oidc/token", "{iss}/oidc/par", "{iss}/", ["{iss}"], ["{iss}", "https://evil.example"]],
)
def test_fapi_client_assertion_audience_is_the_issuer_as_a_string(issuer, bank, aud):
    _, challenge = pkce()
    params = authorize_params("bank", RP, challenge, scope=SCOPE)
    aud = [a.format(iss=issuer) for a in aud] if isinstance(aud, list) else aud.format(iss=issuer)
    resp = requests.post(f"{issuer}/oidc/par", data={**params, **_with_aud(bank, aud)})
    assert resp.status_code in (400, 401) and resp.json()["error"] == "invalid_client", resp.text
    ok = requests.post(f"{issuer}/oidc/par", data={**params, **_with_aud(bank, issuer)})
    assert ok.status_code == 201, ok.text


def test_other_client_assertion_audience_array_with_a_foreign_value_refused(issuer, db):
    holder = Holder(issuer, "keyed")
    make_client("keyed", "https://keyed.example/cb", jwks=holder.jwks())
    url = f"{issuer}/oidc/token"
    grant = {"grant_type": "client_credentials"}
    foreign = requests.post(url, data={**grant, **_with_aud(holder, [url, "https://evil.example/token"])})
    assert foreign.status_code in (400, 401) and foreign.json()["error"] == "invalid_client", foreign.text
    assert requests.post(url, data={**grant, **_with_aud(holder, url)}).status_code == 200  # kept for compatibility
    assert requests.post(url, data={**grant, **_with_aud(holder, issuer)}).status_code == 200
