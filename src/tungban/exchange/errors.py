"""The exchange gateway's error codes (consents, exchanges, providers), declared once.

Listed in the OpenAPI document under the ``exchange`` tag.
"""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound

# Registration (commands, admin)
InvalidSchema = DomainError.define(
    "invalid_schema", _("The product schema is not a valid JSON Schema: %(reason)s"), field="schema"
)
InvalidOrganisation = DomainError.define("invalid_organisation", "The organisation's fields are not valid.")
InvalidProduct = DomainError.define("invalid_product", "The data product's fields are not valid.")

# Data users and consents
NotADataUser = Forbidden.define(
    "not_a_data_user", _("This client is not a registered data user of the exchange gateway.")
)
UnknownProduct = NotFound.define("unknown_product", _("There is no such data product."), field="product")
InvalidPurpose = DomainError.define(
    "invalid_purpose", _("State the purpose in 5 to 300 characters (PDPO DPP1)."), field="purpose"
)
InvalidDuration = DomainError.define(
    "invalid_duration",
    _("The duration must be between 1 second and %(max)s seconds."),
    field="duration_seconds",
)
InvalidMaxUses = DomainError.define("invalid_max_uses", _("max_uses must be 1 or more, or left out."), field="max_uses")
UnknownSubject = NotFound.define("unknown_subject", _("No resident has this identifier at your service."), field="sub")
UnknownConsent = NotFound.define("unknown_consent", _("There is no such consent."))
# Data subjects other than residents (issue 19: an organisation, by BR number)
UnknownSubjectKind = DomainError.define(
    "unknown_subject_kind", _("The kind of data subject must be one of: %(kinds)s."), field="subject.kind"
)
NoSubjectForm = DomainError.define(
    "no_subject_form",
    _("This data product has no form for this kind of data subject (%(kind)s)."),
    field="product",
)
ForeignConsent = Forbidden.define("foreign_consent", _("This consent was not given to you."))

# Exchanges
InvalidRequest = DomainError.define(
    "invalid_request",
    _("request_id must be 8 to 64 letters, digits or -_.: (a new one for every request)."),
    field="request_id",
)
ReplayedRequest = Conflict.define(
    "replayed_request", _("This request_id was already used for a different request: a replayed request.")
)
RequestStale = DomainError.define(
    "request_stale",
    _("iat is more than %(skew)s seconds away from the gateway's time: check your clock, and send a new request."),
    field="iat",
)
ProductNotCovered = Forbidden.define("product_not_covered", _("The consent does not cover this data product."))
ConsentPending = Conflict.define("consent_pending", _("The resident has not answered this consent request yet."))
ConsentDeclined = Forbidden.define("consent_declined", _("The resident declined this consent."))
ConsentRevoked = Forbidden.define("consent_revoked", _("The resident revoked this consent."))
ConsentExpired = Forbidden.define("consent_expired", _("This consent has expired."))
ConsentExhausted = Forbidden.define("consent_exhausted", _("This consent has been used as many times as it allows."))
NoRecord = NotFound.define("no_record", _("The data provider holds no record for this person."))
ProviderUnavailable = DomainError.define(
    "provider_unavailable", _("The data provider cannot be reached. Try again later."), status=502
)
ProviderError = DomainError.define(
    "provider_error", _("The data provider could not answer (HTTP %(status)s)."), status=502
)
ProviderBadData = DomainError.define(
    "provider_bad_data",
    _("The data provider's answer did not match the product's schema; nothing was delivered."),
    status=502,
)
ProviderBusy = DomainError.define(
    "provider_busy",
    _("The data provider is busy with other requests. Try again in a few seconds."),
    status=503,
)
ProviderTimeout = DomainError.define(
    "provider_timeout", _("The data provider did not answer in time. Try again later."), status=504
)
