"""Error codes of the payments' department API, webhooks, bills and card payments (issue 18
part 4), declared once (the order and notification codes are in :mod:`.errors`). Both modules
are published in the OpenAPI document's ``payments`` tag.

- Callers: ``not_payment_system`` (403: a token of a client registered for no department, or a
  resident's).
- Creating a payment: ``amount_or_fee_items`` (422: exactly one of them), ``return_url_refused``
  (422), ``payment_not_cancellable`` (409: it finished, or money arrived).
- Renewing one (``supersedes``): ``supersedes_unknown`` (404: no payment of the department with
  that id), ``supersedes_other_reference`` (422: a renewal keeps the reference),
  ``supersedes_not_finished`` (409: only an expired, cancelled or failed payment is replaced),
  ``supersedes_taken`` (409: another payment already replaces it).
- Searching: ``date_range_invalid`` (422), ``page_not_found`` (404: past the last page).
- Webhooks: ``webhook_url_refused`` (422), ``webhook_events_invalid`` (422), ``webhook_unknown``
  (404).
- Bills: ``bill_unknown`` (404), ``bill_exists`` (409: the department's bill number is taken by
  another bill), ``bill_not_open`` (409: paid, paid elsewhere or withdrawn), ``due_date_invalid``
  (422: due before the bill date), ``payer_required`` (422).
- Card and e-wallet payments: ``card_payments_unavailable`` (409: no payment service provider is
  configured), ``payment_provider_failed`` (502: it refused or did not answer),
  ``psp_signature_invalid`` (401: a provider's webhook whose signature does not verify),
  ``psp_webhook_invalid`` (400).
"""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound

# --- callers ---
NotPaymentSystem = Forbidden.define(
    "not_payment_system",
    _("This client is not registered as a department's payment system (tungban register_payments_system)."),
)

# --- payments ---
AmountOrFeeItems = DomainError.define(
    "amount_or_fee_items",
    _("Give either the amount or the fee items to charge, not both and not neither."),
    status=422,
    field="amount",
)
ReturnURLRefused = DomainError.define(
    "return_url_refused",
    _("The return URL must be an https URL (%(reason)s)."),
    status=422,
    field="return_url",
)
PaymentNotCancellable = Conflict.define(
    "payment_not_cancellable", _("This payment can no longer be cancelled: it is %(state)s.")
)
SupersedesUnknown = NotFound.define(
    "supersedes_unknown",
    _("There is no payment of your department with the id given in supersedes."),
    field="supersedes",
)
SupersedesOtherReference = DomainError.define(
    "supersedes_other_reference",
    _("The payment to replace is for another reference (%(reference)s): a renewal keeps the reference."),
    status=422,
    field="supersedes",
)
SupersedesNotFinished = Conflict.define(
    "supersedes_not_finished",
    _("The payment to replace is %(state)s: only an expired, cancelled or failed payment can be replaced."),
    field="supersedes",
)
SupersedesTaken = Conflict.define(
    "supersedes_taken",
    _("The payment to replace was already replaced by payment %(payment_id)s."),
    field="supersedes",
)
DateRangeInvalid = DomainError.define(
    "date_range_invalid", _("The start of the date range is after its end."), status=422, field="from_date"
)
PageNotFound = NotFound.define(
    "page_not_found", _("There is no page %(page)s: the last page is %(last)s."), field="page"
)

# --- webhooks ---
WebhookURLRefused = DomainError.define(
    "webhook_url_refused",
    _("The platform will not send webhooks to this URL: %(reason)s."),
    status=422,
    field="url",
)
WebhookEventsInvalid = DomainError.define(
    "webhook_events_invalid", _("Unknown webhook events: %(events)s."), status=422, field="events"
)
WebhookUnknown = NotFound.define("webhook_unknown", _("There is no such webhook endpoint."))

# --- bills ---
BillUnknown = NotFound.define("bill_unknown", _("There is no such bill."))
BillExists = Conflict.define(
    "bill_exists",
    _("The bill number %(bill_number)s is already used by another bill of your department."),
    field="bill_number",
)
BillNotOpen = Conflict.define("bill_not_open", _("This bill is no longer to be paid: it is %(state)s."))
DueDateInvalid = DomainError.define(
    "due_date_invalid", _("The payment due date is before the bill date."), status=422, field="due_date"
)
PayerRequired = DomainError.define(
    "payer_required", _("Name the payer by their HKID number."), status=422, field="payer.hkid"
)

# --- card and e-wallet payments ---
CardPaymentsUnavailable = Conflict.define(
    "card_payments_unavailable", _("Card and e-wallet payments are not available: pay by FPS.")
)
PaymentProviderFailed = DomainError.define(
    "payment_provider_failed",
    _("The card payment service did not answer. Nothing was taken: try again, or pay by FPS."),
    status=502,
)
PspSignatureInvalid = DomainError.define(
    "psp_signature_invalid", _("The payment service provider's signature is not valid."), status=401
)
PspWebhookInvalid = DomainError.define(
    "psp_webhook_invalid", _("The payment service provider's message cannot be read: %(problem)s")
)
