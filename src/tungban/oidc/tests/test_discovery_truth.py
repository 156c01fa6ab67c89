"""Issue 13 item 16: the discovery document (OIDC Discovery 1.0 §3) advertises exactly
what works — each claim is checked here against the provider's behaviour."""

import json

import pytest
import requests
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from joserfc.jwk import ECKey, RSAKey

from tungban.oidc.models import AuthorizationCode, Client
from tungban.testing.factories import (
    PIN,
    authorize_params,
    bind_cli,
    complete_authorization,
    make_client,
    pkce,
    start_authorization,
)

pytestmark = pytest.mark.django_db
RP = "https://rp-a.example/cb"
ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Client-assertion algorithms a client might try (RFC 7518 §3.1): the advertised ones must be exactly those that work.
CANDIDATE_ALGS = {"ES256": ("EC", "P-256"), "ES384": ("EC", "P-384"), "RS256": ("RSA", 2048), "PS256": ("RSA", 2048)}


@pytest.fixture
def meta(issuer):
    return requests.get(f"{issuer}/.well-known/openid-configuration").json()


def _key(kind, param, kid):
    key = ECKey.generate_key(param, private=True) if kind == "EC" else RSAKey.generate_key(param, private=True)
    key.ensure_kid()
    return key


def _assertion_works(issuer, alg: str) -> bool:
    kind, param = CANDIDATE_ALGS[alg]
    key = _key(kind, param, alg)
    client_id = f"svc-{alg.lower()}"
    make_client(client_id, jwks={"keys": [key.as_dict(private=False) | {"kid": key.kid, "alg": alg}]})
    assertion = private_key_jwt_sign(key.as_dict(private=True), client_id, f"{issuer}/oidc/token", alg=alg)
    resp = requests.post(
        f"{issuer}/oidc/token",
        data={"grant_type": "client_credentials", "client_assertion_type": ASSERTION, "client_assertion": assertion},
    )
    return resp.status_code == 200


def test_client_assertion_algorithms_advertised_are_exactly_those_that_work(issuer, meta):
    works = {alg for alg in CANDIDATE_ALGS if _assertion_works(issuer, alg)}
    advertised = set(meta["token_endpoint_auth_signing_alg_values_supported"])
    assert advertised & set(CANDIDATE_ALGS) == works, (advertised, works)
    assert advertised <= set(CANDIDATE_ALGS)
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]


def _post_client(client_id="svc-post"):
    """A client registered for client_secret_post (an administrator's choice in the admin)."""
    client, secret = make_client(client_id)
    Client.objects.filter(pk=client.pk).update(token_endpoint_auth_method="client_secret_post")
    return secret


def test_token_endpoint_auth_methods_work(issuer, meta):
    _, secret = make_client("svc-secret")
    post_secret = _post_client()
    form = {"grant_type": "client_credentials"}
    checks = {
        "client_secret_basic": lambda: requests.post(f"{issuer}/oidc/token", data=form, auth=("svc-secret", secret)),
        "client_secret_post": lambda: requests.post(
            f"{issuer}/oidc/token", data={**form, "client_id": "svc-post", "client_secret": post_secret}
        ),
        "private_key_jwt": lambda: type("R", (), {"status_code": 200 if _assertion_works(issuer, "ES256") else 400}),
    }
    for method in meta["token_endpoint_auth_methods_supported"]:
        if method == "none":  # public clients: PKCE only, covered by the login tests; no client credentials grant
            continue
        assert checks[method]().status_code == 200, method


def test_revocation_auth_methods_work(issuer, meta):
    _, secret = make_client("svc-secret")
    post_secret = _post_client()
    make_client("svc-public", public=True)
    calls = {
        "client_secret_basic": {"auth": ("svc-secret", secret), "data": {"token": "x"}},
        "client_secret_post": {"data": {"token": "x", "client_id": "svc-post", "client_secret": post_secret}},
        "none": {"data": {"token": "x", "client_id": "svc-public"}},
    }
    for method in meta["revocation_endpoint_auth_methods_supported"]:
        if method == "private_key_jwt":
            continue  # the same client authentication as the token endpoint (test above)
        assert requests.post(f"{issuer}/oidc/revoke", **calls[method]).status_code == 200, method


def test_request_objects_are_declared_explicitly(meta):
    """OIDC Discovery §3: an absent ``request_uri_parameter_supported`` means true."""
    assert isinstance(meta["request_uri_parameter_supported"], bool)
    assert isinstance(meta["request_parameter_supported"], bool)


def test_nothing_advertised_that_is_not_implemented(meta):
    assert "claims_locales_supported" not in meta  # claims come in both languages (name, name#zh-Hant)


@pytest.mark.parametrize(
    "ui_locales, accept, expected",
    [
        ("en", "zh-HK", "en"),
        ("zh-Hant", "en", "zh"),
        ("zh-HK", "en", "zh"),
        ("fr zh-Hant en", "en", "zh"),
        ("fr", "en", "en"),  # none supported: the browser's language
    ],
)
def test_ui_locales_choose_the_language_of_the_login_pages(issuer, meta, ui_locales, accept, expected):
    for tag in ui_locales.split():
        if tag != "fr":
            assert tag in meta["ui_locales_supported"]
    _, challenge = pkce()
    params = authorize_params("svc-a", RP, challenge, ui_locales=ui_locales)
    make_client("svc-a", RP)
    page = requests.get(f"{issuer}/oidc/authorize", params=params, headers={"Accept-Language": accept})
    assert page.status_code == 200
    lang = 'lang="en"' if expected == "en" else 'lang="zh-Hant-HK"'
    assert lang in page.text and page.headers["Content-Language"].startswith(expected)
    # an invalid request's error page too
    bad = requests.get(
        f"{issuer}/oidc/authorize", params={**params, "client_id": "nope"}, headers={"Accept-Language": accept}
    )
    assert bad.status_code == 400 and lang in bad.text


def test_ui_locales_apply_to_the_page_after_the_app_answers(issuer, resident, app_home):
    app = bind_cli(issuer, resident, app_home)
    make_client("svc-a", RP)
    browser = requests.Session()
    browser.headers["Accept-Language"] = "zh-HK"
    _, challenge = pkce()
    rid = start_authorization(browser, issuer, authorize_params("svc-a", RP, challenge, ui_locales="en"))
    app.decide(rid, PIN, "decline")
    page = complete_authorization(browser, issuer, rid)
    assert page.status_code == 200 and 'lang="en"' in page.text and "You declined" in page.text


def test_the_residents_own_language_choice_beats_ui_locales(issuer):
    make_client("svc-a", RP)
    _, challenge = pkce()
    browser = requests.Session()
    browser.cookies.set("tungban_language", "zh-hant")
    page = browser.get(f"{issuer}/oidc/authorize", params=authorize_params("svc-a", RP, challenge, ui_locales="en"))
    assert 'lang="zh-Hant-HK"' in page.text


def test_acr_values_are_advertised_and_honoured(issuer, meta, officer, tmp_path):
    """``acr_values`` (OIDC Core §3.1.2.1) names the levels the service accepts: a basic
    (tungban) account cannot complete a login that asks only for tungban+."""
    from tungban.identity.models import Resident
    from tungban.testing.factories import make_resident

    assert set(meta["acr_values_supported"]) == {
        "urn:tungban:acr:basic",
        "urn:tungban:acr:plus",
        "urn:tungban:acr:mfa",  # issue 16 item 3: two factors (passkey in the app)
        "urn:tungban:acr:plus:mfa",
    }
    make_client("svc-a", RP)
    basic = make_resident(officer)
    Resident.objects.filter(pk=basic.pk).update(tier="basic")
    app = bind_cli(issuer, basic, tmp_path / "basic")

    def attempt(acr_values):
        browser = requests.Session()
        _, challenge = pkce()
        rid = start_authorization(browser, issuer, authorize_params("svc-a", RP, challenge, acr_values=acr_values))
        app.decide(rid, PIN, "approve")
        return complete_authorization(browser, issuer, rid)

    refused = attempt("urn:tungban:acr:plus")
    assert refused.status_code == 200 and "error=access_denied" in refused.text
    assert AuthorizationCode.objects.count() == 0
    accepted = attempt("urn:tungban:acr:plus urn:tungban:acr:basic")
    assert accepted.status_code == 302 and "code=" in accepted.headers["Location"]
    # the essential acr claim (OIDC Core §5.5.1.1) still works as before
    claims = json.dumps({"id_token": {"acr": {"essential": True, "values": ["urn:tungban:acr:plus"]}}})
    browser = requests.Session()
    _, challenge = pkce()
    rid = start_authorization(browser, issuer, authorize_params("svc-a", RP, challenge, claims=claims))
    app.decide(rid, PIN, "approve")
    assert "error=access_denied" in complete_authorization(browser, issuer, rid).text


def test_prompt_values_and_response_modes_work(issuer, meta):
    make_client("svc-a", RP)
    _, challenge = pkce()
    for prompt in meta["prompt_values_supported"]:
        resp = requests.get(
            f"{issuer}/oidc/authorize",
            params=authorize_params("svc-a", RP, challenge, prompt=prompt),
            allow_redirects=False,
        )
        if prompt == "none":  # the app must always be asked: OIDC Core §3.1.2.6 login_required
            assert resp.status_code == 302 and "error=login_required" in resp.headers["Location"]
        else:
            assert resp.status_code == 200, prompt
    assert meta["response_modes_supported"] == ["query"] and meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
