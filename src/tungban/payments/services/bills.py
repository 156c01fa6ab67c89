"""Bills in the app (issue 18, "Bills in the app"; MISSION §5: 「市民可通過不同的銀行流動應用程式及
電子錢包掃描帳單上的二維碼繳費」 and the personal assistant's water-bill balance).

A bill reaches a resident two ways:

* **Posted by the department** (:func:`post_bill`, ``POST /api/v1/payments/bills``): the
  department names the payer as it knows them, by HKID number. The number is checked
  (:func:`tungban.identity.hkid.normalize`) and kept only as its keyed hash (the same HMAC as
  ``Resident.hkid_hash``, :func:`tungban.core.fields.lookup_hash`), never in clear, in no log and
  in no answer; the answer does not say whether the person has a tungban account (no oracle),
  and a bill posted before the person registers reaches them when they do.
* **The Water Supplies Department's water bill** through the consented data exchange gateway
  (``wsd.water-bill.v1``, under the resident's consent to the personal assistant):
  :func:`water_bill_item` keeps the balance the assistant's card shows as a bill, and gives the
  card its "Pay" item.

Each bill has a payment order (purpose :data:`PURPOSE`) made with it: its bill reference is what
a printed bill's FPS QR code carries and what the bank statement shows, so a bill paid from a
banking app at the paper bill is matched by reconciliation like one paid in the app. The app
pays a bill by FPS: the order's dynamic QR code and the bank-app link (:func:`payable_order`
renews an order that expired while the bill is still open). The bill is ``paid`` when its order
is (the purpose's ``on_paid``, :func:`on_paid`), ``paid_elsewhere`` when the department says so
(:func:`settle_elsewhere`; for the water bill, when WSD's next answer shows nothing due) and
``cancelled`` when the department withdraws it (or a newer water bill replaces it).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tungban.core.errors import DomainError
from tungban.core.fields import lookup_hash
from tungban.identity import hkid as hkid_rules
from tungban.identity.models import Resident

from .. import errors_api
from ..constants import OPEN_STATES, PAID_STATES, ActorKind, OrderState
from ..masking import mask_account
from ..models import Bill, BillSource, BillState, PaymentOrder, PaymentSystem
from . import orders, surplus
from .webhooks import caller

#: The purpose of a bill's payment order (registered in ``PaymentsConfig.ready``).
PURPOSE = "payments.bill"
#: The exchange product of the water bill, and its department.
WATER_BILL = "wsd.water-bill.v1"
WSD = "WSD"


def _order_expiry(due_on: dt.date) -> dt.timedelta:
    """A bill's order is payable until the end of its due date plus
    ``TUNGBAN_PAYMENTS_BILL_GRACE_DAYS`` (Hong Kong time), and at least a day."""
    end = timezone.make_aware(
        dt.datetime.combine(due_on + dt.timedelta(days=settings.TUNGBAN_PAYMENTS_BILL_GRACE_DAYS + 1), dt.time.min)
    )
    return max(end - timezone.now(), dt.timedelta(days=1))


def public_text(text: str, account: str) -> str:
    """``text`` with the bill's ``account`` number masked wherever it appears
    (:func:`tungban.payments.masking.mask_account`: ``****`` and its last four characters):
    what an order's description may say, since the kiosk and ``/pay/<order>/`` show it to
    whoever holds the reference, without a login (review finding 10)."""
    if not account or account not in text:
        return text
    return text.replace(account, mask_account(account))


def _new_order(bill: Bill, *, created_by: str, key: str, supersedes: PaymentOrder | None = None) -> PaymentOrder:
    """The bill's payment order; its descriptions and line never carry the account number in
    full (:func:`public_text`): the bill keeps it, for its payer's eyes in the app."""
    en, zh = public_text(bill.description_en, bill.account), public_text(bill.description_zh, bill.account)
    return orders.create_order(
        department=bill.department,
        purpose=PURPOSE,
        purpose_ref=str(bill.id),
        lines=[orders.Line("bill", en[:200], zh[:100], bill.amount_cents)],
        description_en=en,
        description_zh=zh,
        created_by=created_by,
        idempotency_key=key,
        payer=bill.resident,
        expires_in=_order_expiry(bill.due_on),
        metadata={"bill_number": bill.bill_number, **(bill.metadata or {})},
        supersedes=supersedes,
    )


def _resident_for(hkid_hash: str) -> Resident | None:
    return Resident.objects.filter(hkid_hash=hkid_hash).first()


def post_bill(
    system: PaymentSystem,
    *,
    bill_number: str,
    hkid: str,
    description_en: str,
    description_zh: str,
    amount_cents: int,
    bill_date: dt.date,
    due_date: dt.date,
    account: str = "",
    metadata: dict | None = None,
) -> Bill:
    """Post a bill of ``system``'s department to the resident whose HKID number is ``hkid``
    (any spelling; kept only as its keyed hash). Its payment order is made with it.

    :raises DomainError: ``hkid_format``, ``hkid_check_digit`` (``field`` ``payer.hkid``),
        ``due_date_invalid`` (422), ``bill_exists`` (409: the bill number is taken)."""
    try:
        canonical = hkid_rules.normalize(hkid)
    except DomainError as exc:
        exc.field = "payer.hkid"
        raise
    if due_date < bill_date:
        raise errors_api.DueDateInvalid()
    hkid_hash = lookup_hash(canonical)
    del canonical
    with transaction.atomic():
        if Bill.objects.filter(department=system.department, bill_number=bill_number).exists():
            raise errors_api.BillExists(bill_number=bill_number)
        bill = Bill(
            id=uuid.uuid4(),
            department=system.department,
            department_name_en=system.department_name_en,
            department_name_zh=system.department_name_zh,
            bill_number=bill_number,
            account=account,
            payer_hkid_hash=hkid_hash,
            resident=_resident_for(hkid_hash),
            description_en=description_en,
            description_zh=description_zh,
            amount_cents=amount_cents,
            issued_on=bill_date,
            due_on=due_date,
            source=BillSource.API,
            metadata=metadata or {},
            created_by=caller(system),
        )
        bill.order = _new_order(bill, created_by=bill.created_by, key=f"bill:{bill.id}")
        bill.save(force_insert=True)
    return bill


def bill_of(system: PaymentSystem, bill_id) -> Bill:
    """:raises DomainError: ``bill_unknown`` (also another department's)."""
    try:
        pk = uuid.UUID(str(bill_id))
    except ValueError:
        raise errors_api.BillUnknown() from None
    bill = Bill.objects.select_related("order").filter(pk=pk, department=system.department).first()
    if bill is None:
        raise errors_api.BillUnknown()
    return bill


def bills_of(system: PaymentSystem, *, state: str = "", limit: int = 100, offset: int = 0) -> list[Bill]:
    qs = Bill.objects.select_related("order").filter(department=system.department)
    if state:
        qs = qs.filter(state=state)
    return list(qs.order_by("-created_at")[offset : offset + limit])


def state_of(bill: Bill) -> str:
    """The bill's state as the resident and the department see it: ``paid`` as soon as its
    order is (before the purpose's task has run)."""
    if bill.state == BillState.OPEN and bill.order.state in PAID_STATES:
        return BillState.PAID
    return bill.state


def balance_cents(bill: Bill) -> int:
    """What is still to pay (HK$ cents): the amount less what reached the order (nothing once
    the bill is settled)."""
    if state_of(bill) != BillState.OPEN:
        return 0
    return max(bill.amount_cents - bill.order.amount_received_cents, 0)


def _settle(bill: Bill, state: str, *, actor_kind: str, actor_id: str, reason: str) -> Bill:
    """Close a locked open bill as ``state`` and cancel its open order (no more money taken); a
    part-paid order expires and what it received is refunded (``purpose_closed``)."""
    if state_of(bill) != BillState.OPEN:
        raise errors_api.BillNotOpen(state=BillState(state_of(bill)).label)
    bill.state, bill.settled_at = state, timezone.now()
    bill.save(update_fields=["state", "settled_at", "updated_at"])
    order = PaymentOrder.objects.select_for_update().get(pk=bill.order_id)
    if order.state in OPEN_STATES:
        orders.move(order, "to_cancelled", actor_kind, actor_id, reason)
        order.save(update_fields=["state", "updated_at"])
    elif order.state == OrderState.PARTIALLY_PAID:
        orders.move(order, "to_expired", actor_kind, actor_id, reason)
        order.save(update_fields=["state", "updated_at"])
        surplus.refund_due(order, "purpose_closed")
    return bill


def settle_elsewhere(system: PaymentSystem, bill_id) -> Bill:
    """The department says the bill was paid another way (its own counter, a statement from
    another channel): ``paid_elsewhere``; its order is cancelled.

    :raises DomainError: ``bill_unknown``, ``bill_not_open`` (409)."""
    with transaction.atomic():
        bill = Bill.objects.select_for_update().select_related("order").get(pk=bill_of(system, bill_id).pk)
        return _settle(
            bill, BillState.PAID_ELSEWHERE, actor_kind=ActorKind.API, actor_id=caller(system), reason="paid_elsewhere"
        )


def withdraw(system: PaymentSystem, bill_id) -> Bill:
    """The department withdraws the bill: ``cancelled``; its order is cancelled.

    :raises DomainError: ``bill_unknown``, ``bill_not_open`` (409)."""
    with transaction.atomic():
        bill = Bill.objects.select_for_update().select_related("order").get(pk=bill_of(system, bill_id).pk)
        return _settle(bill, BillState.CANCELLED, actor_kind=ActorKind.API, actor_id=caller(system), reason="withdrawn")


def on_paid(order: PaymentOrder) -> None:
    """The purpose's ``on_paid`` (a background task after the order is paid; idempotent): the
    bill is ``paid`` and names the order that paid it (a late payment of an expired order
    too). A bill already closed another way (withdrawn, paid elsewhere, or paid by another
    order) keeps its state and the money goes back (:func:`.surplus.refund_due`,
    ``purpose_closed``; review finding 8)."""
    with transaction.atomic():
        bill = Bill.objects.select_for_update().filter(pk=order.purpose_ref).first()
        if bill is None:
            return
        if bill.state != BillState.OPEN:
            if not (bill.state == BillState.PAID and bill.order_id == order.pk):
                surplus.refund_due(order, "purpose_closed")
            return
        bill.state, bill.settled_at, bill.order = BillState.PAID, order.paid_at or timezone.now(), order
        bill.save(update_fields=["state", "settled_at", "order", "updated_at"])


def on_reversed(order: PaymentOrder) -> None:
    """The purpose's ``on_reversed`` (a background task once the bank reversed the transfer that
    paid ``order``; idempotent): the bill it paid is ``open`` again, its balance due, payable
    through the same order (or its renewal once that expired). A bill closed another way is
    left."""
    with transaction.atomic():
        bill = Bill.objects.select_for_update().filter(pk=order.purpose_ref, state=BillState.PAID, order=order).first()
        if bill is None:
            return
        bill.state, bill.settled_at = BillState.OPEN, None
        bill.save(update_fields=["state", "settled_at", "updated_at"])


def describe(order: PaymentOrder) -> dict:
    """The purpose's ``describe``: the bill, and the app's page of it."""
    return {
        "title_en": order.description_en,
        "title_zh": order.description_zh,
        "url": f"/app/#bills/{order.purpose_ref}",
    }


# --- the resident's side ---
def bills_for(resident: Resident) -> list[Bill]:
    """The resident's bills, newest first: theirs by account, and those posted to their HKID
    number (bound to the account on the way)."""
    Bill.objects.filter(resident__isnull=True, payer_hkid_hash=resident.hkid_hash).update(resident=resident)
    return list(
        Bill.objects.select_related("order")
        .filter(Q(resident=resident) | Q(payer_hkid_hash=resident.hkid_hash))
        .order_by("-issued_on", "-created_at")
    )


def bill_for(resident: Resident, bill_id) -> Bill:
    """:raises DomainError: ``bill_unknown`` (also another resident's)."""
    try:
        pk = uuid.UUID(str(bill_id))
    except ValueError:
        raise errors_api.BillUnknown() from None
    bill = (
        Bill.objects.select_related("order")
        .filter(Q(resident=resident) | Q(payer_hkid_hash=resident.hkid_hash), pk=pk)
        .first()
    )
    if bill is None:
        raise errors_api.BillUnknown()
    return bill


def payable_order(bill: Bill) -> PaymentOrder:
    """The order that pays an open bill now: its own while it can be paid (also part paid: its
    QR code asks for the balance), or — when that expired — a new one for the same bill that
    supersedes it (the old one, paid late after all, still pays the bill and cancels the new;
    one that expired part paid has its money refunded and the new one asks for the bill's
    amount: :func:`tungban.payments.services.orders.expire_order`).

    :raises DomainError: ``bill_not_open`` (409)."""
    with transaction.atomic():
        bill = Bill.objects.select_for_update().select_related("order").get(pk=bill.pk)
        if state_of(bill) != BillState.OPEN:
            raise errors_api.BillNotOpen(state=BillState(state_of(bill)).label)
        order = bill.order
        if order.payable_now:
            return order
        orders.expire_order(order)  # lapsed, not yet swept: expired now (a part paid one refunded)
        count = PaymentOrder.objects.filter(purpose=PURPOSE, purpose_ref=str(bill.id)).count()
        bill.order = _new_order(bill, created_by=bill.created_by, key=f"bill:{bill.id}:{count + 1}", supersedes=order)
        bill.save(update_fields=["order", "updated_at"])
        return bill.order


# --- the water bill from the exchange gateway ---
def _cents(text: str) -> int | None:
    try:
        return int(Decimal(text) * 100)
    except (InvalidOperation, TypeError):
        return None


def _wsd_names() -> tuple[str, str]:
    from tungban.exchange.models import DataProduct

    product = DataProduct.objects.select_related("provider").filter(pk=WATER_BILL).first()
    if product is None:
        return "Water Supplies Department", "水務署"
    return product.provider.name_en, product.provider.name_zh


def keep_water_bill(resident: Resident, data: dict) -> Bill | None:
    """Keep the water bill WSD delivered (``wsd.water-bill.v1``: ``account_number``,
    ``balance_hkd``, ``bill_date``, ``due_date``) as the resident's bill ``<account>-<bill
    date>``: made once, with its order, when something is due. Open water bills of the same
    account from earlier bill dates are closed (``cancelled``: the new bill's balance includes
    what they still asked for); when nothing is due the account's open bills are
    ``paid_elsewhere`` (WSD's own statement shows them settled). Returns the current bill, or
    None when nothing is due."""
    account, due = data["account_number"], _cents(data["balance_hkd"])
    bill_date, due_date = dt.date.fromisoformat(data["bill_date"]), dt.date.fromisoformat(data["due_date"])
    number = f"{account}-{bill_date.isoformat()}"
    with transaction.atomic():
        current = (
            Bill.objects.select_for_update().select_related("order").filter(department=WSD, bill_number=number).first()
        )
        others = (
            Bill.objects.select_for_update()
            .select_related("order")
            .filter(
                department=WSD, source=BillSource.EXCHANGE, payer_hkid_hash=resident.hkid_hash, state=BillState.OPEN
            )
            .exclude(bill_number=number)
        )
        for old in others:
            if old.bill_number.split("-", 1)[0] == account and state_of(old) == BillState.OPEN:
                _settle(old, BillState.CANCELLED, actor_kind=ActorKind.SYSTEM, actor_id=WATER_BILL, reason="superseded")
        if due is None or due <= 0:
            if current is not None and state_of(current) == BillState.OPEN:
                _settle(
                    current,
                    BillState.PAID_ELSEWHERE,
                    actor_kind=ActorKind.SYSTEM,
                    actor_id=WATER_BILL,
                    reason="paid_elsewhere",
                )
            return current
        if current is not None:
            return current
        name_en, name_zh = _wsd_names()
        bill = Bill(
            id=uuid.uuid4(),
            department=WSD,
            department_name_en=name_en,
            department_name_zh=name_zh,
            bill_number=number,
            account=account,
            payer_hkid_hash=resident.hkid_hash,
            resident=resident,
            description_en=f"Water bill of {bill_date.isoformat()}, account {account}",
            description_zh=f"{bill_date.year}年{bill_date.month}月{bill_date.day}日水費單（帳戶 {account}）",
            amount_cents=due,
            issued_on=bill_date,
            due_on=due_date,
            source=BillSource.EXCHANGE,
            created_by=f"exchange:{WATER_BILL}",
        )
        bill.order = _new_order(bill, created_by=bill.created_by, key=f"bill:{bill.id}")
        bill.save(force_insert=True)
        return bill


def water_bill_item(resident: Resident, data: dict) -> dict | None:
    """The water-bill card's extra item (``exchange.signals.water_bill_shown``): "Pay" with a
    link to the bill in the app while something is due and unpaid; "Paid" once the platform
    received it (before WSD's next bill shows it); nothing otherwise."""
    bill = keep_water_bill(resident, data)
    if bill is None:
        return None
    state = state_of(bill)
    if state == BillState.OPEN:
        return {
            "label": _("Pay"),
            "value": _("Pay %(amount)s by FPS") % {"amount": orders.hkd(balance_cents(bill))},
            "href": f"/app/#bills/{bill.id}",
        }
    if state == BillState.PAID:
        when = timezone.localtime(bill.settled_at or bill.order.paid_at or timezone.now()).date()
        return {
            "label": _("Paid"),
            "value": _("Paid through tungban on %(date)s") % {"date": when.isoformat()},
            "href": f"/app/#bills/{bill.id}",
        }
    return None
