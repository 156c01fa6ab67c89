"""Payment orders and the money that pays them (issue 18): idempotent creation, references with
check digits, the state machine and its events, expiry, credit transfers recorded exactly once
whatever reports them, wrong amounts and late payments, the purpose's fulfilment as a task
that retries, and the bank's signed notifications (bad signature, stale, replayed, invalid)."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.test import override_settings
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from tungban.core.errors import DomainError
from tungban.payments import fps, purposes, reference, services
from tungban.payments.constants import MatchStatus, OrderState
from tungban.payments.models import BankMessage, CreditTransfer, PaymentOrder
from tungban.payments.signals import order_paid

pytestmark = pytest.mark.django_db

KIND = "tests.thing"
DONE: list[str] = []


def _on_paid(order):
    if order.metadata.get("fail_first") and not DONE:
        DONE.append("failed")
        raise RuntimeError("the purpose's system is down")
    DONE.append(order.reference)


@pytest.fixture(autouse=True)
def _purpose():
    DONE.clear()
    purposes.register(KIND, on_paid=_on_paid, app="tests")
    yield
    DONE.clear()


def _order(key="k1", amount=35000, **kw) -> PaymentOrder:
    line = services.Line("licence", "Licence", "牌照", amount)
    return services.create_order(
        department="FEHD",
        purpose=KIND,
        purpose_ref=kw.pop("purpose_ref", "APP-1"),
        lines=[line],
        description_en="A licence",
        description_zh="牌照",
        created_by="tests",
        idempotency_key=key,
        **kw,
    )


def _credit(order_or_ref, amount, e2e="E2E-1", message="MSG-1", **kw) -> services.CreditIn:
    ref = order_or_ref.reference if isinstance(order_or_ref, PaymentOrder) else order_or_ref
    return services.CreditIn(
        end_to_end_id=e2e,
        message_id=message,
        amount_cents=amount,
        value_date=timezone.localdate(),
        booked_at=timezone.now(),
        reference=ref,
        **kw,
    )


def _code(fn) -> str:
    with pytest.raises(DomainError) as caught:
        fn()
    return caught.value.code


# --- references ---
def test_references_carry_iso_7064_check_digits():
    refs = {reference.new_reference() for _ in range(200)}
    assert len(refs) == 200 and all(len(r) == 16 and reference.is_valid(r) for r in refs)
    ref = refs.pop()
    assert reference.is_valid(" " + reference.grouped(ref).lower() + " ")  # as a payer may type it
    swapped = ref[:5] + ref[6] + ref[5] + ref[7:]
    typo = ref[:-3] + str((int(ref[-3]) + 1) % 10) + ref[-2:]
    assert ref[5] == ref[6] or not reference.is_valid(swapped)
    assert not reference.is_valid(typo) and not reference.is_valid("TB123")


# --- creating ---
def test_an_order_is_made_once_per_key_and_awaits_the_transfer():
    order = _order()
    assert order.state == OrderState.AWAITING_TRANSFER and not order.finished
    assert order.amount_cents == 35000 and order.currency == "HKD" and reference.is_valid(order.reference)
    assert order.lines == [
        {
            "code": "licence",
            "label_en": "Licence",
            "label_zh": "牌照",
            "unit_cents": 35000,
            "quantity": 1,
            "concession": "",
            "total_cents": 35000,
        }
    ]
    assert abs((order.expires_at - timezone.now()).total_seconds() - 90 * 60) < 60
    assert [(e.from_state, e.to_state) for e in order.events.all()] == [
        ("", "created"),
        ("created", "awaiting_transfer"),
    ]
    assert _order().pk == order.pk and PaymentOrder.objects.count() == 1
    assert _code(lambda: _order(amount=100)) == "order_key_reused"
    assert _code(lambda: _order(key="k2", amount=0)) == "amount_invalid"
    assert (
        _code(
            lambda: services.create_order(
                department="X",
                purpose="nobody.knows",
                purpose_ref="1",
                lines=[],
                description_en="",
                description_zh="",
                created_by="t",
                idempotency_key="k",
            )
        )
        == "purpose_unknown"
    )


def test_fee_lines_use_the_amount_in_force_and_concessions():
    services.load_fees()
    line = services.fee_line("LCSD", "leisure-facility-booking", "hire", concession="senior", quantity=2)
    assert (line.unit_cents, line.total_cents, line.concession) == (2900, 5800, "senior")
    assert (
        _code(lambda: services.fee_line("LCSD", "leisure-facility-booking", "hire", concession="vip"))
        == "concession_unknown"
    )


def test_the_state_field_is_changed_only_by_transitions():
    order = _order()
    with pytest.raises(AttributeError):
        order.state = OrderState.SUCCESS  # protected: django-fsm-2 refuses a direct assignment
    order.refresh_from_db()
    assert order.state == OrderState.AWAITING_TRANSFER
    with pytest.raises(TransitionNotAllowed):
        order.to_awaiting_transfer()


def test_the_dynamic_qr_code_carries_the_amount_and_the_reference():
    order = _order(amount=123450)
    qr = fps.decode(services.fps_payload(order))
    assert qr.dynamic and qr.amount_cents == 123450 and qr.bill_number == order.reference
    assert (qr.proxy_type, qr.proxy) == ("email", "collect@tungban.invalid")
    static = fps.decode(services.static_payload())
    assert not static.dynamic and static.amount is None and static.bill_number == "***"


# --- money arriving ---
def test_a_transfer_is_recorded_once_whatever_reports_it(django_capture_on_commit_callbacks):
    order = _order()
    told = []
    order_paid.connect(lambda sender, order, **kw: told.append(order.reference), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            row, new = services.record_credit(_credit(order, 35000), source="notification")
            services.record_credit(_credit(order, 35000), source="camt054")
    finally:
        order_paid.disconnect(dispatch_uid="t")
    assert told == [order.reference]  # once, after the commit
    assert new and row.match_status == MatchStatus.MATCHED and row.order == order
    order.refresh_from_db()
    assert (
        order.state == OrderState.SUCCESS and order.finished and order.paid_at and order.amount_received_cents == 35000
    )
    again, new = services.record_credit(_credit(order, 35000, message="STMT-1"), source="camt053")
    assert not new and again.pk == row.pk and again.seen_in == ["notification", "camt054", "camt053"]
    order.refresh_from_db()
    assert order.amount_received_cents == 35000 and CreditTransfer.objects.count() == 1
    assert order.events.filter(to_state=OrderState.SUCCESS).count() == 1


def test_the_fulfilment_is_a_task_that_retries(run_tasks, settings):
    settings.TUNGBAN_TASK_RETRY_DELAY = 0
    order = _order(metadata={"fail_first": True})
    services.record_credit(_credit(order, 35000), source="notification")
    run_tasks(include_deferred=True)
    order.refresh_from_db()
    assert DONE == ["failed", order.reference]  # the first attempt failed, the retry did it
    assert order.fulfilled_at is not None and order.fulfil_attempts == 2 and order.state == OrderState.SUCCESS
    services.fulfil(order)
    assert DONE == ["failed", order.reference]  # once only


@pytest.mark.parametrize(
    ("amounts", "state", "statuses"),
    [
        ([20000], OrderState.PARTIALLY_PAID, [MatchStatus.WRONG_AMOUNT]),
        ([20000, 15000], OrderState.SUCCESS, [MatchStatus.WRONG_AMOUNT, MatchStatus.MATCHED]),
        ([50000], OrderState.OVERPAID, [MatchStatus.WRONG_AMOUNT]),
        ([35000, 35000], OrderState.OVERPAID, [MatchStatus.MATCHED, MatchStatus.DUPLICATE_PAYMENT]),
    ],
)
def test_other_amounts(amounts, state, statuses):
    order = _order()
    rows = [
        services.record_credit(_credit(order, a, e2e=f"E2E-{i}"), source="notification")[0]
        for i, a in enumerate(amounts)
    ]
    order.refresh_from_db()
    assert order.state == state and order.amount_received_cents == sum(amounts)
    assert [r.match_status for r in rows] == statuses


def test_expiry_then_a_late_payment_is_still_applied_and_cancels_the_renewal():
    first = _order(key="a:1", purpose_ref="APP-9")
    PaymentOrder.objects.filter(pk=first.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert services.expire_orders() == 1 and services.expire_orders() == 0
    first.refresh_from_db()
    assert first.state == OrderState.EXPIRED and first.finished
    assert _code(lambda: services.cancel_order(first, actor_kind="system", actor_id="t")) == "order_expired"
    renewal = _order(key="a:2", purpose_ref="APP-9", supersedes=first)
    row, _ = services.record_credit(_credit(first, 35000), source="notification")
    first.refresh_from_db()
    renewal.refresh_from_db()
    assert row.match_status == MatchStatus.LATE and first.state == OrderState.SUCCESS
    assert renewal.state == OrderState.CANCELLED
    assert renewal.events.last().reason == f"paid_by:{first.reference}"


def test_money_for_a_cancelled_order_or_no_order_is_kept_for_reconciliation():
    order = _order()
    services.cancel_order(order, actor_kind="officer", actor_id="clerk", reason="duplicate")
    row, _ = services.record_credit(_credit(order, 35000), source="notification")
    order.refresh_from_db()
    assert row.match_status == MatchStatus.ORDER_CLOSED and order.state == OrderState.CANCELLED
    assert order.amount_received_cents == 0
    stray, _ = services.record_credit(_credit("TB00000000000000", 100, e2e="E2E-X"), source="notification")
    assert stray.match_status == MatchStatus.UNMATCHED and stray.order is None
    assert services.order_reference_in(f"pay {order.reference[:8]} {order.reference[8:]}") == order.reference


def test_expiry_runs_on_the_workers_schedule():
    from tungban.core import retention

    order = _order()
    PaymentOrder.objects.filter(pk=order.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    counts = retention.purge_all()
    assert counts["payments.PaymentOrder (expired)"] == 1
    order.refresh_from_db()
    assert order.state == OrderState.EXPIRED


# --- the bank's signed notifications ---
def _notification(order, *, message="MSG-1", e2e="E2E-1", amount="350.00") -> bytes:
    return json.dumps(
        {
            "message_id": message,
            "created_at": timezone.now().isoformat(),
            "transfers": [
                {
                    "end_to_end_id": e2e,
                    "amount": amount,
                    "currency": "HKD",
                    "value_date": timezone.localdate().isoformat(),
                    "booked_at": timezone.now().isoformat(),
                    "reference": order.reference,
                    "debtor_name": "CHAN T** M**",
                }
            ],
        }
    ).encode()


def _post(client, body, signature):
    headers = {"HTTP_TUNGBAN_SIGNATURE": signature} if signature else {}
    return client.post("/api/v1/payments/bank/notifications", body, content_type="application/json", **headers)


def test_a_signed_notification_pays_the_order_once(client):
    order = _order()
    body = _notification(order)
    answer = _post(client, body, services.sign(body))
    assert answer.status_code == 200, answer.content
    assert answer.json()["transfers"] == [
        {
            "end_to_end_id": "E2E-1",
            "new": True,
            "order": order.reference,
            "order_state": "success",
            "match_status": "matched",
        }
    ]
    order.refresh_from_db()
    assert order.state == OrderState.SUCCESS
    replay = _post(client, body, services.sign(body))
    assert replay.status_code == 409 and replay.json()["error"] == "notification_replayed"
    other_message = _notification(order, message="MSG-2")
    answer = _post(client, other_message, services.sign(other_message))
    assert answer.json()["transfers"][0]["new"] is False
    order.refresh_from_db()
    assert order.amount_received_cents == 35000 and CreditTransfer.objects.count() == 1


def test_a_known_message_id_with_another_body_is_not_answered_as_replayed(client, caplog):
    """Review finding 14: new transfers under an old message id must not read as delivered."""
    order, other = _order(), _order(key="k2", purpose_ref="APP-2")
    first = _notification(order)
    assert _post(client, first, services.sign(first)).status_code == 200
    reused = _notification(other, e2e="E2E-2")  # same message id MSG-1, another transfer
    with caplog.at_level("WARNING", logger="tungban.security"):
        answer = _post(client, reused, services.sign(reused))
    assert answer.status_code == 409 and answer.json()["error"] == "message_id_reused"
    assert any(r.name == "tungban.security" and "MSG-1" in r.getMessage() for r in caplog.records)
    other.refresh_from_db()
    assert other.state != OrderState.SUCCESS and not CreditTransfer.objects.filter(end_to_end_id="E2E-2").exists()
    again = _post(client, first, services.sign(first))  # the same bytes: recorded before
    assert again.status_code == 409 and again.json()["error"] == "notification_replayed"


@pytest.mark.parametrize(
    ("signature", "status", "code"),
    [
        (None, 401, "signature_missing"),
        ("sha256=abc", 401, "bad_signature"),
        ("forged", 401, "bad_signature"),
        ("stale", 401, "notification_stale"),
        ("other-secret", 401, "bad_signature"),
    ],
)
def test_unsigned_forged_and_stale_notifications_record_nothing(client, signature, status, code):
    order = _order()
    body = _notification(order)
    if signature == "forged":
        signature = services.sign(body.replace(b"350.00", b"999.00"))
    elif signature == "stale":
        signature = services.sign(body, timestamp=int(time.time()) - 3600)
    elif signature == "other-secret":
        signature = services.sign(body, secret="not-the-shared-secret")
    answer = _post(client, body, signature)
    assert (answer.status_code, answer.json()["error"]) == (status, code)
    order.refresh_from_db()
    assert order.state == OrderState.AWAITING_TRANSFER
    assert not CreditTransfer.objects.exists() and not BankMessage.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("message_id"), None),
        (lambda d: d["transfers"][0].update(amount="3,50"), "transfers.0.amount"),
        (lambda d: d["transfers"][0].update(amount="0.00"), "transfers.0.amount"),
        (lambda d: d["transfers"][0].update(booked_at="yesterday"), "transfers.0.booked_at"),
        (lambda d: d["transfers"].append(dict(d["transfers"][0])), "transfers"),
        (lambda d: d.update(transfers=[]), "transfers"),
    ],
)
def test_invalid_notifications_are_refused_with_the_member_named(client, change, field):
    order = _order()
    data = json.loads(_notification(order))
    change(data)
    body = json.dumps(data).encode()
    answer = _post(client, body, services.sign(body))
    assert answer.status_code == 422 and answer.json()["error"] == "notification_invalid"
    if field:
        assert answer.json()["field"] == field
    assert not CreditTransfer.objects.exists() and not BankMessage.objects.exists()


@override_settings(TUNGBAN_CLOCK_SKEW=5)
def test_the_allowed_clock_skew_is_the_platforms():
    body = b"{}"
    assert services.verify_signature(body, services.sign(body, timestamp=int(time.time()) - 3))
    assert _code(lambda: services.verify_signature(body, services.sign(body, timestamp=int(time.time()) + 60))) == (
        "notification_stale"
    )
