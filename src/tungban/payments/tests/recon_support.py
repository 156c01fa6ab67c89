"""Helpers of the reconciliation tests: orders made in bulk, and camt files written by the demo
bank's own writer (``examples.bank.camt``), which the platform reads with its reader."""

from __future__ import annotations

import datetime as dt
import itertools

from django.conf import settings
from django.utils import timezone

from examples.bank import camt as bank_camt
from tungban.payments import purposes, services
from tungban.payments.constants import OrderState
from tungban.payments.models import PaymentOrder, StatementImport
from tungban.payments.models_recon import ImportState
from tungban.payments.reference import new_reference
from tungban.testing.tasks import run_queued_tasks

KIND = "tests.recon"
HKT = dt.timezone(dt.timedelta(hours=8))
PAID: list[str] = []
_serial = itertools.count(1)


def register_purpose() -> None:
    purposes.register(KIND, on_paid=lambda order: PAID.append(order.reference), app="tests")


def account() -> dict:
    return {"number": settings.TUNGBAN_PAYMENTS_COLLECTION_ACCOUNT, "name": "HKSAR GOVERNMENT", "bic": "DEMOHKHHXXX"}


def order(amount=35000, *, department="FEHD", key=None, **kw) -> PaymentOrder:
    """One order through the real service (events, FPS state)."""
    key = key or f"recon-{next(_serial)}"
    line = services.Line(kw.pop("code", "licence"), "Hawker licence", "小販牌照", amount)
    return services.create_order(
        department=department,
        purpose=KIND,
        purpose_ref=kw.pop("purpose_ref", key),
        lines=[line],
        description_en="A licence",
        description_zh="牌照",
        created_by="tests",
        idempotency_key=key,
        **kw,
    )


def bulk_orders(
    n: int, *, amount=35000, department="FEHD", code="licence", state=OrderState.AWAITING_TRANSFER, expires_at=None
) -> list[PaymentOrder]:
    """``n`` orders written at once (no events: the 10,000-line test's set-up)."""
    now = timezone.now()
    rows = []
    for _ in range(n):
        key = f"bulk-{next(_serial)}"
        rows.append(
            PaymentOrder(
                reference=new_reference(),
                amount_cents=amount,
                lines=[
                    {
                        "code": code,
                        "label_en": f"Fee {code}",
                        "label_zh": "費用",
                        "unit_cents": amount,
                        "quantity": 1,
                        "concession": "",
                        "total_cents": amount,
                    }
                ],
                department=department,
                description_en="A fee",
                description_zh="費用",
                purpose=KIND,
                purpose_ref=key,
                state=state,
                expires_at=expires_at or now + dt.timedelta(hours=2),
                idempotency_key=key,
                created_by="tests-bulk",
            )
        )
    return PaymentOrder.objects.bulk_create(rows, batch_size=1000)


def reversal(t: dict, **changes) -> dict:
    """The bank's reversal of transfer ``t`` (its end-to-end id and amount, booked the other
    way, ``RvslInd`` true) under a reference of its own."""
    n = next(_serial)
    return {
        **t,
        "credit": not t.get("credit", True),
        "reversal": True,
        "account_servicer_ref": f"RVS{n:012d}",
        **changes,
    }


def transfer(ref, amount, *, e2e=None, booked_at=None, value_date=None, credit=True, debtor="CHAN TAI MAN") -> dict:
    """A transfer as the bank's writer takes it; ``ref`` is an order or the reference text."""
    booked_at = booked_at or timezone.now()
    text = ref.reference if isinstance(ref, PaymentOrder) else ref
    n = next(_serial)
    return {
        "end_to_end_id": e2e or f"E2E{n:012d}",
        "account_servicer_ref": f"ASR{n:012d}",
        "message_id": f"PACS{n:012d}",
        "amount_cents": amount,
        "credit": credit,
        "booked_at": booked_at,
        "value_date": value_date or booked_at.astimezone(HKT).date(),
        "reference": text,
        "debtor_name": debtor,
    }


def statement(transfers: list[dict], *, day: dt.date | None = None, opening: int = 0, message_id=None) -> bytes:
    day = day or timezone.now().astimezone(HKT).date()
    return bank_camt.statement(
        account(),
        day,
        transfers,
        opening_cents=opening,
        message_id=message_id or f"STMT-{next(_serial)}",
        created_at=timezone.now(),
    )


def notification(t) -> bytes:
    """A camt.054 of one transfer (a dict) or several (a list)."""
    return bank_camt.notification(account(), t, message_id=f"NTF-{next(_serial)}", created_at=timezone.now())


#: The second reconciler who approves the files uploaded by :func:`import_file`.
CHECKER = "officer:tests-checker"


def import_file(
    data: bytes, *, filename="statement.xml", officer="officer:tests", approve: bool = True
) -> StatementImport:
    """Submit a file and run the worker's tasks; an uploaded file held for a second reconciler
    is approved by :data:`CHECKER` (unless ``approve=False``) and imported. The import as it
    ended."""
    imp, _new = services.submit_statement(data, filename=filename, requested_by=officer)
    run_queued_tasks()
    imp.refresh_from_db()
    if approve and imp.state == ImportState.HELD:
        services.approve_import(imp.pk, officer=CHECKER)
        run_queued_tasks()
        imp.refresh_from_db()
    return imp


def resolve(exception_id, resolution: str, *, officer: str = "officer:tests", checker: str = CHECKER, **kw):
    """Propose a resolution and, when it needs one, have :data:`CHECKER` approve it (the two
    reconcilers of review finding 9); the exception as it ended."""
    exc = services.propose(exception_id, resolution, officer=officer, **kw)
    if exc.state == "proposed":
        exc = services.approve_resolution(exception_id, officer=checker)
    return exc
