"""The web app (``/app/``) end to end in headless Chromium: binding with a passkey through
the UI, approving and declining an OpenID Connect login from a second tab ("the phone"),
the release history, self-registration, the e-ME profile and unbinding.

Chromium gets a CDP virtual authenticator (a platform authenticator with user
verification), so the real WebAuthn ceremonies run and are verified by the platform.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from playwright.sync_api import expect

from tungban.identity.models import PopulationRecord
from tungban.oidc import services as oidc
from tungban.testing.browser import (
    TIMEOUT,
    add_virtual_authenticator,
    approval_url,
    bind_web_app,
    code_shown,
    decide_in_app,
)
from tungban.testing.factories import jwt_claims, pkce, valid_hkid
from tungban.wallet import services as wallet
from tungban.wallet.models import ApprovalRequest, Device, DeviceStatus, RequestStatus

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCOPE = "openid profile hkid address phone email"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def browser(e2e_browser):
    return e2e_browser


@pytest.fixture
def context(browser):
    context = browser.new_context(locale="en-GB", viewport=PHONE)
    context.set_default_timeout(TIMEOUT)
    yield context
    context.close()


@pytest.fixture
def phone(context):
    """The resident's phone: a tab with a platform authenticator. Fails the test on any
    uncaught script error in the app."""
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(context, page)
    yield page
    assert not errors, errors


@pytest.fixture
def service(issuer):
    """An online service whose redirect URI is on the live server (it answers 404: the test
    only needs the URL with the code)."""
    redirect_uri = f"{issuer}/callback"
    client, secret = oidc.register_client(
        client_id="e2e-service",
        name_en="Harbour Library",
        name_zh="海港圖書館",
        redirect_uris=[redirect_uri],
    )
    return {"client_id": client.client_id, "secret": secret, "redirect_uri": redirect_uri}


@pytest.fixture
def bound_phone(issuer, resident, officer, phone):
    code = wallet.issue_activation_code(resident, officer)
    bind_web_app(phone, issuer, resident.hkid, code)
    return phone


def _authorize(context, issuer, service, essential=("hkid",)):
    """Open the service's login in a desktop tab; returns (page, params, verifier)."""
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": service["client_id"],
        "redirect_uri": service["redirect_uri"],
        "scope": SCOPE,
        "state": "st-" + os.urandom(6).hex(),
        "nonce": "n-" + os.urandom(6).hex(),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "claims": json.dumps({"userinfo": {name: {"essential": True} for name in essential}}),
    }
    desktop = context.new_page()
    desktop.set_viewport_size({"width": 1280, "height": 900})
    desktop.goto(f"{issuer}/oidc/authorize?{urlencode(params)}")
    desktop.wait_for_selector("#open-app")
    return desktop, params, verifier


def test_bind_approve_release_and_history(issuer, resident, phone, context, service, officer, tmp_path):
    code = wallet.issue_activation_code(resident, officer)
    # The officer's QR code opens the app with the HKID and the code filled in.
    phone.goto(f"{issuer}/app/#{urlencode({'hkid': resident.hkid_display, 'code': code})}")
    # The app's script fills the form from the fragment once it has loaded: wait for it.
    # (A locator assertion, not wait_for_function: a string predicate is evaluated in the page,
    # which the app's CSP, script-src 'self' without 'unsafe-eval', refuses.)
    expect(phone.locator("#bind-code")).not_to_have_value("", timeout=30_000)
    assert phone.input_value("#bind-hkid") == resident.hkid_display
    assert phone.input_value("#bind-code") == code
    phone.click("#bind-submit")
    phone.wait_for_selector("#screen-home:not([hidden])")
    phone.wait_for_selector("#profile dd[data-field=hkid]:not(:empty)")
    assert "bound to your account" in phone.text_content("#notice")

    device = Device.objects.get(resident=resident, status=DeviceStatus.ACTIVE)
    assert device.platform == "web" and device.has_passkey and device.verifies_user
    assert "d" not in device.public_jwk
    assert phone.url == f"{issuer}/app/"  # the activation code left the address bar
    # Installable: manifest linked, service worker controlling /app/.
    assert phone.get_attribute("link[rel=manifest]", "href") == "/app/manifest.webmanifest"
    assert phone.evaluate("navigator.serviceWorker.ready.then(r => r.scope)") == f"{issuer}/app/"
    assert phone.text_content("#account-tier").strip() == "tungban+"
    assert phone.text_content("#account-hkid").strip() == resident.hkid_masked
    assert "Tai Man" in phone.text_content("#account")
    # The key pair in IndexedDB is not extractable.
    assert phone.evaluate(
        """() => new Promise((ok, ko) => { const r = indexedDB.open('tungban-app');
             r.onsuccess = () => { const g = r.result.transaction('device').objectStore('device').get('current');
               g.onsuccess = () => ok(g.result.keyPair.privateKey.extractable === false && g.result.deviceId); }; r.onerror = ko; })"""
    ) == str(device.id)

    desktop, params, verifier = _authorize(context, issuer, service)
    link = approval_url(desktop)

    phone.bring_to_front()  # background tabs get throttled animation frames: slow clicks
    phone.goto(link)
    phone.wait_for_selector("#screen-approve:not([hidden])")
    assert phone.text_content("#request-service").strip() == "Harbour Library"
    assert "海港圖書館" in phone.text_content("#request-service-other")
    assert re.search(r"\d:\d\d", phone.text_content("#countdown"))
    hkid_box = phone.locator('input[name=claim][value="hkid"]')
    assert hkid_box.is_checked() and hkid_box.is_disabled()
    assert resident.hkid_display in phone.text_content("#claims")
    for name in ("name", "address", "email", "phone_number"):
        box = phone.locator(f'input[name=claim][value="{name}"]')
        assert box.is_checked() and box.is_enabled()
    for name in ("name#zh-Hant", "gender", "birthdate", "address", "phone_number", "email"):
        phone.uncheck(f'input[name=claim][value="{name}"]')
    shots = Path(os.environ.get("TUNGBAN_E2E_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    phone.evaluate("window.scrollTo(0, 0)")
    phone.screenshot(path=str(shots / "approval-390x844.png"))
    phone.screenshot(path=str(shots / "approval-full.png"), full_page=True)
    desktop.screenshot(path=str(shots / "authorize-1280.png"), full_page=True)

    # Cross-device phishing (issue 13 item 6): the app says where the request came from and
    # asks for the number on the sign-in page; without it, or with another, nothing is approved.
    shown = code_shown(desktop)
    assert phone.text_content("#origin-service").strip() == "Harbour Library"
    assert "Linux" in phone.text_content("#origin-browser") and "Chrome" in phone.text_content("#origin-browser")
    assert phone.text_content("#origin-ip").strip() == "127.0.0.1"
    expect(phone.locator("#approve-code")).to_be_visible(timeout=TIMEOUT)
    phone.click("#approve-button")
    phone.wait_for_selector("#alert:has-text('2-digit number')")
    assert phone.evaluate("document.activeElement.id") == "approve-code"
    phone.fill("#approve-code", f"{(int(shown) + 1) % 100:02d}")
    phone.click("#approve-button")
    phone.wait_for_selector("#alert:has-text('not the number shown')")
    assert phone.get_attribute("#approve-code", "aria-invalid") == "true"
    # Issue 16 (polish item 1): the message is also next to the field, tied to it and on screen.
    described = phone.get_attribute("#approve-code", "aria-describedby").split()
    assert "approve-code-error" in described
    assert "not the number shown" in phone.text_content("#approve-code-error")
    expect(phone.locator("#approve-code-error")).to_be_visible(timeout=TIMEOUT)
    assert phone.evaluate(
        "(() => { const r = document.getElementById('approve-code-error').getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight; })()"
    )
    assert ApprovalRequest.objects.get(pk=link.rsplit("/", 1)[1]).status == RequestStatus.PENDING
    assert "/oidc/authorize" in desktop.url  # the attacker's browser (here: the desktop) waits
    phone.fill("#approve-code", shown)
    phone.click("#approve-button")
    phone.wait_for_selector("#result:not([hidden])")
    assert "Approved" in phone.text_content("#result-heading")

    # The desktop page notices the approval by itself and goes back to the service.
    desktop.wait_for_url(re.compile(r"/callback\?.*code="), timeout=TIMEOUT)
    query = {k: v[0] for k, v in parse_qs(urlsplit(desktop.url).query).items()}
    assert query["state"] == params["state"]
    approval = ApprovalRequest.objects.get(pk=link.rsplit("/", 1)[1])
    assert approval.user_verification == "passkey"
    assert sorted(approval.approved_claims) == ["hkid", "name"]

    token = requests.post(
        f"{issuer}/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": service["redirect_uri"],
            "code_verifier": verifier,
        },
        auth=(service["client_id"], service["secret"]),
        timeout=30,
    )
    assert token.status_code == 200, token.text
    # The passkey verified the user (UV) on top of the device key: amr says so (RFC 8176).
    assert jwt_claims(token.json()["id_token"])["amr"] == ["swk", "user", "mfa"]
    info = requests.get(
        f"{issuer}/oidc/userinfo", headers={"Authorization": f"Bearer {token.json()['access_token']}"}, timeout=30
    )
    assert info.status_code == 200, info.text
    data = info.json()
    assert set(data) == {"sub", "hkid", "name", "family_name", "given_name"}
    assert data["hkid"] == resident.hkid_display

    # The history screen lists the service and the released fields.
    phone.goto(f"{issuer}/app/")
    phone.wait_for_selector("#history li.item")
    entry = phone.locator("#history li.item").first
    text = entry.text_content()
    assert "Harbour Library" in text and "HKID number" in text and "Name in English" in text
    assert "Residential address" not in text and "Email address" not in text
    assert phone.locator("#history li.item [data-claim]").count() == 2


def test_decline_shows_declined_page(issuer, bound_phone, context, service):
    desktop, params, _ = _authorize(context, issuer, service)
    phone = bound_phone
    phone.bring_to_front()
    phone.goto(approval_url(desktop))
    phone.wait_for_selector("#screen-approve:not([hidden])")
    # Keyboard only: Space toggles an optional field, Enter on Decline answers.
    phone.focus('input[name=claim][value="email"]')
    phone.keyboard.press("Space")
    assert not phone.is_checked('input[name=claim][value="email"]')
    phone.focus("#decline-button")
    phone.keyboard.press("Enter")
    phone.wait_for_selector("#result:not([hidden])")
    assert phone.text_content("#result-heading").strip() == "Declined"
    assert phone.evaluate("document.activeElement.id") == "result-heading"
    assert "Harbour Library" in bound_phone.text_content("#result-message")

    desktop.wait_for_selector("#result-title", timeout=TIMEOUT)
    assert "declined" in desktop.text_content("#result-title").lower()
    back = desktop.get_attribute("#return-link", "href")
    assert back.startswith(service["redirect_uri"]) and "error=access_denied" in back
    assert ApprovalRequest.objects.get(status=RequestStatus.DECLINED).approved_claims == []


def test_answered_request_and_api_errors_are_shown(issuer, bound_phone, context, service):
    desktop, _, _ = _authorize(context, issuer, service)
    link = approval_url(desktop)
    assert decide_in_app(bound_phone, link).startswith("Approved")
    desktop.wait_for_url(re.compile(r"/callback\?.*code="), timeout=TIMEOUT)
    # Opening the same (now used) request again: already answered, no buttons.
    bound_phone.goto(link)
    bound_phone.wait_for_selector("#result:not([hidden])")
    assert bound_phone.text_content("#result-heading").strip() == "Already answered"
    expect(bound_phone.locator("#approve-button")).to_be_hidden(timeout=TIMEOUT)
    # A link to a request that does not exist: the server's message in the alert region.
    bound_phone.goto(f"{issuer}/app/approve/00000000-0000-4000-8000-000000000000")
    bound_phone.wait_for_selector("#alert:not(:empty)")
    assert bound_phone.get_attribute("#alert", "role") == "alert"
    assert "does not exist" in bound_phone.text_content("#alert")


def test_one_phone_one_account(issuer, bound_phone, officer):
    """An officer's binding QR code opened on an already bound phone shows the account."""
    from tungban.testing.factories import make_resident

    other = make_resident(officer, given_name_en="Mei Ling")
    code = wallet.issue_activation_code(other, officer)
    bound_phone.goto(f"{issuer}/app/#{urlencode({'hkid': other.hkid_display, 'code': code})}")
    bound_phone.wait_for_selector("#notice:not(:empty)")
    assert "already bound" in bound_phone.text_content("#notice")
    assert bound_phone.url == f"{issuer}/app/"
    assert "Mei Ling" not in bound_phone.text_content("#account")
    assert not Device.objects.filter(resident=other).exists()


def test_wrong_activation_code_is_explained(issuer, resident, officer, phone):
    wallet.issue_activation_code(resident, officer)
    phone.goto(f"{issuer}/app/")
    phone.fill("#bind-hkid", resident.hkid_display)
    phone.fill("#bind-code", "WRONG234")
    phone.click("#bind-submit")
    phone.wait_for_selector("#alert:not(:empty)")
    assert "activation code is not valid" in phone.text_content("#alert")
    expect(phone.locator("#screen-bind")).to_be_visible(timeout=TIMEOUT)
    assert not Device.objects.filter(resident=resident).exists()


def test_self_registration_profile_edit_and_unbind(issuer, phone):
    hkid = valid_hkid("K")
    PopulationRecord.objects.create(
        hkid=hkid,
        family_name_en="LEE",
        given_name_en="Siu Ming",
        name_zh="李小明",
        date_of_birth=dt.date(1990, 2, 3),
        gender="female",
    )
    phone.goto(f"{issuer}/app/")
    phone.click("#register summary")
    phone.fill("#register-hkid", hkid)
    phone.fill("#register-family-name-en", "Lee")
    phone.fill("#register-given-name-en", "Siu Ming")
    phone.fill("#register-name-zh", "李小明")
    phone.fill("#register-date-of-birth", "1990-02-03")
    phone.check("#register-gender-female")
    phone.fill("#register-email", "siuming@example.hk")
    phone.click("#register-submit")
    phone.wait_for_selector("#screen-home:not([hidden])")
    phone.wait_for_selector("#profile dd[data-field=email]:has-text('siuming@example.hk')")
    assert phone.text_content("#account-tier").strip() == "tungban"
    assert "李小明" in phone.text_content("#account-name-zh")

    phone.click("#profile-edit summary")
    phone.fill("#profile-phone", "+852 6000 1234")
    phone.fill("#profile-residential-address", "Room 1, 2 Queen's Road\nCentral")
    phone.click("#profile-save")
    phone.wait_for_selector("#notice:has-text('saved')")
    device = Device.objects.get(status=DeviceStatus.ACTIVE)
    device.resident.refresh_from_db()
    assert device.resident.phone == "+852 6000 1234"
    assert device.resident.residential_address == "Room 1, 2 Queen's Road\nCentral"
    assert "+852 6000 1234" in phone.text_content("#profile")

    # Invalid input: the server's message, the field marked.
    phone.click("#profile-edit summary")
    phone.fill("#profile-phone", "call me maybe")
    phone.click("#profile-save")
    phone.wait_for_selector("#alert:not(:empty)")
    assert "valid phone number" in phone.text_content("#alert")
    assert phone.get_attribute("#profile-phone", "aria-invalid") == "true"
    assert phone.evaluate("document.activeElement.id") == "profile-phone"

    phone.once("dialog", lambda dialog: dialog.accept())
    phone.click("#unbind-button")
    phone.wait_for_selector("#screen-bind:not([hidden])")
    device.refresh_from_db()
    assert device.status == DeviceStatus.UNBOUND
    assert phone.evaluate(
        """() => new Promise((ok) => { const r = indexedDB.open('tungban-app');
             r.onsuccess = () => { const g = r.result.transaction('device').objectStore('device').get('current');
               g.onsuccess = () => ok(g.result === undefined); }; })"""
    )
