"""The resident's e-receipts and refunds in the app (issue 18: "the receipt appears in the app"):
the personal-assistant card ``payments.receipts`` (registered with :mod:`tungban.wallet.cards`
in ``PaymentsConfig.ready``).

Each signed receipt and credit note is an item linking to its PDF (a short-lived signed link,
:func:`.receipts.receipt_link`: the panel is read with the device's proof, so only the
resident's app gets it); refunds still in progress on the resident's payments are listed with
their state.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from tungban.identity.models import Resident

from . import officers, receipts
from .models_refunds import ReceiptKind, Refund, RefundState

#: At most this many receipts on the card.
CARD_ITEMS = 8


def _money(cents: int) -> str:
    return f"HK${cents // 100:,}.{cents % 100:02d}"


def items(resident: Resident) -> list[dict]:
    """``[{"label", "value", "href"?}]``: refunds in progress first, then receipts, newest first."""
    out = []
    pending = (
        Refund.objects.filter(
            order__payer=resident, state__in=[RefundState.REQUESTED, RefundState.APPROVED, RefundState.EXPORTED]
        )
        .select_related("order")
        .order_by("-requested_at")
    )
    for refund in pending:
        out.append(
            {
                "label": _("Refund %(reference)s") % {"reference": refund.reference},
                "value": f"{_money(refund.amount_cents)} · {RefundState(refund.state).label}",
            }
        )
    for receipt in receipts.receipts_of_resident(resident, limit=CARD_ITEMS):
        order = receipt.order
        if receipt.kind == ReceiptKind.CREDIT_NOTE:
            value = _("%(amount)s refunded") % {"amount": _money(receipt.refund.amount_cents)}
        else:
            value = _("%(amount)s paid to %(department)s") % {
                "amount": _money(order.amount_received_cents),
                "department": officers.department_name(order.department),
            }
        void = receipts.void_label(receipt)
        out.append(
            {
                "label": f"{receipts.label(receipt)} {receipt.number}",
                "value": f"{value} · {void}" if void else value,
                "href": receipts.receipt_link(receipt),
            }
        )
    return out


def receipts_card(resident: Resident) -> dict:
    """The panel card: ``ok`` with the items of :func:`items`, else ``empty``."""
    found = items(resident)
    if not found:
        return {"state": "empty", "message": _("You have no e-receipts yet.")}
    return {
        "state": "ok",
        "items": found,
        "sources": [
            {"department": "tungban 通辦", "product": _("Your e-receipts"), "fetched_at": timezone.now().isoformat()}
        ],
    }
