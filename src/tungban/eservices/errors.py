"""The e-services' error codes (issue 17, "Bad input"), declared once. Pages show ``message``
in the resident's language; the API answers ``{"error", "message", "field", "details"}``.

``form_invalid`` carries ``details.errors``: ``[{"field", "message_en", "message_zh"}]`` (one
per field at fault, both languages, :mod:`tungban.eservices.services.forms`).
"""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound

# --- catalogue files ---
CatalogueInvalid = DomainError.define(
    "catalogue_invalid", _("The catalogue files are not valid: %(problems)s"), status=422
)
FormVersionChanged = Conflict.define(
    "form_version_changed",
    _("Form %(form)s version %(number)s is already published and cannot change: publish a new version."),
)

# --- the catalogue as residents see it ---
ServiceUnknown = NotFound.define("service_unknown", _("There is no such service."))
ServiceNotOnline = Conflict.define(
    "service_not_online", _("This service cannot be applied for here: follow the department's own page.")
)
ApplicationUnknown = NotFound.define("application_unknown", _("There is no such application."))

# --- the resident's side ---
StaleFormVersion = Conflict.define(
    "stale_form_version",
    _("This form has changed since the page was opened: reload the page and check your answers."),
    field="form_version",
)
FormInvalid = DomainError.define(
    "form_invalid", _("Some answers need correcting: see the message beside each field."), status=422
)
NotEditable = Conflict.define("not_editable", _("This application can no longer be changed: it is %(state)s."))
TransitionNotAllowed = Conflict.define(
    "transition_not_allowed", _("This cannot be done to an application that is %(state)s.")
)
DraftExpired = Conflict.define(
    "draft_expired", _("This draft expired on %(date)s and was not kept: start a new application.")
)
FileTooLarge = DomainError.define(
    "file_too_large", _("The file is larger than %(limit)s: upload a smaller one."), status=413
)
FileTypeRefused = DomainError.define(
    "file_type_refused",
    _("The file is not one of the accepted types (%(accepted)s): its content is %(found)s."),
    status=415,
)
TooManyFiles = DomainError.define(
    "too_many_files", _("Send at most %(count)s documents at a time."), field="documents", status=422
)
FileEmpty = DomainError.define("file_empty", _("The file is empty."), status=422)
AgeNotEligible = DomainError.define(
    "age_not_eligible", _("This service is for residents aged %(age)s or over."), status=422
)
NoInformationRequest = Conflict.define(
    "no_information_request", _("There is no open request for information on this application.")
)
SignatureRequired = Conflict.define(
    "signature_required",
    _("This service needs your declaration signed with tungban+ before you submit: press “Sign the declaration”."),
)
NotSignedYet = Conflict.define(
    "not_signed_yet", _("The signature is not there yet: approve it in the app, then continue.")
)
AnswerRequired = DomainError.define(
    "answer_required", _("Write your answer to the department's request."), field="answer", status=422
)

# --- officers ---
NotOfficer = Forbidden.define(
    "not_department_officer", _("You are not an officer of %(department)s: its applications are not yours.")
)
NotApprover = Forbidden.define(
    "not_department_approver", _("Only an approver of %(department)s can approve its applications.")
)
SameApprover = Forbidden.define(
    "same_approver", _("This service needs a second approval by another approver: you gave the first one.")
)
ReasonRequired = DomainError.define(
    "reason_required", _("Give the reason in English and in Chinese."), field="reason", status=422
)
MessageRequired = DomainError.define(
    "message_required", _("Write the request in English and in Chinese."), field="message", status=422
)
LicenceNotConfigured = Conflict.define("licence_not_configured", _("This service issues no e-licence."))

# --- the public catalogue (pages and /api/v1/eservices/catalogue/) ---
CatalogueFilterUnknown = DomainError.define(
    "catalogue_filter_unknown", _("The catalogue has no department or category %(value)s."), status=422
)
CatalogueQueryTooLong = DomainError.define(
    "catalogue_query_too_long", _("Search for at most %(limit)s characters."), status=422, field="q"
)
# --- department systems and webhooks (es-staff) ---
NotDepartmentSystem = Forbidden.define(
    "not_department_system",
    _("This client is not registered as a department's system for e-services: ask the platform's administrators."),
)
WebhookURLRefused = DomainError.define(
    "webhook_url_refused",
    _("The platform will not send webhooks to this URL: %(reason)s."),
    field="url",
    status=422,
)
WebhookEventsInvalid = DomainError.define(
    "webhook_events_invalid", _("Unknown webhook events: %(events)s."), field="events", status=422
)
WebhookUnknown = NotFound.define("webhook_unknown", _("There is no such webhook endpoint."))
AttachmentUnknown = NotFound.define("attachment_unknown", _("There is no such document."))

# --- applying for a company (CorpID, issue 19) ---
CompanyLoginRequired = Forbidden.define(
    "company_login_required",
    _("This service is for companies: choose “Apply for a company” and log in for the company."),
)
CompanyNotNamed = Forbidden.define(
    "company_not_named",
    _("The login did not say which company you act for: choose the company in the app and try again."),
)
CompanyNotAllowed = Forbidden.define(
    "company_not_allowed", _("This service cannot be applied for on behalf of a company.")
)
