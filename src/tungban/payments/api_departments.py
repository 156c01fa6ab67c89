"""The payments API for department systems (issue 18, "API and webhooks"; GOV.UK Pay's API,
anchor study §3.3): ``/api/v1/payments/payments…`` (with their refunds,
``/payments/{id}/refunds…``), ``/api/v1/payments/bills…`` and ``/api/v1/payments/webhooks…``.

A department's system calls with ``Authorization: Bearer <token>``: a ``client_credentials``
token with scope ``payments``, obtained with ``private_key_jwt`` (RFC 7523) by the client
registered for its department (``tungban register_payments_system``, or
``tungban register_department_system``). It sees and acts on its own department's payments and
bills only: another department's is unknown (404), as one that does not exist. Every call is
counted against the client's rate (``TUNGBAN_RATELIMITS["payments_client"]``; 429
``rate_limited`` with ``Retry-After``). Creating calls **require** an ``Idempotency-Key``: a
retry with the same key and body gets the first answer (``Idempotent-Replayed: true``), the
same key with another body is 422 ``idempotency_key_reused`` (GOV.UK Pay's P0191).

Errors have the platform's shape (``ErrorOut``); the codes are listed in the OpenAPI document's
``payments`` tag. Guide: docs/integrators.md, "e-Payment for department systems".
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from ninja import Field, Query, Router, Schema, Status

from tungban.core.api import error_responses
from tungban.core.idempotency import HEADER, idempotent, parse_key
from tungban.notify.webhooks_api import EndpointCreatedOut, EndpointIn, EndpointOut, endpoint_out
from tungban.oidc.resource import ScopedBearer

from .constants import OrderState
from .models import BillState
from .models_refunds import RefundState
from .services import bills, departments, orders, webhooks
from .services.resources import API, _link, payment_resource

router = Router(tags=["payments"])


class PaymentSystemBearer(ScopedBearer):
    """``request.auth``: the :class:`~tungban.payments.models.PaymentSystem` (its call counted).

    :raises DomainError: as :class:`ScopedBearer`; ``not_payment_system`` (403); ``rate_limited`` (429)."""

    def authorize(self, request, token):
        return webhooks.system_for_token(token)


bearer = PaymentSystemBearer(webhooks.SCOPE)
ERRORS = error_responses(400, 401, 403, 404, 409, 422, 429)
#: A refund's request may also find its amount available changed (GOV.UK Pay's 412).
REFUND_ERRORS = error_responses(400, 401, 403, 404, 409, 412, 422, 429)
#: Largest amount of one payment or bill (HK$ cents): HK$10,000,000.
MAX_AMOUNT = 1_000_000_000
KEY_REQUIRED = (
    "Required: a retry with the same key and body answers what the first call did (never a second "
    "payment); the same key with another body is 422 idempotency_key_reused."
)


def caller(request) -> str:
    return webhooks.caller(request.auth)


def _key(request) -> str:
    return parse_key(request.headers[HEADER])


# --- schemas ---
class BilingualText(Schema):
    en: str = Field(min_length=1, max_length=300, description="In English")
    zh: str = Field(min_length=1, max_length=200, description="In Chinese")


class PaymentFeeItemIn(Schema):
    service: str = Field(max_length=80, description="The service's id in your fee schedule (payments/fees)")
    code: str = Field(max_length=40, description="The fee item's code")
    quantity: int = Field(1, ge=1, le=100)
    concession: str = Field("", max_length=40, description="A concession of the fee item, e.g. senior")


MetadataValue = str | int | bool


class PaymentIn(Schema):
    amount: int | None = Field(
        None, ge=1, le=MAX_AMOUNT, description="HK$ cents; or fee_items (exactly one of the two)"
    )
    fee_items: list[PaymentFeeItemIn] | None = Field(
        None, max_length=20, description="Fee items of your department, each at the amount in force today"
    )
    reference: str = Field(
        min_length=1, max_length=80, pattern=r"^[^\s].*$", description="Your own reference for this payment"
    )
    description: BilingualText = Field(description="What is paid for, shown to the payer")
    return_url: str = Field(max_length=500, description="https URL the payer returns to once done")
    metadata: dict[str, MetadataValue] = Field(
        default_factory=dict,
        max_length=10,
        description="Up to 10 keys of your own (ledger codes), kept with the payment",
    )
    expires_in: int | None = Field(
        None, ge=60, le=30 * 86400, description="Seconds the payment stays payable (default 5400: 90 minutes)"
    )
    supersedes: uuid.UUID | None = Field(
        None,
        description="The payment_id of an expired, cancelled or failed payment of yours with the same reference "
        "that this one renews: paying either closes the other's open payments. Errors: supersedes_unknown (404), "
        "supersedes_other_reference (422), supersedes_not_finished, supersedes_taken (409)",
    )


class PaymentLinkOut(Schema):
    href: str
    method: Literal["GET", "POST"]


class PaymentStateOut(Schema):
    status: str = Field(description=" | ".join(OrderState.values))
    finished: bool = Field(description="Nothing more happens to the payment by itself (GOV.UK Pay's finished)")


class PaymentRefundSummaryOut(Schema):
    status: Literal["available", "full", "unavailable"]
    amount_available: int = Field(description="HK$ cents that may still be refunded")
    amount_submitted: int = Field(
        description="HK$ cents of every refund not rejected: asked for, approved, sent or paid back"
    )
    amount_refunded: int = Field(description="HK$ cents paid back (of amount_submitted)")


class PaymentSettlementSummaryOut(Schema):
    paid_date: dt.date | None = Field(description="When the money arrived (Hong Kong date)")
    settled_date: dt.date | None = Field(description="When reconciliation matched it on the bank statement")


class BilingualTextOut(Schema):
    en: str
    zh: str


class PaymentOut(Schema):
    payment_id: uuid.UUID
    reference: str = Field(description="Your reference (an e-services payment: the application's reference)")
    bill_reference: str = Field(
        description="The platform's bill number (check digits: ISO 7064 Mod 97-10), in the FPS QR code"
    )
    department: str
    purpose: str
    description: BilingualTextOut
    lines: list[dict] = Field(
        description="Fee items: code, label_en, label_zh, unit_cents, quantity, concession, total_cents"
    )
    amount: int = Field(description="HK$ cents due")
    currency: Literal["HKD"]
    state: PaymentStateOut
    method: Literal["fps", "card", "wallet", "counter"]
    amount_received: int = Field(description="HK$ cents received")
    created_date: dt.datetime
    expires_at: dt.datetime
    paid_at: dt.datetime | None
    return_url: str
    metadata: dict
    refund_summary: PaymentRefundSummaryOut
    settlement_summary: PaymentSettlementSummaryOut
    supersedes: uuid.UUID | None = Field(description="The payment this one renews, if any")
    links: dict[str, PaymentLinkOut] = Field(
        alias="_links", description="self, events, refunds; while payable next_url (send the payer there) and cancel"
    )


class PaymentSearchOut(Schema):
    total: int
    count: int
    page: int
    results: list[PaymentOut]
    links: dict[str, PaymentLinkOut | None] = Field(
        alias="_links", description="self, first_page, last_page, prev_page and next_page (null at the ends)"
    )


class PaymentSearchIn(Schema):
    reference: str = Field("", max_length=80)
    bill_reference: str = Field("", max_length=25)
    state: OrderState | Literal[""] = ""
    from_date: dt.date | None = Field(None, description="Created on or after (Hong Kong date)")
    to_date: dt.date | None = Field(None, description="Created on or before")
    from_settled_date: dt.date | None = None
    to_settled_date: dt.date | None = None
    page: int = Field(1, ge=1, le=100_000)
    display_size: int = Field(500, ge=1, le=departments.MAX_PAGE)


class PaymentEventOut(Schema):
    sequence: int = Field(description="1, 2, … among the payment's events (the webhooks carry it too)")
    state: PaymentStateOut
    from_state: str
    actor_kind: str
    actor_id: str
    reason: str
    at: dt.datetime


class PaymentEventsOut(Schema):
    payment_id: uuid.UUID
    events: list[PaymentEventOut]
    links: dict[str, PaymentLinkOut] = Field(alias="_links")


# --- payments ---
@router.post("/payments", response={201: PaymentOut, **ERRORS}, auth=bearer, summary="Create a payment", by_alias=True)
@idempotent(caller=caller, required=True, description=KEY_REQUIRED)
def create_payment(request, payload: PaymentIn):
    """A payment of your department for ``amount`` or ``fee_items``: payable at once by FPS (its
    QR code on the payment page, state ``awaiting_transfer``) and by card or e-wallet where
    configured. Send the payer to ``_links.next_url``; they come back to ``return_url``.
    ``supersedes``: the payment this one renews (expired, cancelled or failed, same ``reference``).
    Errors: ``amount_or_fee_items``, ``return_url_refused``, ``supersedes_other_reference``,
    ``invalid_request`` (422); ``fee_unknown``, ``fee_not_in_force``, ``supersedes_unknown`` (404),
    ``concession_unknown`` (400); ``supersedes_not_finished``, ``supersedes_taken`` (409);
    idempotency errors."""
    fee_items = [departments.FeeItemAsked(**f.dict()) for f in payload.fee_items] if payload.fee_items else None
    order = departments.create_payment(
        request.auth,
        idempotency_key=_key(request),
        reference=payload.reference,
        description_en=payload.description.en,
        description_zh=payload.description.zh,
        return_url=payload.return_url,
        amount=payload.amount,
        fee_items=fee_items,
        metadata=payload.metadata,
        expires_in=payload.expires_in,
        supersedes=payload.supersedes,
    )
    return Status(201, _payment(order))


def _payment(order) -> dict:
    out = payment_resource(order)
    out["reference"] = departments.department_reference(order)
    return out


@router.get(
    "/payments/{payment_id}",
    response={200: PaymentOut, **ERRORS},
    auth=bearer,
    summary="A payment (strongly consistent)",
    by_alias=True,
)
def read_payment(request, payment_id: uuid.UUID):
    """Read from the database as it is now (use it to learn the outcome at the end of the
    payer's journey, not the search). Errors: ``order_unknown`` (404; also another department's)."""
    return _payment(departments.payment_of(request.auth, payment_id))


def _page_link(filters: PaymentSearchIn, page: int) -> dict:
    from urllib.parse import urlencode

    query = {k: v for k, v in {**filters.dict(), "page": page}.items() if v not in ("", None)}
    return _link(f"{API}/payments?{urlencode(query, doseq=True)}")


@router.get(
    "/payments", response={200: PaymentSearchOut, **ERRORS}, auth=bearer, summary="Search payments", by_alias=True
)
def search_payments(request, filters: Query[PaymentSearchIn]):
    """Your department's payments, newest first, ``display_size`` (at most 500) a page; every
    filter given applies (dates inclusive, Hong Kong time). Errors: ``date_range_invalid``
    (422), ``page_not_found`` (404: past the last page)."""
    found = departments.search(request.auth, **filters.dict())
    return {
        "total": found.total,
        "count": len(found.results),
        "page": found.page,
        "results": [_payment(o) for o in found.results],
        "_links": {
            "self": _page_link(filters, found.page),
            "first_page": _page_link(filters, 1),
            "last_page": _page_link(filters, found.last),
            "prev_page": _page_link(filters, found.page - 1) if found.page > 1 else None,
            "next_page": _page_link(filters, found.page + 1) if found.page < found.last else None,
        },
    }


@router.get(
    "/payments/{payment_id}/events",
    response={200: PaymentEventsOut, **ERRORS},
    auth=bearer,
    summary="A payment's events",
    by_alias=True,
)
def payment_events(request, payment_id: uuid.UUID):
    """Every change of the payment, oldest first, numbered as the webhooks number them.
    Errors: ``order_unknown`` (404)."""
    from .constants import FINISHED_STATES

    order, events = departments.events_of(request.auth, payment_id)
    return {
        "payment_id": order.id,
        "events": [
            {
                "sequence": n,
                "state": {"status": e.to_state, "finished": e.to_state in FINISHED_STATES},
                "from_state": e.from_state,
                "actor_kind": e.actor_kind,
                "actor_id": e.actor_id,
                "reason": e.reason,
                "at": e.at,
            }
            for n, e in enumerate(events, start=1)
        ],
        "_links": {
            "self": _link(f"{API}/payments/{order.id}/events"),
            "payment": _link(f"{API}/payments/{order.id}"),
        },
    }


@router.post(
    "/payments/{payment_id}/cancel",
    response={204: None, **ERRORS},
    auth=bearer,
    summary="Cancel a payment that took no money",
)
@idempotent(caller=caller, description="Optional here.")
def cancel_payment(request, payment_id: uuid.UUID):
    """``created``, ``awaiting_transfer`` or ``started`` → ``cancelled`` (GOV.UK Pay P0040): its
    QR code and payment page no longer take money. Errors: ``payment_not_cancellable`` (409: it
    finished, or money arrived), ``order_unknown`` (404)."""
    departments.cancel_payment(request.auth, payment_id)
    return Status(204, None)


# --- refunds (review finding 11; GOV.UK Pay's refunds) ---
class RefundReasonIn(Schema):
    en: str = Field(min_length=1, max_length=500, description="In English")
    zh: str = Field(min_length=1, max_length=500, description="In Chinese")


class RefundIn(Schema):
    amount: int = Field(ge=1, le=MAX_AMOUNT, description="HK$ cents to give back")
    refund_amount_available: int = Field(
        ge=0,
        le=MAX_AMOUNT,
        description="The payment's refund_summary.amount_available you based the refund on (GOV.UK Pay's "
        "refund_amount_available): 412 refund_amount_available_mismatch when another refund changed it",
    )
    reason: RefundReasonIn = Field(
        description="Why, in both languages: the officers who approve the refund and the payer read it"
    )


class RefundOut(Schema):
    refund_id: uuid.UUID
    reference: str = Field(description="The refund's reference: the payment's bill reference, -R and a number")
    payment_id: uuid.UUID
    amount: int = Field(description="HK$ cents")
    status: RefundState = Field(
        description="requested (waiting for the department's officers' approval), approved (waiting for the "
        "day's refund file), exported (sent to the bank), completed (paid back: payment.refunded), rejected"
    )
    needs_second_approval: bool = Field(description="Above the threshold: an approver's approval too")
    reason: BilingualTextOut
    rejected_reason: str = Field(description="Why the officers did not approve it (status rejected)")
    created_date: dt.datetime
    approved_at: dt.datetime | None
    completed_at: dt.datetime | None
    links: dict[str, PaymentLinkOut] = Field(alias="_links", description="self, payment")


class RefundsOut(Schema):
    payment_id: uuid.UUID
    refunds: list[RefundOut] = Field(description="Oldest first")
    links: dict[str, PaymentLinkOut] = Field(alias="_links", description="self, payment")


def _refund(refund) -> dict:
    path = f"{API}/payments/{refund.order_id}"
    return {
        "refund_id": refund.id,
        "reference": refund.reference,
        "payment_id": refund.order_id,
        "amount": refund.amount_cents,
        "status": refund.state,
        "needs_second_approval": refund.needs_second_approval,
        "reason": {"en": refund.reason_en, "zh": refund.reason_zh},
        "rejected_reason": refund.decided_reason,
        "created_date": refund.requested_at,
        "approved_at": refund.approved_at,
        "completed_at": refund.completed_at,
        "_links": {"self": _link(f"{path}/refunds/{refund.id}"), "payment": _link(path)},
    }


@router.post(
    "/payments/{payment_id}/refunds",
    response={201: RefundOut, **REFUND_ERRORS},
    auth=bearer,
    summary="Ask for a refund",
    by_alias=True,
)
@idempotent(caller=caller, required=True, description=KEY_REQUIRED)
def create_refund(request, payment_id: uuid.UUID, payload: RefundIn):
    """A refund of ``amount`` of a payment that received money (``success``, ``overpaid``,
    ``partially_paid``), at most ``refund_summary.amount_available``. It is ``requested``: your
    department's officers approve it (two people above the threshold) on the refunds page, it
    goes to the bank in the day's refund file, and ``payment.refunded`` is sent when the bank
    has paid it. Errors: ``refund_amount_available_mismatch`` (412: another refund changed the
    amount available; read the payment and ask again), ``refund_too_large``,
    ``refund_amount_invalid``, ``refund_reason_missing``, ``invalid_request`` (422),
    ``order_not_paid`` (409), ``order_unknown`` (404; also another department's), idempotency
    errors."""
    refund = departments.request_refund(
        request.auth,
        payment_id,
        amount=payload.amount,
        amount_available=payload.refund_amount_available,
        reason_en=payload.reason.en,
        reason_zh=payload.reason.zh,
    )
    return Status(201, _refund(refund))


@router.get(
    "/payments/{payment_id}/refunds",
    response={200: RefundsOut, **ERRORS},
    auth=bearer,
    summary="A payment's refunds",
    by_alias=True,
)
def list_refunds(request, payment_id: uuid.UUID):
    """Every refund asked for on the payment (by your system or your officers), oldest first.
    Errors: ``order_unknown`` (404)."""
    order, found = departments.refunds_of(request.auth, payment_id)
    path = f"{API}/payments/{order.id}"
    return {
        "payment_id": order.id,
        "refunds": [_refund(r) for r in found],
        "_links": {"self": _link(f"{path}/refunds"), "payment": _link(path)},
    }


@router.get(
    "/payments/{payment_id}/refunds/{refund_id}",
    response={200: RefundOut, **ERRORS},
    auth=bearer,
    summary="A refund",
    by_alias=True,
)
def read_refund(request, payment_id: uuid.UUID, refund_id: uuid.UUID):
    """Errors: ``order_unknown`` (404; also another department's payment), ``refund_unknown``
    (404; also another payment's refund)."""
    return _refund(departments.refund_of(request.auth, payment_id, refund_id))


# --- bills ---
class PayerIn(Schema):
    hkid: str = Field(
        min_length=8,
        max_length=14,
        description="The payer's HKID number, any spelling (A123456(3)); kept only as a keyed hash, never in clear",
    )


class BillIn(Schema):
    bill_number: str = Field(
        min_length=1, max_length=40, pattern=r"^[A-Za-z0-9./_-]+$", description="Your bill's number"
    )
    payer: PayerIn
    account: str = Field("", max_length=40, description="The payer's account with you (shown to them)")
    description: BilingualText
    amount: int = Field(ge=1, le=MAX_AMOUNT, description="HK$ cents")
    bill_date: dt.date
    due_date: dt.date
    metadata: dict[str, MetadataValue] = Field(default_factory=dict, max_length=10)


class BillOut(Schema):
    bill_id: uuid.UUID
    bill_number: str
    department: str
    description: BilingualTextOut
    amount: int = Field(description="HK$ cents billed")
    balance: int = Field(description="HK$ cents still to pay")
    currency: Literal["HKD"]
    bill_date: dt.date
    due_date: dt.date
    state: BillState
    source: Literal["api", "exchange"]
    payment_id: uuid.UUID = Field(description="The payment order that pays it (GET /payments/{payment_id})")
    bill_reference: str = Field(description="Print it on the bill: the payer types it, the bank statement carries it")
    fps_payload: str = Field(
        description="The FPS QR code's payload (EMVCo, dynamic: amount and bill reference) to print"
    )
    settled_at: dt.datetime | None
    metadata: dict
    links: dict[str, PaymentLinkOut] = Field(alias="_links")


def _bill(bill) -> dict:
    order = bill.order
    return {
        "bill_id": bill.id,
        "bill_number": bill.bill_number,
        "department": bill.department,
        "description": {"en": bill.description_en, "zh": bill.description_zh},
        "amount": bill.amount_cents,
        "balance": bills.balance_cents(bill),
        "currency": bill.currency,
        "bill_date": bill.issued_on,
        "due_date": bill.due_on,
        "state": bills.state_of(bill),
        "source": bill.source,
        "payment_id": order.id,
        "bill_reference": order.reference,
        "fps_payload": orders.fps_payload(order),
        "settled_at": bill.settled_at,
        "metadata": bill.metadata,
        "_links": {
            "self": _link(f"{API}/bills/{bill.id}"),
            "payment": _link(f"{API}/payments/{order.id}"),
        },
    }


@router.post(
    "/bills", response={201: BillOut, **ERRORS}, auth=bearer, summary="Post a bill to a resident", by_alias=True
)
@idempotent(caller=caller, required=True, description=KEY_REQUIRED)
def post_bill(request, payload: BillIn):
    """The resident sees it in the tungban app (with balance, due date and state) and pays it by
    FPS there, or from any banking app with the printed QR code (``fps_payload``,
    ``bill_reference``). Whether the HKID number has a tungban account is not said: a bill
    posted before the resident registers reaches them when they do. Errors: ``hkid_format``,
    ``hkid_check_digit`` (400, ``field`` ``payer.hkid``), ``due_date_invalid`` (422),
    ``bill_exists`` (409), idempotency errors."""
    bill = bills.post_bill(
        request.auth,
        bill_number=payload.bill_number,
        hkid=payload.payer.hkid,
        account=payload.account,
        description_en=payload.description.en,
        description_zh=payload.description.zh,
        amount_cents=payload.amount,
        bill_date=payload.bill_date,
        due_date=payload.due_date,
        metadata=payload.metadata,
    )
    return Status(201, _bill(bill))


@router.get(
    "/bills", response={200: list[BillOut], **ERRORS}, auth=bearer, summary="Your department's bills", by_alias=True
)
def list_bills(
    request,
    state: BillState | Literal[""] = "",
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
):
    """Newest first (stored state; ``GET /bills/{id}`` shows ``paid`` as soon as the money is in)."""
    return [_bill(b) for b in bills.bills_of(request.auth, state=state, limit=limit, offset=offset)]


@router.get("/bills/{bill_id}", response={200: BillOut, **ERRORS}, auth=bearer, summary="A bill", by_alias=True)
def read_bill(request, bill_id: uuid.UUID):
    """Errors: ``bill_unknown`` (404; also another department's)."""
    return _bill(bills.bill_of(request.auth, bill_id))


@router.post(
    "/bills/{bill_id}/paid-elsewhere",
    response={200: BillOut, **ERRORS},
    auth=bearer,
    summary="The bill was paid another way",
    by_alias=True,
)
@idempotent(caller=caller, description="Optional here.")
def bill_paid_elsewhere(request, bill_id: uuid.UUID):
    """→ ``paid_elsewhere`` (the resident sees it paid); its payment order is cancelled so that
    no second payment is taken. Errors: ``bill_not_open`` (409), ``bill_unknown`` (404)."""
    return _bill(bills.settle_elsewhere(request.auth, bill_id))


@router.post(
    "/bills/{bill_id}/withdraw",
    response={200: BillOut, **ERRORS},
    auth=bearer,
    summary="Withdraw a bill",
    by_alias=True,
)
@idempotent(caller=caller, description="Optional here.")
def withdraw_bill(request, bill_id: uuid.UUID):
    """→ ``cancelled``; its payment order is cancelled. Errors: ``bill_not_open`` (409),
    ``bill_unknown`` (404)."""
    return _bill(bills.withdraw(request.auth, bill_id))


# --- webhooks ---
class PaymentDeliveryOut(Schema):
    id: uuid.UUID = Field(description="Also the Tungban-Webhook-Id header and the body's id")
    endpoint: uuid.UUID
    payment_id: uuid.UUID
    event_type: str
    sequence: int
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status: int | None
    log: list[dict] = Field(description="Per attempt: at, attempt, status (HTTP or null), error, ms")
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    next_attempt_at: dt.datetime | None


@router.post(
    "/webhooks", response={201: EndpointCreatedOut, **ERRORS}, auth=bearer, summary="Register a webhook endpoint"
)
@idempotent(caller=caller, description="Optional here (recommended).")
def add_webhook(request, payload: EndpointIn):
    """Events: ``payment.started``, ``payment.succeeded``, ``payment.partially_paid``,
    ``payment.overpaid``, ``payment.cancelled``, ``payment.expired``, ``payment.refunded``,
    ``payment.reversed`` (the bank took a transfer back; the state is what the money left makes it).
    Errors: ``webhook_url_refused`` (422: not https, user info, a host that
    does not resolve or resolves to a private, loopback, link-local… address),
    ``webhook_events_invalid`` (422)."""
    endpoint, secret = webhooks.register_endpoint(
        request.auth.department, payload.url, payload.events, created_by=caller(request)
    )
    return Status(201, {**endpoint_out(endpoint), "secret": secret})


@router.get(
    "/webhooks", response={200: list[EndpointOut], **ERRORS}, auth=bearer, summary="Your department's endpoints"
)
def list_webhooks(request):
    return [endpoint_out(e) for e in webhooks.endpoints_of(request.auth.department)]


@router.get(
    "/webhooks/deliveries", response={200: list[PaymentDeliveryOut], **ERRORS}, auth=bearer, summary="The delivery log"
)
def list_deliveries(request, payment_id: uuid.UUID | None = None, limit: int = Query(100, ge=1, le=500)):
    """Your department's deliveries, newest first (optionally of one payment)."""
    return [
        {
            "id": d.id,
            "endpoint": d.endpoint_id,
            "payment_id": d.order_id,
            "event_type": d.event_type,
            "sequence": d.sequence,
            "state": d.state,
            "attempts": d.attempts,
            "last_status": d.last_status,
            "log": d.log,
            "created_at": d.created_at,
            "delivered_at": d.delivered_at,
            "next_attempt_at": d.next_attempt_at,
        }
        for d in webhooks.deliveries_of(request.auth.department, payment_id=payment_id, limit=limit)
    ]


@router.delete("/webhooks/{endpoint_id}", response={204: None, **ERRORS}, auth=bearer, summary="Remove an endpoint")
def remove_webhook(request, endpoint_id: uuid.UUID):
    """Errors: ``webhook_unknown`` (404; also another department's)."""
    webhooks.remove_endpoint(request.auth.department, endpoint_id)
    return Status(204, None)
