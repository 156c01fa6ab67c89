"""Issue 17 acceptance 1, second part, end to end in headless Chromium: the Fire Service
Installation certificate's premises address comes from the Water Supplies Department's
records through the exchange gateway (a separate provider process), with the resident's
consent approved in the app; the portal is the data user. The answer is kept with its
source (the consent) and digest, and the exchange is in the gateway's records. The resident
then adds two installations (a repeatable group), uploads the contractor's report, signs the
declaration with tungban+ (PAdES of the application PDF, approved in the app, signed by the
signing job) and submits."""

from __future__ import annotations

import contextlib
import io
import re

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from tungban.credentials import catalogue as credential_catalogue
from tungban.eservices import portal, services
from tungban.eservices.models import Application
from tungban.eservices.tests.helpers import PDF
from tungban.exchange import catalogue as exchange_catalogue
from tungban.exchange.models import ExchangeRecord
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
from tungban.testing.factories import make_resident
from tungban.testing.tasks import run_queued_tasks_in_thread
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
TAI_MAN = "A1234563"  # in the demo providers' records
WSD = "wsd.registered-address.v1"


@pytest.fixture
def wsd(issuer):
    from examples.providers.launch import start_provider, stop_provider

    proc, url = start_provider("wsd", issuer)
    exchange_catalogue.register_bundled({"wsd": url})
    yield url
    with contextlib.suppress(Exception):
        stop_provider(proc)


def _context(browser):
    ctx = browser.new_context(locale="en-GB", viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    return ctx


def test_premises_address_from_the_water_supplies_department_then_signed(
    issuer, officer, wsd, e2e_browser, settings, tmp_path
):
    settings.TUNGBAN_ESERVICES_FILES = tmp_path / "files"
    credential_catalogue.register_bundled()
    load_fees()  # the fee schedule (issue 18), as `tungban setup` loads it
    services.load_catalogue()
    portal.ensure_portal()
    resident = make_resident(officer, hkid=TAI_MAN)

    phone_ctx = _context(e2e_browser)
    phone = phone_ctx.new_page()
    add_virtual_authenticator(phone_ctx, phone)
    bind_web_app(phone, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))

    web = _context(e2e_browser).new_page()
    web.goto(f"{issuer}/services/fire-service-installation-certificate/apply")
    web.click("#start")
    web.wait_for_selector("#open-app")
    decide_in_app(phone, approval_url(web), "approve", code=code_shown(web))
    web.bring_to_front()
    web.wait_for_url(re.compile(r".*/services/my/FSD-[0-9A-Z]{4}-[0-9A-Z]{5}/page/owner$"))
    assert web.input_value("#f-family_name") == "CHAN"
    web.click("#continue")

    # The premises page offers the department's records; the consent is approved in the app.
    web.wait_for_url(re.compile(r".*/page/premises$"))
    assert web.input_value("#f-premises_address-line1") == ""
    web.click(f"#fill-{WSD.replace('.', '-')}")
    web.wait_for_selector("#open-app")
    assert "Water Supplies Department" in web.text_content("main")
    assert_no_violations(web, "e-services: consent (en)")
    link = web.get_attribute("#open-app", "href")
    web.click("#consent-continue")  # before approving: nothing is fetched, said clearly
    web.wait_for_selector("#consent-error")
    decide_in_app(phone, link, "approve")
    web.bring_to_front()
    web.click("#consent-continue")

    web.wait_for_url(re.compile(r".*/page/premises$"))
    assert web.input_value("#f-premises_address-line1") == "Flat 12A, 8 Nathan Road"
    assert web.input_value("#f-premises_address-line2") == "Tsim Sha Tsui"
    assert web.input_value("#f-premises_address-district") == "Yau Tsim Mong"
    assert web.input_value("#f-premises_address-region") == "KLN"
    assert "From the department's records" in web.text_content("#f-premises_address-source")
    assert_no_violations(web, "e-services: address from WSD (en)")

    app = Application.objects.get(resident=resident)
    record = app.prefill["premises_address"]
    assert record["source"] == "exchange" and record["status"] == "verified"
    record_row = ExchangeRecord.objects.get(product_id=WSD, outcome="delivered")
    assert str(record_row.consent_id) == record["ref"]
    assert record_row.consumer_id == portal.ORGANISATION_ID
    assert record["digest"] == services.prefill_digest(app.get_answers()["premises_address"])

    # The rest of the form: a repeatable group, the report, the declaration.
    web.check("input[name=premises_use][value=commercial]")
    web.click("#continue")
    web.wait_for_url(re.compile(r".*/page/inspection$"))
    web.check("input[name=installations__0__kind][value=sprinkler]")
    web.fill("#f-installations-0-location", "G/F shop")
    web.click("#f-installations-add")  # "Add another": a second row, nothing saved yet
    web.wait_for_selector("#f-installations-1-location")
    web.check("input[name=installations__1__kind][value=hose-reel]")
    web.fill("#f-installations-1-location", "1/F")
    web.fill("#f-inspection_date", "2026-11-30")
    web.fill("#f-contractor_number", "12")  # four digits expected
    web.click("#continue")
    web.wait_for_selector("#error-summary")
    assert "not in the expected form" in web.text_content("#f-contractor_number-error")
    assert web.input_value("#f-installations-1-location") == "1/F"  # kept on the page, not lost
    web.fill("#f-contractor_number", "1234")
    web.click("#continue")
    web.wait_for_url(re.compile(r".*/page/documents$"))
    web.set_input_files("#f-report", files=[{"name": "fs251.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    web.click("#continue")
    web.wait_for_url(re.compile(r".*/page/declaration$"))
    web.check("#f-declaration")
    web.click("#continue")

    # Sign the declaration with tungban+ in the app; the signing job signs it.
    web.wait_for_url(re.compile(r".*/check$"))
    web.click("#sign-declaration")
    web.wait_for_selector("#open-app")
    assert_no_violations(web, "e-services: sign (en)")
    decide_in_app(phone, web.get_attribute("#open-app", "href"), "approve")
    run_queued_tasks_in_thread()
    web.bring_to_front()
    web.click("#sign-continue")
    web.wait_for_selector("#signed-note")
    app.refresh_from_db()
    signed = app.attachments.get(field="signed_declaration")
    reader = PdfFileReader(io.BytesIO(services.read_attachment(signed)))
    assert len(reader.embedded_signatures) == 1
    web.click("#submit")
    web.wait_for_selector("#state[data-state=submitted]")
    app.refresh_from_db()
    assert app.get_answers()["installations"] == [
        {"kind": "sprinkler", "location": "G/F shop"},
        {"kind": "hose-reel", "location": "1/F"},
    ]
