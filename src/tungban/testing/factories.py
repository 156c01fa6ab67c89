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


STAFF_PASSWORD = "pw-for-tests-only"
#: The staff roles (issue 13 item 1 and acceptance 4): ``none`` is staff with no role at all.
STAFF_ROLES = ("none", "counter_officer", "counter_supervisor", "credential_officer", "admin")


def staff_user(role: str = "counter_officer", *, username: str | None = None, issuers=(), password=STAFF_PASSWORD):
    """A staff user with a confirmed TOTP device (second factor, issue 13 item 3) in ``role``
    (one of :data:`STAFF_ROLES`): the counter's groups, officer of the credential ``issuers``
    (ids; every bundled issuer when none are given), or a superuser (``admin``)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tungban.counter import roles

    if role not in STAFF_ROLES:
        raise ValueError(f"unknown staff role {role!r}")
    User = get_user_model()
    user = User.objects.create_user(
        username=username or f"{role.replace('_', '')}{secrets.token_hex(3)}",
        password=password,
        is_staff=True,
        is_superuser=role == "admin",
    )
    group = {"counter_officer": roles.COUNTER_OFFICERS, "counter_supervisor": roles.COUNTER_SUPERVISORS}.get(role)
    if group:
        user.groups.add(Group.objects.get(name=group))
    if role == "credential_officer":
        from tungban.credentials import catalogue
        from tungban.credentials.models import Issuer

        catalogue.register_bundled()
        for issuer in Issuer.objects.filter(id__in=issuers) if issuers else Issuer.objects.all():
            issuer.officers.add(user)
    TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    return user


def make_officer():
    """A counter officer (the counter's role, with a TOTP device)."""
    return staff_user("counter_officer", username=f"officer{secrets.token_hex(3)}")


def totp_token(user) -> str:
    """The current TOTP code of ``user``'s device, as an authenticator app shows it. The device
    is made to accept the current time step again (tests log the same user in more than once
    within 30 s; django-otp refuses a code whose step was already used)."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=user)
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1, throttling_failure_count=0)
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def login_staff(client, user):
    """Log ``user`` in on a Django test ``client`` with a verified second factor, as the
    login page does after password and TOTP code (django-otp's session key). Returns ``client``."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user).persistent_id
    session.save()
    return client


def staff_login_page(page, base_url: str, user, next_path: str, password: str = STAFF_PASSWORD) -> None:
    """Log ``user`` in through the staff login page in a Playwright ``page`` (password and
    TOTP code) and wait until ``next_path`` has loaded."""
    page.goto(f"{base_url}/admin/login/?next={next_path}")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", password)
    page.fill("#id_otp_token", totp_token(user))
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}{next_path}")


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
