"""Test data for the refunds, receipts and counter tests (pay-refund): departments with
officers (e-services' ``DepartmentOfficer``, which e-services registers with
:mod:`tungban.payments.officers`), and orders paid by a bank's credit transfer."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from django.utils import timezone

from tungban.payments import counter, services
from tungban.payments.services import debits
from tungban.testing.factories import staff_user

DEPARTMENTS = {
    "FEHD": ("Food and Environmental Hygiene Department", "食物環境衞生署"),
    "SWD": ("Social Welfare Department", "社會福利署"),
}


def ensure_departments() -> None:
    from tungban.eservices.models import Department

    for code, (en, zh) in DEPARTMENTS.items():
        Department.objects.get_or_create(code=code, defaults={"name_en": en, "name_zh": zh, "source_path": "tests"})


def department_user(username: str, department: str, role: str = "officer"):
    from tungban.eservices.models import DepartmentOfficer

    ensure_departments()
    user = staff_user("none", username=username)
    DepartmentOfficer.objects.create(user=user, department_id=department, role=role)
    return user


def make_order(amount_cents: int = 50_000, *, department: str = "FEHD", payer=None, lines=None):
    """An FPS order (purpose ``payments.counter``) awaiting its transfer."""
    lines = lines or [
        services.Line("hawker-licence-fee", "Temporary hawker licence fee", "臨時小販牌照費", amount_cents, 1)
    ]
    return services.create_order(
        department=department,
        purpose=counter.PURPOSE,
        purpose_ref=f"test:{uuid.uuid4()}",
        lines=lines,
        description_en="Temporary hawker licence",
        description_zh="臨時小販牌照",
        created_by="tests",
        idempotency_key=str(uuid.uuid4()),
        payer=payer,
    )


def pay(order, amount_cents: int | None = None, *, debtor: str = "CHAN T** M**"):
    """The bank reports a transfer for ``order`` (its reference in the remittance); returns the
    order as it is now."""
    services.record_credit(
        services.CreditIn(
            end_to_end_id="E2E" + secrets.token_hex(8).upper(),
            message_id="MSG" + secrets.token_hex(6),
            amount_cents=order.amount_cents if amount_cents is None else amount_cents,
            value_date=timezone.localdate(),
            booked_at=timezone.now() - dt.timedelta(seconds=5),
            reference=order.reference,
            debtor_name=debtor,
        ),
        source="notification",
    )
    order.refresh_from_db()
    return order


def paid_order(amount_cents: int = 50_000, **kw):
    return pay(make_order(amount_cents, **kw))


def bank_reverses(order):
    """The bank reverses the first transfer that paid ``order`` (a reversal line, ``RvslInd``
    true, of a ``camt.054``: :func:`tungban.payments.services.debits.record_debit`); returns the
    order as it is now."""
    credit = order.credits.order_by("received_at").first()
    debits.record_debit(
        debits.DebitIn(
            key=credit.end_to_end_id,
            end_to_end_id=credit.end_to_end_id,
            account_servicer_ref="RVS" + secrets.token_hex(6).upper(),
            message_id="RVS" + secrets.token_hex(6),
            amount_cents=credit.amount_cents,
            currency=credit.currency,
            value_date=timezone.localdate(),
            booked_at=timezone.now(),
            booking_date=timezone.localdate(),
            reversal=True,
        ),
        source="camt054",
    )
    order.refresh_from_db()
    return order
