"""A payment order as the departments' API and webhooks show it (GOV.UK Pay's payment resource,
anchor study §3.3, in the platform's terms): :func:`payment_resource`.

Amounts are integers in HK$ cents. ``reference`` is what the payment is for as its department
knows it (``purpose_ref``: the department's own reference given at creation, or the
e-services application's reference); ``bill_reference`` is the platform's bill number with its
check digits, which the FPS QR code, the payer's bank and the statements carry.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from .. import refunds
from ..constants import FINISHED_STATES, OrderState
from ..models import PaymentOrder
from .links import API, _link


def next_url(order: PaymentOrder) -> str:
    """The page where the payer pays ``order`` (the payment page of the order)."""
    return settings.TUNGBAN_ISSUER.rstrip("/") + reverse("payments:pay", args=[order.id])


def payment_resource(order: PaymentOrder) -> dict:
    """``order`` as the API answers it::

    {"payment_id": UUID text, "reference", "bill_reference", "department", "purpose",
     "description": {"en", "zh"}, "lines": [...], "amount": cents, "currency": "HKD",
     "state": {"status", "finished"}, "method", "amount_received": cents,
     "created_date", "expires_at", "paid_at" (ISO 8601 | null), "return_url", "metadata",
     "refund_summary": {...}, "settlement_summary": {"paid_date", "settled_date"},
     "supersedes": the renewed payment's id | null,
     "_links": {"self", "events", "refunds", "next_url" (while payable), "cancel" (while
     cancellable)}}
    """
    path = f"{API}/payments/{order.id}"
    links = {"self": _link(path), "events": _link(path + "/events"), "refunds": _link(path + "/refunds")}
    if order.state in (OrderState.CREATED, OrderState.AWAITING_TRANSFER, OrderState.STARTED):
        links["next_url"] = {"href": next_url(order), "method": "GET"}
        links["cancel"] = _link(path + "/cancel", "POST")
    return {
        "payment_id": str(order.id),
        "reference": order.purpose_ref,
        "bill_reference": order.reference,
        "department": order.department,
        "purpose": order.purpose,
        "description": {"en": order.description_en, "zh": order.description_zh},
        "lines": order.lines or [],
        "amount": order.amount_cents,
        "currency": order.currency,
        "state": {"status": order.state, "finished": order.state in FINISHED_STATES},
        "method": order.method,
        "amount_received": order.amount_received_cents,
        "created_date": order.created_at.isoformat(),
        "expires_at": order.expires_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "return_url": order.return_url,
        "metadata": order.metadata or {},
        "refund_summary": refunds.refund_summary(order),
        "supersedes": str(order.supersedes_id) if order.supersedes_id else None,
        "settlement_summary": {
            "paid_date": timezone.localtime(order.paid_at).date().isoformat() if order.paid_at else None,
            "settled_date": order.settled_date.isoformat() if order.settled_date else None,
        },
        "_links": links,
    }
