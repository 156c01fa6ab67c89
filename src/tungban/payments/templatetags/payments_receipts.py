"""``{% payment_receipts purpose ref %}`` and ``{% order_receipts order %}``: the e-receipts,
refunds and credit notes of what a resident paid, for the pages that show a payment to its payer
(the application's status page, the payment page). Each signed receipt links to its PDF
(:func:`tungban.payments.receipts.receipt_link`): use these tags only on pages shown to the
payer, behind their login."""

from __future__ import annotations

from django import template

from tungban.payments import receipts, refunds, services
from tungban.payments.models_refunds import ReceiptKind, ReceiptState, RefundState

register = template.Library()


def _rows(orders) -> dict:
    items, refund_rows = [], []
    for order in orders:
        for receipt in receipts.receipts_of_order(order):
            items.append(
                {
                    "number": receipt.number,
                    "label": receipts.label(receipt),
                    "kind": receipt.kind,
                    "ready": receipt.state == ReceiptState.DONE,
                    "void": receipts.void_label(receipt),
                    "href": receipts.receipt_link(receipt) if receipt.state == ReceiptState.DONE else "",
                    "amount": services.hkd(
                        receipt.refund.amount_cents
                        if receipt.kind == ReceiptKind.CREDIT_NOTE
                        else order.amount_received_cents
                    ),
                }
            )
        for refund in refunds.refunds_of(order):
            refund_rows.append(
                {
                    "reference": refund.reference,
                    "amount": services.hkd(refund.amount_cents),
                    "state": refund.state,
                    "state_label": RefundState(refund.state).label,
                }
            )
    # a receipt being sealed by the worker: the page offers "Refresh" (the application's page
    # stops following its state once it is paid; demo walk, pay-walk)
    preparing = any(not item["ready"] and not item["void"] for item in items)
    return {"receipts": items, "refunds": refund_rows, "preparing": preparing}


@register.inclusion_tag("payments/_receipts.html")
def payment_receipts(purpose: str, ref: str) -> dict:
    """For everything paid for ``purpose``/``ref`` (e.g. ``eservices.application`` and an
    application's reference)."""
    return _rows(services.orders_for(purpose, ref))


@register.inclusion_tag("payments/_receipts.html")
def order_receipts(order) -> dict:
    return _rows([order])
