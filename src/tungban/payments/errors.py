"""e-Payment's error codes (issue 18, "Bad input and faults"), declared once. Pages show
``message`` in the user's language; the API answers ``{"error", "message", "field", "details"}``.

- Fee schedule files: ``fees_invalid`` (``details.problems``: ``["file: field: message"]``),
  ``fee_version_changed``, ``fee_version_removed``.
- Fees asked for: ``fee_unknown`` (no such fee item), ``fee_not_in_force`` (none on that date),
  ``concession_unknown``.
- Orders: ``order_unknown``, ``amount_invalid`` (zero or negative), ``order_key_reused`` (an
  idempotency key already used for a different order), ``order_expired``, ``order_already_paid``,
  ``order_not_payable`` (cancelled or failed), ``purpose_unknown``, ``wrong_amount`` (a payment
  of another amount than due, where an exact amount is required: the counters' and PSPs' checks).
- Bank notifications: ``signature_missing``, ``bad_signature`` (401), ``notification_stale``
  (the signature's time is outside the allowed clock skew), ``notification_replayed`` (409: a
  message id already received, with the same body), ``message_id_reused`` (409: a message id
  already received with a different body — not recorded, and not to be read as delivered), ``notification_invalid`` (422, ``field`` names the member).
- FPS QR codes: ``fps_qr_invalid`` (``field``: the data object ID at fault, e.g. ``63`` or
  ``26.02``; ``details.reason``: the decoder's code, :class:`tungban.payments.fps.FpsQrError`).
- Statement files (reconciliation): ``statement_unreadable`` (empty, too large, not well-formed
  XML, a DTD), ``statement_schema_invalid`` (``details.problems``: ``[{"line", "path",
  "message"}]``, the file's structure or totals), ``statement_wrong_account``,
  ``statement_import_unknown``: a refused file records nothing. An uploaded file waits for a
  second reconciler: ``statement_not_held`` (409: not waiting), ``statement_self_approval``
  (403: the uploader approving it).
- The exceptions queue and the daily close: ``exception_unknown``, ``exception_resolved``,
  ``resolution_not_allowed`` (e.g. matching a duplicate payment by hand),
  ``resolution_not_proposed`` (409), ``resolution_self_approval`` (403: the proposer
  approving it), ``note_required``,
  ``refund_invalid``, ``day_not_over``, ``day_closed``, ``day_not_settled`` (transfers
  reported by a notification that no statement has shown yet, nor an officer accounted for:
  ``details.count``), ``day_statement_held`` (uploaded files of the day still held:
  ``details.count``).
"""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound

# --- the fee schedule's files ---
FeesInvalid = DomainError.define("fees_invalid", _("The fee schedule files are not valid: %(problems)s"), status=422)
FeeVersionChanged = Conflict.define(
    "fee_version_changed",
    _(
        "The fee %(fee)s effective from %(date)s is already loaded and cannot change: "
        "add a new version with a later effective date."
    ),
)
FeeVersionRemoved = Conflict.define(
    "fee_version_removed",
    _("The fee %(fee)s effective from %(date)s is loaded and cannot be removed: end it with effective_to."),
)

# --- fees asked for ---
FeeUnknown = NotFound.define("fee_unknown", _("There is no fee %(fee)s."))
FeeNotInForce = NotFound.define("fee_not_in_force", _("The fee %(fee)s is not in force on %(date)s."))
ConcessionUnknown = DomainError.define(
    "concession_unknown", _("The fee %(fee)s has no concession %(concession)s."), field="concession"
)

# --- orders ---
OrderUnknown = NotFound.define("order_unknown", _("There is no such payment."))
AmountInvalid = DomainError.define("amount_invalid", _("The amount to pay must be more than zero."), field="amount")
OrderKeyReused = DomainError.define(
    "order_key_reused",
    _("This idempotency key was already used for a different payment."),
    status=422,
    field="idempotency_key",
)
OrderExpired = Conflict.define(
    "order_expired", _("This payment has expired: start a new one (nothing was taken from you).")
)
OrderAlreadyPaid = Conflict.define("order_already_paid", _("This payment has already been made."))
OrderNotPayable = Conflict.define("order_not_payable", _("This payment was %(state)s and can no longer be paid."))
PurposeUnknown = DomainError.define("purpose_unknown", _("No payment purpose %(purpose)s is registered."))
WrongAmount = Conflict.define(
    "wrong_amount", _("The amount paid (%(paid)s) is not the amount due (%(due)s)."), field="amount"
)

# --- the bank's signed notifications ---
SignatureMissing = DomainError.define(
    "signature_missing", _("The message has no Tungban-Signature header."), status=401
)
BadSignature = DomainError.define("bad_signature", _("The message's signature is not valid."), status=401)
NotificationStale = DomainError.define(
    "notification_stale",
    _("The message's signature time is more than %(seconds)s seconds from now."),
    status=401,
)
NotificationReplayed = Conflict.define(
    "notification_replayed", _("The message %(message_id)s was already received; it is not taken again.")
)
MessageIdReused = Conflict.define(
    "message_id_reused",
    _(
        "The message id %(message_id)s was already used for a different message: nothing of this one "
        "was recorded. Send it again under a new message id."
    ),
)
NotificationInvalid = DomainError.define(
    "notification_invalid", _("The notification is not valid: %(problem)s"), status=422
)

# --- FPS QR codes ---
FpsQrInvalid = DomainError.define("fps_qr_invalid", _("This is not a valid FPS QR code: %(problem)s"))

# --- refunds, receipts, the counter and the kiosk (pay-refund) ---
NotPaymentsOfficer = Forbidden.define(
    "not_payments_officer", _("You are not an officer of %(department)s: its payments are not yours.")
)
NotPaymentsApprover = Forbidden.define(
    "not_payments_approver", _("Only an approver of %(department)s can give this approval.")
)
OrderNotPaid = Conflict.define("order_not_paid", _("Only a paid payment can be refunded: this one is %(state)s."))
RefundAmountInvalid = DomainError.define(
    "refund_amount_invalid", _("The amount to refund must be more than zero."), status=422, field="amount"
)
RefundTooLarge = DomainError.define(
    "refund_too_large",
    _("The refund (%(amount)s) is more than the amount available for refund (%(available)s)."),
    status=422,
    field="amount",
)
RefundAmountAvailableMismatch = DomainError.define(
    "refund_amount_available_mismatch",
    _(
        "The amount available for refund is now %(available)s, not %(stated)s: another refund changed it. "
        "Check the payment and ask again."
    ),
    status=412,
    field="refund_amount_available",
)
RefundReasonMissing = DomainError.define(
    "refund_reason_missing", _("Give the reason for the refund in English and in Chinese."), status=422
)
RefundUnknown = NotFound.define("refund_unknown", _("There is no such refund."))
RefundSelfApproval = Forbidden.define(
    "refund_self_approval", _("You asked for this refund: another officer must approve it.")
)
RefundAlreadyApprovedByYou = Forbidden.define(
    "refund_already_approved_by_you", _("You have already approved this refund: it needs another person's approval.")
)
RefundNeedsApprover = Forbidden.define(
    "refund_needs_approver",
    _("This refund is above %(threshold)s: one of its two approvals must be an approver's."),
)
RefundNotPending = Conflict.define(
    "refund_not_pending", _("This refund is %(state)s: it can no longer be approved or rejected.")
)
RefundNotExported = Conflict.define(
    "refund_not_exported", _("Only a refund sent to the bank can be marked refunded; this one is %(state)s.")
)
NoRefundsToExport = Conflict.define(
    "no_refunds_to_export", _("There are no approved refunds of %(department)s to send to the bank today.")
)
RefundFileInvalid = DomainError.define(
    "refund_file_invalid",
    _("The refund instruction file failed its ISO 20022 schema; nothing was sent. Tell the platform's administrators."),
    status=500,
)
RefundBatchUnknown = NotFound.define("refund_batch_unknown", _("There is no such refund instruction file."))
ReceiptUnknown = NotFound.define("receipt_unknown", _("There is no such receipt."))
ReceiptNotReady = Conflict.define("receipt_not_ready", _("The receipt is still being prepared: try again in a minute."))
ReferenceInvalid = DomainError.define(
    "reference_invalid",
    _("This is not a bill reference: check what you typed (its last two digits check the others)."),
    status=422,
    field="reference",
)

# --- reconciliation: statement files (issue 18, "Reconciliation"; camt.py, services/reconciliation.py) ---
StatementUnreadable = DomainError.define(
    "statement_unreadable", _("The file cannot be read as a bank statement."), status=422, field="statement"
)
StatementSchemaInvalid = DomainError.define(
    "statement_schema_invalid",
    _("The file is not a valid camt.053 or camt.054 message; nothing from it was recorded: %(problems)s"),
    status=422,
    field="statement",
)
StatementWrongAccount = DomainError.define(
    "statement_wrong_account",
    _("The file is for account %(account)s, not the government's collection account; nothing was recorded."),
    status=422,
    field="statement",
)
StatementImportUnknown = NotFound.define("statement_import_unknown", _("There is no such statement import."))
StatementNotHeld = Conflict.define("statement_not_held", _("This file is not waiting for approval: it is “%(state)s”."))
StatementSelfApproval = Forbidden.define(
    "statement_self_approval", _("You uploaded this file: another reconciler must approve it.")
)

# --- reconciliation: the exceptions queue and the daily close ---
ExceptionUnknown = NotFound.define("exception_unknown", _("There is no such payment exception."))
ExceptionResolved = Conflict.define("exception_resolved", _("This exception has already been resolved."))
ResolutionNotAllowed = Conflict.define(
    "resolution_not_allowed", _("“%(resolution)s” cannot be done to an exception of the kind “%(kind)s”.")
)
ResolutionNotProposed = Conflict.define(
    "resolution_not_proposed", _("No resolution of this exception is waiting for approval: it is “%(state)s”.")
)
ResolutionSelfApproval = Forbidden.define(
    "resolution_self_approval", _("You proposed this resolution: another reconciler must approve it.")
)
NoteRequired = DomainError.define("note_required", _("Give the reason."), status=422, field="note")
RefundInvalid = DomainError.define(
    "refund_invalid", _("The refund must be more than zero and at most HK$%(most)s."), status=422, field="amount"
)
DayNotOver = Conflict.define("day_not_over", _("%(date)s is not over yet: a day can be closed once it has ended."))
DayClosed = Conflict.define("day_closed", _("%(date)s is already closed: its report no longer changes."))
DayNotSettled = Conflict.define(
    "day_not_settled",
    _(
        "%(date)s cannot be closed: %(count)s transfers reported by the bank's notifications are not on "
        "its statement yet. Import the statement, or resolve their exceptions."
    ),
)
DayStatementHeld = Conflict.define(
    "day_statement_held",
    _(
        "%(date)s cannot be closed: %(count)s uploaded files of that day wait for a second reconciler. "
        "Approve or turn them down first."
    ),
)
