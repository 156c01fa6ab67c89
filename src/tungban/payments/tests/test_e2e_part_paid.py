"""Review finding 5 as one flow in headless Chromium at phone width: an applicant whose bank sent
only HK$100 of the HK$350 hawker licence fee comes back to the application's page, sees what
was received and the balance due (Traditional Chinese and English, axe-clean), presses "Pay with
your bank app" — the demo bank (its own process) reads HK$250 and the same reference from the
QR payload — confirms, and the page shows "Paid" by itself: the order is ``success`` with
HK$350 received, the real ``tungban worker`` moved the application to ``paid``, and no refund
was opened."""

from __future__ import annotations

import re

import pytest

from tungban.eservices import login
from tungban.eservices import services as eservices
from tungban.eservices.models import State
from tungban.eservices.tests.helpers import submitted_hawker_licence
from tungban.payments import refunds
from tungban.payments import services as payments
from tungban.payments.constants import OrderState
from tungban.payments.models import PaymentOrder
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT
from tungban.testing.factories import make_resident

from . import test_e2e_fps_payment as fps_flow

#: The FPS flow's fixtures (the live portal, the demo bank's process, a real worker).
PHONE, portal_ready, bank, worker = fps_flow.PHONE, fps_flow.portal_ready, fps_flow.bank, fps_flow.worker

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _logged_in(browser, issuer, resident, lang):
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[login.SESSION_KEY] = {"resident": str(resident.public_id), "sub": "e2e"}
    session.create()
    ctx = browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    ctx.add_cookies(
        [
            {"name": "tungban_session", "value": session.session_key, "url": issuer},
            {"name": "tungban_language", "value": "en" if lang == "en" else "zh-hant", "url": issuer},
        ]
    )
    return ctx.new_page()


def test_a_part_paid_application_is_finished_with_the_bank_app(portal_ready, officer, bank, worker, e2e_browser):
    issuer = portal_ready
    resident = make_resident(officer)
    app = submitted_hawker_licence(eservices, resident)
    order = eservices.payment.ensure_order(app, resident)
    payments.record_credit(  # the payer's first transfer brought HK$100 only
        payments.CreditIn(
            "E2E-PART-1", "MSG-PART-1", 10_000, order.created_at.date(), order.created_at, order.reference
        ),
        source="notification",
    )
    errors: list[str] = []

    zh = _logged_in(e2e_browser, issuer, resident, "zh")
    zh.on("pageerror", lambda exc: errors.append(str(exc)))
    zh.goto(f"{issuer}/services/my/{app.reference}/")
    zh.wait_for_selector("#fps-qr")
    assert zh.text_content("#payment-balance").strip() == "HK$250"
    assert "繳付餘款 HK$250" in zh.text_content("#payment-partial")
    assert_no_violations(zh, "part-paid payment step (zh)")

    web = _logged_in(e2e_browser, issuer, resident, "en")
    web.on("pageerror", lambda exc: errors.append(str(exc)))
    web.goto(f"{issuer}/services/my/{app.reference}/")
    web.wait_for_selector("#fps-qr")
    assert web.text_content("#payment-received-so-far").strip() == "HK$100"
    assert web.text_content("#payment-balance").strip() == "HK$250"
    assert web.get_attribute("#payment-reference", "data-reference") == order.reference
    assert "pay HK$250" in web.get_attribute("#fps-qr", "alt")
    assert_no_violations(web, "part-paid payment step (en)")

    web.click("#pay-with-bank")
    web.wait_for_selector("#confirm")
    assert web.text_content("#amount").strip() == "HKD 250.00"
    assert web.text_content("#reference").strip() == order.reference
    web.select_option("#account", "004-123456-001")
    web.click("#confirm")
    web.wait_for_selector("#paid")
    assert web.get_attribute("#notify-status", "data-status") == "delivered"
    web.click("#return")
    web.wait_for_url(re.compile(rf".*/services/my/{app.reference}/$"))
    web.wait_for_selector("#state[data-state=paid]", timeout=max(TIMEOUT, 60_000))
    order = PaymentOrder.objects.get(pk=order.pk)
    app.refresh_from_db()
    assert order.state == OrderState.SUCCESS and order.amount_received_cents == 35_000
    assert app.state == State.PAID and refunds.refunds_of(order) == []
    assert_no_violations(web, "status paid after the balance (en)")
    assert not errors, errors
