"""Issue 18 acceptance 1 as one flow, end to end in headless Chromium at phone width: a
resident registered in the test applies for the FEHD temporary hawker licence with the app,
submits, sees the payment step (amount, fee line, the FPS QR code, the reference, the expiry),
presses "Pay with your bank app", confirms on the demo bank's page (a separate process), and
comes back to the application's page, which shows "Paid" by itself: the bank's signed
notification recorded the transfer and the order's success, and a real ``tungban worker`` ran
the purpose's task that moved the application to ``paid`` — no officer acted. Then the worker's
queued tasks run (the receipt is drawn and sealed), the resident's app shows the receipt in "My
e-receipts and refunds", and the PDF downloaded through the app's link verifies with poppler's
``pdfsig`` against the tungban root and carries the order's reference, amount and transfer.
axe-core finds nothing on the payment step, the paid status or the receipts card; the second
test renews an expired payment request in Chinese."""

from __future__ import annotations

import contextlib
import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tungban.credentials import catalogue as credential_catalogue
from tungban.eservices import login, portal
from tungban.eservices import services as eservices
from tungban.eservices.models import Application, Service, State
from tungban.eservices.tests.helpers import PNG
from tungban.payments import fps
from tungban.payments.constants import MatchStatus, OrderState
from tungban.payments.models import CreditTransfer, PaymentOrder
from tungban.payments.models_refunds import Receipt, ReceiptState
from tungban.payments.services import fps_payload, load_fees
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
from tungban.testing.tasks import run_queued_tasks_in_thread, start_worker, wait_for
from tungban.wallet import services as wallet

from .receipt_checks import CARD, download_pdf, pdf_text, pdfsig_against_root, require_poppler, show_receipts_card

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def portal_ready(issuer, settings, tmp_path):
    settings.TUNGBAN_ESERVICES_FILES = tmp_path / "files"
    credential_catalogue.register_bundled()
    load_fees()
    eservices.load_catalogue()
    portal.ensure_portal()
    return issuer


@pytest.fixture
def bank(portal_ready, settings):
    """The demo bank (examples/bank) as its own process, notifying the live server."""
    from examples.bank.launch import bank_output, start_bank, stop_bank

    proc, url = start_bank(
        f"{portal_ready}/api/v1/payments/bank/notifications",
        secret=settings.TUNGBAN_PAYMENTS_BANK_SECRET,
        payee_proxy=settings.TUNGBAN_PAYMENTS_FPS_PROXY,
    )
    settings.TUNGBAN_PAYMENTS_BANK_URL = url
    yield url
    print(bank_output(proc))  # shown when the test fails
    with contextlib.suppress(Exception):
        stop_bank(proc)


@pytest.fixture
def worker(portal_ready, tmp_path):
    """A real ``tungban worker`` next to the live server, as the demo runs one."""
    log = tmp_path / "worker.log"
    process = start_worker(log_path=log)
    yield process
    process.terminate()
    process.wait(timeout=60)
    print(log.read_text(errors="replace"))  # shown when the test fails


def _context(browser, lang="en"):
    ctx = browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    return ctx


def test_the_hawker_licence_fee_is_paid_by_fps_and_its_receipt_verifies_in_the_app(
    portal_ready, officer, bank, worker, e2e_browser, tmp_path
):
    require_poppler()
    issuer = portal_ready
    resident = make_resident(officer)
    errors: list[str] = []

    # The resident's phone: the web app, bound with a passkey.
    phone_ctx = _context(e2e_browser)
    phone = phone_ctx.new_page()
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(phone_ctx, phone)
    bind_web_app(phone, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))

    # Apply: log in with the app, fill the pages, submit.
    web = _context(e2e_browser).new_page()
    web.on("pageerror", lambda exc: errors.append(str(exc)))
    web.goto(f"{issuer}/services/temporary-hawker-licence/apply")
    web.click("#start")
    web.wait_for_selector("#open-app")
    decide_in_app(phone, approval_url(web), "approve", code=code_shown(web))
    web.bring_to_front()
    web.wait_for_url(re.compile(r".*/services/my/FEHD-[0-9A-Z]{4}-[0-9A-Z]{5}/page/applicant$"))
    assert web.input_value("#f-family_name") == "CHAN"
    web.click("#continue")
    web.wait_for_url(re.compile(r".*/page/stall$"))
    web.check("input[name=trade][value=flowers]")
    web.check("input[name=pitch_district][value=victoria-park]")
    web.fill("#f-start_date", "2027-02-01")
    web.check("input[name=has_assistants][value=false]")
    web.click("#continue")
    web.wait_for_url(re.compile(r".*/page/documents$"))
    web.set_input_files("#f-photo", files=[{"name": "me.png", "mimeType": "image/png", "buffer": PNG}])
    web.click("#continue")
    web.wait_for_url(re.compile(r".*/page/declaration$"))
    web.check("#f-declaration")
    web.click("#continue")
    web.wait_for_url(re.compile(r".*/check$"))
    web.click("#submit")

    # The payment step: the fee, the FPS QR code carrying the amount and the reference.
    web.wait_for_selector("#state[data-state=awaiting_payment]")
    app = Application.objects.get(resident=resident)
    order = PaymentOrder.objects.get(purpose="eservices.application", purpose_ref=app.reference)
    assert order.state == OrderState.AWAITING_TRANSFER and order.amount_cents == 35000
    assert web.text_content("#payment-amount").strip() == "HK$350"
    assert "Temporary hawker licence" in web.text_content("#payment-lines")
    assert web.get_attribute("#payment-reference", "data-reference") == order.reference
    assert web.get_attribute("#fps-qr", "src").startswith("data:image/svg+xml")
    assert web.get_attribute("#payment-expires time", "datetime").startswith(
        timezone.localtime(order.expires_at).strftime("%Y-%m-%dT%H:%M")
    )
    link = web.get_attribute("#pay-with-bank", "href")
    assert link.startswith(f"{bank}/pay?")
    assert_no_violations(web, "payment step (en)")

    # Pay with the bank app: the demo bank reads the code, the resident confirms.
    web.click("#pay-with-bank")
    web.wait_for_selector("#confirm")
    assert web.text_content("#amount").strip() == "HKD 350.00"
    assert web.text_content("#reference").strip() == order.reference
    assert "TUNGBAN DEMO" in web.text_content("#payee")
    web.select_option("#account", "004-123456-001")
    web.click("#confirm")
    web.wait_for_selector("#paid")
    assert web.get_attribute("#notify-status", "data-status") == "delivered"
    e2e_id = web.text_content("#end-to-end-id").strip()

    # Back on the application's page: it shows "Paid" by itself (the page follows the state).
    polls: list[str] = []  # the page's polls of the state URL, shown if "Paid" never comes
    web.on("requestfinished", lambda r: "/state" in r.url and polls.append(f"{r.url} finished"))
    web.on("requestfailed", lambda r: "/state" in r.url and polls.append(f"{r.url} failed: {r.failure}"))
    web.click("#return")
    web.wait_for_url(re.compile(rf".*/services/my/{app.reference}/$"))
    # the worker's fulfilment first (its log is printed if it never comes), then the page's poll
    wait_for(
        lambda: Application.objects.filter(pk=app.pk, state=State.PAID).exists(),
        timeout=120,
        what="the worker to move the application to paid",
        process=worker,
    )
    try:
        web.wait_for_selector("#state[data-state=paid]", timeout=max(TIMEOUT, 60_000))
    except PlaywrightTimeout as exc:
        raise AssertionError(f"the page did not follow the state; its polls: {polls}") from exc
    app.refresh_from_db()
    order.refresh_from_db()
    assert app.state == State.PAID
    paid = app.events.get(action="paid")
    assert (paid.actor_kind, paid.actor_id) == ("system", f"payments:{order.reference}")
    assert order.state == OrderState.SUCCESS and order.amount_received_cents == 35000 and order.fulfilled_at
    credit = CreditTransfer.objects.get(end_to_end_id=e2e_id)
    assert credit.order == order and credit.match_status == MatchStatus.MATCHED
    # the payer as the bank names it, in full with the account (kept encrypted: a refund goes back there)
    assert (credit.debtor_name, credit.debtor_account) == ("CHAN TAI MAN", "004-123456-001")
    assert credit.debtor_name_masked == "C*** T** M**" and credit.seen_in == ["notification"]
    assert "Payment received" in web.text_content("#history")
    assert_no_violations(web, "status paid (en)")

    # The worker's tasks: the receipt is drawn and sealed (by the worker above or this run).
    run_queued_tasks_in_thread()
    receipt = wait_for(
        lambda: Receipt.objects.filter(order=order, state=ReceiptState.DONE).first(),
        timeout=60,
        what="the sealed receipt",
        process=worker,
    )
    assert receipt.number == f"R-{order.reference}"

    # The receipt in the resident's app, downloaded through its link, sealed by the tungban root.
    phone.bring_to_front()
    phone.goto(f"{issuer}/app/")  # the app's home (the phone was last on the approval screen)
    phone.wait_for_selector("#profile dd[data-field=hkid]:not(:empty)")
    link = show_receipts_card(phone)
    assert link.count() == 1
    assert "HK$350.00" in link.text_content()
    assert receipt.number in phone.text_content(CARD)
    assert_no_violations(phone, "app: my e-receipts card (en)")
    pdf_path = tmp_path / "receipt.pdf"
    pdf = download_pdf(phone, f"{issuer}{link.get_attribute('href')}", pdf_path)
    assert pdf == bytes(receipt.pdf)
    report = pdfsig_against_root(pdf_path, tmp_path)
    assert "Signature is Valid" in report and "Certificate is Trusted" in report, report
    text = pdf_text(pdf_path)
    for expected in (order.reference, "HK$350.00", e2e_id, "Temporary hawker licence"):
        assert expected in text, (expected, text)
    assert not errors, errors


def test_an_expired_payment_request_is_renewed_in_chinese(portal_ready, officer, e2e_browser):
    """The payment step in Traditional Chinese (axe-clean), then its request expired: "Get a new
    payment request" makes a new order for the same application, with a new QR code."""
    from django.contrib.sessions.backends.db import SessionStore

    issuer = portal_ready
    resident = make_resident(officer)
    service = Service.objects.get(slug="temporary-hawker-licence")
    app = eservices.start_application(resident, service)
    answers = {
        "applicant": {"family_name": "CHAN", "given_name": "Tai Man", "hkid": resident.hkid, "phone": "91234567"},
        "stall": {
            "trade": "flowers",
            "pitch_district": "victoria-park",
            "start_date": "2027-02-01",
            "has_assistants": False,
        },
    }
    for page_id, values in answers.items():
        eservices.save_draft(app, resident, values, page=page_id)
    photo = eservices.add_attachment(app, resident, "photo", "me.png", PNG)
    eservices.save_draft(app, resident, {"photo": str(photo.id)}, page="documents")
    eservices.save_draft(app, resident, {"declaration": True}, page="declaration")
    app = eservices.submit(app, resident)
    session = SessionStore()
    session[login.SESSION_KEY] = {"resident": str(resident.public_id), "sub": "e2e"}
    session.create()
    ctx = _context(e2e_browser, "zh")
    ctx.add_cookies(
        [
            {"name": "tungban_session", "value": session.session_key, "url": issuer},
            {"name": "tungban_language", "value": "zh-hant", "url": issuer},
        ]
    )
    page = ctx.new_page()
    page.goto(f"{issuer}/services/my/{app.reference}/")
    page.wait_for_selector("#fps-qr")
    assert "轉數快" in page.text_content("#payment-title")
    assert_no_violations(page, "payment step (zh)")
    first = PaymentOrder.objects.get(purpose_ref=app.reference)
    PaymentOrder.objects.filter(pk=first.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    page.reload()
    page.wait_for_selector("#payment-expired")
    assert page.query_selector("#fps-qr") is None
    assert_no_violations(page, "payment expired (zh)")
    page.click("#renew-payment")
    page.wait_for_selector("#fps-qr")
    second = PaymentOrder.objects.filter(purpose_ref=app.reference).exclude(pk=first.pk).get()
    assert second.reference != first.reference and second.idempotency_key == f"{app.reference}:2"
    assert page.get_attribute("#payment-reference", "data-reference") == second.reference
    assert eservices.payment.current_order(app) == second
    assert fps.decode(fps_payload(second)).bill_number == second.reference
