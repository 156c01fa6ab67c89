"""The OpenID Provider over HTTP (in-process, :mod:`tungban.testing.http`): good flows and every bad input of issue #2."""

import json

import pytest
import requests
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from tungban.keys import services as keys
from tungban.oidc.models import AuthorizationCode, Token, access_token_digest
from tungban.testing.factories import (
    PIN,
    authorize_params,
    bind_cli,
    code_from,
    complete_authorization,
    jwt_claims,
    login,
    make_client,
    pkce,
    start_authorization,
    userinfo,
)
from tungban.wallet.models import ApprovalRequest

pytestmark = pytest.mark.django_db
RP_A = "https://rp-a.example/cb"
RP_B = "https://rp-b.example/cb"


@pytest.fixture
def clients(db):
    return {"a": make_client("svc-a", RP_A), "b": make_client("svc-b", RP_B)}


def _token(issuer, client_id, secret, code, verifier, redirect_uri=RP_A):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    return requests.post(f"{issuer}/oidc/token", data=data, auth=(client_id, secret))


def test_discovery_and_jwks(issuer, db):
    meta = requests.get(f"{issuer}/.well-known/openid-configuration").json()
    assert meta["issuer"] == issuer
    assert meta["subject_types_supported"] == ["pairwise"]
    assert meta["id_token_signing_alg_values_supported"] == ["ES256"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    for endpoint in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "revocation_endpoint",
        "end_session_endpoint",
    ):
        assert meta[endpoint].startswith(issuer + "/")
    jwks = requests.get(meta["jwks_uri"]).json()
    assert jwks["keys"] and all(k["kty"] == "EC" and "d" not in k for k in jwks["keys"])


def test_login_releases_only_approved_claims_and_records_it(issuer, clients, app, resident):
    _, secret = clients["a"]
    tokens = login(issuer, app, "svc-a", secret, RP_A, only=["name", "birthdate"])
    info = userinfo(issuer, tokens["access_token"]).json()
    assert set(info) == {"sub", "name", "family_name", "given_name", "birthdate"}
    assert info["birthdate"] == resident.date_of_birth.isoformat()
    history = app.history(PIN)
    assert history[0]["requester_id"] == "svc-a" and history[0]["claims"] == ["name", "birthdate"]


def test_id_token_es256_pairwise_acr(issuer, clients, app, resident):
    _, secret = clients["a"]
    tokens = login(issuer, app, "svc-a", secret, RP_A)
    keyset = KeySet.import_key_set(requests.get(f"{issuer}/oidc/jwks").json())
    token = jwt.decode(tokens["id_token"], keyset, algorithms=["ES256"])
    assert token.header["alg"] == "ES256"
    claims = token.claims
    assert claims["iss"] == issuer and claims["aud"] == "svc-a" and claims["nonce"] == tokens["nonce"]
    assert claims["acr"] == "urn:tungban:acr:plus" and claims["amr"] == ["swk"]  # CLI app: key only
    assert claims["sub"] != str(resident.pk) and claims["sub"] != resident.hkid
    assert "hkid" not in claims and "name" not in claims  # personal data only via userinfo


def test_pairwise_sub_differs_per_service_and_is_stable(issuer, clients, app):
    (_, secret_a), (_, secret_b) = clients["a"], clients["b"]
    sub_a1 = jwt_claims(login(issuer, app, "svc-a", secret_a, RP_A)["id_token"])["sub"]
    sub_a2 = jwt_claims(login(issuer, app, "svc-a", secret_a, RP_A)["id_token"])["sub"]
    sub_b = jwt_claims(login(issuer, app, "svc-b", secret_b, RP_B)["id_token"])["sub"]
    assert sub_a1 == sub_a2 and sub_a1 != sub_b


def test_basic_tier_acr(issuer, clients, officer, tmp_path):
    from tungban.identity.models import Resident
    from tungban.testing.factories import make_resident

    r = make_resident(officer)
    Resident.objects.filter(pk=r.pk).update(tier="basic")
    app = bind_cli(issuer, r, tmp_path / "basic")
    tokens = login(issuer, app, "svc-a", clients["a"][1], RP_A)
    assert jwt_claims(tokens["id_token"])["acr"] == "urn:tungban:acr:basic"


def test_unknown_client_gets_error_page_and_stores_nothing(issuer, clients):
    _, challenge = pkce()
    resp = requests.get(
        f"{issuer}/oidc/authorize",
        params=authorize_params("nope", RP_A, challenge),
        allow_redirects=False,
        headers={"Accept-Language": "en"},
    )
    assert resp.status_code == 400 and "Location" not in resp.headers
    assert "This online service is not known" in resp.text  # plain words, the code in small print (issue 16)
    assert ApprovalRequest.objects.count() == 0


@pytest.mark.parametrize("uri", [RP_A + "/", RP_A + "?x=1", "https://evil.example/cb", RP_A.upper()])
def test_redirect_uri_must_match_exactly(issuer, clients, uri):
    _, challenge = pkce()
    resp = requests.get(
        f"{issuer}/oidc/authorize", params=authorize_params("svc-a", uri, challenge), allow_redirects=False
    )
    assert resp.status_code == 400 and "Location" not in resp.headers
    assert ApprovalRequest.objects.count() == 0


@pytest.mark.parametrize(
    "change",
    [
        {"code_challenge": None, "code_challenge_method": None},
        {"code_challenge_method": "plain"},
        {"code_challenge_method": None},
    ],
)
def test_pkce_s256_required(issuer, clients, change):
    _, challenge = pkce()
    params = authorize_params("svc-a", RP_A, challenge)
    params.update(change)
    params = {k: v for k, v in params.items() if v is not None}
    resp = requests.get(f"{issuer}/oidc/authorize", params=params, allow_redirects=False)
    assert resp.status_code == 302 and resp.headers["Location"].startswith(RP_A)
    assert "error=invalid_request" in resp.headers["Location"]
    assert ApprovalRequest.objects.count() == 0


def _approved_code(issuer, app, client_id="svc-a", redirect_uri=RP_A):
    browser = requests.Session()
    verifier, challenge = pkce()
    rid = start_authorization(browser, issuer, authorize_params(client_id, redirect_uri, challenge))
    app.decide(rid, PIN, "approve")
    return code_from(complete_authorization(browser, issuer, rid))["code"], verifier


@pytest.mark.parametrize("bad_verifier, error", [(None, "invalid_request"), ("x" * 50, "invalid_grant")])
def test_missing_or_wrong_verifier(issuer, clients, app, bad_verifier, error):
    code, _ = _approved_code(issuer, app)
    resp = _token(issuer, "svc-a", clients["a"][1], code, bad_verifier)
    assert resp.status_code == 400 and resp.json()["error"] == error
    assert Token.objects.count() == 0


def test_reused_code_refused_and_tokens_revoked(issuer, clients, app):
    code, verifier = _approved_code(issuer, app)
    first = _token(issuer, "svc-a", clients["a"][1], code, verifier)
    assert first.status_code == 200
    access = first.json()["access_token"]
    assert userinfo(issuer, access).status_code == 200
    second = _token(issuer, "svc-a", clients["a"][1], code, verifier)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert userinfo(issuer, access).status_code == 401
    assert Token.objects.get(access_token=access_token_digest(access)).revoked_at is not None


def test_code_bound_to_client_and_secret(issuer, clients, app):
    code, verifier = _approved_code(issuer, app)
    stolen = _token(issuer, "svc-b", clients["b"][1], code, verifier, RP_B)
    assert stolen.status_code == 400
    wrong_secret = _token(issuer, "svc-a", "not-the-secret", code, verifier)
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"


def test_tampered_id_token_fails_validation(issuer, clients, app):
    tokens = login(issuer, app, "svc-a", clients["a"][1], RP_A)
    header, payload, sig = tokens["id_token"].split(".")
    claims = jwt_claims(tokens["id_token"])
    claims["sub"] = "someone-else"
    import base64

    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    keyset = KeySet.import_key_set(requests.get(f"{issuer}/oidc/jwks").json())
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header}.{forged_payload}.{sig}", keyset, algorithms=["ES256"])


def test_declined_login_redirects_with_access_denied(issuer, clients, app):
    browser = requests.Session()
    _, challenge = pkce()
    params = authorize_params("svc-a", RP_A, challenge)
    rid = start_authorization(browser, issuer, params)
    app.decide(rid, PIN, "decline")
    assert browser.get(f"{issuer}/oidc/authorize/{rid}/status").json()["status"] == "declined"
    page = complete_authorization(browser, issuer, rid)
    assert page.status_code == 200 and 'id="return-link"' in page.text
    assert "error=access_denied" in page.text and params["state"] in page.text
    assert AuthorizationCode.objects.count() == 0


def test_completion_only_in_the_starting_browser(issuer, clients, app):
    browser = requests.Session()
    _, challenge = pkce()
    rid = start_authorization(browser, issuer, authorize_params("svc-a", RP_A, challenge))
    app.decide(rid, PIN, "approve")
    attacker = requests.Session()
    assert complete_authorization(attacker, issuer, rid).status_code == 404
    assert attacker.get(f"{issuer}/oidc/authorize/{rid}/status").status_code == 404
    assert complete_authorization(browser, issuer, rid).status_code == 302
    # and only once
    assert complete_authorization(browser, issuer, rid).status_code == 200
    assert AuthorizationCode.objects.count() == 1


def test_prompt_none_needs_interaction(issuer, clients):
    _, challenge = pkce()
    resp = requests.get(
        f"{issuer}/oidc/authorize",
        params=authorize_params("svc-a", RP_A, challenge, prompt="none"),
        allow_redirects=False,
    )
    assert resp.status_code == 302 and "error=login_required" in resp.headers["Location"]


def test_prompt_login_and_max_age_give_fresh_auth_time(issuer, clients, app):
    import time

    first = jwt_claims(login(issuer, app, "svc-a", clients["a"][1], RP_A)["id_token"])
    time.sleep(1.1)
    again = jwt_claims(login(issuer, app, "svc-a", clients["a"][1], RP_A, prompt="login", max_age="0")["id_token"])
    assert again["auth_time"] > first["auth_time"]


def test_anonymous_form_filling_has_no_subject(issuer, clients, app):
    tokens = login(issuer, app, "svc-a", clients["a"][1], RP_A, scope="profile hkid address", only=["hkid", "address"])
    assert "id_token" not in tokens
    data = requests.get(f"{issuer}/oidc/formdata", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert set(data) == {"hkid", "address"} and "sub" not in data
    assert userinfo(issuer, tokens["access_token"]).status_code == 403  # no openid scope
    assert app.history(PIN)[0]["kind"] == "formfill"


def test_revocation_endpoint(issuer, clients, app):
    tokens = login(issuer, app, "svc-a", clients["a"][1], RP_A)
    resp = requests.post(
        f"{issuer}/oidc/revoke", data={"token": tokens["access_token"]}, auth=("svc-a", clients["a"][1])
    )
    assert resp.status_code == 200
    assert userinfo(issuer, tokens["access_token"]).status_code == 401


def test_rp_initiated_logout(issuer, clients, app):
    tokens = login(issuer, app, "svc-a", clients["a"][1], RP_A)
    resp = requests.get(
        f"{issuer}/oidc/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://rp-a.example/bye",
            "state": "s1",
            "client_id": "svc-a",
        },
        allow_redirects=False,
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "https://rp-a.example/bye?state=s1"
    assert userinfo(issuer, tokens["access_token"]).status_code == 401
    unregistered = requests.get(
        f"{issuer}/oidc/logout",
        params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://evil.example/"},
        allow_redirects=False,
    )
    assert unregistered.status_code == 200  # no redirect to an unregistered URI


def test_key_rotation_keeps_old_tokens_verifiable(issuer, clients, app):
    old = login(issuer, app, "svc-a", clients["a"][1], RP_A)["id_token"]
    new_key = keys.rotate()
    new = login(issuer, app, "svc-a", clients["a"][1], RP_A)["id_token"]
    keyset = KeySet.import_key_set(requests.get(f"{issuer}/oidc/jwks").json())
    assert jwt.decode(new, keyset, algorithms=["ES256"]).header["kid"] == new_key.kid
    assert jwt.decode(old, keyset, algorithms=["ES256"]).header["kid"] != new_key.kid


def test_expired_request_shows_clear_page(issuer, clients, app):
    import datetime as dt

    from django.utils import timezone

    browser = requests.Session()
    _, challenge = pkce()
    params = authorize_params("svc-a", RP_A, challenge)
    rid = start_authorization(browser, issuer, params)
    ApprovalRequest.objects.filter(pk=rid).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert browser.get(f"{issuer}/oidc/authorize/{rid}/status").json()["status"] == "expired"
    page = browser.get(
        f"{issuer}/oidc/authorize/{rid}/complete", headers={"Accept-Language": "en"}, allow_redirects=False
    )
    assert page.status_code == 200 and "expired" in page.text and "error=access_denied" in page.text
    assert AuthorizationCode.objects.count() == 0


@pytest.mark.parametrize("uris", [[], ["/relative"], ["https://rp.example/cb#frag"], ["javascript:alert(1)"]])
def test_client_registration_rejects_bad_redirect_uris(db, uris):
    from django.core.exceptions import ValidationError

    from tungban.core.errors import DomainError
    from tungban.oidc.models import Client
    from tungban.oidc.services import register_client

    with pytest.raises(DomainError):
        register_client(client_id="bad", name_en="B", name_zh="乙", redirect_uris=uris)
    with pytest.raises(ValidationError):
        Client(client_id="bad2", name_en="B", name_zh="乙", redirect_uris=uris).full_clean()
    assert not Client.objects.filter(client_id__startswith="bad").exists()


def test_stolen_code_without_verifier_does_not_burn_it(issuer, clients, app):
    code, verifier = _approved_code(issuer, app)
    attacker = _token(issuer, "svc-a", clients["a"][1], code, "y" * 50)
    assert attacker.status_code == 400
    wrong_redirect = _token(issuer, "svc-a", clients["a"][1], code, verifier, redirect_uri="https://rp-a.example/other")
    assert wrong_redirect.status_code == 400
    assert _token(issuer, "svc-a", clients["a"][1], code, verifier).status_code == 200


def test_essential_acr_plus_refuses_basic_account(issuer, clients, officer, tmp_path):
    from tungban.identity.models import Resident
    from tungban.testing.factories import make_resident

    r = make_resident(officer)
    Resident.objects.filter(pk=r.pk).update(tier="basic")
    basic_app = bind_cli(issuer, r, tmp_path / "basic")
    browser = requests.Session()
    _, challenge = pkce()
    claims = json.dumps({"id_token": {"acr": {"essential": True, "value": "urn:tungban:acr:plus"}}})
    rid = start_authorization(browser, issuer, authorize_params("svc-a", RP_A, challenge, claims=claims))
    basic_app.decide(rid, PIN, "approve")
    page = complete_authorization(browser, issuer, rid)
    assert page.status_code == 200 and "error=access_denied" in page.text
    assert AuthorizationCode.objects.count() == 0


def test_authorization_request_by_post(issuer, clients, app):
    browser = requests.Session()
    verifier, challenge = pkce()
    params = authorize_params("svc-a", RP_A, challenge)
    page = browser.post(f"{issuer}/oidc/authorize", data=params)
    assert page.status_code == 200
    import re

    rid = re.search(r"/app/approve/([0-9a-f-]{36})", page.text).group(1)
    app.decide(rid, PIN, "approve")
    query = code_from(complete_authorization(browser, issuer, rid))
    assert query["state"] == params["state"]
    assert _token(issuer, "svc-a", clients["a"][1], query["code"], verifier).status_code == 200


@pytest.mark.parametrize("claims", ["not json", "[1]", '{"userinfo": [1]}'])
def test_malformed_claims_parameter(issuer, clients, claims):
    _, challenge = pkce()
    resp = requests.get(
        f"{issuer}/oidc/authorize",
        params=authorize_params("svc-a", RP_A, challenge, claims=claims),
        allow_redirects=False,
    )
    assert resp.status_code == 400
    assert ApprovalRequest.objects.count() == 0


def test_approval_completed_too_late_says_expired_not_completed(issuer, clients, app):
    """Issue 14 item 9: an approved request whose browser comes back after the completion
    grace was never completed; the page says it expired and the service hears access_denied."""
    import datetime as dt

    from django.utils import timezone

    browser = requests.Session()
    _, challenge = pkce()
    params = authorize_params("svc-a", RP_A, challenge)
    rid = start_authorization(browser, issuer, params)
    app.decide(rid, PIN, "approve")
    ApprovalRequest.objects.filter(pk=rid).update(expires_at=timezone.now() - dt.timedelta(minutes=10))
    page = complete_authorization(browser, issuer, rid)
    # In whichever language the page came (English or 繁體中文):
    assert "already completed" not in page.text and "已完成登入" not in page.text
    assert "This sign-in request expired" in page.text or "此登入要求已逾時" in page.text
    assert "error=access_denied" in page.text and params["state"] in page.text
    assert AuthorizationCode.objects.count() == 0
    assert ApprovalRequest.objects.get(pk=rid).status == "approved"  # never completed
