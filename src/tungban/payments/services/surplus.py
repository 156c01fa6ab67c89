"""Money that must go back (review findings 5, 8 and 14): whenever the platform holds money an
order should not keep, a refund is opened at once through :func:`tungban.payments.refunds.request_refund`
(requested by the system, ``requested_via = "payments:<code>[:<end-to-end id>]"``), so it is on
the officers' refund queue like any other: they approve it (two people, three above the
threshold) and it leaves in the day's ``pain.001`` batch. Nothing is only logged.

=====================  =================================================================
code                   when (the amount refunded)
=====================  =================================================================
``expired_part_paid``  a ``partially_paid`` order expires (all it received); a credit to an
                       order that expired holding money (that credit)
``overpaid``           a credit takes the amount received above the amount due (the
                       excess; e.g. a card and an FPS transfer both paid the order)
``renewal_paid``       a credit to an expired order whose renewal chain was paid meanwhile,
                       or to a part-paid order of a chain another order paid (the money)
``purpose_closed``     the purpose's ``on_paid`` finds nothing left to pay (an application
                       withdrawn, or paid by another order; a bill closed): all of it
=====================  =================================================================

Each refund is opened once per order and code (and per transfer for the codes a transfer
causes): running a step again (a task's retry) returns the refund already open. The
reasons are stored in both languages, as an officer's are.
"""

from __future__ import annotations

from django.db import transaction

from .. import refunds
from ..constants import ActorKind
from ..models import CreditTransfer, PaymentEvent, PaymentOrder
from ..models_refunds import Refund

#: ``code -> (reason_en, reason_zh)`` of the refunds opened here.
REASONS = {
    "expired_part_paid": (
        "The payment request expired before it was paid in full: the money received is returned.",
        "繳費要求在全數繳付前已過期：退還已收款項。",
    ),
    "overpaid": (
        "More than the amount due was received (for example by card and by FPS): the excess is returned.",
        "所收款項多於應繳金額（例如以信用卡及轉數快各付一次）：退還多付款項。",
    ),
    "renewal_paid": (
        "Another payment request for the same thing was paid: this payment is returned.",
        "同一事項的另一繳費要求已獲繳付：退還此筆款項。",
    ),
    "purpose_closed": (
        "What this payment was for no longer needs it (withdrawn, closed or already paid): it is returned.",
        "此款項所繳付的事項已無需付款（已撤回、已結束或已繳付）：退還款項。",
    ),
}


def refund_due(
    order: PaymentOrder, code: str, *, amount_cents: int | None = None, transfer: CreditTransfer | None = None
) -> Refund | None:
    """Open the refund of ``amount_cents`` (HK$ cents; default all that can still be refunded,
    and never more) of ``order`` for reason ``code`` (:data:`REASONS`), in the caller's
    transaction, and record it as a :class:`~tungban.payments.models.PaymentEvent`
    (``refund_due:<code>``). ``transfer``: the credit whose money goes back. Returns the refund,
    the one already opened for the same order, code and transfer, or ``None`` when nothing is
    left to refund.

    :raises KeyError: an unknown ``code`` (a programming error).
    """
    reason_en, reason_zh = REASONS[code]
    via = f"payments:{code}" + (f":{transfer.end_to_end_id}" if transfer is not None else "")
    with transaction.atomic():
        order = PaymentOrder.objects.select_for_update().get(pk=order.pk)
        known = Refund.objects.filter(order=order, requested_via=via[:150]).first()
        if known is not None:
            return known
        available = refunds.amount_available(order)
        amount = available if amount_cents is None else min(amount_cents, available)
        if amount <= 0:
            return None
        refund = refunds.request_refund(
            order,
            None,
            amount_cents=amount,
            amount_available=None,
            reason_en=reason_en,
            reason_zh=reason_zh,
            system=via,
            transfer=transfer,
        )
        PaymentEvent.objects.create(
            order=order,
            from_state=order.state,
            to_state=order.state,
            actor_kind=ActorKind.SYSTEM,
            actor_id="payments",
            reason=f"refund_due:{code} {refund.reference} {amount}"[:300],
        )
    return refund
