"""The hotline app's error codes (issue 22), declared once with ``DomainError.define`` (see ``core/errors.py``).

The codes are the agreed interface's (``/work/briefs/issue22.md``) plus a few for inputs it
did not name (``reason_required``, ``message_too_long``, ``too_many_attachments``,
``attachment_empty``, ``unknown_department``, ``unknown_kind``, ``closed_at_invalid``,
``unknown_service``). Every one is raised before anything is stored.
"""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound

# --- submitting a case ---------------------------------------------------------------------------
UnknownCaseType = DomainError.define(
    "unknown_case_type", _("There is no such kind of case, or it no longer takes cases."), field="case_type"
)
UnknownKind = DomainError.define(
    "unknown_kind", _("Say whether this is an enquiry, a complaint, a suggestion or a compliment."), field="kind"
)
UnknownService = DomainError.define("unknown_service", _("There is no such e-service."), field="service_slug")
DescriptionRequired = DomainError.define(
    "description_required", _("Describe the matter (at least one character)."), field="description"
)
DescriptionTooLong = DomainError.define(
    "description_too_long", _("The description is too long: at most %(max)s characters."), field="description"
)
AttributeRequired = DomainError.define("attribute_required", _("Answer “%(name)s”."))
AttributeInvalid = DomainError.define("attribute_invalid", _("The answer to “%(name)s” is not valid: %(why)s"))
LocationRequired = DomainError.define(
    "location_required", _("Give the place: an address or a point on the map."), field="address"
)
InvalidLocation = DomainError.define("invalid_location", _("The place is not valid: %(why)s"))
TooManyAttachments = DomainError.define("too_many_attachments", _("Attach at most %(max)s files."), field="attachments")
AttachmentEmpty = DomainError.define("attachment_empty", _("The file “%(name)s” is empty."), field="attachments")
AttachmentTooLarge = DomainError.define(
    "attachment_too_large",
    _("The file “%(name)s” is too large: at most %(limit)s each."),
    status=413,
    field="attachments",
)
AttachmentType = DomainError.define(
    "attachment_type",
    _("The file “%(name)s” is not a photo (JPEG, PNG) or a PDF document."),
    status=415,
    field="attachments",
)
ContactInvalid = DomainError.define("contact_invalid", _("The contact details are not valid: %(why)s"))

# --- finding a case ------------------------------------------------------------------------------
CaseUnknown = NotFound.define(
    "case_unknown", _("No case with this reference and tracking code (or login) was found."), field="reference"
)

# --- departments and the coordinator -------------------------------------------------------------
NotCaseOfficer = Forbidden.define("not_case_officer", _("You are not a 1823 case officer."))
OtherDepartment = Forbidden.define("other_department", _("This case is not with your department."))
UnknownDepartment = DomainError.define("unknown_department", _("There is no such department."), field="department")
ReasonRequired = DomainError.define("reason_required", _("Give the reason (at least one character)."), field="reason")
ReplyRequired = DomainError.define(
    "reply_required", _("Write the reply to the person (at least one character)."), field="reply"
)
MessageTooLong = DomainError.define("message_too_long", _("The text is too long: at most %(max)s characters."))
ClosedAtInvalid = DomainError.define(
    "closed_at_invalid",
    _("The closure date cannot be in the future or before the case was submitted."),
    field="closed_at",
)

# --- the case's state ----------------------------------------------------------------------------
CaseClosed = Conflict.define("case_closed", _("This case is closed."))
CaseNotClosed = Conflict.define("case_not_closed", _("This case is not closed, so it cannot be reopened."))
ReopenExpired = Conflict.define(
    "reopen_expired", _("This case can no longer be reopened: the time to reopen it ended.")
)
TransitionNotAllowed = Conflict.define(
    "transition_not_allowed", _("This cannot be done to the case in its present state (%(state)s).")
)

# --- Open311 GeoReport v2 and the resident's pages (part sopen) ---
Open311KeyRequired = Forbidden.define(
    "api_key_required", _("Submitting a service request needs an api_key (ask 1823 for one)."), status=401
)
Open311KeyInvalid = Forbidden.define("api_key_invalid", _("This api_key is not valid or has been withdrawn."))
MediaUrlRefused = DomainError.define(
    "media_url_refused",
    _("media_url is not accepted: 1823 does not fetch files from other sites. Send photos on the 1823 website."),
    field="media_url",
)
InvalidDate = DomainError.define(
    "invalid_date", _("Dates must be ISO 8601 with a time zone, e.g. 2026-01-01T00:00:00+08:00.")
)
DateRangeTooLong = DomainError.define("date_range_too_long", _("A search may span at most 90 days."))
InvalidStatus = DomainError.define("invalid_status", _("status must be open or closed."), field="status")
TrackingCodeRequired = DomainError.define(
    "tracking_code_required", _("Enter the reference and the tracking code."), field="tracking_code"
)

# --- the FAQ files (part sassist) ---
FaqFilesInvalid = DomainError.define("faq_files_invalid", _("The FAQ files are not valid: %(problems)s"), status=422)
