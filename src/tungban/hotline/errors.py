"""The hotline app's error codes (issue 22), declared once with ``DomainError.define`` (see ``core/errors.py``)."""

from django.utils.translation import gettext_lazy as _  # noqa: F401

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound  # noqa: F401

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
