"""The resident's bills in the tungban app (issue 18, "Bills in the app"): device-authenticated
like the app's other APIs (:mod:`tungban.wallet.auth`), under ``/api/v1/payments/app/``.

``GET /bills`` lists them (with balance, due date and state), ``GET /bills/{id}`` shows one, and
``POST /bills/{id}/pay`` gives what paying it by FPS needs: the order's dynamic QR code (an SVG
``data:`` URI), its payload, the bill reference to type and the bank-app link (an order that
expired while the bill is open is renewed). The app then asks ``GET /bills/{id}`` until the bill
is ``paid``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language
from ninja import Field, Router, Schema

from tungban.core.api import error_responses
from tungban.core.idempotency import idempotent
from tungban.wallet.auth import device_auth

from .models import BillState
from .services import bills, orders, pages

router = Router(tags=["payments"])
APP_ERRORS = error_responses(400, 401, 403, 404, 409, 422)


def _zh() -> bool:
    return (get_language() or "").startswith("zh")


class MyBillOut(Schema):
    bill_id: uuid.UUID
    department: str = Field(description="The department's name, in the request's language")
    description: str = Field(description="In the request's language")
    account: str = Field(description="Your account with the department, or empty")
    amount: int = Field(description="HK$ cents billed")
    amount_text: str = Field(description="The amount as shown, e.g. HK$123.40")
    balance: int = Field(description="HK$ cents still to pay")
    balance_text: str
    bill_date: dt.date
    due_date: dt.date
    overdue: bool = Field(description="Open and past its due date")
    state: BillState
    state_label: str
    source: Literal["api", "exchange"] = Field(
        description="api: posted by the department; exchange: under your consent"
    )
    bill_reference: str
    paid_at: dt.datetime | None


class BillFpsOut(Schema):
    payload: str = Field(description="The FPS QR code's payload (EMVCo)")
    qr: str = Field(description="The QR code as an SVG data: URI")
    reference: str
    reference_grouped: str
    bank_link: str = Field(description="Opens the bank's payment page with this QR code")
    expires_at: dt.datetime


class BillPayOut(Schema):
    bill: MyBillOut
    fps: BillFpsOut


def _mine(bill) -> dict:
    zh = _zh()
    state = bills.state_of(bill)
    return {
        "bill_id": bill.id,
        "department": (bill.department_name_zh if zh else bill.department_name_en) or bill.department,
        "description": bill.description_zh if zh else bill.description_en,
        "account": bill.account,
        "amount": bill.amount_cents,
        "amount_text": orders.hkd(bill.amount_cents),
        "balance": bills.balance_cents(bill),
        "balance_text": orders.hkd(bills.balance_cents(bill)),
        "bill_date": bill.issued_on,
        "due_date": bill.due_on,
        "overdue": state == BillState.OPEN and bill.due_on < timezone.localdate(),
        "state": state,
        "state_label": str(BillState(state).label),
        "source": bill.source,
        "bill_reference": bill.order.reference,
        "paid_at": bill.settled_at or (bill.order.paid_at if state == BillState.PAID else None),
    }


@router.get(
    "/bills",
    response={200: list[MyBillOut], **APP_ERRORS},
    auth=device_auth,
    summary="(device) My bills: to pay, paid, paid elsewhere, withdrawn",
)
def my_bills(request):
    """Open bills first (soonest due first), then the others, newest first."""
    found = bills.bills_for(request.auth.resident)
    found.sort(
        key=lambda b: (
            bills.state_of(b) != BillState.OPEN,
            b.due_on.toordinal() if bills.state_of(b) == BillState.OPEN else -b.issued_on.toordinal(),
        )
    )
    return [_mine(b) for b in found]


@router.get(
    "/bills/{bill_id}", response={200: MyBillOut, **APP_ERRORS}, auth=device_auth, summary="(device) One of my bills"
)
def my_bill(request, bill_id: uuid.UUID):
    """Errors: ``bill_unknown`` (404; also another resident's)."""
    return _mine(bills.bill_for(request.auth.resident, bill_id))


@router.post(
    "/bills/{bill_id}/pay",
    response={200: BillPayOut, **APP_ERRORS},
    auth=device_auth,
    summary="(device) Pay one of my bills by FPS: its QR code and bank-app link",
)
@idempotent(caller=lambda request: f"device:{request.auth.id}", description="Optional.")
def pay_bill(request, bill_id: uuid.UUID):
    """The order that pays the bill now (renewed when the last one expired unpaid). Errors:
    ``bill_unknown`` (404), ``bill_not_open`` (409: paid, paid elsewhere or withdrawn)."""
    bill = bills.bill_for(request.auth.resident, bill_id)
    order = bills.payable_order(bill)
    bill.refresh_from_db()
    block = pages.fps_block(order, return_url=f"{settings.TUNGBAN_ISSUER.rstrip('/')}/app/#bills/{bill.id}")
    return {"bill": _mine(bill), "fps": block}
