"""Faults of issue 18 ("Bad input and faults", acceptance 4) with real processes: the demo FPS
participant bank (``examples.bank``, a separate process with its own ledger) and the platform.

- A web worker SIGKILLed after it recorded the bank's notification but before its transaction
  committed (kill point ``payments.notification_recorded``): nothing was recorded, the bank's
  retry reaches the worker the master started again, and the payment is recorded exactly once;
  the day's statement then adds nothing.
- The platform down while the bank notifies, until the bank gives up: the day's statement,
  fetched by the platform from the bank, records the payment once, on time, although the
  platform expired the order meanwhile.
- The bank process down when the platform fetches the statement: the fetch job shows its
  attempts and last error and retries with backoff; with the bank back it imports the file; a
  bank that never comes back leaves the job ``failed``.
"""

from __future__ import annotations

import datetime as dt
import socket

import pytest
import requests
from django.db import close_old_connections
from django.utils import timezone

from examples.bank.launch import start_bank, stop_bank
from tungban.payments import services
from tungban.payments.constants import OrderState
from tungban.payments.models import BankMessage, CreditTransfer, PaymentEvent, PaymentOrder, StatementImport
from tungban.payments.models_recon import ImportState
from tungban.payments.services import reconciliation
from tungban.testing.faults import gunicorn_killed_at
from tungban.testing.tasks import run_queued_tasks, wait_for

from . import recon_support as s

HKT = dt.timezone(dt.timedelta(hours=8))
ACCOUNT = "004-123456-001"  # a demo customer of the bank


@pytest.fixture(autouse=True)
def _purpose():
    s.register_purpose()


def _dead_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def _pay(bank: str, order) -> None:
    """The payer confirms the order's FPS QR code in the bank's page."""
    answer = requests.post(f"{bank}/pay", data={"qr": services.fps_payload(order), "account": ACCOUNT}, timeout=30)
    assert answer.status_code == 200, answer.text[:2000]


def _bank_transfers(bank: str) -> list[dict]:
    return requests.get(f"{bank}/api/transfers", timeout=10).json()


def _today() -> dt.date:
    return timezone.now().astimezone(HKT).date()


@pytest.fixture
def platform(settings, tmp_path):
    """The platform under gunicorn on this test's database, the kill point
    ``payments.notification_recorded`` armed once; yields ``(base_url, marker)``."""
    keys = {"TUNGBAN_PAYMENTS_BANK_SECRET": settings.TUNGBAN_PAYMENTS_BANK_SECRET}
    with gunicorn_killed_at("payments.notification_recorded", tmp_path, env=keys) as found:
        yield found


@pytest.mark.live_http
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_before_the_notification_commits_records_the_payment_once(settings, platform):
    url, fired = platform
    order = s.order()
    proc, bank = start_bank(
        f"{url}/api/v1/payments/bank/notifications",
        secret=settings.TUNGBAN_PAYMENTS_BANK_SECRET,
        request_secret=settings.TUNGBAN_PAYMENTS_BANK_REQUEST_SECRET,
    )
    try:
        _pay(bank, order)  # the bank books, then notifies: the worker dies before its commit
        wait_for(fired.exists, timeout=60, what="the worker to reach the kill point")

        def settled():
            close_old_connections()
            return PaymentOrder.objects.get(pk=order.pk).state == OrderState.SUCCESS

        wait_for(settled, timeout=90, what="the bank's retry to pay the order")
        (booked,) = _bank_transfers(bank)
        wait_for(
            lambda: _bank_transfers(bank)[0]["notify_status"] == "delivered", timeout=30, what="the bank to be told"
        )
        assert _bank_transfers(bank)[0]["notify_attempts"] >= 2  # the first attempt died with the worker
        (credit,) = CreditTransfer.objects.all()
        assert credit.end_to_end_id == booked["end_to_end_id"] and credit.source == "notification"
        assert BankMessage.objects.count() == 1
        assert PaymentEvent.objects.filter(order=order, to_state=OrderState.SUCCESS).count() == 1
        order.refresh_from_db()
        assert order.amount_received_cents == order.amount_cents

        # The day's statement confirms it and adds nothing.
        settings.TUNGBAN_PAYMENTS_BANK_URL = bank
        imp, _ = services.fetch_statement(_today())
        run_queued_tasks()
        imp.refresh_from_db()
        assert (imp.state, imp.lines_total, imp.lines_known, imp.lines_new) == (ImportState.DONE, 1, 1, 0)
        assert CreditTransfer.objects.get().seen_in == ["notification", "camt053"]
    finally:
        stop_bank(proc)


@pytest.mark.django_db
def test_a_notification_the_bank_gave_up_on_is_reconciled_from_the_statement(settings):
    order = s.order()
    proc, bank = start_bank(
        f"{_dead_url()}/api/v1/payments/bank/notifications",
        secret=settings.TUNGBAN_PAYMENTS_BANK_SECRET,
        request_secret=settings.TUNGBAN_PAYMENTS_BANK_REQUEST_SECRET,
        notify_max_attempts=2,
    )
    try:
        _pay(bank, order)
        wait_for(
            lambda: _bank_transfers(bank)[0]["notify_status"] == "abandoned", timeout=60, what="the bank to give up"
        )
        assert not CreditTransfer.objects.exists()
        # The platform expired the order meanwhile (its payer had paid in time).
        booked_at = dt.datetime.fromisoformat(_bank_transfers(bank)[0]["booked_at"])
        PaymentOrder.objects.filter(pk=order.pk).update(expires_at=booked_at + dt.timedelta(seconds=1))
        assert services.expire_orders(booked_at + dt.timedelta(minutes=1)) == 1

        settings.TUNGBAN_PAYMENTS_BANK_URL = bank
        imp, _ = services.fetch_statement(_today())
        run_queued_tasks()
        imp.refresh_from_db()
        order.refresh_from_db()
        assert (imp.state, imp.lines_new, imp.matched, imp.exceptions) == (ImportState.DONE, 1, 1, 0)
        assert imp.schema_checked is False and imp.version == "camt.053.001.08"
        assert order.state == OrderState.SUCCESS and s.PAID[-1] == order.reference
        (credit,) = CreditTransfer.objects.all()
        assert credit.source == "camt053" and credit.match_status == "matched"
    finally:
        stop_bank(proc)


@pytest.mark.django_db
def test_the_fetch_retries_while_the_bank_is_down(settings, tmp_path):
    order = s.order()
    ledger = tmp_path / "ledger.sqlite3"
    proc, bank = start_bank(
        f"{_dead_url()}/api/v1/payments/bank/notifications",
        secret=settings.TUNGBAN_PAYMENTS_BANK_SECRET,
        request_secret=settings.TUNGBAN_PAYMENTS_BANK_REQUEST_SECRET,
        db=str(ledger),
        notify_max_attempts=1,
    )
    _pay(bank, order)
    stop_bank(proc)  # the bank's process is down

    settings.TUNGBAN_PAYMENTS_BANK_URL = bank
    imp, new = services.fetch_statement(_today())
    assert new and imp.state == ImportState.FETCHING
    assert services.fetch_statement(_today()) == (imp, False)  # one fetch of a day at a time
    imp = reconciliation.run_fetch(imp.pk, 1)
    assert imp.state == ImportState.FETCHING and imp.fetch_attempts == 1
    assert imp.last_error == "ConnectionError" and imp.next_attempt_at > timezone.now()

    proc, bank = start_bank(
        f"{_dead_url()}/api/v1/payments/bank/notifications",
        secret=settings.TUNGBAN_PAYMENTS_BANK_SECRET,
        request_secret=settings.TUNGBAN_PAYMENTS_BANK_REQUEST_SECRET,
        db=str(ledger),
        notify_max_attempts=1,
    )
    try:
        settings.TUNGBAN_PAYMENTS_BANK_URL = bank  # the bank is back
        run_queued_tasks(include_deferred=True)
        imp.refresh_from_db()
        order.refresh_from_db()
        assert (imp.state, imp.fetch_attempts, imp.attempts, imp.lines_new) == (ImportState.DONE, 2, 1, 1)
        assert order.state == OrderState.SUCCESS
    finally:
        stop_bank(proc)


@pytest.mark.django_db
def test_a_bank_that_never_answers_leaves_the_fetch_failed_and_a_wrong_signature_is_refused(settings):
    settings.TUNGBAN_TASK_MAX_ATTEMPTS = 2
    settings.TUNGBAN_PAYMENTS_BANK_URL = _dead_url()
    imp, _ = services.fetch_statement(_today() - dt.timedelta(days=1))
    run_queued_tasks(include_deferred=True)
    imp.refresh_from_db()
    assert (imp.state, imp.fetch_attempts, imp.last_error) == (ImportState.FAILED, 2, "ConnectionError")
    again, new = services.fetch_statement(_today() - dt.timedelta(days=1))
    assert new and again.pk != imp.pk  # an officer fetches again

    # a bank that knows the platform's notification key but not its request key refuses the fetch
    proc, bank = start_bank(
        f"{_dead_url()}/notify",
        secret=settings.TUNGBAN_PAYMENTS_BANK_SECRET,
        request_secret="not-the-platform's-request-key",
    )
    try:
        settings.TUNGBAN_PAYMENTS_BANK_URL = bank
        third, _ = services.fetch_statement(_today())
        third = reconciliation.run_fetch(third.pk, 1)
        assert third.last_error == "HTTP 401" and third.state == ImportState.FETCHING
        assert StatementImport.objects.filter(state=ImportState.DONE).count() == 0
    finally:
        stop_bank(proc)
