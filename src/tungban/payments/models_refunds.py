"""Refunds, their instruction batches for the bank, and the signed e-receipts and credit notes
(issue 18, ``pay-refund``). Imported by :mod:`.models` so Django finds them.

Refund workflow (:mod:`.refunds`): an officer of the order's department *requests* (full or
partial amount, reason in both languages); a second officer *approves*, and above
``TUNGBAN_REFUND_SECOND_APPROVAL_CENTS`` an approver too (a third person); approved refunds
are *exported* once, in the department's refund-instruction batch of the day (an ISO 20022
``pain.001`` file, :mod:`.pain001`); the bank's debit (statement) or an officer *completes*
them. ``rejected`` ends a request that was not approved. Every step is a
:class:`RefundEvent`.

Receipts (:mod:`.receipts`): when an order reaches ``success`` a background task draws the
bilingual receipt and seals it with the platform's seal through the signing stack; a refund
that completes gets a credit note the same way. The PDF is stored in the row (a few tens of
kilobytes); the row is the job (``state``: queued → running → done | failed).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from tungban.core.fields import EncryptedBinaryField, EncryptedTextField


class RefundState(models.TextChoices):
    REQUESTED = "requested", _("Requested, waiting for approval")
    APPROVED = "approved", _("Approved, waiting for export")
    EXPORTED = "exported", _("Sent to the bank")
    COMPLETED = "completed", _("Refunded")
    REJECTED = "rejected", _("Not approved")


#: States whose amount is no longer available for another refund.
HOLDING_STATES = (RefundState.REQUESTED, RefundState.APPROVED, RefundState.EXPORTED, RefundState.COMPLETED)


class RefundBatch(models.Model):
    """One department's refund instructions of one business day: a ``pain.001.001.03`` file
    made once (``xml`` and its ``sha256`` never change); every refund in it is ``exported``.
    The file names each payer and account, so ``xml`` is encrypted at rest (review finding 10;
    ``sha256`` is of the file as the bank receives it)."""

    department = models.CharField(_("department"), max_length=16)
    business_date = models.DateField(_("business date"))
    message_id = models.CharField(_("message id"), max_length=35, unique=True)
    xml = EncryptedBinaryField(_("instruction file"))
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    count = models.PositiveIntegerField(_("number of refunds"))
    total_cents = models.PositiveBigIntegerField(_("total (HK cents)"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.CharField(_("created by"), max_length=150)

    class Meta:
        verbose_name = _("refund instruction batch")
        verbose_name_plural = _("refund instruction batches")
        constraints = [
            models.UniqueConstraint(fields=["department", "business_date"], name="payments_one_refund_batch_a_day")
        ]
        ordering = ["-business_date", "department"]

    def __str__(self) -> str:
        return self.message_id


class Refund(ConcurrentTransitionMixin, models.Model):
    """A refund of (part of) a paid order. ``state`` changes only through :mod:`.refunds`
    (``FSMField(protected=True)``); ``ConcurrentTransitionMixin`` makes a save after a
    transition update the row only if it is still in the state the transition started from.

    ``reference``: ``<order reference>-R<n>``; ``end_to_end_id``: the refund's own id in the
    bank instruction (unique, ≤ 35). ``creditor_name``/``creditor_account``: where the money
    goes back to — the name and account of the payer of the order's credit transfer, as its
    bank reported them (review finding 6), both encrypted at rest (finding 10).
    ``needs_second_approval``: the amount was above the threshold when it was requested.
    ``requested_by`` is the officer who asked, or ``None`` when a department system asked
    through the API (``requested_via``: ``client:<id>``) or reconciliation opened it
    (``reconciliation:<proposer>+<approver>``); approvals are always officers'.

    ``order`` is empty for the refund of a credit transfer applied to no order (``transfer``:
    reconciliation's "mark for refund" of an unmatched transfer; the creditor is that
    transfer's debtor): the Treasury's reconcilers approve those, not a department's officers.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(_("reference"), max_length=40, unique=True)
    order = models.ForeignKey(
        "payments.PaymentOrder",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
        verbose_name=_("payment order"),
    )
    transfer = models.ForeignKey(
        "payments.CreditTransfer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
        verbose_name=_("credit transfer refunded"),
    )
    amount_cents = models.PositiveBigIntegerField(_("amount (HK cents)"))
    reason_en = models.TextField(_("reason in English"))
    reason_zh = models.TextField(_("reason in Chinese"))
    state = FSMField(
        _("state"), default=RefundState.REQUESTED, choices=RefundState.choices, protected=True, max_length=12
    )
    needs_second_approval = models.BooleanField(_("needs an approver's approval"), default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payment_refunds_requested",
        verbose_name=_("requested by"),
    )
    requested_via = models.CharField(_("requested by a department system"), max_length=150, blank=True)
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    first_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payment_refunds_first_approved",
        verbose_name=_("first approval by"),
    )
    first_approved_at = models.DateTimeField(_("first approval at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payment_refunds_approved",
        verbose_name=_("final approval by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    decided_reason = models.TextField(_("reason for rejection"), blank=True)
    batch = models.ForeignKey(
        RefundBatch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refunds",
        verbose_name=_("instruction batch"),
    )
    end_to_end_id = models.CharField(_("end-to-end id"), max_length=35, unique=True)
    creditor_name = EncryptedTextField(_("payer's name"), blank=True, default="")
    creditor_account = EncryptedTextField(_("payer's account"), blank=True, default="")
    original_end_to_end_id = models.CharField(_("end-to-end id of the payment"), max_length=64, blank=True)
    completed_at = models.DateTimeField(_("refunded at"), null=True, blank=True)
    amount_available_before = models.PositiveBigIntegerField(_("amount available when requested (HK cents)"))

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["state", "order"], name="payments_refund_state_order")]

    def __str__(self) -> str:
        return self.reference

    # --- the state machine (django-fsm-2); callers: tungban.payments.refunds only ---
    @transition(field=state, source=RefundState.REQUESTED, target=RefundState.APPROVED)
    def approve(self):
        pass

    @transition(field=state, source=RefundState.REQUESTED, target=RefundState.REJECTED)
    def reject(self):
        pass

    @transition(field=state, source=[RefundState.REQUESTED, RefundState.APPROVED], target=RefundState.REJECTED)
    def withdraw(self):
        """Not sent, and no longer to be: the bank took the money back (a reversal)."""

    @transition(field=state, source=RefundState.APPROVED, target=RefundState.EXPORTED)
    def export(self):
        pass

    @transition(field=state, source=RefundState.EXPORTED, target=RefundState.COMPLETED)
    def complete(self):
        pass


class RefundEvent(models.Model):
    """One step of a refund (a first approval keeps the state but is recorded too): who
    (``actor_kind``: officer, system, bank; ``actor_id``), when, why."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="events", verbose_name=_("refund"))
    from_state = models.CharField(_("from"), max_length=12, choices=RefundState.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=12, choices=RefundState.choices)
    action = models.CharField(_("action"), max_length=30)
    actor_kind = models.CharField(_("actor"), max_length=10)
    actor_id = models.CharField(_("actor id"), max_length=150, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("refund event")
        verbose_name_plural = _("refund events")
        ordering = ["at", "id"]


class ReceiptKind(models.TextChoices):
    RECEIPT = "receipt", _("e-Receipt")
    CREDIT_NOTE = "credit_note", _("Credit note")


class VoidReason(models.TextChoices):
    PAYMENT_REVERSED = "payment_reversed", _("Payment reversed by the bank")


class ReceiptState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("In progress")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Receipt(models.Model):
    """A signed e-receipt of a paid order, or the credit note of a completed refund
    (``refund`` set). ``number``: ``R-<order reference>`` / ``CN-<refund reference>``.
    ``pdf``: the sealed PDF (PAdES B-T, the platform's seal ``payments.receipts``), with its
    ``sha256``; encrypted at rest (it names the payer); empty until the job is ``done``. The row is the job: ``task_id`` names its
    current task, ``attempts`` counts failures (retried with backoff, :mod:`tungban.core.jobs`).
    ``voided_at`` / ``void_reason``: the receipt no longer stands (``payment_reversed``: the bank
    took the money back, :func:`tungban.payments.receipts.void_receipts`); its PDF is never
    altered, the receipt lists and the signature verification page say it is void. An order
    has one receipt that is not void (an order paid again after a reversal gets a new one)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(_("receipt number"), max_length=48, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=ReceiptKind.choices, default=ReceiptKind.RECEIPT)
    order = models.ForeignKey(
        "payments.PaymentOrder", on_delete=models.PROTECT, related_name="receipts", verbose_name=_("payment order")
    )
    refund = models.OneToOneField(
        Refund,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_note",
        verbose_name=_("refund"),
    )
    state = models.CharField(_("state"), max_length=10, choices=ReceiptState.choices, default=ReceiptState.QUEUED)
    task_id = models.CharField(_("task"), max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(_("failed attempts"), default=0)
    error = models.CharField(_("last error"), max_length=200, blank=True)
    pdf = EncryptedBinaryField(_("signed PDF"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256 of the PDF"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    void_reason = models.CharField(_("why it is void"), max_length=20, choices=VoidReason.choices, blank=True)

    class Meta:
        verbose_name = _("e-receipt")
        verbose_name_plural = _("e-receipts")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(kind="receipt", voided_at__isnull=True),
                name="payments_one_live_receipt_per_order",
            ),
        ]

    def __str__(self) -> str:
        return self.number
