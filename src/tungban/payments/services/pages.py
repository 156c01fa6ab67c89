"""What the payer's pages and the app show of an order beyond the foundation's FPS step
(:mod:`tungban.payments.web`): the card option of the payment page (:func:`card_option`) and the
FPS block of a bill in the app (:func:`fps_block`)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from .. import fps, web
from ..constants import PAID_STATES
from ..models import PaymentOrder
from ..reference import grouped
from . import card, orders

#: What the payment page says of the last card attempt (``?card=<status>`` after the return).
CARD_OUTCOMES = {
    "declined": lambda: _("Your card was declined. Nothing was taken: try another card, or pay by FPS."),
    "abandoned": lambda: _("The card payment was not completed. Nothing was taken: try again, or pay by FPS."),
    "expired": lambda: _("The card payment took too long. Nothing was taken: try again, or pay by FPS."),
    "error": lambda: _("The card payment service failed. Nothing was taken: try again, or pay by FPS."),
    "pending": lambda: _("We are waiting for the card payment service to confirm your payment."),
}


def card_option(order: PaymentOrder, *, outcome: str = "", error: str = "") -> dict:
    """``{"order", "available", "notice", "error"}``: the card button is shown while a provider is
    configured and ``order`` can be paid; ``notice`` says what became of the last attempt."""
    payable = order.payable_now
    notice = CARD_OUTCOMES[outcome]() if outcome in CARD_OUTCOMES and order.state not in PAID_STATES else ""
    return {"order": order, "available": payable and card.available(), "notice": notice, "error": error}


def fps_block(order: PaymentOrder, *, return_url: str = "") -> dict:
    """``{"payload", "qr", "reference", "reference_grouped", "bank_link", "expires_at"}`` of an
    order that takes FPS payments (the QR code asks for what is still due: the balance of a
    part-paid order) (``qr``: an SVG ``data:`` URI for ``<img src>``;
    ``bank_link``: the bank's page with the payload, coming back to ``return_url``)."""
    payload = orders.fps_payload(order)
    return {
        "payload": payload,
        "qr": fps.svg_data_uri(payload),
        "reference": order.reference,
        "reference_grouped": grouped(order.reference),
        "bank_link": web.bank_link(order, payload, return_url),
        "expires_at": order.expires_at,
    }
