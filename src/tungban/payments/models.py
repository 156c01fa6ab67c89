"""e-Payment records (issue 18).

- :class:`FeeItem` / :class:`FeeVersion`: the fee schedule, loaded only from the files in
  ``fees/`` by :func:`tungban.payments.services.load_fees` (``fees/README.md``). A version never
  changes once loaded: a new amount is a new version with a later ``effective_from``.
- :class:`PaymentOrder`: what a payer owes, with a bill reference carried in the FPS QR code;
  its ``state`` changes only through the transitions below (``FSMField(protected=True)``),
  each called by :mod:`tungban.payments.services`, which records a :class:`PaymentEvent` in
  the same transaction.
- :class:`CreditTransfer`: one credit to the government's collection account, whatever told
  the platform about it (the bank's notification, a ``camt.054``, a ``camt.053`` statement
  line, a card provider, a counter): the ISO 20022 end-to-end id is unique, so one transfer is
  recorded — and paid — once.
- :class:`BankMessage`: every signed message received from a bank, by its message id (a
  replay is refused).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from tungban.core.fields import EncryptedTextField
from tungban.identity.models import Resident

from .constants import (
    CURRENCY,
    FINISHED_STATES,
    OPEN_STATES,
    PAID_STATES,
    PAYABLE_STATES,
    ActorKind,
    CreditSource,
    MatchStatus,
    Method,
    OrderState,
)


class FeeItem(models.Model):
    """A fee a department charges for a service: ``department`` (code, e.g. ``FEHD``),
    ``service`` (the e-services catalogue's slug) and ``code`` (the catalogue's fee item code)
    are plain strings, so the schedule stands without the catalogue."""

    department = models.CharField(_("department"), max_length=10)
    service = models.CharField(_("service id"), max_length=80)
    code = models.CharField(_("fee item code"), max_length=40)
    label_en = models.CharField(_("name in English"), max_length=200)
    label_zh = models.CharField(_("name in Chinese"), max_length=100)
    source_path = models.CharField(_("source file"), max_length=300)

    class Meta:
        verbose_name = _("fee item")
        verbose_name_plural = _("fee items")
        ordering = ["department", "service", "code"]
        constraints = [
            models.UniqueConstraint(fields=["department", "service", "code"], name="payments_one_fee_item_per_code")
        ]

    def __str__(self) -> str:
        return f"{self.department}/{self.service}/{self.code}"


class FeeVersion(models.Model):
    """The amount of a :class:`FeeItem` from ``effective_from`` until ``effective_to``
    (inclusive; ``None``: until further notice). ``amount_cents``: HK$ cents. ``concessions``:
    ``[{"code", "label_en", "label_zh", "amount_cents"}]`` (the reduced amount each concession
    pays). ``legal_reference``: where the amount is prescribed (e.g. the Cap. and schedule);
    ``illustrative``: the amount is a placeholder, not a gazetted figure. ``digest``: SHA-256 of
    the version's canonical JSON; a loaded version whose file changes is refused."""

    item = models.ForeignKey(FeeItem, on_delete=models.PROTECT, related_name="versions", verbose_name=_("fee item"))
    amount_cents = models.PositiveIntegerField(_("amount (HK$ cents)"))
    concessions = models.JSONField(_("concessions"), default=list, blank=True)
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)
    legal_reference = models.CharField(_("legal reference"), max_length=300, blank=True)
    illustrative = models.BooleanField(_("illustrative amount"), default=False)
    digest = models.CharField(_("SHA-256 of the version"), max_length=64)
    loaded_at = models.DateTimeField(_("loaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("fee version")
        verbose_name_plural = _("fee versions")
        ordering = ["item", "effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["item", "effective_from"], name="payments_one_version_per_start")
        ]

    def __str__(self) -> str:
        return f"{self.item} from {self.effective_from}: {self.amount_cents}"

    def concession(self, code: str) -> dict | None:
        return next((c for c in self.concessions or [] if c.get("code") == code), None)


#: States a credit transfer is applied in (money to an expired order is a late payment, applied).
CREDITABLE = [*OPEN_STATES, OrderState.PARTIALLY_PAID, OrderState.EXPIRED]


class PaymentOrder(ConcurrentTransitionMixin, models.Model):
    """What a payer owes, and what happened to it.

    ``id`` (UUID) is the order's public id (URLs, the API); ``reference`` is the bill reference
    carried in the FPS QR code and typed by the payer (``TB`` + 12 digits + ISO 7064 Mod 97-10
    check digits, :mod:`tungban.payments.reference`; at most 25 characters, the FPS bill number's
    limit). ``amount_cents``: HK$ cents due; ``amount_received_cents``: what credit transfers
    brought. ``lines``: the fee items charged, as they were when the order was made
    (``[{"code", "label_en", "label_zh", "unit_cents", "quantity", "concession", "total_cents"}]``).
    ``purpose`` (a :mod:`tungban.payments.purposes` kind, e.g. ``eservices.application``) and
    ``purpose_ref`` (e.g. the application's reference) say what the payment is for; the
    purpose's ``on_paid`` runs as a background task once the order is paid (``fulfilled_at``).
    ``payer`` may be unknown (a bill posted without one); ``payer_sub`` is the payer's pairwise
    subject at the service. ``idempotency_key`` is unique per ``created_by`` (``eservices``, an
    API client id, an officer). ``metadata``: the department's own keys (ledger codes).
    ``receipt_id``: the e-receipt, once issued (the receipts' hook). ``supersedes``: the order
    this one renews (an expired order's replacement for the same thing): paying either cancels
    the other's open orders of the chain, and nothing else — two orders with the same purpose
    and reference may both be due (instalments; review finding 12).
    """

    id = models.UUIDField(_("order id"), primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(_("bill reference"), max_length=25, unique=True)
    amount_cents = models.PositiveBigIntegerField(_("amount (HK$ cents)"))
    currency = models.CharField(_("currency"), max_length=3, default=CURRENCY)
    lines = models.JSONField(_("fee items charged"), default=list)
    department = models.CharField(_("department"), max_length=10)
    description_en = models.CharField(_("description in English"), max_length=300)
    description_zh = models.CharField(_("description in Chinese"), max_length=200)
    purpose = models.CharField(_("purpose"), max_length=60)
    purpose_ref = models.CharField(_("purpose reference"), max_length=100)
    payer = models.ForeignKey(
        Resident,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="payment_orders",
        verbose_name=_("payer"),
    )
    payer_sub = models.CharField(_("payer's pairwise subject"), max_length=64, blank=True)
    state = FSMField(_("state"), default=OrderState.CREATED, choices=OrderState.choices, protected=True, max_length=20)
    method = models.CharField(_("payment method"), max_length=10, choices=Method.choices, default=Method.FPS)
    amount_received_cents = models.PositiveBigIntegerField(_("amount received (HK$ cents)"), default=0)
    expires_at = models.DateTimeField(_("expires at"))
    metadata = models.JSONField(_("department's metadata"), default=dict, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=255)
    created_by = models.CharField(_("created by"), max_length=150)
    return_url = models.CharField(_("page to return to"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    settled_date = models.DateField(_("settled on"), null=True, blank=True)
    fulfilled_at = models.DateTimeField(_("purpose done at"), null=True, blank=True)
    fulfil_attempts = models.PositiveIntegerField(_("purpose attempts"), default=0)
    receipt_id = models.CharField(_("receipt"), max_length=64, blank=True, null=True)
    supersedes = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        verbose_name=_("replaces the order"),
    )

    class Meta:
        verbose_name = _("payment order")
        verbose_name_plural = _("payment orders")
        constraints = [
            models.UniqueConstraint(fields=["created_by", "idempotency_key"], name="payments_one_order_per_key"),
        ]
        indexes = [
            models.Index(fields=["purpose", "purpose_ref"], name="payments_order_purpose"),
            models.Index(fields=["state", "expires_at"], name="payments_order_state_expiry"),
            models.Index(fields=["department", "created_at"], name="payments_order_department"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def finished(self) -> bool:
        """GOV.UK Pay's ``finished``: the order's state will not change by itself."""
        return self.state in FINISHED_STATES

    @property
    def payable_now(self) -> bool:
        """Whether a payment may be asked for now: open or partly paid (its balance; review
        finding 5) and not past ``expires_at`` (the sweep may not have expired it yet)."""
        return self.state in PAYABLE_STATES and self.expires_at > timezone.now()

    @property
    def balance_cents(self) -> int:
        """HK$ cents still due: the amount less what credit transfers brought (0 once paid)."""
        return max(self.amount_cents - self.amount_received_cents, 0)

    @property
    def description(self) -> str:
        from django.utils.translation import get_language

        return self.description_zh if (get_language() or "").startswith("zh") else self.description_en

    # --- the state machine (django-fsm-2); callers: tungban.payments.services only ---
    @transition(field=state, source=OrderState.CREATED, target=OrderState.AWAITING_TRANSFER)
    def to_awaiting_transfer(self):
        pass

    @transition(field=state, source=OrderState.CREATED, target=OrderState.STARTED)
    def to_started(self):
        pass

    @transition(field=state, source=CREDITABLE, target=OrderState.SUCCESS)
    def to_success(self):
        pass

    @transition(field=state, source=CREDITABLE, target=OrderState.PARTIALLY_PAID)
    def to_partially_paid(self):
        pass

    @transition(field=state, source=[*CREDITABLE, *PAID_STATES], target=OrderState.OVERPAID)  # paid twice too
    def to_overpaid(self):
        pass

    @transition(
        field=state,
        source=[*PAID_STATES, OrderState.PARTIALLY_PAID],
        target=RETURN_VALUE(
            OrderState.AWAITING_TRANSFER, OrderState.EXPIRED, OrderState.PARTIALLY_PAID, OrderState.SUCCESS
        ),
    )
    def to_reversed(self):
        """The bank reversed a credit applied to the order: what is left received decides
        (nothing: payable again, or ``expired`` past its expiry; less than due:
        ``partially_paid``; exactly due: ``success``)."""
        received, due = self.amount_received_cents, self.amount_cents
        if received >= due:
            return OrderState.SUCCESS
        if received > 0:
            return OrderState.PARTIALLY_PAID
        return OrderState.AWAITING_TRANSFER if self.expires_at > timezone.now() else OrderState.EXPIRED

    @transition(field=state, source=[OrderState.CREATED, OrderState.STARTED], target=OrderState.FAILED)
    def to_failed(self):
        pass

    @transition(field=state, source=list(OPEN_STATES), target=OrderState.CANCELLED)
    def to_cancelled(self):
        pass

    @transition(field=state, source=[*OPEN_STATES, OrderState.PARTIALLY_PAID], target=OrderState.EXPIRED)
    def to_expired(self):
        pass


class PaymentEvent(models.Model):
    """One transition of an order (or a recorded step that keeps the state): who (``actor_kind``
    and ``actor_id``: ``eservices``, a bank's message id, a user name, a client id), when, why."""

    order = models.ForeignKey(PaymentOrder, on_delete=models.CASCADE, related_name="events", verbose_name=_("order"))
    from_state = models.CharField(_("from"), max_length=20, choices=OrderState.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=20, choices=OrderState.choices)
    actor_kind = models.CharField(_("actor"), max_length=10, choices=ActorKind.choices)
    actor_id = models.CharField(_("actor id"), max_length=150, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_state} → {self.to_state}"


class CreditTransfer(models.Model):
    """One credit to the government's collection account (ISO 20022 terms: ``end_to_end_id``
    is the ``EndToEndId`` the payer's bank gave the transfer, Max35Text; ``message_id`` the bank
    message that first reported it). ``amount_cents`` in HK$ cents; ``reference``: what the
    transfer carried (the bill number, else the unstructured remittance information,
    ``RmtInf/Ustrd``, up to 140 characters). ``debtor_name`` (≤ 140) and ``debtor_account``
    (≤ 34): the payer's name and account as the bank reported them (ISO 20022 ``Dbtr/Nm``,
    ``DbtrAcct``), encrypted at rest (review finding 10): a refund goes back to them
    (:mod:`tungban.payments.refunds`); pages show them masked (:mod:`tungban.payments.masking`).
    ``source``: what first reported it; ``seen_in``: every source that has reported it
    since (a statement line for a notified transfer adds to it, never a second transfer).
    ``order``: the order it paid, if one matched; ``match_status``: how. ``business_date``: the
    day it counts on in the daily close (its value date, or the next day not yet closed:
    :func:`tungban.payments.services.matching.business_day`).

    The statement is the truth: a transfer reported by a notification (or a ``camt.054``) is
    provisional until a ``camt.053`` line shows it; ``settled_date`` is that line's booking
    date (a card provider's or a counter's transfer: its value date, their own settlement). ``reversed_on``/``reversal_ref``: the bank reversed it (a ``RvslInd`` entry: its
    booking date and the bank's reference of the reversal). ``conflicts_with``: this row
    records a report of another transfer's end-to-end id with a different amount, currency or
    value date (its own key is ``ASR:`` + the bank's reference); it is applied to no order."""

    end_to_end_id = models.CharField(_("end-to-end id"), max_length=35, unique=True)
    message_id = models.CharField(_("bank message id"), max_length=64)
    amount_cents = models.PositiveBigIntegerField(_("amount (HK$ cents)"))
    currency = models.CharField(_("currency"), max_length=3, default=CURRENCY)
    value_date = models.DateField(_("value date"))
    booked_at = models.DateTimeField(_("booked at"))
    reference = models.CharField(_("reference carried"), max_length=140, blank=True)
    debtor_name = EncryptedTextField(_("payer's name"), blank=True, default="")
    debtor_account = EncryptedTextField(_("payer's account"), blank=True, default="")
    source = models.CharField(_("first reported by"), max_length=15, choices=CreditSource.choices)
    seen_in = models.JSONField(_("reported by"), default=list)
    order = models.ForeignKey(
        PaymentOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credits",
        verbose_name=_("order"),
    )
    match_status = models.CharField(_("match"), max_length=20, choices=MatchStatus.choices)
    received_at = models.DateTimeField(_("recorded at"), auto_now_add=True, db_index=True)
    business_date = models.DateField(_("business day"), null=True, blank=True, db_index=True)
    settled_date = models.DateField(_("settled on"), null=True, blank=True)
    reversed_on = models.DateField(_("reversed on"), null=True, blank=True)
    reversal_ref = models.CharField(_("reversal's bank reference"), max_length=64, blank=True)
    conflicts_with = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="conflicts",
        verbose_name=_("conflicts with"),
    )

    class Meta:
        verbose_name = _("credit transfer")
        verbose_name_plural = _("credit transfers")
        indexes = [models.Index(fields=["match_status", "value_date"], name="payments_credit_match")]

    def __str__(self) -> str:
        return self.end_to_end_id

    @property
    def debtor_name_masked(self) -> str:
        """The payer's name as pages show it (:func:`tungban.payments.masking.mask_name`)."""
        from .masking import mask_name

        return mask_name(self.debtor_name)


class BankMessage(models.Model):
    """A signed message received from a bank (``kind``: ``notification``; the statements'
    imports use their own kinds), by the bank's ``message_id``: a message id is accepted once,
    so a replayed message is refused. ``digest``: SHA-256 of the body; ``sent_at``: the
    signature's timestamp."""

    message_id = models.CharField(_("bank message id"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=20)
    digest = models.CharField(_("SHA-256 of the body"), max_length=64)
    sent_at = models.DateTimeField(_("sent at"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("bank message")
        verbose_name_plural = _("bank messages")

    def __str__(self) -> str:
        return self.message_id


# The departments' side (API systems, webhooks), bills, and card payments (issue 18 part 4):
# models_api.py refers to this module's models by name only.
from .models_api import (  # noqa: E402, F401
    Bill,
    BillSource,
    BillState,
    CardPayment,
    CardPaymentStatus,
    MockPspPayment,
    PaymentSystem,
    PaymentWebhookDelivery,
    PaymentWebhookEndpoint,
)

# Reconciliation's models (statement imports, the exceptions queue, the daily close), in their own module.
from .models_recon import (  # noqa: E402, F401
    DailyClose,
    ReconciliationException,
    StatementDebit,
    StatementImport,
)

# Refunds, their instruction batches and the signed receipts (pay-refund): a module of their own.
from .models_refunds import (  # noqa: E402, F401
    Receipt,
    ReceiptKind,
    ReceiptState,
    Refund,
    RefundBatch,
    RefundEvent,
    RefundState,
)
