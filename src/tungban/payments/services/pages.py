"""What the payer's pages and the app show of an order (the payment page of an API-created
payment, a bill in the app): amounts in words the payer reads, the FPS QR code as an image, the
reference grouped for typing, the bank-app link, and the card option."""

from __future__ import annotations

import urllib.parse

from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .. import fps, purposes
from ..constants import OPEN_STATES, PAID_STATES, OrderState
from ..models import PaymentOrder
from ..reference import grouped
from . import card, orders
from .resources import next_url

#: What the payment page says of the last card attempt (``?card=<status>`` after the return).
CARD_OUTCOMES = {
    "declined": lambda: _("Your card was declined. Nothing was taken: try another card, or pay by FPS."),
    "abandoned": lambda: _("The card payment was not completed. Nothing was taken: try again, or pay by FPS."),
    "expired": lambda: _("The card payment took too long. Nothing was taken: try again, or pay by FPS."),
    "error": lambda: _("The card payment service failed. Nothing was taken: try again, or pay by FPS."),
    "pending": lambda: _("We are waiting for the card payment service to confirm your payment."),
}


def bank_link(payload: str, return_url: str = "") -> str:
    """The demo bank's "pay this QR code" page with ``payload`` (``GET /pay?qr=…&return=…`` of
    examples/bank: the "Pay with your bank app" link; on a phone, a banking app registered for
    the link would open instead), coming back to ``return_url`` when given."""
    query = {"qr": payload, **({"return": return_url} if return_url else {})}
    return f"{settings.TUNGBAN_PAYMENTS_BANK_URL}/pay?" + urllib.parse.urlencode(query)


def _zh() -> bool:
    return (get_language() or "").startswith("zh")


def lines(order: PaymentOrder) -> list[dict]:
    """The order's fee lines for display: ``[{"label", "quantity", "amount"}]``."""
    zh = _zh()
    return [
        {
            "label": (line.get("label_zh") if zh else line.get("label_en")) or line.get("code", ""),
            "quantity": line.get("quantity", 1),
            "amount": orders.hkd(int(line.get("total_cents", 0))),
        }
        for line in order.lines or []
    ]


def fps_block(order: PaymentOrder, *, return_url: str = "") -> dict:
    """``{"payload", "qr", "reference", "reference_grouped", "bank_link", "expires_at"}`` of an
    order that takes FPS payments (``qr``: an SVG ``data:`` URI for ``<img src>``)."""
    payload = orders.fps_payload(order)
    return {
        "payload": payload,
        "qr": fps.svg_data_uri(payload),
        "reference": order.reference,
        "reference_grouped": grouped(order.reference),
        "bank_link": bank_link(payload, return_url),
        "expires_at": order.expires_at,
    }


def order_context(order: PaymentOrder, *, card_outcome: str = "", error: str = "") -> dict:
    """The payment page's context."""
    payable = order.state in OPEN_STATES and order.expires_at > timezone.now()
    described = purposes.describe(order)
    attempt = card.last_attempt(order)
    notice = ""
    if card_outcome in CARD_OUTCOMES and order.state not in PAID_STATES:
        notice = CARD_OUTCOMES[card_outcome]()
    return {
        "order": order,
        "title": described["title_zh"] if _zh() else described["title_en"],
        "amount": orders.hkd(order.amount_cents),
        "lines": lines(order),
        "paid": order.state in PAID_STATES,
        "payable": payable,
        "expired": order.state == OrderState.EXPIRED or (order.state in OPEN_STATES and not payable),
        "state_label": OrderState(order.state).label,
        "fps": fps_block(order, return_url=next_url(order)) if payable else None,
        "card_available": payable and card.available(),
        "last_attempt": attempt,
        "notice": notice,
        "error": error,
        "return_url": order.return_url if _safe_return(order.return_url) else "",
    }


def _safe_return(url: str) -> bool:
    """A link back to the service: an absolute http(s) URL (checked when the department gave it)
    or a path on the platform (an e-services application's page)."""
    return url.startswith(("https://", "http://")) or (url.startswith("/") and not url.startswith("//"))
