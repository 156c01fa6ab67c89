"""Test helpers shared by the apps' test suites: residents, clients, a bound CLI app and
an authorization flow driven over HTTP (the browser side) with the CLI app approving."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

from tungban.identity import services as identity
from tungban.oidc import services as oidc
from tungban.wallet import services as wallet
from tungban.wallet.client import WalletClient

PIN = "246810"
DEFAULT_SCOPE = "openid profile hkid address phone email billing_address"


def make_officer():
    from django.contrib.auth import get_user_model

    User = get_user_model()
    return User.objects.create_user(
        username=f"officer{secrets.token_hex(3)}", password="pw-for-tests-only", is_staff=True
    )


def valid_hkid(prefix: str = "A", digits: str | None = None) -> str:
    from tungban.identity.hkid import check_digit

    digits = digits or f"{secrets.randbelow(10**6):06d}"
    return f"{prefix}{digits}{check_digit(prefix, digits)}"


def make_resident(officer=None, **overrides):
    data = dict(
        hkid=valid_hkid(),
        family_name_en="CHAN",
        given_name_en="Tai Man",
        name_zh="陳大文",
        date_of_birth=dt.date(1960, 5, 17),
        gender="male",
        residential_address="Flat 3B, 18 Nathan Road\nTsim Sha Tsui, Kowloon",
        billing_address="Flat 3B, 18 Nathan Road\nTsim Sha Tsui, Kowloon",
        phone="+852 9123 4567",
        email="taiman@example.hk",
    )
    data.update(overrides)
    return identity.register_at_counter(officer or make_officer(), **data)


def make_client(client_id: str = "svc-a", redirect_uri: str = "https://rp-a.example/cb", **kw):
    client, secret = oidc.register_client(
        client_id=client_id,
        name_en=kw.pop("name_en", f"Service {client_id}"),
        name_zh=kw.pop("name_zh", f"服務 {client_id}"),
        redirect_uris=[redirect_uri],
        post_logout_redirect_uris=kw.pop("post_logout_redirect_uris", [redirect_uri.rsplit("/", 1)[0] + "/bye"]),
        **kw,
    )
    return client, secret


def code_on_screen(request: dict) -> str:
    """The number the platform's sign-in page shows for ``request`` (the app's view of it),
    read from the database: a test's stand-in for the resident who looks at the screen
    (issue 13 item 6). Tests of the number itself read it from the page instead."""
    from tungban.wallet.models import ApprovalRequest

    return ApprovalRequest.objects.get(pk=request["id"]).user_code


def bind_cli(base_url: str, resident, home: Path) -> WalletClient:
    """A CLI app bound to ``resident``; asked for a sign-in page's number, it "reads the
    screen" (:func:`code_on_screen`). Set ``app.code_prompt = None`` to type it yourself."""
    code = wallet.issue_activation_code(resident)
    app = WalletClient(home, base_url)
    app.bind(resident.hkid, code, PIN)
    app.code_prompt = code_on_screen
    return app


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(client_id: str, redirect_uri: str, challenge: str, scope: str = DEFAULT_SCOPE, **extra) -> dict:
    params = dict(
        response_type="code",
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=scope,
        state=secrets.token_urlsafe(8),
        nonce=secrets.token_urlsafe(8),
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def start_authorization(browser: requests.Session, base_url: str, params: dict) -> str:
    """GET the authorization page; returns the approval request id shown in its QR code."""
    return start_authorization_with_code(browser, base_url, params)[0]


def start_authorization_with_code(browser: requests.Session, base_url: str, params: dict) -> tuple[str, str]:
    """GET the authorization page; returns the approval request id shown in its QR code and
    the number the page asks the resident to type in the app (``#user-code``)."""
    resp = browser.get(f"{base_url}/oidc/authorize", params=params, allow_redirects=False)
    assert resp.status_code == 200, resp.text[:500]
    rid = re.search(r"/app/approve/([0-9a-f-]{36})", resp.text).group(1)
    code = re.search(r'id="user-code"[^>]*>\s*(\d+)\s*<', resp.text)
    assert code, "the sign-in page shows no number to type in the app"
    return rid, code.group(1)


def complete_authorization(browser: requests.Session, base_url: str, request_id: str) -> requests.Response:
    return browser.get(f"{base_url}/oidc/authorize/{request_id}/complete", allow_redirects=False)


def code_from(response: requests.Response) -> dict:
    assert response.status_code == 302, response.text[:500]
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def login(
    base_url: str,
    app: WalletClient,
    client_id: str,
    secret: str,
    redirect_uri: str,
    only=None,
    scope=DEFAULT_SCOPE,
    **extra,
) -> dict:
    """A whole login: authorization page → app approval → code → tokens. Returns the token response."""
    browser = requests.Session()
    verifier, challenge = pkce()
    params = authorize_params(client_id, redirect_uri, challenge, scope=scope, **extra)
    rid, code = start_authorization_with_code(browser, base_url, params)
    app.decide(rid, PIN, "approve", only, code=code)
    query = code_from(complete_authorization(browser, base_url, rid))
    assert query["state"] == params["state"]
    token = requests.post(
        f"{base_url}/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        auth=(client_id, secret),
    )
    assert token.status_code == 200, token.text
    return {**token.json(), "nonce": params["nonce"], "code": query["code"], "verifier": verifier}


def userinfo(base_url: str, access_token: str) -> requests.Response:
    return requests.get(f"{base_url}/oidc/userinfo", headers={"Authorization": f"Bearer {access_token}"})


def jwt_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
