"""The mock payment service provider: a tiny hosted payment page served by the platform itself
(``/psp-mock/…``, only while ``TUNGBAN_PAYMENTS_PSP`` is ``"mock"``: the tests and the demo),
with the failures a real PSP has. Its payments are rows of
:class:`~tungban.payments.models.MockPspPayment` (no state in process memory).

Test card numbers (Stripe's, where they mean the same):

============================  ==================================================================
``4242 4242 4242 4242``       succeeds
``4000 0000 0000 0002``       declined by the issuer (``card_declined``)
``4000 0027 6000 3184``       asks for 3-D Secure: "Complete" succeeds, "Cancel" abandons
any other number              declined (``incorrect_number``)
============================  ==================================================================

"Apple Pay" and "Google Pay" succeed at once (the wallet's own confirmation is not simulated).
"Cancel and go back" abandons.

**Webhooks** (``TUNGBAN_PAYMENTS_MOCK_PSP_WEBHOOKS``): on a final outcome the mock POSTs a signed
event to the platform's ``/pay/psp/mock/webhook`` — ``after_redirect`` (default: queued
as a background task, so the resident's browser usually comes back first, as with real PSPs),
``before_redirect`` (sent before the browser is redirected), ``twice`` (before, and again by the
task: a duplicate), ``never`` (lost: the platform must learn it from the query on return).
Body ``{"id": event id, "type": "payment.<status>", "payment": {"id", "reference", "status",
"amount", "currency", "instrument", "failure_code", "succeeded_at"}}``; header
``Mock-Psp-Signature: t=<Unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`` (the
scheme of :mod:`tungban.notify.webhooks`) under ``TUNGBAN_PAYMENTS_PSP_SECRET``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import time
from collections.abc import Mapping

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from tungban.core import jobs
from tungban.notify import webhooks as signed

from .base import FINAL, PaymentResult, Provider, PspError, Session, SignatureInvalid

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Mock-Psp-Signature"
#: Card number → outcome ("3ds": a challenge first).
TEST_CARDS = {
    "4242424242424242": "succeeded",
    "4000000000000002": "declined",
    "4000002760003184": "3ds",
}
DELIVERY_MODES = ("after_redirect", "before_redirect", "twice", "never")


def _model():
    from tungban.payments.models import MockPspPayment

    return MockPspPayment


def _result(payment, event_id: str = "") -> PaymentResult:
    return PaymentResult(
        payment_id=payment.id,
        reference=payment.reference,
        status=payment.status,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        instrument=payment.instrument,
        failure_code=payment.failure_code,
        succeeded_at=payment.succeeded_at,
        event_id=event_id,
    )


class MockProvider(Provider):
    """The adapter for the mock PSP (in process)."""

    name = "mock"

    def create_session(
        self, *, reference: str, amount_cents: int, currency: str, description: str, return_url: str, language: str
    ) -> Session:
        payment = _model().objects.create(
            id="mock_" + secrets.token_hex(12),
            reference=reference,
            amount_cents=amount_cents,
            currency=currency,
            description=description[:200],
            return_url=return_url,
            language=language[:10],
        )
        url = settings.TUNGBAN_ISSUER.rstrip("/") + reverse("pay:mock-psp", args=[payment.id])
        return Session(payment_id=payment.id, next_url=url)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> PaymentResult:
        header = headers.get(SIGNATURE_HEADER, "")
        if not signed.verify(settings.TUNGBAN_PAYMENTS_PSP_SECRET, header, body):
            raise SignatureInvalid("the Mock-Psp-Signature header does not verify")
        try:
            event = json.loads(body)
            p = event["payment"]
            succeeded_at = dt.datetime.fromisoformat(p["succeeded_at"]) if p.get("succeeded_at") else None
            return PaymentResult(
                payment_id=str(p["id"]),
                reference=str(p["reference"]),
                status=str(p["status"]),
                amount_cents=int(p["amount"]),
                currency=str(p["currency"]),
                instrument=str(p.get("instrument") or ""),
                failure_code=str(p.get("failure_code") or ""),
                succeeded_at=succeeded_at,
                event_id=str(event["id"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise PspError(f"unreadable webhook: {exc}") from None

    def query(self, payment_id: str) -> PaymentResult:
        payment = _model().objects.filter(pk=payment_id).first()
        if payment is None:
            raise PspError(f"no payment {payment_id!r}")
        return _result(payment)


# --- the hosted page's decisions ---
def finish(payment_id: str, status: str, *, instrument: str = "", failure_code: str = ""):
    """Record the outcome of the mock payment ``payment_id`` (once: a final payment keeps its
    first outcome) and send its webhook as ``TUNGBAN_PAYMENTS_MOCK_PSP_WEBHOOKS`` says. Returns
    the payment."""
    if status not in FINAL:
        raise ValueError(status)
    with transaction.atomic():
        payment = _model().objects.select_for_update().get(pk=payment_id)
        if payment.status in FINAL:
            return payment
        payment.status, payment.instrument, payment.failure_code = status, instrument, failure_code
        payment.succeeded_at = timezone.now() if status == "succeeded" else None
        payment.save(update_fields=["status", "instrument", "failure_code", "succeeded_at", "updated_at"])
        mode = settings.TUNGBAN_PAYMENTS_MOCK_PSP_WEBHOOKS
        event_id = "evt_" + secrets.token_hex(12)
        if mode in ("after_redirect", "twice"):
            jobs.enqueue(webhook_task, payment.id, event_id)
    if mode in ("before_redirect", "twice"):
        send_webhook(payment.id, event_id)
    return payment


def webhook_body(payment, event_id: str) -> bytes:
    """The event the mock sends for ``payment`` (JSON bytes)."""
    return json.dumps(
        {
            "id": event_id,
            "type": f"payment.{payment.status}",
            "payment": {
                "id": payment.id,
                "reference": payment.reference,
                "status": payment.status,
                "amount": payment.amount_cents,
                "currency": payment.currency,
                "instrument": payment.instrument,
                "failure_code": payment.failure_code,
                "succeeded_at": payment.succeeded_at.isoformat() if payment.succeeded_at else None,
            },
        },
        separators=(",", ":"),
    ).encode()


def send_webhook(payment_id: str, event_id: str) -> int | None:
    """POST the signed event to the platform's webhook endpoint; returns the HTTP status (None:
    no answer). Counted on the payment (``webhooks_sent``)."""
    payment = _model().objects.get(pk=payment_id)
    body = webhook_body(payment, event_id)
    url = settings.TUNGBAN_ISSUER.rstrip("/") + reverse("pay:psp-webhook", args=[MockProvider.name])
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signed.sign(settings.TUNGBAN_PAYMENTS_PSP_SECRET, int(time.time()), body),
    }
    try:
        status = requests.post(url, data=body, headers=headers, timeout=10, allow_redirects=False).status_code
    except requests.RequestException as exc:
        log.warning("mock PSP: webhook for %s not delivered: %s", payment_id, type(exc).__name__)
        status = None
    _model().objects.filter(pk=payment_id).update(webhooks_sent=F("webhooks_sent") + 1)
    return status


@task()
def webhook_task(payment_id: str, event_id: str, attempt: int = 1) -> int | None:
    """Background task: :func:`send_webhook`, retried with ``core.jobs``' back-off while the
    platform does not answer 2xx (as a PSP retries its webhooks)."""
    status = send_webhook(payment_id, event_id)
    if (status is None or status >= 300) and jobs.can_retry(attempt):
        jobs.enqueue(webhook_task, payment_id, event_id, attempt + 1, delay=jobs.retry_delay(attempt))
    return status
