"""Acceptance of e-Licences (電子證照, issue #5), end to end in headless Chromium: an officer
of the Social Welfare Department logs in and issues an electronic Senior Citizen Card to a
resident aged 65 or over; the card appears in the resident's web app (bound with a passkey);
the resident shows it with only "Aged 65 or over" ticked, and 認證易 — opened from the app's
link — says it is valid without learning the date of birth. The resident downloads the PDF.
The officer then revokes the card, and 認證易 says so for the same presentation; the app
shows the card as revoked and no longer offers to show it.

Real browser, real WebCrypto device key and key-binding JWT, real live server.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tungban.credentials.models import Credential, Issuer
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, bind_web_app
from tungban.testing.factories import make_resident, staff_login_page
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
NAME_CLAIMS = ("family_name", "given_name", "name_zh")


@pytest.fixture
def shots(tmp_path) -> Path:
    path = Path(os.environ.get("TUNGBAN_E2E_SCREENSHOTS", tmp_path))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def swd_officer(officer, bundled):
    Issuer.objects.get(id="swd").officers.add(officer)
    return officer


def _context(browser, **kw):
    ctx = browser.new_context(locale="en-GB", **kw)
    ctx.set_default_timeout(TIMEOUT)
    return ctx


def _disclosed_names(presentation: str) -> list[str]:
    names = []
    for part in presentation.split("~")[1:-1]:
        names.append(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))[1])
    return names


def _officer_login(page, issuer: str, officer, next_path: str) -> None:
    staff_login_page(page, issuer, officer, next_path)


def test_issue_present_verify_revoke(issuer, swd_officer, e2e_browser, shots):
    resident = make_resident(swd_officer, date_of_birth=dt.date(1950, 3, 2), name_zh="陳大文")

    # 1. The resident binds the web app on the phone (device key + passkey).
    phone_ctx = _context(e2e_browser, viewport=PHONE, accept_downloads=True)
    phone = phone_ctx.new_page()
    phone_errors: list[str] = []
    phone.on("pageerror", lambda exc: phone_errors.append(str(exc)))
    add_virtual_authenticator(phone_ctx, phone)
    bind_web_app(phone, issuer, resident.hkid, wallet.issue_activation_code(resident, swd_officer))

    # 2. The officer logs in and issues a Senior Citizen Card on the officers' page.
    office = _context(e2e_browser, viewport=DESKTOP).new_page()
    office.on("dialog", lambda dialog: dialog.accept())
    _officer_login(office, issuer, swd_officer, "/staff/credentials/issue/senior-citizen-card")
    office.fill("#id_hkid", resident.hkid_display)
    office.fill("#id_claim_card_number", "SC12345678")
    office.click("#issue-submit")
    office.wait_for_url(re.compile(re.escape(issuer) + r"/staff/credentials/" + UUID + "$"))
    credential_id = re.search(UUID, office.url).group(0)
    office.wait_for_selector("#credential-status[data-status=valid]")
    card = Credential.objects.get(id=credential_id)
    assert card.holder_id == resident.pk and card.holder_device_id is not None  # bound to the phone's key

    # 3. The card appears in the resident's app, in its colours, with every detail.
    phone.bring_to_front()
    phone.screenshot(path=str(shots / "credentials-0-home.png"))
    phone.click("#credentials-link")
    phone.wait_for_selector("#screen-credentials:not([hidden])")
    item = f'#credentials li[data-credential-id="{credential_id}"]'
    phone.wait_for_selector(item)
    assert phone.get_attribute(item, "data-status") == "valid"
    text = phone.text_content(item)
    assert "Senior Citizen Card" in text and "Social Welfare Department" in text and "Valid" in text
    assert "rgb(122, 31, 31)" in phone.eval_on_selector(
        f"{item} .credential-card", "a => getComputedStyle(a).backgroundColor"
    )
    phone.screenshot(path=str(shots / "credentials-1-list.png"), full_page=True)

    phone.click(f"{item} a")
    phone.wait_for_selector("#screen-credential:not([hidden])")
    assert phone.text_content("#credential-title") == "Senior Citizen Card"
    assert phone.get_attribute("#credential-status", "data-status") == "valid"
    claims = {
        n: phone.text_content(f'#credential-claims [data-claim="{n}"] dd')
        for n in ("family_name", "birthdate", "age_over_65", "card_number")
    }
    assert claims == {
        "family_name": "CHAN",
        "birthdate": "2 March 1950",
        "age_over_65": "Yes",
        "card_number": "SC12345678",
    }
    expect(phone.locator("#present-button")).to_be_enabled(timeout=TIMEOUT)
    phone.screenshot(path=str(shots / "credentials-2-details.png"), full_page=True)

    # 4. The PDF downloads from the app.
    with phone.expect_download() as download:
        phone.click("#download-pdf")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    assert download.value.suggested_filename.endswith(".pdf")

    # 5. "Show to verify": nothing is ticked (issue 16: the name was, so showing only "Aged 65
    # or over" took four taps); one tap on the preset shows only "Aged 65 or over".
    phone.click("#present-button")
    phone.wait_for_selector("#screen-present:not([hidden])")
    for name in (*NAME_CLAIMS, "birthdate", "age_over_65", "card_number"):
        assert not phone.is_checked(f'input[name=disclose][value="{name}"]')
    assert phone.text_content('#present-presets [data-preset="age_over_65"]').strip() == "Show only “Aged 65 or over”"
    phone.screenshot(path=str(shots / "credentials-3a-choose.png"), full_page=True)
    # The QR code is drawn on the phone: the platform never sees what is shown, nor when.
    sent: list[tuple[str, str]] = []

    def on_request(request) -> None:
        body = request.post_data_buffer
        sent.append((request.url, body.decode("utf-8", "replace") if body else ""))

    phone.on("request", on_request)
    phone.click('#present-presets [data-preset="age_over_65"]')  # the one tap
    phone.wait_for_selector("#presentation:not([hidden]) #presentation-qr:not([hidden])")
    phone.wait_for_function("() => document.getElementById('presentation-qr').naturalWidth > 0")
    phone.remove_listener("request", on_request)
    presentation = phone.input_value("#presentation-text")
    holder_proof = presentation.rsplit("~", 1)[1]
    for url, body in sent:
        assert "/api/v1/credentials/app/qr" not in url, url
        assert presentation not in body and holder_proof not in body, url
        assert holder_proof not in url, url
    assert phone.get_attribute("#presentation-qr", "src").startswith("data:image/svg+xml")
    assert _disclosed_names(presentation) == ["age_over_65"]
    assert phone.is_checked('input[name=disclose][value="age_over_65"]')
    assert not presentation.endswith("~")  # a key-binding JWT by the phone's key
    link = phone.get_attribute("#presentation-link", "href")
    assert link == f"{issuer}/verify/#vc={presentation}"
    assert re.fullmatch(r"Valid for [45]:\d\d more", phone.text_content("#presentation-countdown").strip())
    assert "Aged 65 or over" in phone.text_content("#presentation-shows")
    assert "Senior Citizen Card" in phone.get_attribute("#presentation-qr", "alt")
    phone.screenshot(path=str(shots / "credentials-3-present.png"), full_page=True)

    # 6. 認證易, opened from the app's link: valid, presented from the app, no date of birth.
    with phone_ctx.expect_page() as opened:
        phone.click("#presentation-link")
    checker = opened.value
    checker.wait_for_selector("#verification")
    assert checker.get_attribute("#verification", "data-valid") == "true", checker.text_content("#verification")
    assert checker.get_attribute("#verification", "data-status") == "valid"
    assert checker.get_attribute("#holder-binding", "data-binding") == "verified"
    assert checker.text_content('#disclosed-claims dd[data-claim="age_over_65"]').strip() == "Yes"
    page_text = checker.text_content("body")
    assert "1950" not in page_text and "Date of birth" not in page_text and "SC12345678" not in page_text
    assert checker.query_selector('[data-claim="birthdate"]') is None
    checker.screenshot(path=str(shots / "credentials-4-verified.png"), full_page=True)

    # 7. The officer revokes the card on its page.
    office.bring_to_front()
    office.reload()
    office.click("#revoke")  # a confirmation step: the reason and a tick (issue 16, staff16 item 2)
    office.fill("#id_reason", "Issued in error")
    office.check("#id_confirm")
    office.click("#confirm-revoke")
    office.wait_for_selector("#credential-status[data-status=revoked]")

    # 8. 認證易 now says revoked for the same presentation.
    checker.bring_to_front()
    checker.goto(f"{issuer}/verify/")
    checker.fill("#credential", presentation)
    checker.click("#verify-submit")
    checker.wait_for_selector("#verification[data-status=revoked]")
    assert checker.get_attribute("#verification", "data-valid") == "false"
    checker.screenshot(path=str(shots / "credentials-5-revoked.png"), full_page=True)

    # 9. The app shows the card as revoked and no longer offers to show it.
    phone.bring_to_front()
    phone.goto(f"{issuer}/app/#credentials")
    phone.wait_for_selector(f'{item}[data-status="revoked"]')
    phone.click(f"{item} a")
    phone.wait_for_selector("#screen-credential:not([hidden])")
    assert phone.get_attribute("#credential-status", "data-status") == "revoked"
    expect(phone.locator("#present-button")).to_be_disabled(timeout=TIMEOUT)
    assert "revoked" in phone.text_content("#credential-warning")

    # 10. Offline (issue 16: the cards disappeared): the list kept on the phone, with a note
    # of what works offline; the PDF, which needs the platform, is not offered.
    phone_ctx.set_offline(True)
    phone.evaluate("() => { location.hash = '#credentials'; }")
    phone.wait_for_selector("#screen-credentials:not([hidden])")
    phone.wait_for_selector(f'{item}[data-status="revoked"]')
    phone.wait_for_selector("#credentials-offline:not([hidden])")
    assert "offline" in phone.text_content("#credentials-offline")
    phone.screenshot(path=str(shots / "credentials-6-offline.png"), full_page=True)
    phone.click(f"{item} a")
    phone.wait_for_selector("#screen-credential:not([hidden])")
    expect(phone.locator("#credential-offline")).to_be_visible(timeout=TIMEOUT)
    expect(phone.locator("#download-pdf")).to_be_disabled(timeout=TIMEOUT)
    phone_ctx.set_offline(False)
    assert not phone_errors, phone_errors


def test_presentation_countdown_and_show_again(issuer, swd_officer, e2e_browser, settings):
    """An expired QR code is greyed out; "Show again" makes a fresh one, in Chinese too."""
    from tungban.credentials import services

    settings.TUNGBAN_PRESENTATION_MAX_AGE = 3
    resident = make_resident(swd_officer, date_of_birth=dt.date(1949, 7, 1))
    ctx = _context(e2e_browser, viewport=PHONE)
    ctx.add_cookies([{"name": "tungban_language", "value": "zh-hant", "url": issuer}])
    phone = ctx.new_page()
    errors: list[str] = []
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(ctx, phone)
    bind_web_app(phone, issuer, resident.hkid, wallet.issue_activation_code(resident, swd_officer))
    card = services.issue(
        services.get_type("senior-citizen-card"), resident, {"card_number": "SC22223333"}, issued_by="officer:test"
    )

    phone.goto(f"{issuer}/app/#credentials/{card.id}/present")
    phone.wait_for_selector("#screen-present:not([hidden])")
    assert "長者咭" in phone.text_content("#present-type")
    phone.check('input[name=disclose][value="name_zh"]')
    phone.click("#present-submit")
    phone.wait_for_selector("#presentation:not([hidden])")
    first = phone.input_value("#presentation-text")
    assert _disclosed_names(first) == ["name_zh"]
    phone.wait_for_selector("#presentation[data-expired]", timeout=10_000)
    expect(phone.locator("#presentation-link")).to_be_hidden(timeout=TIMEOUT)

    # A changed choice hides the old code; "Show again" makes a new one.
    phone.check('input[name=disclose][value="age_over_65"]')
    expect(phone.locator("#presentation")).to_be_hidden(timeout=TIMEOUT)
    phone.click("#present-submit")
    phone.wait_for_selector("#presentation:not([hidden]):not([data-expired])")
    phone.click("#present-again")
    phone.wait_for_function(
        f"() => document.getElementById('presentation-text').value && document.getElementById('presentation-text').value !== {json.dumps(first)}"
    )
    second = phone.input_value("#presentation-text")
    assert sorted(_disclosed_names(second)) == ["age_over_65", "name_zh"]
    assert second.split("~")[-1] != first.split("~")[-1]
    assert not errors, errors
