"""Acceptance 1 of issue 17, end to end in headless Chromium at phone width: a resident logs
in to the e-services portal with the app (the platform's authorization page, approved in the
web app with a passkey), starts the Senior Citizen Card application, sees the form
pre-filled from the e-ME fields they approved (marked with their source), uploads a photo,
checks and submits; an SWD officer logs in to the workbench (password and TOTP), finds the
case in the queue and asks for more information on the case page, the message reaches the
app's inbox, the resident answers on the status page; the officer finds the answer in the
queue "in review" and approves on the case page; the e-licence appears in the resident's app
and 認證易 (/verify) says it is valid. axe-core finds nothing on the portal's
pages, in English and in Chinese (second test), at phone width.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tungban.credentials import catalogue as credential_catalogue
from tungban.credentials.models import Credential
from tungban.eservices import login, portal, services
from tungban.eservices.models import Application, Service, State
from tungban.eservices.tests.helpers import PNG, department_user, jpeg_bytes
from tungban.eservices.tests.staffing import approve_on_page, open_case_from_queue, request_information_on_page
from tungban.payments.services import load_fees
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import (
    TIMEOUT,
    add_virtual_authenticator,
    approval_url,
    bind_web_app,
    code_shown,
    decide_in_app,
)
from tungban.testing.factories import make_resident, staff_login_page
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def portal_ready(issuer, settings, tmp_path):
    """Credential types, the catalogue and the portal's client at the live server's URL."""
    settings.TUNGBAN_ESERVICES_FILES = tmp_path / "files"
    credential_catalogue.register_bundled()
    load_fees()  # the fee schedule (issue 18), as `tungban setup` loads it
    services.load_catalogue()
    portal.ensure_portal()
    return issuer


def _context(browser, lang="en", **kw):
    ctx = browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=PHONE, **kw)
    ctx.set_default_timeout(TIMEOUT)
    return ctx


def test_senior_citizen_card_from_login_to_verified_licence(portal_ready, officer, e2e_browser, tmp_path):
    issuer = portal_ready
    resident = make_resident(officer)  # born 1960: 65 or over
    officer_swd = department_user("swd-approver-e2e", "SWD", "approver")  # may decide as well as ask

    # 1. The resident's phone: the web app, bound with a passkey.
    phone_ctx = _context(e2e_browser)
    phone = phone_ctx.new_page()
    errors: list[str] = []
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(phone_ctx, phone)
    bind_web_app(phone, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))

    # 2. The portal's page for the service, then "Start with the tungban app".
    web_ctx = _context(e2e_browser, accept_downloads=True)
    web = web_ctx.new_page()
    web.on("pageerror", lambda exc: errors.append(str(exc)))
    web.goto(f"{issuer}/services/senior-citizen-card/apply")
    assert web.text_content("#service-name").strip() == "Senior Citizen Card application"
    assert "Date of birth" in web.text_content("#prefill-claims")
    assert_no_violations(web, "e-services: apply (en)")
    web.click("#start")

    # 3. The platform's authorization page (QR code / "Open the app"); the resident approves.
    web.wait_for_selector("#open-app")
    decide_in_app(phone, approval_url(web), "approve", code=code_shown(web))

    # 4. Back on the portal, on the first page, pre-filled from the approved e-ME fields.
    web.bring_to_front()
    web.wait_for_url(re.compile(r".*/services/my/SWD-[0-9A-Z]{4}-[0-9A-Z]{5}/page/applicant$"))
    app = Application.objects.get(resident=resident)
    assert app.portal_sub and app.prefill["birthdate"]["source"] == "claim"
    assert web.input_value("#f-family_name") == "CHAN"
    assert web.input_value("#f-given_name") == "Tai Man"
    assert web.input_value("#f-hkid") == resident.hkid_display
    assert web.input_value("#f-birthdate") == "1960-05-17"
    assert web.input_value("#f-phone") == "91234567"
    assert "From your e-ME profile" in web.text_content("#f-birthdate-source")
    assert_no_violations(web, "e-services: form page (en)")
    web.click("#continue")

    # 5. The address (from the e-ME profile; the resident picks the region), the card, the photo.
    web.wait_for_url(re.compile(r".*/page/address$"))
    assert web.input_value("#f-address-line1") == "Flat 3B, 18 Nathan Road"
    web.select_option("#f-address-region", "KLN")
    web.click("#continue")
    web.wait_for_url(re.compile(r".*/page/card$"))
    web.check("input[name=collection][value=app]")
    web.click("#continue")
    web.wait_for_url(re.compile(r".*/page/documents$"))
    web.set_input_files("#f-photo", files=[{"name": "photo.pdf", "mimeType": "image/png", "buffer": b"%PDF-1.4 x"}])
    web.click("#continue")  # a PDF named as a photo: refused from its bytes, said beside the field
    web.wait_for_selector("#error-summary")
    assert "accepted types" in web.text_content("#f-photo-error")
    assert_no_violations(web, "e-services: upload refused (en)")
    web.set_input_files("#f-photo", files=[{"name": "photo.png", "mimeType": "image/png", "buffer": PNG}])
    web.click("#continue")
    web.wait_for_url(re.compile(r".*/page/declaration$"))
    web.check("#f-declaration")
    web.click("#continue")

    # 6. Check the answers and submit.
    web.wait_for_url(re.compile(r".*/check$"))
    assert "photo.png" in web.text_content("main")
    assert_no_violations(web, "e-services: check answers (en)")
    web.click("#submit")
    web.wait_for_selector("#state[data-state=submitted]")
    assert_no_violations(web, "e-services: status (en)")

    # 7. An SWD officer logs in to the workbench, finds the case in the queue of new
    #    applications and asks for more information; it reaches the app's inbox.
    app.refresh_from_db()
    desk_ctx = _context(e2e_browser)
    desk = desk_ctx.new_page()
    desk.on("pageerror", lambda exc: errors.append(str(exc)))
    staff_login_page(desk, issuer, officer_swd, "/staff/eservices/SWD/")
    open_case_from_queue(desk, issuer, "SWD", app.reference)
    assert desk.get_attribute("#case-state", "data-state") == "submitted"
    request_information_on_page(
        desk, "Please upload a photo taken in the last six months.", "請上載最近六個月內拍攝的相片。"
    )
    phone.bring_to_front()
    phone.goto(f"{issuer}/app/")
    phone.click("#inbox-link")
    phone.wait_for_selector("#inbox li")
    assert "needs more information" in phone.text_content("#inbox")

    # 8. The resident answers on the status page.
    web.bring_to_front()
    web.reload()
    web.wait_for_selector("#information-request")
    assert "last six months" in web.text_content("#request-message")
    assert_no_violations(web, "e-services: information request (en)")
    web.fill("#answer", "Here is a recent photo.")
    web.set_input_files("#documents", files=[{"name": "recent.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}])
    web.click("#send-answer")
    web.wait_for_selector("#state[data-state=in_review]")

    # 9. The officer finds the answer in the queue "in review" and approves on the case page:
    #    the e-licence is issued into the app (and a PDF copy).
    desk.bring_to_front()
    open_case_from_queue(desk, issuer, "SWD", app.reference, queue="in_review")
    assert "Here is a recent photo." in desk.text_content("#info-title + .card")
    approve_on_page(desk)
    app = Application.objects.get(pk=app.pk)
    assert app.state == State.LICENCE_ISSUED
    card = Credential.objects.get(pk=app.credential_id)
    assert card.holder_device_id is not None  # bound to the phone's key
    web.reload()
    web.wait_for_selector("#licence")
    assert "e-Licence issued to your app" in web.text_content("#history")
    with web.expect_download() as download:
        web.click("#licence-pdf")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")

    # 10. The card is in the app; shown to 認證易, it is valid.
    phone.bring_to_front()
    phone.goto(f"{issuer}/app/#credentials")
    item = f'#credentials li[data-credential-id="{card.id}"]'
    phone.wait_for_selector(item)
    assert "Senior Citizen Card" in phone.text_content(item)
    phone.click(f"{item} a")
    phone.wait_for_selector("#screen-credential:not([hidden])")
    phone.click("#present-button")
    phone.wait_for_selector("#screen-present:not([hidden])")
    phone.click('#present-presets [data-preset="age_over_65"]')
    phone.wait_for_selector("#presentation:not([hidden]) #presentation-qr:not([hidden])")
    with phone_ctx.expect_page() as opened:
        phone.click("#presentation-link")
    checker = opened.value
    checker.wait_for_selector("#verification")
    assert checker.get_attribute("#verification", "data-valid") == "true", checker.text_content("#verification")
    assert checker.get_attribute("#verification", "data-status") == "valid"
    assert not errors, errors


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_portal_pages_have_no_accessibility_violations(portal_ready, officer, e2e_browser, lang):
    """The portal's pages in each language at phone width, errors shown included (the login
    is set in the session: the flow's own test logs in through the app)."""
    from django.contrib.sessions.backends.db import SessionStore

    issuer = portal_ready
    resident = make_resident(officer)
    service = Service.objects.get(slug="senior-citizen-card")
    prefill = {"family_name": services.PrefillValue("CHAN", "claim", "1")}
    app = services.start_application(resident, service, prefill=prefill)
    session = SessionStore()
    session[login.SESSION_KEY] = {"resident": str(resident.public_id), "sub": "e2e"}
    session.create()
    ctx = _context(e2e_browser, lang)
    ctx.add_cookies(
        [
            {"name": "tungban_session", "value": session.session_key, "url": issuer},
            {"name": "tungban_language", "value": "zh-hant" if lang == "zh" else "en", "url": issuer},
        ]
    )
    page = ctx.new_page()
    page.goto(f"{issuer}/services/senior-citizen-card/apply")
    assert_no_violations(page, f"apply ({lang})")
    page.goto(f"{issuer}/services/my/{app.reference}/page/applicant")
    page.fill("#f-hkid", "A123456(7)")
    page.click("#continue")
    page.wait_for_selector("#error-summary")
    assert page.get_attribute("#f-hkid", "aria-invalid") == "true"
    assert_no_violations(page, f"form page with errors ({lang})")
    page.goto(f"{issuer}/services/my/{app.reference}/page/address")
    assert_no_violations(page, f"address page ({lang})")
    page.goto(f"{issuer}/services/my/{app.reference}/page/card")
    assert_no_violations(page, f"choice page ({lang})")
    page.goto(f"{issuer}/services/my/{app.reference}/check")
    assert_no_violations(page, f"check page ({lang})")
    page.click("#submit")  # incomplete: refused with the fields named
    page.wait_for_selector("#error-summary")
    assert_no_violations(page, f"check page refused ({lang})")
    page.goto(f"{issuer}/services/my/")
    assert_no_violations(page, f"my applications ({lang})")
    page.goto(f"{issuer}/services/my/{app.reference}/withdraw")
    assert_no_violations(page, f"withdraw ({lang})")
    page.goto(f"{issuer}/services/my/{app.reference}/")
    assert_no_violations(page, f"status ({lang})")
