"""The departments' side of e-payment (issue 18, "API and webhooks" and "Bills in the app"),
and card / e-wallet payments:

- :class:`PaymentSystem`: a department's system allowed to call ``/api/v1/payments/…``.
- :class:`PaymentWebhookEndpoint` / :class:`PaymentWebhookDelivery`: its signed webhooks and
  their delivery log (the shared implementation: :mod:`tungban.notify.webhooks`).
- :class:`Bill`: what a department bills a resident for (posted through the API, or the water
  bill the Water Supplies Department delivers through the exchange gateway), with the payment
  order that pays it.
- :class:`CardPayment`: one attempt to pay an order through the payment service provider.
- :class:`MockPspPayment`: the mock PSP's own record (tests and the demo only).

Imported by :mod:`tungban.payments.models` (Django finds the models there).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from tungban.core.fields import EncryptedTextField
from tungban.notify.webhooks import WebhookDeliveryBase, WebhookEndpointBase

from .constants import CURRENCY

# Models of tungban.payments.models by name: that module imports this one.
PaymentOrder = "payments.PaymentOrder"
PaymentEvent = "payments.PaymentEvent"


class PaymentSystem(models.Model):
    """A department's own system: an OpenID Connect client (``client_credentials`` with
    ``private_key_jwt``, scope ``payments``) acting for one department (``department``: its
    code, e.g. ``WSD``). It creates, reads and cancels that department's payments and bills
    and registers webhook endpoints; what it does is recorded as actor ``api``,
    ``client:<client_id>``."""

    client = models.OneToOneField(
        "oidc.Client",
        on_delete=models.CASCADE,
        related_name="payments_system",
        verbose_name=_("OpenID Connect client"),
    )
    department = models.CharField(_("department"), max_length=10)
    department_name_en = models.CharField(_("department name in English"), max_length=200, blank=True)
    department_name_zh = models.CharField(_("department name in Chinese"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("department payment system")
        verbose_name_plural = _("department payment systems")

    def __str__(self) -> str:
        return f"{self.client_id} @ {self.department}"


class PaymentWebhookEndpoint(WebhookEndpointBase):
    """Where a department's system hears about its department's payments (``events``: names of
    :data:`tungban.payments.services.webhooks.EVENT_TYPES`)."""

    department = models.CharField(_("department"), max_length=10, db_index=True)

    class Meta:
        verbose_name = _("payment webhook endpoint")
        verbose_name_plural = _("payment webhook endpoints")
        ordering = ["created_at"]


class PaymentWebhookDelivery(WebhookDeliveryBase):
    """One payment event sent to one endpoint. ``sequence``: the event's number among its
    order's events (1, 2, …), in the body too, so a receiver that gets them out of order keeps
    the highest."""

    endpoint = models.ForeignKey(
        PaymentWebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint")
    )
    order = models.ForeignKey(PaymentOrder, on_delete=models.CASCADE, related_name="+", verbose_name=_("order"))
    event = models.ForeignKey(PaymentEvent, on_delete=models.CASCADE, related_name="+", verbose_name=_("event"))
    sequence = models.PositiveIntegerField(_("sequence number"))

    class Meta:
        verbose_name = _("payment webhook delivery")
        verbose_name_plural = _("payment webhook deliveries")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="payments_one_delivery_per_event")]


class BillState(models.TextChoices):
    OPEN = "open", _("Unpaid")
    PAID = "paid", _("Paid")
    PAID_ELSEWHERE = "paid_elsewhere", _("Paid elsewhere")
    CANCELLED = "cancelled", _("Withdrawn by the department")


class BillSource(models.TextChoices):
    API = "api", _("Posted by the department")
    EXCHANGE = "exchange", _("Through the consented data exchange gateway")


class Bill(models.Model):
    """A bill a department sends a resident (issue 18, "Bills in the app").

    ``department`` (code) and ``bill_number`` (the department's own number, unique per
    department) identify it as the department knows it; ``account`` is the resident's account
    with the department (e.g. the water account; encrypted). The payer is named by
    ``payer_hkid_hash`` (the keyed hash of the HKID number, as ``Resident.hkid_hash``: the number
    itself is never stored) and, once known, ``resident``. ``amount_cents`` (HK$ cents) is what
    the bill asks for; ``order`` the payment order that pays it (its bill reference is what a
    printed bill's QR code and the bank statement carry). ``state``: open until the order is paid
    (``paid``), the department says it was paid another way (``paid_elsewhere``: e.g. the next
    water bill shows it settled) or withdraws it (``cancelled``)."""

    id = models.UUIDField(_("bill id"), primary_key=True, default=uuid.uuid4, editable=False)
    department = models.CharField(_("department"), max_length=10)
    department_name_en = models.CharField(_("department name in English"), max_length=200, blank=True)
    department_name_zh = models.CharField(_("department name in Chinese"), max_length=100, blank=True)
    bill_number = models.CharField(_("department's bill number"), max_length=40)
    account = EncryptedTextField(_("account with the department"), blank=True)
    payer_hkid_hash = models.CharField(_("payer (keyed hash of the HKID number)"), max_length=32, db_index=True)
    resident = models.ForeignKey(
        "identity.Resident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="bills",
        verbose_name=_("resident"),
    )
    description_en = models.CharField(_("description in English"), max_length=300)
    description_zh = models.CharField(_("description in Chinese"), max_length=200)
    amount_cents = models.PositiveBigIntegerField(_("amount (HK$ cents)"))
    currency = models.CharField(_("currency"), max_length=3, default=CURRENCY)
    issued_on = models.DateField(_("bill date"))
    due_on = models.DateField(_("payment due date"))
    state = models.CharField(_("state"), max_length=15, choices=BillState.choices, default=BillState.OPEN)
    source = models.CharField(_("arrived"), max_length=10, choices=BillSource.choices)
    order = models.OneToOneField(
        PaymentOrder, on_delete=models.PROTECT, related_name="bill", verbose_name=_("payment order")
    )
    metadata = models.JSONField(_("department's metadata"), default=dict, blank=True)
    created_by = models.CharField(_("created by"), max_length=150)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        ordering = ["-issued_on", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["department", "bill_number"], name="payments_one_bill_per_number")
        ]

    def __str__(self) -> str:
        return f"{self.department} {self.bill_number}"

    @property
    def description(self) -> str:
        from django.utils.translation import get_language

        return self.description_zh if (get_language() or "").startswith("zh") else self.description_en


class CardPaymentStatus(models.TextChoices):
    PENDING = "pending", _("In progress")
    SUCCEEDED = "succeeded", _("Succeeded")
    DECLINED = "declined", _("Declined")
    ABANDONED = "abandoned", _("Abandoned")
    EXPIRED = "expired", _("Expired")
    ERROR = "error", _("Provider error")


class CardPayment(models.Model):
    """One attempt to pay ``order`` on the payment service provider's hosted page:
    ``provider`` (the adapter's name) and ``psp_payment_id`` (the provider's id) identify it
    there; ``status`` is what the provider last said (webhook or query); ``instrument``: card,
    Apple Pay or Google Pay. A declined or abandoned attempt leaves the order payable (another
    card, or FPS)."""

    id = models.UUIDField(_("attempt id"), primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(
        PaymentOrder, on_delete=models.CASCADE, related_name="card_payments", verbose_name=_("order")
    )
    provider = models.CharField(_("payment service provider"), max_length=20)
    psp_payment_id = models.CharField(_("provider's payment id"), max_length=64)
    status = models.CharField(
        _("status"), max_length=10, choices=CardPaymentStatus.choices, default=CardPaymentStatus.PENDING
    )
    instrument = models.CharField(_("paid with"), max_length=12, blank=True)
    failure_code = models.CharField(_("failure code"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("card payment attempt")
        verbose_name_plural = _("card payment attempts")
        constraints = [
            models.UniqueConstraint(fields=["provider", "psp_payment_id"], name="payments_one_attempt_per_psp_id")
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.psp_payment_id}"


class MockPspPayment(models.Model):
    """A payment on the mock PSP's hosted page (:mod:`tungban.payments.psp.mock`; the tests and
    the demo): what the platform asked for, and the outcome the page gave it."""

    id = models.CharField(_("provider's payment id"), max_length=64, primary_key=True)
    reference = models.CharField(_("order reference"), max_length=25)
    amount_cents = models.PositiveBigIntegerField(_("amount (HK$ cents)"))
    currency = models.CharField(_("currency"), max_length=3, default=CURRENCY)
    description = models.CharField(_("description"), max_length=200, blank=True)
    return_url = models.CharField(_("page to return to"), max_length=500)
    language = models.CharField(_("language"), max_length=10, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=CardPaymentStatus.choices, default=CardPaymentStatus.PENDING
    )
    instrument = models.CharField(_("paid with"), max_length=12, blank=True)
    failure_code = models.CharField(_("failure code"), max_length=40, blank=True)
    succeeded_at = models.DateTimeField(_("succeeded at"), null=True, blank=True)
    webhooks_sent = models.PositiveIntegerField(_("webhooks sent"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("mock card payment")
        verbose_name_plural = _("mock card payments")

    def __str__(self) -> str:
        return self.id
