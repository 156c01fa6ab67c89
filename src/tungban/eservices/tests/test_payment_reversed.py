"""A fee payment the bank reverses (pay-left item 1; the purpose's ``on_reversed``): an
application not decided yet goes back to awaiting payment — its order payable again, the
resident told to pay again — and goes on once paid again; a decided one (its e-licence issued)
stays decided and becomes a case on its officers' page, closed when the fee is paid again. A
reversed order that did not pay the application changes nothing."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tungban.eservices import portal
from tungban.eservices.models import Application, State
from tungban.eservices.services import payment
from tungban.eservices.tests import test_payment
from tungban.eservices.tests.helpers import department_user, pay
from tungban.notify import services as notify
from tungban.payments import services as payments
from tungban.payments.constants import OrderState
from tungban.payments.tests.refund_helpers import bank_reverses
from tungban.testing.factories import login_staff

pytestmark = pytest.mark.django_db

#: An application awaiting its HK$350 fee (the fixture of the payment tests).
awaiting = test_payment.awaiting


def _pay_again(order, e2e: str) -> None:
    payments.record_credit(
        payments.CreditIn(e2e, "M-" + e2e, order.amount_cents, timezone.localdate(), timezone.now(), order.reference),
        source="notification",
    )


def test_an_undecided_application_awaits_payment_again_and_goes_on_when_paid(
    catalogue,
    awaiting,
    run_tasks,
    django_capture_on_commit_callbacks,
):
    portal.ensure_portal()
    officer = department_user("fehd-officer", "FEHD", "approver")
    app = pay(awaiting)
    app = catalogue.assign(app, officer)  # the review started
    assert app.state == State.IN_REVIEW
    order = payment.current_order(app)
    with django_capture_on_commit_callbacks(execute=True):
        order = bank_reverses(order)
        run_tasks()
    assert order.state == OrderState.AWAITING_TRANSFER
    app = Application.objects.get(pk=app.pk)
    assert app.state == State.AWAITING_PAYMENT and app.payment_reversed_at is None
    event = app.events.get(action="payment_reversed")
    assert (event.from_state, event.to_state) == (State.IN_REVIEW, State.AWAITING_PAYMENT)
    assert order.reference in event.reason_en and order.reference in event.reason_zh
    [message] = notify.inbox_of(app.resident)
    content = str(notify.content_of(message))
    assert app.reference in content and "Pay again" in content and "再次繳付" in content
    assert payment.ensure_order(app, app.resident) == order  # the same order, payable again

    _pay_again(order, "E2E-AGAIN-1")
    run_tasks()
    app = Application.objects.get(pk=app.pk)
    assert app.state == State.PAID and app.assigned_to == officer  # the officer's work is kept

    # The reversal told again (a retried task) changes nothing more.
    payment.payment_reversed(order)
    app = Application.objects.get(pk=app.pk)
    assert app.state == State.PAID and app.events.filter(action="payment_reversed").count() == 1


def test_a_decided_application_becomes_a_case_for_its_officers(catalogue, awaiting, run_tasks, client):
    first = department_user("fehd-1", "FEHD", "approver")
    second = department_user("fehd-2", "FEHD", "approver")
    app = pay(awaiting)
    catalogue.approve(app, first)
    app = catalogue.approve(app, second)
    assert app.state == State.LICENCE_ISSUED
    order = bank_reverses(payment.current_order(app))
    run_tasks()
    app = Application.objects.get(pk=app.pk)
    assert app.state == State.LICENCE_ISSUED and app.payment_reversed_at is not None  # a licence stands
    assert app.events.filter(action="payment_reversed_after_decision").count() == 1

    login_staff(client, first)
    url = f"/staff/eservices/cases/{app.reference}/"
    en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="case-payment-reversed"' in en and "reversed this application's payment after the decision" in en
    zh = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert "銀行在作出決定後撤回了這宗申請的付款" in zh

    _pay_again(order, "E2E-AGAIN-2")
    run_tasks()
    app = Application.objects.get(pk=app.pk)
    assert app.payment_reversed_at is None and app.events.filter(action="paid_again").count() == 1
    assert 'id="case-payment-reversed"' not in client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_a_reversed_order_that_did_not_pay_the_application_changes_nothing(catalogue, awaiting, run_tasks):
    app = pay(awaiting)
    stray = payment._new_order(app, 2)  # a second order for the application, not linked to the first
    _pay_again(stray, "E2E-STRAY")
    run_tasks()  # its money is refunded: the application was already paid
    bank_reverses(stray)
    run_tasks()
    app = Application.objects.get(pk=app.pk)
    assert app.state == State.PAID and not app.events.filter(action__startswith="payment_reversed").exists()
