"""Reconciliation's records (issue 18): statement imports, the exceptions queue and the daily
close. Imported by :mod:`tungban.payments.models` (Django finds the models there); the rules
are :mod:`tungban.payments.reconciliation`'s and ``docs/payments-reconciliation.md``.

- :class:`StatementImport`: one bank file (``camt.053`` statement or ``camt.054``
  notification), uploaded by an officer or fetched from the bank by the worker, and the
  background job that reads it (``state``, counts, the error that refused it).
- :class:`ReconciliationException`: a credit transfer that did not simply pay its order
  (``kind``: unmatched, duplicate, wrong amount, late, not on the statement, conflicting
  duplicate, reversed), or a statement debit the platform cannot account for (unknown
  debit), and the officer's resolution.
- :class:`StatementDebit`: a debit line of a bank file (money out of the collection account):
  a refund's payment, a credit's reversal, or one to explain.
- :class:`DailyClose`: a business day closed by an officer, with the report as it was then;
  a closed day never changes (transfers reported later count on the next open day).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from tungban.core.fields import EncryptedTextField

# Models of tungban.payments.models by name: that module imports this one.
CreditTransfer = "payments.CreditTransfer"
PaymentOrder = "payments.PaymentOrder"


class StatementKind(models.TextChoices):
    CAMT053 = "camt053", _("End-of-day statement (camt.053)")
    CAMT054 = "camt054", _("Credit notification (camt.054)")


class ImportSource(models.TextChoices):
    UPLOAD = "upload", _("Uploaded by an officer")
    FETCH = "fetch", _("Fetched from the bank")


class ImportState(models.TextChoices):
    FETCHING = "fetching", _("Fetching from the bank")
    QUEUED = "queued", _("Waiting to be read")
    RUNNING = "running", _("Being read")
    HELD = "held", _("Read, waiting for a second reconciler or the bank's statement")
    DONE = "done", _("Imported")
    REJECTED = "rejected", _("Refused")
    FAILED = "failed", _("Failed")


#: States in which nothing more happens to an import by itself.
IMPORT_FINISHED = (ImportState.DONE, ImportState.REJECTED, ImportState.FAILED)


def as_stored(data: bytes) -> str:
    """A file's bytes as :attr:`StatementImport.content` keeps them: each byte one character
    (ISO 8859-1), so that the very bytes come back whatever the file's own encoding."""
    return data.decode("latin-1")


class StatementImport(models.Model):
    """One bank file and the job that reads it.

    ``state``: ``fetching`` (the worker asks the bank for the day's statement; ``fetch_attempts``,
    ``last_error`` and ``next_attempt_at`` show its retries) → ``queued`` → ``running`` →
    ``done`` | ``held`` (an uploaded file, read and checked but paying nothing until a second
    reconciler approves it, ``approved_by``, or the bank's own channel reports every credit
    line of it, ``confirmed_by``; ``held_lines`` lists its credit lines as matched then) |
    ``rejected`` (the file failed its schema or its totals: ``error_code``,
    ``error_message``, ``error_details``; nothing of it was stored) | ``failed`` (the bank never
    answered, or reading failed ``TUNGBAN_TASK_MAX_ATTEMPTS`` times). ``content``: the file as
    received (encrypted at rest: it names payers); ``sha256`` of its bytes finds the same file
    uploaded again. Counts once done: ``lines_total`` lines read, ``lines_new`` transfers
    recorded (credits, and debits as :class:`StatementDebit`), ``lines_known`` already recorded
    (by a notification or an earlier file: the end-to-end id is the key), ``lines_skipped``
    (entries not booked, a line repeated in the same file, a reversed debit), ``matched`` paid
    their order, ``exceptions`` went to the queue."""

    id = models.UUIDField(_("import id"), primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind of file"), max_length=10, choices=StatementKind.choices, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=ImportSource.choices)
    state = models.CharField(_("state"), max_length=10, choices=ImportState.choices, default=ImportState.QUEUED)
    statement_date = models.DateField(_("statement date"), null=True, blank=True)
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64, blank=True, db_index=True)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    content = EncryptedTextField(_("file content"), blank=True)
    message_id = models.CharField(_("bank message id"), max_length=64, blank=True)
    version = models.CharField(_("message version"), max_length=20, blank=True)
    schema_checked = models.BooleanField(_("checked against the official schema"), default=False)
    lines_total = models.PositiveIntegerField(_("lines read"), default=0)
    lines_new = models.PositiveIntegerField(_("transfers recorded"), default=0)
    lines_known = models.PositiveIntegerField(_("transfers already recorded"), default=0)
    lines_skipped = models.PositiveIntegerField(_("lines skipped"), default=0)
    matched = models.PositiveIntegerField(_("orders paid"), default=0)
    exceptions = models.PositiveIntegerField(_("exceptions raised"), default=0)
    error_code = models.CharField(_("error code"), max_length=40, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    error_details = models.JSONField(_("error details"), default=dict, blank=True)
    fetch_attempts = models.PositiveIntegerField(_("attempts to fetch"), default=0)
    attempts = models.PositiveIntegerField(_("attempts to read"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    task_id = models.CharField(_("current task"), max_length=64, blank=True)
    requested_by = models.CharField(_("requested by"), max_length=150)
    held_lines = models.JSONField(_("credit lines held"), default=list, blank=True)
    approved_by = models.CharField(_("approved by"), max_length=150, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by the import"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("statement import")
        verbose_name_plural = _("statement imports")
        ordering = ["-created_at"]
        permissions = [("reconcile", _("Can import bank statements, resolve payment exceptions and close days"))]
        indexes = [models.Index(fields=["source", "kind", "statement_date"], name="payments_import_day")]

    def __str__(self) -> str:
        return f"{self.kind} {self.statement_date or ''} {self.filename or self.message_id}".strip()

    @property
    def finished(self) -> bool:
        return self.state in IMPORT_FINISHED

    def file_bytes(self) -> bytes:
        """The file as received (empty once refused)."""
        return self.content.encode("latin-1")


class ExceptionKind(models.TextChoices):
    UNMATCHED = "unmatched", _("Unmatched")
    DUPLICATE = "duplicate", _("Duplicate payment")
    WRONG_AMOUNT = "wrong_amount", _("Wrong amount")
    LATE = "late", _("Late")
    NOT_ON_STATEMENT = "not_on_statement", _("Not on the statement")
    CONFLICTING_DUPLICATE = "conflicting_duplicate", _("Conflicting duplicate")
    REVERSED = "reversed", _("Reversed by the bank")
    UNKNOWN_DEBIT = "unknown_debit", _("Unknown debit")


class ExceptionReason(models.TextChoices):
    """Why a transfer is an exception (several per kind)."""

    NO_REFERENCE = "no_reference", _("The transfer carries no bill reference")
    BAD_CHECK_DIGIT = "bad_check_digit", _("The bill reference's check digits are wrong")
    UNKNOWN_REFERENCE = "unknown_reference", _("No payment has this bill reference")
    WRONG_CURRENCY = "wrong_currency", _("The transfer is not in Hong Kong dollars")
    ALREADY_PAID = "already_paid", _("The payment was already paid")
    UNDERPAID = "underpaid", _("Less than the amount due")
    OVERPAID = "overpaid", _("More than the amount due")
    AFTER_EXPIRY = "after_expiry", _("Paid after the payment expired")
    ORDER_CLOSED = "order_closed", _("The payment was cancelled or failed")
    AFTER_CLOSE = "after_close", _("Reported after its day was closed")
    MISSING_FROM_STATEMENT = "missing_from_statement", _("The statement of its value date does not show it")
    DIFFERENT_DETAILS = (
        "different_details",
        _("Reported again with the same end-to-end id but another amount, currency or date"),
    )
    REVERSED_AFTER_USE = "reversed_after_use", _("Reversed after the payment was used")
    NO_MATCH = "no_match", _("No refund or recorded transfer has this end-to-end id")
    REFUND_NOT_EXPORTED = "refund_not_exported", _("The refund was not sent to the bank")
    AMOUNT_DIFFERS = "amount_differs", _("The debit's amount differs from the refund's or the transfer's")


class ExceptionState(models.TextChoices):
    OPEN = "open", _("Open")
    PROPOSED = "proposed", _("Resolution proposed, waiting for a second reconciler")
    RESOLVED = "resolved", _("Resolved")


class Resolution(models.TextChoices):
    MATCHED = "matched", _("Matched to a payment by an officer")
    REFUND = "refund", _("Marked for refund")
    WRITTEN_OFF = "written_off", _("Written off")
    SETTLED = "settled", _("Settled by a later transfer")
    ON_STATEMENT = "on_statement", _("Shown by a later statement")
    REVERSED = "reversed", _("Reversed by the bank")


class DebitKind(models.TextChoices):
    REFUND = "refund", _("Refund paid")
    REVERSAL = "reversal", _("Reversal of a credit")
    UNKNOWN = "unknown", _("Unknown")


class StatementDebit(models.Model):
    """A debit line of a bank file (``CdtDbtInd`` ``DBIT``), recorded once by its ``key`` (the
    end-to-end id, or ``ASR:`` + the bank's reference; a reversal, ``RvslInd`` true, is keyed
    ``RVSL:`` + the reversed transfer's key, so that it never collides with the refund or the
    credit it names). ``kind``: ``refund`` (completes the refund with that end-to-end id),
    ``reversal`` (the bank took back ``reversed_transfer``) or ``unknown`` (an exception).
    Amounts in HK$ cents; ``business_date``: the day it counts on (as a credit's)."""

    key = models.CharField(_("key"), max_length=40, unique=True)
    end_to_end_id = models.CharField(_("end-to-end id"), max_length=35, blank=True)
    account_servicer_ref = models.CharField(_("bank's reference"), max_length=35, blank=True)
    amount_cents = models.PositiveBigIntegerField(_("amount (HK$ cents)"))
    currency = models.CharField(_("currency"), max_length=3)
    value_date = models.DateField(_("value date"))
    booked_at = models.DateTimeField(_("booked at"))
    booking_date = models.DateField(_("booking date"))
    reference = models.CharField(_("reference carried"), max_length=140, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=DebitKind.choices)
    refund = models.ForeignKey(
        "payments.Refund",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="debits",
        verbose_name=_("refund"),
    )
    reversed_transfer = models.ForeignKey(
        CreditTransfer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversals",
        verbose_name=_("transfer reversed"),
    )
    seen_in = models.JSONField(_("reported by"), default=list)
    business_date = models.DateField(_("business day"), db_index=True)
    statement_import = models.ForeignKey(
        StatementImport,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="debits",
        verbose_name=_("statement import"),
    )
    received_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("statement debit")
        verbose_name_plural = _("statement debits")

    def __str__(self) -> str:
        return self.key

    @property
    def debtor_name(self) -> str:
        """Shown where a transfer's payer is (a debit has none)."""
        return ""


class ReconciliationException(models.Model):
    """A credit transfer (``transfer``) or a statement debit (``debit``: exactly one of the
    two) the rules could not simply apply (``kind`` and ``reason``), waiting for an officer
    (``state`` ``open``), with a resolution proposed by one reconciler (``proposed``:
    ``resolution`` and its figures, ``proposed_by`` at ``proposed_at``) waiting for a second
    one, or resolved: ``resolution`` (matched by hand to ``resolved_order``, marked for refund
    of ``refund_cents`` — the :class:`Refund` it opened is ``refund`` —, written off with
    ``note``, or settled when a later transfer completed the order), approved (or, for a late
    payment accepted, made) by ``resolved_by`` at ``resolved_at``. A proposal turned down goes
    back to ``open``; the last refusal is kept (``declined_*``). States move by the transitions
    below (django-fsm, as refunds do).
    ``order``: the order the transfer named, if any. ``business_date``: the day the exception
    belongs to (its transfer's business day). A transfer has at most one exception of a kind."""

    id = models.UUIDField(_("exception id"), primary_key=True, default=uuid.uuid4, editable=False)
    transfer = models.ForeignKey(
        CreditTransfer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="exceptions",
        verbose_name=_("credit transfer"),
    )
    debit = models.ForeignKey(
        StatementDebit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="exceptions",
        verbose_name=_("statement debit"),
    )
    kind = models.CharField(_("kind"), max_length=25, choices=ExceptionKind.choices)
    reason = models.CharField(_("reason"), max_length=25, choices=ExceptionReason.choices)
    order = models.ForeignKey(
        PaymentOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reconciliation_exceptions",
        verbose_name=_("order named"),
    )
    department = models.CharField(_("department"), max_length=10, blank=True)
    amount_cents = models.PositiveBigIntegerField(_("amount received (HK$ cents)"))
    expected_cents = models.PositiveBigIntegerField(_("amount due (HK$ cents)"), null=True, blank=True)
    business_date = models.DateField(_("business day"), db_index=True)
    statement_import = models.ForeignKey(
        StatementImport,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="raised",
        verbose_name=_("statement import"),
    )
    state = FSMField(_("state"), max_length=10, choices=ExceptionState.choices, default=ExceptionState.OPEN)
    resolution = models.CharField(_("resolution"), max_length=15, choices=Resolution.choices, blank=True)
    resolved_order = models.ForeignKey(
        PaymentOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("matched to"),
    )
    refund_cents = models.PositiveBigIntegerField(_("refund (HK$ cents)"), null=True, blank=True)
    note = models.CharField(_("officer's note"), max_length=500, blank=True)
    refund = models.ForeignKey(
        "payments.Refund",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("refund opened"),
    )
    proposed_by = models.CharField(_("proposed by"), max_length=150, blank=True)
    proposed_at = models.DateTimeField(_("proposed at"), null=True, blank=True)
    declined_by = models.CharField(_("last proposal turned down by"), max_length=150, blank=True)
    declined_at = models.DateTimeField(_("turned down at"), null=True, blank=True)
    declined_reason = models.CharField(_("why it was turned down"), max_length=500, blank=True)
    resolved_by = models.CharField(_("resolved by"), max_length=150, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment exception")
        verbose_name_plural = _("payment exceptions")
        ordering = ["-business_date", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "kind"], name="payments_one_exception_per_kind"),
            models.UniqueConstraint(fields=["debit", "kind"], name="payments_one_debit_exception_per_kind"),
            models.CheckConstraint(
                condition=models.Q(transfer__isnull=False, debit__isnull=True)
                | models.Q(transfer__isnull=True, debit__isnull=False),
                name="payments_exception_of_a_transfer_or_a_debit",
            ),
        ]
        indexes = [models.Index(fields=["state", "kind"], name="payments_exception_queue")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.transfer_id or self.debit_id}"

    @property
    def line(self):
        """The transfer or the debit the exception is about."""
        return self.transfer if self.transfer_id else self.debit

    # --- the state machine (django-fsm); callers: services.reconciliation only ---
    @transition(field=state, source=ExceptionState.OPEN, target=ExceptionState.PROPOSED)
    def propose(self):
        pass

    @transition(field=state, source=ExceptionState.PROPOSED, target=ExceptionState.OPEN)
    def decline(self):
        pass

    @transition(field=state, source=[ExceptionState.OPEN, ExceptionState.PROPOSED], target=ExceptionState.RESOLVED)
    def resolve(self):
        pass


class DailyClose(models.Model):
    """A closed business day: ``report`` holds the daily close report's rows as they were
    (:func:`tungban.payments.reconciliation.close_report`), ``totals`` its sums. Nothing
    recorded afterwards counts on a closed day."""

    business_date = models.DateField(_("business day"), unique=True)
    closed_by = models.CharField(_("closed by"), max_length=150)
    closed_at = models.DateTimeField(_("closed at"), auto_now_add=True)
    report = models.JSONField(_("report"), default=list)
    totals = models.JSONField(_("totals"), default=dict)

    class Meta:
        verbose_name = _("daily close")
        verbose_name_plural = _("daily closes")
        ordering = ["-business_date"]

    def __str__(self) -> str:
        return self.business_date.isoformat()
