"""A security review of the FAPI 2.0 implementation (issue 13 item 21): one test per finding,
each failing before its fix."""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from tungban.oidc.models import AuthorizationCode
from tungban.oidc.tests.test_fapi import RP, SCOPE, Holder, _push, _tokens
from tungban.testing.factories import authorize_params, make_client, pkce

pytestmark = pytest.mark.django_db
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


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


# --- 2. use_dpop_nonce at a resource carries DPoP-Nonce (RFC 9449 §9) ---


def test_userinfo_stale_nonce_is_answered_with_a_fresh_one(issuer, bank, app):
    tokens = _tokens(issuer, bank, app)
    at = tokens["access_token"]
    stale = bank.userinfo(at, nonce="not-a-nonce-of-ours")
    assert stale.status_code == 401 and 'error="use_dpop_nonce"' in stale.headers["WWW-Authenticate"]
    assert stale.headers.get("DPoP-Nonce"), stale.headers
    again = bank.userinfo(at, nonce=stale.headers["DPoP-Nonce"])
    assert again.status_code == 200, again.text


def test_api_resource_stale_nonce_is_answered_with_a_fresh_one(issuer, db):
    holder = Holder(issuer, "signer")
    make_client("signer", "https://signer.example/cb", jwks=holder.jwks(), allowed_scopes=["openid", "signing"])
    at = holder.post("/oidc/token", {"grant_type": "client_credentials", "scope": "signing"}).json()["access_token"]
    url = f"{issuer}/api/v1/signing/requests/00000000-0000-0000-0000-000000000000"

    def call(nonce):
        proof = holder.proof("GET", url, access_token=at, nonce=nonce)
        return requests.get(url, headers={"Authorization": f"DPoP {at}", "DPoP": proof})

    stale = call("not-a-nonce-of-ours")
    assert stale.status_code == 401 and 'error="use_dpop_nonce"' in stale.headers["WWW-Authenticate"]
    assert stale.headers.get("DPoP-Nonce"), stale.headers
    assert call(stale.headers["DPoP-Nonce"]).status_code == 404  # authenticated: no such request


# --- 3. redirect_uri required in a FAPI client's pushed request (FAPI 2.0 SP §5.3.2.2) ---


@pytest.mark.parametrize("signed", [False, True])
def test_fapi_push_without_redirect_uri_refused(issuer, bank, signed):
    _, challenge = pkce()
    params = authorize_params("bank", RP, challenge, scope=SCOPE)
    del params["redirect_uri"]
    data = {"request": bank.request_object(params)} if signed else params
    resp = bank.post("/oidc/par", data)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request", resp.text


# --- 4. iss on the nonce-too-long error (RFC 9207 §2); the nonce checked at PAR (RFC 9126 §2.1) ---


def _too_long_nonce() -> str:
    return "n" * (AuthorizationCode._meta.get_field("nonce").max_length + 1)


def test_nonce_too_long_error_redirect_carries_iss(issuer, db):
    make_client("plain", "https://plain.example/cb")
    _, challenge = pkce()
    params = authorize_params("plain", "https://plain.example/cb", challenge, nonce=_too_long_nonce())
    resp = requests.get(f"{issuer}/oidc/authorize", params=params, allow_redirects=False)
    assert resp.status_code == 302
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["error"] == ["invalid_request"] and query["iss"] == [issuer]


def test_nonce_too_long_refused_at_par(issuer, bank):
    resp, _, _ = _push(bank, nonce=_too_long_nonce())
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request", resp.text


# --- 5. RSA keys of at least 2048 bits (FAPI 2.0 SP §5.4.1, RFC 7518 §3.3, §3.5); https redirect URIs ---


def _rsa_1024():
    with pytest.warns(Warning):  # joserfc warns of the small key; the platform must refuse it
        return RSAKey.generate_key(1024, parameters={"kid": "bank-1"}, private=True)


def test_dpop_proof_with_small_rsa_key_refused(issuer, bank):
    _, challenge = pkce()
    params = authorize_params("bank", RP, challenge, scope=SCOPE)
    url = f"{issuer}/oidc/par"
    small = _rsa_1024()
    for _ in range(2):  # once more with the server's nonce
        claims = {"jti": secrets.token_urlsafe(12), "htm": "POST", "htu": url, "iat": int(time.time())}
        if bank.nonce:
            claims["nonce"] = bank.nonce
        header = {"typ": "dpop+jwt", "alg": "PS256", "jwk": small.as_dict(private=False)}
        proof = jwt.encode(header, claims, small, algorithms=["PS256"])
        resp = requests.post(url, data={**params, **bank.auth()}, headers={"DPoP": proof})
        bank.nonce = resp.headers.get("DPoP-Nonce", bank.nonce)
        if resp.json().get("error") != "use_dpop_nonce":
            break
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_dpop_proof", resp.text


def test_client_jwks_with_small_rsa_key_refused(db):
    from django.core.exceptions import ValidationError

    from tungban.core.errors import DomainError
    from tungban.oidc.models import Client

    jwks = {"keys": [_rsa_1024().as_dict(private=False)]}
    with pytest.raises(DomainError) as raised:
        make_client("small", "https://small.example/cb", jwks=jwks)
    assert raised.value.code == "invalid_client_metadata"
    client = Client(client_id="x", name_en="X", name_zh="X", redirect_uris=[RP], allowed_scopes=["openid"], jwks=jwks)
    with pytest.raises(ValidationError):
        client.clean()


def test_fapi_client_redirect_uri_must_be_https(db):
    from django.core.exceptions import ValidationError

    from tungban.core.errors import DomainError
    from tungban.oidc.models import Client

    jwks = Holder("http://x").jwks()
    with pytest.raises(DomainError) as raised:
        make_client("plainbank", "http://bank.example/cb", jwks=jwks, fapi=True)
    assert raised.value.code == "invalid_redirect_uri"
    client = Client(
        client_id="x", name_en="X", name_zh="X", redirect_uris=["http://bank.example/cb"], jwks=jwks, fapi=True
    )
    client.allowed_scopes = ["openid"]
    with pytest.raises(ValidationError):
        client.clean()
    make_client("plain", "http://localhost:9000/cb")  # other clients: unchanged


# --- 6. iss added unless the redirect URI's query has the key iss itself (RFC 9207 §2) ---


def test_iss_added_when_a_query_key_merely_ends_in_iss(issuer, db):
    redirect = "https://plain.example/cb?dismiss=1"
    make_client("plain", redirect)
    _, challenge = pkce()
    params = authorize_params("plain", redirect, challenge, response_type="token")
    resp = requests.get(f"{issuer}/oidc/authorize", params=params, allow_redirects=False)
    assert resp.status_code == 302
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["dismiss"] == ["1"] and query["iss"] == [issuer]


def test_add_issuer_keeps_an_existing_iss_key(settings):
    from django.http import HttpResponseRedirect

    from tungban.oidc.par import add_issuer

    settings.TUNGBAN_ISSUER = "https://id.example"
    kept = add_issuer(HttpResponseRedirect("https://rp.example/cb?iss=https%3A%2F%2Fid.example&code=x"))
    assert parse_qs(urlsplit(kept["Location"]).query)["iss"] == ["https://id.example"]
    added = add_issuer(HttpResponseRedirect("https://rp.example/cb?miss=1&code=x#frag"))
    assert parse_qs(urlsplit(added["Location"]).query)["iss"] == ["https://id.example"]


# --- 7. htu compared after RFC 3986 §6.2.2 / §6.2.3 normalisation (RFC 9449 §4.3) ---


@pytest.mark.parametrize(
    ("sent", "endpoint"),
    [
        ("HTTPS://ID.Example:443/oidc/token", "https://id.example/oidc/token"),
        ("http://id.example:80/oidc/token", "http://id.example/oidc/token"),
        ("https://id.example/oidc/%74oken", "https://id.example/oidc/token"),
        ("https://id.example/a/%7euser", "https://id.example/a/~user"),
        ("https://id.example/oidc/./x/../token", "https://id.example/oidc/token"),
        ("https://id.example", "https://id.example/"),
    ],
)
def test_htu_normalised(sent, endpoint):
    from tungban.oidc import dpop

    assert dpop._htu(sent) == dpop._htu(endpoint)


@pytest.mark.parametrize(
    ("sent", "endpoint"),
    [
        ("https://id.example:8443/oidc/token", "https://id.example/oidc/token"),
        ("https://id.example/oidc/Token", "https://id.example/oidc/token"),
        ("http://id.example/oidc/token", "https://id.example/oidc/token"),
        ("https://id.example/oidc%2Ftoken", "https://id.example/oidc/token"),
    ],
)
def test_htu_differences_that_matter_kept(sent, endpoint):
    from tungban.oidc import dpop

    assert dpop._htu(sent) != dpop._htu(endpoint)


def test_htu_percent_encoded_accepted_at_par(issuer, bank):
    _, challenge = pkce()
    resp = bank.post("/oidc/%70ar", authorize_params("bank", RP, challenge, scope=SCOPE))  # 'p', percent-encoded
    assert resp.status_code == 201, resp.text
