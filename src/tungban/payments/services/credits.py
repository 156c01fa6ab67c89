"""Money arriving (issue 18): credit transfers to the collection account, recorded exactly once
whatever reports them, matched to orders by the bill reference they carry; and the bank's
signed payment notifications (:func:`receive_notification`).

A credit transfer is known by its ISO 20022 end-to-end id (unique in the database): the bank's
notification, a ``camt.054`` and the day's ``camt.053`` statement line of one transfer are one
:class:`~tungban.payments.models.CreditTransfer`, and the order it pays is paid once. Matching:
the first bill reference with valid check digits (:mod:`tungban.payments.reference`) in the
transfer's reference; the amount received so far against the amount due gives ``success``,
``partially_paid`` or ``overpaid`` (a credit to an expired order is applied as a late payment,
one to a cancelled or failed order is kept unapplied for reconciliation).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from jsonschema import Draft202012Validator

from tungban.core.killpoints import killpoint
from tungban.notify import webhooks

from .. import camt, errors
from ..constants import (
    CURRENCY,
    PAID_STATES,
    PROVISIONAL_SOURCES,
    ActorKind,
    CreditSource,
    MatchStatus,
    OrderState,
)
from ..models import BankMessage, CreditTransfer, PaymentOrder
from ..reference import is_valid, normalise
from . import matching, surplus
from .orders import _record, _save, chain_paid, move, paid

log = logging.getLogger(__name__)
security_log = logging.getLogger("tungban.security")

_REFERENCE = re.compile(r"TB[0-9]{14}")


@dataclass(frozen=True)
class CreditIn:
    """A credit as a bank reports it: ``amount_cents`` in the currency's cents; ``reference``:
    the bill number or the remittance information; ``debtor_name`` (≤ 140) and
    ``debtor_account`` (≤ 34): the payer's name and account as the bank reported them (stored
    encrypted; a refund is paid back to them)."""

    end_to_end_id: str
    message_id: str
    amount_cents: int
    value_date: dt.date
    booked_at: dt.datetime
    reference: str = ""
    debtor_name: str = ""
    currency: str = CURRENCY
    #: The bank's own reference of the booking (``AcctSvcrRef``), when the report has one.
    account_servicer_ref: str = ""
    #: A ``camt.053`` line's booking date (``BookgDt``): the day the statement shows it.
    booking_date: dt.date | None = None
    debtor_account: str = ""


def order_reference_in(text: str) -> str:
    """The first order reference with valid check digits in ``text`` (spaces and hyphens
    ignored, any case), or ``""``."""
    for found in _REFERENCE.findall(normalise(text)):
        if is_valid(found):
            return found
    return ""


def apply_credit(
    order: PaymentOrder, credit: CreditTransfer, *, actor_kind: str = ActorKind.BANK, actor_id: str | None = None
) -> str:
    """Add ``credit`` to the locked ``order`` and set the credit's ``order`` and
    ``match_status`` (saved); returns the match status. A credit booked
    after the order expired is applied as ``late``; one booked before it, reported after the
    platform expired the order (a notification lost, then the statement), is on time."""
    credit.order = order
    credit.match_status = _apply(order, credit, actor_kind, credit.message_id if actor_id is None else actor_id)
    credit.save(update_fields=["order", "match_status"])
    matching.settle_order(order)
    return credit.match_status


def _apply(order: PaymentOrder, credit: CreditTransfer, actor_kind: str, actor_id: str) -> str:
    """Add ``credit`` to the locked ``order``; returns the match status. Money the order must
    not keep goes back at once (:mod:`.surplus`): the excess of an overpayment, and all of a
    credit to an expired order that holds money or whose renewal was paid (it is held, the
    order stays expired: never two paid orders for one thing)."""
    if order.state in (OrderState.CANCELLED, OrderState.FAILED):
        return MatchStatus.ORDER_CLOSED
    if order.state == OrderState.EXPIRED and (order.amount_received_cents or chain_paid(order)):
        return _hold(order, credit, actor_kind, actor_id)
    was_paid = order.state in PAID_STATES
    late = order.state == OrderState.EXPIRED and credit.booked_at > order.expires_at
    order.amount_received_cents += credit.amount_cents
    received, due = order.amount_received_cents, order.amount_cents
    transition = "to_success" if received == due else "to_partially_paid" if received < due else "to_overpaid"
    reason = f"credit:{credit.end_to_end_id} {credit.amount_cents}"
    move(order, transition, actor_kind, actor_id, reason)
    if order.state in PAID_STATES and not was_paid:
        paid(order, actor_kind, actor_id)
    _save(order, "amount_received_cents", "paid_at")
    if order.state == OrderState.OVERPAID:  # e.g. a card payment and an FPS transfer both went through
        excess = min(credit.amount_cents, received - due)
        surplus.refund_due(order, "overpaid", amount_cents=excess, transfer=credit)
    if was_paid:
        return MatchStatus.DUPLICATE_PAYMENT
    if late:
        return MatchStatus.LATE
    return MatchStatus.MATCHED if order.state == OrderState.SUCCESS else MatchStatus.WRONG_AMOUNT


def _hold(order: PaymentOrder, credit: CreditTransfer, actor_kind: str, actor_id: str) -> str:
    """Keep ``credit`` on the locked expired ``order`` (its state unchanged) and open its refund:
    ``expired_part_paid`` when the order expired holding money, ``renewal_paid`` when another
    order of its chain was paid. A ``late`` match (the reconciliation exception says so too)."""
    code = "expired_part_paid" if order.amount_received_cents else "renewal_paid"
    order.amount_received_cents += credit.amount_cents
    _record(order, order.state, actor_kind, actor_id, f"credit:{credit.end_to_end_id} {credit.amount_cents} held")
    _save(order, "amount_received_cents")
    surplus.refund_due(order, code, amount_cents=credit.amount_cents, transfer=credit)
    return MatchStatus.LATE


def _settled_on(credit: CreditIn, source: str) -> dt.date | None:
    """When a report of ``credit`` by ``source`` settles it: a ``camt.053`` line on its booking
    date; a card provider's or a counter's report on its value date (their own settlement);
    a notification or a ``camt.054`` never (provisional)."""
    if source == CreditSource.CAMT053:
        return credit.booking_date or credit.value_date
    if source in PROVISIONAL_SOURCES:
        return None
    return credit.value_date


def _differs(known: CreditTransfer, credit: CreditIn) -> bool:
    return (known.amount_cents, known.currency, known.value_date) != (
        credit.amount_cents,
        credit.currency,
        credit.value_date,
    )


def conflict_key(credit: CreditIn) -> str:
    """The key a conflicting report is recorded under: ``ASR:`` + the bank's reference of the
    booking (:func:`tungban.payments.camt.fallback_key`), or of the message and end-to-end id
    when the report has none (a JSON notification)."""
    return camt.fallback_key(credit.account_servicer_ref or f"{credit.message_id}/{credit.end_to_end_id}")


def _seen(known: CreditTransfer, credit: CreditIn, source: str) -> None:
    """A known transfer reported again with the same details: note ``source``; a ``camt.053``
    line settles it (:func:`tungban.payments.services.matching.settle`)."""
    if source not in known.seen_in:
        known.seen_in = [*known.seen_in, source]
        known.save(update_fields=["seen_in"])
    day = _settled_on(credit, source)
    if day is not None and known.settled_date is None:
        matching.settle(known, day)


def _new_row(credit: CreditIn, source: str, *, key: str, **fields) -> CreditTransfer:
    return CreditTransfer.objects.create(
        end_to_end_id=key,
        message_id=credit.message_id,
        amount_cents=credit.amount_cents,
        currency=credit.currency,
        value_date=credit.value_date,
        booked_at=credit.booked_at,
        reference=credit.reference[:140],
        debtor_name=credit.debtor_name[:140],
        debtor_account=credit.debtor_account[:34],
        source=source,
        seen_in=[source],
        business_date=matching.business_day(credit.value_date),  # takes the day's lock
        settled_date=_settled_on(credit, source),
        **fields,
    )


def _conflict(known: CreditTransfer, credit: CreditIn, source: str) -> tuple[CreditTransfer, bool]:
    """``credit`` has ``known``'s end-to-end id but another amount, currency or value date
    (review finding 4): it is recorded under :func:`conflict_key`, applied to no order, with a
    ``conflicting_duplicate`` exception; the same conflicting report again adds nothing."""
    key = conflict_key(credit)
    row = CreditTransfer.objects.select_for_update().filter(end_to_end_id=key).first()
    if row is not None:
        if _differs(row, credit):  # the bank's own reference reused with other figures
            log.warning("credit %s reported a third way under %s: not recorded", credit.end_to_end_id, key)
        elif source not in row.seen_in:
            row.seen_in = [*row.seen_in, source]
            row.save(update_fields=["seen_in"])
        return row, False
    row = _new_row(credit, source, key=key, match_status=MatchStatus.CONFLICT, conflicts_with=known)
    matching.raise_for(row)
    return row, True


def record_credit(credit: CreditIn, *, source: str) -> tuple[CreditTransfer, bool]:
    """Record ``credit`` (reported by ``source``, a :class:`~tungban.payments.constants.CreditSource`)
    and apply it to the order its reference names, in one transaction; a credit already
    recorded (same end-to-end id, amount, currency and value date) only notes ``source`` in
    ``seen_in`` — and a ``camt.053`` line settles it. One with the same end-to-end id and
    other figures is a conflict (:func:`_conflict`), never silently dropped.

    The transfer's business day is locked while it is recorded
    (:func:`tungban.payments.services.matching.business_day`): a day being closed waits for it,
    or it counts on the next open day (review finding 13).

    :returns: ``(credit transfer, True)`` when it was new, ``(…, False)`` when it was known.
    """
    with transaction.atomic():
        known = CreditTransfer.objects.select_for_update().filter(end_to_end_id=credit.end_to_end_id).first()
        if known is None:
            try:
                with transaction.atomic():
                    row = _new_row(credit, source, key=credit.end_to_end_id, match_status=MatchStatus.UNMATCHED)
            except IntegrityError:  # the same transfer, reported at the same moment by another source
                known = CreditTransfer.objects.select_for_update().get(end_to_end_id=credit.end_to_end_id)
        if known is not None:
            if _differs(known, credit):
                return _conflict(known, credit, source)
            _seen(known, credit, source)
            return known, False
        ref = order_reference_in(credit.reference)
        order = PaymentOrder.objects.select_for_update().filter(reference=ref).first() if ref else None
        if order is not None and credit.currency == order.currency:
            apply_credit(order, row)
        matching.raise_for(row)
        return row, True


# --- the bank's signed payment notifications ---
SIGNATURE_HEADER = "Tungban-Signature"
_SIGNATURE = re.compile(r"^t=(?P<t>[0-9]{1,12}),v1=(?P<v1>[0-9a-f]{64})$")

NOTIFICATION_FORMAT = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["message_id", "created_at", "transfers"],
    "properties": {
        "message_id": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,64}$"},
        "created_at": {"type": "string", "minLength": 10, "maxLength": 40},
        "transfers": {
            "type": "array",
            "minItems": 1,
            "maxItems": 100,
            "items": {
                "type": "object",
                "required": ["end_to_end_id", "amount", "currency", "value_date", "booked_at"],
                "properties": {
                    "end_to_end_id": {"type": "string", "pattern": "^[A-Za-z0-9./:+-]{1,35}$"},
                    "amount": {"type": "string", "pattern": r"^[0-9]{1,13}(\.[0-9]{1,2})?$"},
                    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                    "value_date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                    "booked_at": {"type": "string", "minLength": 10, "maxLength": 40},
                    "reference": {"type": "string", "maxLength": 140},
                    "remittance_info": {"type": "string", "maxLength": 140},
                    "debtor_name": {"type": "string", "maxLength": 140},
                    "debtor_account": {"type": "string", "maxLength": 34},
                },
            },
        },
    },
}
_NOTIFICATION = Draft202012Validator(NOTIFICATION_FORMAT)


def sign(body: bytes, *, secret: str | None = None, timestamp: int | None = None) -> str:
    """The ``Tungban-Signature`` header value for ``body``: ``t=<unix seconds>,v1=<hex>``, where
    ``v1`` is HMAC-SHA256 (RFC 2104, the standard library's :mod:`hmac`) under ``secret`` —
    by default the bank's notification key (``TUNGBAN_PAYMENTS_BANK_SECRET``, bank → platform;
    the platform's own requests to the bank pass ``TUNGBAN_PAYMENTS_BANK_REQUEST_SECRET``) — of
    ``"<t>." + body``: GOV.UK Pay's webhook signature (``Pay-Signature``) with the time signed
    too, so a captured message cannot be replayed later."""
    secret = settings.TUNGBAN_PAYMENTS_BANK_SECRET if secret is None else secret
    timestamp = int(time.time()) if timestamp is None else timestamp
    return webhooks.sign(secret, timestamp, body)  # the platform's one Tungban-Signature


def verify_signature(body: bytes, header: str | None, *, now: float | None = None) -> dt.datetime:
    """Check a bank message's ``Tungban-Signature``; returns the signed time.

    :raises DomainError: ``signature_missing``, ``bad_signature`` (malformed, or not the
        HMAC of this body under the shared secret), ``notification_stale`` (signed more than
        ``TUNGBAN_CLOCK_SKEW`` seconds from now, either way).
    """
    if not header:
        raise errors.SignatureMissing()
    found = _SIGNATURE.match(header.strip())
    if found is None:
        raise errors.BadSignature()
    timestamp = int(found["t"])
    expected = sign(body, timestamp=timestamp).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, found["v1"]):
        raise errors.BadSignature()
    now = time.time() if now is None else now
    if abs(now - timestamp) > settings.TUNGBAN_CLOCK_SKEW:
        raise errors.NotificationStale(seconds=settings.TUNGBAN_CLOCK_SKEW)
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)


def _invalid(problem: str, field: str | None = None):
    return errors.NotificationInvalid(problem=problem, field=field)


def _datetime(text: str, field: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _invalid(f"{field} is not an ISO 8601 date and time", field) from None
    if value.tzinfo is None:
        raise _invalid(f"{field} has no time zone", field)
    return value


def parse_notification(body: bytes) -> tuple[str, list[CreditIn]]:
    """``(message id, credits)`` of a notification body (JSON, :data:`NOTIFICATION_FORMAT`:
    ``{"message_id", "created_at", "transfers": [{"end_to_end_id", "amount": "123.45",
    "currency", "value_date", "booked_at", "reference", "remittance_info", "debtor_name",
    "debtor_account"}]}``,
    a ``camt.054`` entry's members in JSON).

    :raises DomainError: ``notification_invalid`` (``field``: the member at fault, e.g.
        ``transfers.0.amount``).
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise _invalid("the body is not JSON") from None
    problems = sorted(_NOTIFICATION.iter_errors(data), key=lambda e: list(e.absolute_path))
    if problems:
        where = ".".join(str(p) for p in problems[0].absolute_path) or None
        raise _invalid(problems[0].message, where)
    _datetime(data["created_at"], "created_at")
    credits = []
    for i, t in enumerate(data["transfers"]):
        try:
            cents = int(Decimal(t["amount"]) * 100)
            value_date = dt.date.fromisoformat(t["value_date"])
        except (InvalidOperation, ValueError):
            raise _invalid("the amount or value date is not valid", f"transfers.{i}") from None
        if cents <= 0:
            raise _invalid("the amount must be more than zero", f"transfers.{i}.amount")
        reference = " ".join(x for x in (t.get("reference", ""), t.get("remittance_info", "")) if x)
        credits.append(
            CreditIn(
                end_to_end_id=t["end_to_end_id"],
                message_id=data["message_id"],
                amount_cents=cents,
                value_date=value_date,
                booked_at=_datetime(t["booked_at"], f"transfers.{i}.booked_at"),
                reference=reference,
                debtor_name=t.get("debtor_name", ""),
                debtor_account=t.get("debtor_account", ""),
                currency=t["currency"],
            )
        )
    ids = [c.end_to_end_id for c in credits]
    if len(set(ids)) != len(ids):
        raise _invalid("an end-to-end id appears twice", "transfers")
    return data["message_id"], credits


def _refused_again(message_id: str, digest: str) -> Exception:
    """The error for a message id already taken: ``notification_replayed`` when the body is
    the one recorded (SHA-256 ``digest`` equal: an earlier answer was lost, the bank may stop),
    else ``message_id_reused`` — new transfers under an old id, which must not read as
    delivered; a bank fault or a forgery with a leaked secret, so a security event."""
    known = BankMessage.objects.filter(message_id=message_id).values_list("digest", flat=True).first()
    if known is not None and hmac.compare_digest(known, digest):
        return errors.NotificationReplayed(message_id=message_id)
    security_log.warning(
        "bank message id %s reused with a different body (sha256 %s, recorded %s): refused",
        message_id,
        digest,
        known,
        extra={"security_event": "payments.message_id_reused"},
    )
    return errors.MessageIdReused(message_id=message_id)


def receive_notification(body: bytes, signature: str | None) -> dict:
    """The bank's signed payment notification: signature and time checked, then in one
    transaction the message id taken (once), each credit recorded and applied
    (:func:`record_credit`), and each order paid queues its purpose's fulfilment.

    :returns: ``{"message_id", "transfers": [{"end_to_end_id", "new", "order", "order_state",
        "match_status"}]}``.
    :raises DomainError: ``signature_missing``, ``bad_signature``, ``notification_stale``,
        ``notification_invalid``, ``notification_replayed`` (the same message again: it was
        recorded), ``message_id_reused`` (a known message id with another body: nothing of it
        is recorded, logged as a security event) — nothing is recorded then.
    """
    sent_at = verify_signature(body, signature)
    message_id, credits = parse_notification(body)
    digest = hashlib.sha256(body).hexdigest()
    out = []
    with transaction.atomic():
        # Registered first, so it runs before anything else queued for after the commit: a
        # worker killed there has committed the payment and run none of those hooks.
        transaction.on_commit(lambda: killpoint("payments.notification_committed"))
        try:
            with transaction.atomic():
                BankMessage.objects.create(message_id=message_id, kind="notification", digest=digest, sent_at=sent_at)
        except IntegrityError:
            raise _refused_again(message_id, digest) from None
        for credit in credits:
            row, new = record_credit(credit, source=CreditSource.NOTIFICATION)
            order = row.order
            out.append(
                {
                    "end_to_end_id": row.end_to_end_id,
                    "new": new,
                    "order": order.reference if order else None,
                    "order_state": order.state if order else None,
                    "match_status": row.match_status,
                }
            )
        # A worker killed here has recorded nothing: the bank's retry (or the statement) brings it.
        killpoint("payments.notification_recorded")
    return {"message_id": message_id, "received_at": timezone.now().isoformat(), "transfers": out}
