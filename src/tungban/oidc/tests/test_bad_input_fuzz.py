"""Issue 13 item 11 (OpenID Provider part): no 500 on ``/oidc/authorize`` when
``redirect_uri`` or ``response_type`` holds '"', '\\' or non-ASCII, nor on ``/oidc/token``
and ``/oidc/revoke`` with non-UTF-8 (or otherwise malformed) Basic credentials: proper
OAuth errors instead (RFC 6749 §4.1.2.1, §5.2)."""

import base64
import random
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tungban.testing.factories import authorize_params, make_client, pkce
from tungban.wallet.models import ApprovalRequest

pytestmark = pytest.mark.django_db
RP = "https://rp-a.example/cb"
NASTY = ['"', "\\", "é", "中", "\u202e", "\x7f", "\t", '"><script>', "\\u0000", "\U0001f600", "%22", "%ff"]


def _fuzzed(rng: random.Random, base: str, count: int) -> list[str]:
    """``base`` with nasty characters inserted or appended: the listed ones, then random."""
    values = [base + c for c in NASTY] + [c + base for c in NASTY[:4]]
    alphabet = "\"\\ '<>{}|^`" + "éü中文Ωß\u00a0\u2028" + "".join(chr(c) for c in range(0x21, 0x7F))
    for _ in range(count):
        chars = list(base)
        for _ in range(rng.randint(1, 4)):
            chars.insert(rng.randint(0, len(chars)), rng.choice(alphabet))
        values.append("".join(chars))
    return values


@pytest.fixture
def secret(db):
    return make_client("svc-a", RP)[1]


def test_authorize_with_a_nasty_redirect_uri_shows_an_error_page_and_never_redirects(issuer, secret):
    _, challenge = pkce()
    for uri in _fuzzed(random.Random(11), RP, 30):
        if uri == RP:
            continue
        for method in ("get", "post"):
            params = authorize_params("svc-a", uri, challenge)
            resp = (
                requests.get(f"{issuer}/oidc/authorize", params=params, allow_redirects=False)
                if method == "get"
                else requests.post(f"{issuer}/oidc/authorize", data=params, allow_redirects=False)
            )
            assert resp.status_code == 400, (uri, resp.status_code)
            assert "Location" not in resp.headers  # RFC 6749 §4.1.2.1: never to an unregistered URI
    assert ApprovalRequest.objects.count() == 0


def test_authorize_with_a_nasty_response_type_redirects_with_unsupported_response_type(issuer, secret):
    _, challenge = pkce()
    for response_type in _fuzzed(random.Random(12), "code", 30):
        if response_type.strip() == "code":
            continue
        params = authorize_params("svc-a", RP, challenge, response_type=response_type)
        resp = requests.get(f"{issuer}/oidc/authorize", params=params, allow_redirects=False)
        assert resp.status_code == 302, (response_type, resp.status_code)
        location = resp.headers["Location"]
        assert location.startswith(RP + "?")
        query = parse_qs(urlsplit(location).query)
        assert query["error"] in (["unsupported_response_type"], ["unauthorized_client"], ["invalid_request"]), query
        assert query["state"] == [params["state"]]
        assert query.get("error_description", [""])[0].isascii()
    assert ApprovalRequest.objects.count() == 0


def test_authorize_with_both_nasty_never_redirects(issuer, secret):
    _, challenge = pkce()
    params = authorize_params("svc-a", RP + '"\\é', challenge, response_type='co"de\\é')
    resp = requests.get(f"{issuer}/oidc/authorize", params=params, allow_redirects=False)
    assert resp.status_code == 400 and "Location" not in resp.headers


def test_an_overlong_nonce_is_refused_before_the_app_is_asked(issuer, secret):
    _, challenge = pkce()
    ok = requests.get(
        f"{issuer}/oidc/authorize",
        params=authorize_params("svc-a", RP, challenge, nonce="n" * 200),
        allow_redirects=False,
    )
    assert ok.status_code == 200
    params = authorize_params("svc-a", RP, challenge, nonce="é" * 201)
    resp = requests.get(f"{issuer}/oidc/authorize", params=params, allow_redirects=False)
    assert resp.status_code == 302 and resp.headers["Location"].startswith(RP + "?")
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["error"] == ["invalid_request"] and query["state"] == [params["state"]]
    assert ApprovalRequest.objects.count() == 1  # only the first one


def _raw_basic(raw: bytes) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


BAD_BASIC = [
    _raw_basic(b"svc-a:\xff\xfe"),
    _raw_basic(b"svc-\xff:secret"),
    _raw_basic(b"\xc3\x28:\xa0\xa1"),
    _raw_basic(b"svc-a"),  # no colon
    _raw_basic(b"svc-\x00a:secret"),  # NUL: PostgreSQL refuses it in a query's text
    {"Authorization": "Basic !!!not-base64!!!"},
    {"Authorization": "Basic " + base64.b64encode(b"svc-a:x").decode()[:-2]},  # bad padding
    {"Authorization": "Basic w6k6w6k=\u00e9".encode().decode("latin-1")},  # non-ASCII in the header
    {"Authorization": "Basic"},
]


@pytest.mark.parametrize("headers", BAD_BASIC)
@pytest.mark.parametrize("endpoint", ["token", "revoke"])
def test_malformed_basic_credentials_are_invalid_client(issuer, secret, endpoint, headers):
    data = {"grant_type": "client_credentials"} if endpoint == "token" else {"token": "x"}
    resp = requests.post(f"{issuer}/oidc/{endpoint}", data=data, headers=headers)
    assert resp.status_code in (400, 401), resp.status_code
    assert resp.json()["error"] == "invalid_client"
    if resp.status_code == 401:
        assert resp.headers["WWW-Authenticate"].startswith("Basic ")


@pytest.mark.parametrize("endpoint", ["token", "revoke"])
def test_nul_in_a_posted_client_id_is_invalid_client(issuer, secret, endpoint):
    data = {"client_id": "svc-\x00a", "client_secret": "x", "grant_type": "client_credentials", "token": "x"}
    resp = requests.post(f"{issuer}/oidc/{endpoint}", data=data)
    assert resp.status_code in (400, 401) and resp.json()["error"] == "invalid_client"


def test_random_bytes_as_basic_credentials_never_break_the_endpoints(issuer, secret):
    rng = random.Random(13)
    for _ in range(40):
        raw = bytes(rng.randrange(256) for _ in range(rng.randint(0, 24)))
        for endpoint in ("token", "revoke"):
            resp = requests.post(
                f"{issuer}/oidc/{endpoint}",
                data={"grant_type": "client_credentials", "token": "x"},
                headers=_raw_basic(raw),
            )
            assert resp.status_code in (400, 401), (raw, endpoint, resp.status_code)
            assert resp.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer é",
        "Bearer \u00ff\u00fe",
        "Bearer a b",
        'Bearer "',
        "Bearer \\",
        "bearer x",
        "Bearer " + "x" * 5000,
        "Basic \u00e9",
    ],
)
def test_odd_bearer_headers_at_userinfo_are_oauth_errors(issuer, authorization):
    resp = requests.get(
        f"{issuer}/oidc/userinfo", headers={"Authorization": authorization.encode("utf-8").decode("latin-1")}
    )
    assert resp.status_code in (400, 401), resp.status_code
    assert resp.headers["WWW-Authenticate"].startswith("Bearer realm=")
