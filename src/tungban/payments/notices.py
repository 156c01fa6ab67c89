"""Telling the payer about a refund (issue 18: "The resident sees refund status on the order and
gets a notification"), through the platform's notifications (:mod:`tungban.notify`): the app's
inbox and a push to the bound phone, signed by the platform.

The sender ``payments`` ("tungban e-Payment") addresses residents by the pairwise ``sub`` of
the OpenID client ``TUNGBAN_PAYMENTS_NOTIFY_CLIENT`` (the e-services portal by default: the
service the resident paid through). It is made on first use with :data:`TEMPLATES`; as with
e-services' messages, only the references and the amount are pushed — the reasons stay on
the payment's page behind the login.

A notification is sent after the step's commit and never undoes it: a payment without a
known payer, or a platform without the client, sends nothing (logged).
"""

from __future__ import annotations

import logging

from django.conf import settings

from tungban.notify import services as notify

log = logging.getLogger(__name__)

SENDER_ID = "payments"
NAME_EN = "tungban e-Payment"
NAME_ZH = "通辦電子繳費"

TEMPLATES = {
    "refund_approved": {
        "subject_en": "A refund of ((amount)) for payment ((reference)) was approved",
        "subject_zh": "付款 ((reference)) 的 ((amount)) 退款已獲批准",
        "body_en": "The department approved a refund of ((amount)) for your payment ((reference)) "
        "(refund ((refund))). The bank returns it to the account you paid from.",
        "body_zh": "部門已批准退還你的付款 ((reference)) 中 ((amount))（退款編號 ((refund))）。銀行會把款項退回你付款的戶口。",
    },
    "refund_completed": {
        "subject_en": "((amount)) was refunded for payment ((reference))",
        "subject_zh": "付款 ((reference)) 已退款 ((amount))",
        "body_en": "The refund ((refund)) of ((amount)) for your payment ((reference)) was paid. "
        "Its credit note is in your app.",
        "body_zh": "你的付款 ((reference)) 的退款 ((refund))（((amount))）已退回。退款通知書已放在應用程式內。",
    },
}


def ensure_sender():
    """The ``payments`` sender with :data:`TEMPLATES` (made or updated; idempotent), or
    ``None`` when the client ``TUNGBAN_PAYMENTS_NOTIFY_CLIENT`` does not exist."""
    from tungban.oidc.models import Client

    client_id = settings.TUNGBAN_PAYMENTS_NOTIFY_CLIENT
    if not Client.objects.filter(client_id=client_id).exists():
        return None
    sender = notify.create_sender(SENDER_ID, NAME_EN, NAME_ZH, client_id)
    notify.ensure_templates(sender, TEMPLATES)
    return sender


def refund_changed(refund_id, event: str) -> None:
    """Send the payer the message of ``event`` (a :data:`TEMPLATES` name) about the refund
    (other events send nothing)."""
    from .models_refunds import Refund

    if event not in TEMPLATES:
        return
    refund = Refund.objects.select_related("order", "order__payer").filter(pk=refund_id).first()
    if refund is None or refund.order is None or refund.order.payer is None:
        return
    try:
        sender = ensure_sender()
        if sender is None:
            log.warning("No client %s: refund %s not notified", settings.TUNGBAN_PAYMENTS_NOTIFY_CLIENT, refund)
            return
        cents = refund.amount_cents
        notify.send_to_resident(
            sender,
            notify.template_named(sender, event),
            refund.order.payer,
            {
                "amount": f"HK${cents // 100:,}.{cents % 100:02d}",
                "reference": refund.order.reference,
                "refund": refund.reference,
            },
            reference=refund.reference,
        )
    except Exception:  # noqa: BLE001 - telling the payer never undoes the refund's step
        log.exception("Could not notify the payer of refund %s (%s)", refund.reference, event)
