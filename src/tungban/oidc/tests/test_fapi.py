"""FAPI 2.0 Security Profile (issue 13 item 21) and request objects (item 15): pushed
authorization requests (RFC 9126), private_key_jwt (RFC 7523), DPoP (RFC 9449), the ``iss``
authorization-response parameter (RFC 9207), signed request objects (RFC 9101), refresh
retries within a grace period (FAPI 2.0 §5.3.2.1) and 60-second codes — one test per rule."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from tungban.oidc.models import OFFLINE_ACCESS_SCOPE, AuthorizationCode, PushedAuthorizationRequest, Token
from tungban.testing.factories import (
    PIN,
    authorize_params,
    code_from,
    complete_authorization,
    make_client,
    pkce,
    start_authorization,
)

pytestmark = pytest.mark.django_db
RP = "https://bank.example/cb"
SCOPE = f"openid profile {OFFLINE_ACCESS_SCOPE}"


class Holder:
    """A FAPI client's side: its signing key (private_key_jwt, request objects) and a DPoP key."""

    def __init__(self, issuer, client_id="bank", *, key=None, alg="ES256"):
        self.issuer, self.client_id, self.alg = issuer, client_id, alg
        self.key = key or ECKey.generate_key("P-256", parameters={"kid": "bank-1"}, private=True)
        self.dpop_key = ECKey.generate_key("P-256", private=True)
        self.nonce = None

    def jwks(self):
        return {"keys": [self.key.as_dict(private=False)]}

    def assertion(self, aud=None, **extra):
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": aud or self.issuer,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(12),
            **extra,
        }
        return jwt.encode({"alg": self.alg, "kid": "bank-1"}, claims, self.key, algorithms=[self.alg])

    def auth(self):
        return {
            "client_id": self.client_id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": self.assertion(),
        }

    def proof(self, method, url, *, access_token=None, key=None, nonce="current", iat=None, jti=None, **extra):
        key = key or self.dpop_key
        claims = {
            "jti": jti or secrets.token_urlsafe(12),
            "htm": method,
            "htu": url,
            "iat": int(time.time()) if iat is None else iat,
            **extra,
        }
        if nonce == "current":
            nonce = self.nonce
        if nonce:
            claims["nonce"] = nonce
        if access_token:
            claims["ath"] = (
                base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).rstrip(b"=").decode()
            )
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
        return jwt.encode(header, claims, key, algorithms=["ES256"])

    def request_object(self, params, *, alg=None, **overrides):
        now = int(time.time())
        claims = {"iss": self.client_id, "aud": self.issuer, "iat": now, "nbf": now, "exp": now + 60, **params}
        claims.update(overrides)
        alg = alg or self.alg
        if alg == "none":
            head = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
            body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
            return f"{head}.{body}."
        return jwt.encode({"alg": alg, "kid": "bank-1"}, claims, self.key, algorithms=[alg])

    def post(self, path, data, *, dpop=True, **proof):
        """POST with client authentication and a DPoP proof; follows one ``use_dpop_nonce``."""
        url = f"{self.issuer}{path}"
        for _ in range(2):
            headers = {"DPoP": self.proof("POST", url, **proof)} if dpop else {}
            resp = requests.post(url, data={**data, **self.auth()}, headers=headers)
            if resp.headers.get("DPoP-Nonce"):
                self.nonce = resp.headers["DPoP-Nonce"]
            if resp.status_code != 400 or resp.json().get("error") != "use_dpop_nonce":
                return resp
        return resp

    def userinfo(self, access_token, *, scheme="DPoP", with_proof=True, **proof):
        url = f"{self.issuer}/oidc/userinfo"
        headers = {"Authorization": f"{scheme} {access_token}"}
        if with_proof:
            headers["DPoP"] = self.proof("GET", url, access_token=access_token, **proof)
        return requests.get(url, headers=headers)


def _push(bank, *, signed=False, **extra):
    verifier, challenge = pkce()
    params = authorize_params("bank", RP, challenge, scope=SCOPE, **extra)
    data = {"request": bank.request_object(params)} if signed else params
    resp = bank.post("/oidc/par", data)
    return resp, params, verifier


def _login(issuer, bank, app, **extra):
    resp, params, verifier = _push(bank, **extra)
    assert resp.status_code == 201, resp.text
    browser = requests.Session()
    rid = start_authorization(browser, issuer, {"client_id": "bank", "request_uri": resp.json()["request_uri"]})
    app.decide(rid, PIN, "approve")
    query = code_from(complete_authorization(browser, issuer, rid))
    assert query["state"] == params["state"] and query["iss"] == issuer
    return query["code"], verifier


def _authorize_error(browser, issuer, params) -> str:
    """The error of a refused authorization request: redirected (registered URI) or on the page."""
    resp = browser.get(f"{issuer}/oidc/authorize", params=params, allow_redirects=False)
    if resp.status_code == 302:
        query = parse_qs(urlsplit(resp.headers["Location"]).query)
        assert query["iss"] == [issuer]
        return query["error"][0]
    assert resp.status_code == 400
    return resp.text


def _redeem(bank, code, verifier, **proof):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": RP, "code_verifier": verifier}
    return bank.post("/oidc/token", data, **proof)


def _tokens(issuer, bank, app):
    code, verifier = _login(issuer, bank, app)
    resp = _redeem(bank, code, verifier)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _refresh(bank, refresh_token, **kw):
    return bank.post("/oidc/token", {"grant_type": "refresh_token", "refresh_token": refresh_token}, **kw)


# --- discovery ---


def test_discovery_states_what_is_supported(issuer, db):
    meta = requests.get(f"{issuer}/.well-known/openid-configuration").json()
    assert meta["pushed_authorization_request_endpoint"] == f"{issuer}/oidc/par"
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["request_parameter_supported"] is True and meta["request_uri_parameter_supported"] is False
    assert set(meta["dpop_signing_alg_values_supported"]) == {"ES256", "PS256"}
    assert set(meta["request_object_signing_alg_values_supported"]) == {"ES256", "PS256"}


# --- the whole flow ---


def test_fapi_login_par_private_key_jwt_dpop(issuer, bank, app):
    tokens = _tokens(issuer, bank, app)
    assert tokens["token_type"] == "DPoP" and tokens["refresh_token"]
    row = Token.objects.get(client__client_id="bank")  # (not by access token: it may be stored hashed)
    assert row.dpop_jkt == bank.dpop_key.thumbprint()
    info = bank.userinfo(tokens["access_token"])
    assert info.status_code == 200, info.text
    assert info.json()["name"] == "Tai Man CHAN"


def test_signed_request_object_through_par(issuer, bank, app):
    code, verifier = _login(issuer, bank, app, signed=True)
    assert _redeem(bank, code, verifier).status_code == 200


# --- PAR ---


def test_par_required_for_fapi_clients(issuer, bank, db):
    _, challenge = pkce()
    params = authorize_params("bank", RP, challenge, scope=SCOPE)
    resp = requests.get(f"{issuer}/oidc/authorize", params=params, allow_redirects=False)
    assert resp.status_code == 302
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["error"] == ["invalid_request"] and query["iss"] == [issuer]


def test_request_uri_is_one_time_and_bound_to_client(issuer, bank, db):
    resp, _, _ = _push(bank)
    assert resp.status_code == 201 and resp.json()["expires_in"] <= 60
    request_uri = resp.json()["request_uri"]
    make_client("other", "https://other.example/cb")
    stolen = _authorize_error(requests, issuer, {"client_id": "other", "request_uri": request_uri})
    assert "invalid_request_uri" in stolen
    browser = requests.Session()
    start_authorization(browser, issuer, {"client_id": "bank", "request_uri": request_uri})
    again = _authorize_error(browser, issuer, {"client_id": "bank", "request_uri": request_uri})
    assert "invalid_request_uri" in again


def test_request_uri_expires(issuer, bank, db):
    resp, _, _ = _push(bank)
    PushedAuthorizationRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    late = _authorize_error(requests, issuer, {"client_id": "bank", "request_uri": resp.json()["request_uri"]})
    assert "invalid_request_uri" in late


def test_par_validates_like_the_authorization_endpoint(issuer, bank, db):
    verifier, challenge = pkce()
    resp = bank.post("/oidc/par", authorize_params("bank", "https://evil.example/cb", challenge, scope=SCOPE))
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"
    resp, _, _ = _push(bank, code_challenge_method="plain")
    assert resp.status_code == 400
    assert not PushedAuthorizationRequest.objects.exists()


# --- client authentication ---


def test_client_secret_refused_for_fapi_client(issuer, bank, db):
    from tungban.oidc import client_secrets
    from tungban.oidc.models import Client

    Client.objects.filter(client_id="bank").update(client_secret_hash=client_secrets.digest("s3cret"))
    _, challenge = pkce()
    params = authorize_params("bank", RP, challenge, scope=SCOPE)
    resp = requests.post(f"{issuer}/oidc/par", data=params, auth=("bank", "s3cret"))
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"
    resp = requests.post(f"{issuer}/oidc/par", data={**params, "client_secret": "s3cret"})
    assert resp.json()["error"] == "invalid_client"


def test_ps256_client_assertion_accepted(issuer, db):
    holder = Holder(
        issuer, "bank-rsa", key=RSAKey.generate_key(2048, parameters={"kid": "bank-1"}, private=True), alg="PS256"
    )
    make_client("bank-rsa", RP, jwks=holder.jwks(), fapi=True, allowed_scopes=["openid", "profile"])
    _, challenge = pkce()
    resp = holder.post("/oidc/par", authorize_params("bank-rsa", RP, challenge, scope="openid profile"))
    assert resp.status_code == 201, resp.text


def test_client_assertion_single_use(issuer, bank, db):
    _, challenge = pkce()
    params = authorize_params("bank", RP, challenge, scope=SCOPE)
    auth = bank.auth()
    assert requests.post(f"{issuer}/oidc/par", data={**params, **auth}).status_code == 201
    replay = requests.post(f"{issuer}/oidc/par", data={**params, **auth})
    assert replay.status_code in (400, 401) and replay.json()["error"] == "invalid_client"


# --- codes ---


def test_code_older_than_60_seconds_refused(issuer, bank, app, settings):
    settings.TUNGBAN_CODE_TTL = 600  # even when the platform allows longer, FAPI codes live 60 s
    code, verifier = _login(issuer, bank, app)
    AuthorizationCode.objects.filter(code=code).update(created_at=timezone.now() - timedelta(seconds=61))
    resp = _redeem(bank, code, verifier)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"


def test_code_bound_to_the_dpop_key_of_the_push(issuer, bank, app):
    code, verifier = _login(issuer, bank, app)
    other = ECKey.generate_key("P-256", private=True)
    resp = _redeem(bank, code, verifier, key=other)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"


# --- DPoP ---


def test_token_request_without_dpop_refused_for_fapi(issuer, bank, app):
    code, verifier = _login(issuer, bank, app)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": RP, "code_verifier": verifier}
    resp = bank.post("/oidc/token", data, dpop=False)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_dpop_proof"


def test_dpop_nonce_flow(issuer, bank, app):
    code, verifier = _login(issuer, bank, app)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": RP, "code_verifier": verifier}
    url = f"{issuer}/oidc/token"
    first = requests.post(url, data={**data, **bank.auth()}, headers={"DPoP": bank.proof("POST", url, nonce=None)})
    assert first.status_code == 400 and first.json()["error"] == "use_dpop_nonce"
    nonce = first.headers["DPoP-Nonce"]
    forged = requests.post(
        url, data={**data, **bank.auth()}, headers={"DPoP": bank.proof("POST", url, nonce="x" + nonce)}
    )
    assert forged.json()["error"] == "use_dpop_nonce"
    ok = requests.post(url, data={**data, **bank.auth()}, headers={"DPoP": bank.proof("POST", url, nonce=nonce)})
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize(
    "bad",
    [
        {"method": "GET"},
        {"url": "https://elsewhere.example/oidc/token"},
        {"iat": "old"},
        {"iat": "future"},
    ],
)
def test_dpop_proof_checks_at_token_endpoint(issuer, bank, app, bad):
    code, verifier = _login(issuer, bank, app)
    url = f"{issuer}/oidc/token"
    iat = {"old": int(time.time()) - 120, "future": int(time.time()) + 120}.get(bad.get("iat"))
    proof = bank.proof(bad.get("method", "POST"), bad.get("url", url), iat=iat)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": RP, "code_verifier": verifier}
    resp = requests.post(url, data={**data, **bank.auth()}, headers={"DPoP": proof})
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_dpop_proof", resp.text


def test_dpop_proof_replay_refused(issuer, bank, app):
    tokens = _tokens(issuer, bank, app)
    url = f"{issuer}/oidc/userinfo"
    proof = bank.proof("GET", url, access_token=tokens["access_token"])
    headers = {"Authorization": f"DPoP {tokens['access_token']}", "DPoP": proof}
    assert requests.get(url, headers=headers).status_code == 200
    replay = requests.get(url, headers=headers)
    assert replay.status_code == 401 and "invalid_dpop_proof" in replay.headers["WWW-Authenticate"]


def test_dpop_bound_token_at_userinfo(issuer, bank, app):
    tokens = _tokens(issuer, bank, app)
    at = tokens["access_token"]
    as_bearer = bank.userinfo(at, scheme="Bearer", with_proof=False)
    assert as_bearer.status_code == 401
    as_bearer_with_proof = bank.userinfo(at, scheme="Bearer")
    assert as_bearer_with_proof.status_code == 401
    no_proof = bank.userinfo(at, with_proof=False)
    assert no_proof.status_code == 401 and no_proof.headers["WWW-Authenticate"].startswith("DPoP ")
    wrong_ath = requests.get(
        f"{issuer}/oidc/userinfo",
        headers={"Authorization": f"DPoP {at}", "DPoP": bank.proof("GET", f"{issuer}/oidc/userinfo", access_token="x")},
    )
    assert wrong_ath.status_code == 401
    wrong_key = bank.userinfo(at, key=ECKey.generate_key("P-256", private=True))
    assert wrong_key.status_code == 401
    wrong_method = requests.get(
        f"{issuer}/oidc/userinfo",
        headers={"Authorization": f"DPoP {at}", "DPoP": bank.proof("POST", f"{issuer}/oidc/userinfo", access_token=at)},
    )
    assert wrong_method.status_code == 401
    assert bank.userinfo(at).status_code == 200


# --- refresh ---


def test_refresh_is_dpop_bound(issuer, bank, app):
    tokens = _tokens(issuer, bank, app)
    stolen = _refresh(bank, tokens["refresh_token"], key=ECKey.generate_key("P-256", private=True))
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    good = _refresh(bank, tokens["refresh_token"])
    assert good.status_code == 200 and good.json()["token_type"] == "DPoP"
    assert bank.userinfo(good.json()["access_token"]).status_code == 200


def test_refresh_retry_within_grace_period(issuer, bank, app, settings):
    settings.TUNGBAN_REFRESH_GRACE = 30
    tokens = _tokens(issuer, bank, app)
    first = _refresh(bank, tokens["refresh_token"])
    assert first.status_code == 200
    retry = _refresh(bank, tokens["refresh_token"])  # the answer to the first was lost
    assert retry.status_code == 200, retry.text
    assert bank.userinfo(retry.json()["access_token"]).status_code == 200
    assert bank.userinfo(first.json()["access_token"]).status_code == 401  # never received: revoked
    assert _refresh(bank, retry.json()["refresh_token"]).status_code == 200


def test_refresh_retry_after_grace_period_revokes_grant(issuer, bank, app, settings):
    settings.TUNGBAN_REFRESH_GRACE = 30
    tokens = _tokens(issuer, bank, app)
    first = _refresh(bank, tokens["refresh_token"]).json()
    Token.objects.filter(rotated_at__isnull=False).update(rotated_at=timezone.now() - timedelta(seconds=31))
    late = _refresh(bank, tokens["refresh_token"])
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
    assert _refresh(bank, first["refresh_token"]).json()["error"] == "invalid_grant"  # reuse: grant revoked


def test_refresh_retry_within_grace_does_not_revive_a_revoked_grant(issuer, bank, app):
    from tungban.oidc import services

    tokens = _tokens(issuer, bank, app)
    first = _refresh(bank, tokens["refresh_token"]).json()
    assert first["access_token"]
    services.revoke_grant(Token.objects.get(client__client_id="bank", revoked_at__isnull=True))  # e.g. logout
    assert _refresh(bank, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_retry_after_successor_used_revokes_grant(issuer, bank, app):
    tokens = _tokens(issuer, bank, app)
    first = _refresh(bank, tokens["refresh_token"]).json()
    second = _refresh(bank, first["refresh_token"]).json()
    assert _refresh(bank, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert bank.userinfo(second["access_token"]).status_code == 401


# --- iss (RFC 9207), all clients ---


def test_iss_in_every_authorization_response(issuer, app):
    _, secret = make_client("plain", "https://plain.example/cb")
    verifier, challenge = pkce()
    browser = requests.Session()
    params = authorize_params("plain", "https://plain.example/cb", challenge)
    rid = start_authorization(browser, issuer, params)
    app.decide(rid, PIN, "approve")
    assert code_from(complete_authorization(browser, issuer, rid))["iss"] == issuer
    # declined
    params = authorize_params("plain", "https://plain.example/cb", challenge)
    rid = start_authorization(browser, issuer, params)
    app.decide(rid, PIN, "decline")
    page = complete_authorization(browser, issuer, rid)
    assert f"iss={requests.utils.quote(issuer, safe='')}" in page.text.replace("&amp;", "&")
    # an error redirected at once (unsupported response type)
    bad = requests.get(f"{issuer}/oidc/authorize", params={**params, "response_type": "token"}, allow_redirects=False)
    assert bad.status_code == 302 and parse_qs(urlsplit(bad.headers["Location"]).query)["iss"] == [issuer]


# --- request objects (item 15) ---


def test_request_object_refused_for_client_without_keys(issuer, db):
    make_client("plain", "https://plain.example/cb")
    _, challenge = pkce()
    attacker = authorize_params("plain", "https://evil.example/cb", challenge)
    params = authorize_params("plain", "https://plain.example/cb", challenge)
    holder = Holder(issuer, "plain")
    resp = requests.get(
        f"{issuer}/oidc/authorize",
        params={**params, "request": holder.request_object(attacker, alg="none")},
        allow_redirects=False,
    )
    assert resp.status_code == 302
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert resp.headers["Location"].startswith("https://plain.example/cb")
    assert query["error"] == ["request_not_supported"] and query["iss"] == [issuer]


def test_foreign_request_uri_refused(issuer, db):
    make_client("plain", "https://plain.example/cb")
    _, challenge = pkce()
    params = authorize_params(
        "plain", "https://plain.example/cb", challenge, request_uri="https://evil.example/req.jwt"
    )
    resp = requests.get(f"{issuer}/oidc/authorize", params=params, allow_redirects=False)
    assert resp.status_code == 302
    assert parse_qs(urlsplit(resp.headers["Location"]).query)["error"] == ["request_uri_not_supported"]


def test_unsigned_request_object_refused_even_with_keys(issuer, bank, db):
    _, challenge = pkce()
    params = authorize_params("bank", RP, challenge, scope=SCOPE)
    resp = bank.post("/oidc/par", {"request": bank.request_object(params, alg="none")})
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request_object"


@pytest.mark.parametrize(
    "override",
    [{"iss": "someone-else"}, {"aud": "https://elsewhere.example"}, {"exp": int(time.time()) - 60}, {"exp": None}],
)
def test_request_object_claims_checked(issuer, bank, db, override):
    _, challenge = pkce()
    params = authorize_params("bank", RP, challenge, scope=SCOPE)
    obj = bank.request_object(params, **{k: v for k, v in override.items() if v is not None})
    if override == {"exp": None}:
        now = int(time.time())
        claims = {"iss": "bank", "aud": issuer, "iat": now, **params}
        obj = jwt.encode({"alg": "ES256"}, claims, bank.key, algorithms=["ES256"])
    resp = bank.post("/oidc/par", {"request": obj})
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request_object", resp.text


def test_request_object_lifetime_bounded(issuer, bank, db):
    _, challenge = pkce()
    params = authorize_params("bank", RP, challenge, scope=SCOPE)
    now = int(time.time())
    resp = bank.post("/oidc/par", {"request": bank.request_object(params, nbf=now, exp=now + 7200)})
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request_object"


def test_signed_request_object_at_authorization_endpoint(issuer, db, app):
    holder = Holder(issuer, "keyed")
    make_client("keyed", "https://keyed.example/cb", jwks=holder.jwks())
    _, challenge = pkce()
    inner = authorize_params("keyed", "https://keyed.example/cb", challenge)
    browser = requests.Session()
    rid = start_authorization(browser, issuer, {"client_id": "keyed", "request": holder.request_object(inner)})
    app.decide(rid, PIN, "approve")
    query = code_from(complete_authorization(browser, issuer, rid))
    assert query["state"] == inner["state"] and query["iss"] == issuer


# --- other resources, the token endpoint, the admin ---


def test_api_resource_accepts_dpop_and_refuses_bound_token_as_bearer(issuer, db):
    holder = Holder(issuer, "signer")
    make_client("signer", "https://signer.example/cb", jwks=holder.jwks(), allowed_scopes=["openid", "signing"])
    resp = holder.post("/oidc/token", {"grant_type": "client_credentials", "scope": "signing"})
    assert resp.status_code == 200 and resp.json()["token_type"] == "DPoP", resp.text
    at = resp.json()["access_token"]
    url = f"{issuer}/api/v1/signing/requests/00000000-0000-0000-0000-000000000000"
    with_proof = requests.get(
        url, headers={"Authorization": f"DPoP {at}", "DPoP": holder.proof("GET", url, access_token=at)}
    )
    assert with_proof.status_code == 404  # authenticated: the request does not exist
    assert requests.get(url, headers={"Authorization": f"Bearer {at}"}).status_code == 401
    assert requests.get(url, headers={"Authorization": f"DPoP {at}"}).status_code == 401


def test_token_endpoint_refuses_client_secret_for_fapi_client(issuer, bank, app):
    from tungban.oidc import client_secrets
    from tungban.oidc.models import Client

    code, verifier = _login(issuer, bank, app)
    Client.objects.filter(client_id="bank").update(client_secret_hash=client_secrets.digest("s3cret"))
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": RP, "code_verifier": verifier}
    url = f"{issuer}/oidc/token"
    resp = requests.post(url, data=data, auth=("bank", "s3cret"), headers={"DPoP": bank.proof("POST", url)})
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"


def test_admin_fapi_client_needs_keys_and_private_key_jwt(db):
    from django.core.exceptions import ValidationError

    from tungban.oidc.models import Client

    client = Client(client_id="x", name_en="X", name_zh="X", redirect_uris=[RP], allowed_scopes=["openid"], fapi=True)
    with pytest.raises(ValidationError):
        client.clean()
    client.jwks = Holder("http://x").jwks()
    client.clean()
    assert client.token_endpoint_auth_method == "private_key_jwt"


def test_bad_input_at_par_and_authorize_is_a_clear_error(issuer, bank, db):
    _, challenge = pkce()
    params = authorize_params("bank", RP, challenge, scope=SCOPE)
    par = f"{issuer}/oidc/par"
    assert requests.post(par, data=params).json()["error"] == "invalid_client"
    for data, headers, error in [
        ({"request": "not.a.jwt"}, {}, "invalid_request_object"),
        ({"request": "x"}, {}, "invalid_request_object"),
        ({**params, "request_uri": "urn:x"}, {}, "invalid_request"),
        ({**params, "client_id": "someone-else"}, {}, "invalid_client"),
        (params, {"DPoP": "garbage"}, "invalid_dpop_proof"),
        (params, {"DPoP": "a.b.c"}, "invalid_dpop_proof"),
    ]:
        resp = requests.post(par, data={**bank.auth(), **data}, headers=headers)
        assert resp.status_code == 400 and resp.json()["error"] == error, (data, headers, resp.text)
    for query in [
        {"client_id": "bank", "request_uri": "urn:ietf:params:oauth:request_uri:\x00"},
        {"client_id": "bank\x00", "request_uri": "urn:ietf:params:oauth:request_uri:x"},
        {"client_id": "bank", "request": "garbage"},
        {"client_id": "nobody", "request": "garbage"},
        {"client_id": "bank", "request": "a", "request_uri": "b"},
    ]:
        resp = requests.get(f"{issuer}/oidc/authorize", params=query, allow_redirects=False)
        assert resp.status_code in (302, 400), (query, resp.status_code)
