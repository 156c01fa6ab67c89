"""The federation app's error codes (issue 23), declared once with ``DomainError.define``.

The ``code`` of each is the OpenID Federation 1.0 error code (§8.9) where the specification has
one (``invalid_request``, ``invalid_issuer``, ``invalid_subject``, ``not_found``,
``invalid_trust_anchor``, ``invalid_trust_chain``, ``invalid_metadata``,
``unsupported_parameter``), else the platform's. The resident sees the message, in their
language; an RP or a federation client sees the code in the JSON error body (§8.9).
"""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import DomainError, Forbidden, NotFound

# --- federation endpoints (§8.9) -----------------------------------------------------------------
InvalidRequest = DomainError.define("invalid_request", _("The federation request is malformed."))
InvalidIssuer = DomainError.define("invalid_issuer", _("This entity does not issue statements as that issuer."))
InvalidSubject = NotFound.define("invalid_subject", _("This entity has no subordinate with that identifier."))
EntityNotFound = NotFound.define("not_found", _("There is no such federation entity here."))
UnsupportedParameter = DomainError.define("unsupported_parameter", _("A parameter of the request is not supported."))

# --- trust chains (§10) ----------------------------------------------------------------------------
InvalidTrustAnchor = Forbidden.define(
    "invalid_trust_anchor", _("The service does not belong to a federation this platform trusts.")
)
InvalidTrustChain = Forbidden.define(
    "invalid_trust_chain",
    _("The service's federation membership could not be verified (a statement is expired, revoked or wrongly signed)."),
)
InvalidMetadata = Forbidden.define(
    "invalid_metadata", _("The service's registration breaks the federation's rules (metadata policy).")
)
InvalidTrustMark = Forbidden.define(
    "invalid_trust_mark", _("The service does not hold a valid cross-boundary service trust mark.")
)


class MembershipEnded(DomainError):
    """Marker base (no code of its own): a definite answer that the entity is no longer a
    member. Only such a refusal deactivates a registered client (``services.registration``);
    every other refusal could be caused or forged by a stranger or be passing (a 429, an outage,
    a redirect, a malformed request object) and changes nothing for an earlier registration."""


class MemberRemoved(MembershipEnded, InvalidTrustChain):
    """``invalid_trust_chain`` because the entity's superior's fetch endpoint answered
    ``not_found`` / ``invalid_subject`` about it (§8.1.1, §8.9: the subordinate was revoked)."""


class TrustMarkRevoked(MembershipEnded, InvalidTrustMark):
    """``invalid_trust_mark`` because the issuer's trust mark status endpoint answered, signed,
    ``revoked`` (§8.6)."""


FetchFailed = DomainError.define(
    "federation_unreachable", _("A federation member could not be reached. Please try again later."), status=502
)

# --- cross-boundary login (issue 23) ----------------------------------------------------------------
UnknownPartner = Forbidden.define(
    "unknown_partner", _("There is no agreement with the platform this service belongs to, so no data may cross.")
)
BindingRemoved = Forbidden.define(
    "binding_removed", _("You removed the binding with this platform: log in again to bind the accounts anew.")
)
BindingUnknown = NotFound.define("binding_unknown", _("There is no such binding."))
AssuranceTooLow = Forbidden.define(
    "assurance_too_low", _("This service needs a higher level of identity assurance than the login reached.")
)
LoginUnknown = NotFound.define("login_unknown", _("This login has expired or was already used. Please start again."))
LoginRefused = Forbidden.define("login_refused", _("The login was refused: %(why)s"))

# --- hosted services' logins with a partner identity (part frp) ----------------------------------
IssuerMismatch = Forbidden.define(
    "issuer_mismatch",
    _("The answer did not come from the platform the login was sent to (RFC 9207 'iss'). Nothing was accepted."),
)
InvalidIdToken = Forbidden.define(
    "invalid_id_token",
    _("The partner platform's proof of identity could not be verified (ID token). Nothing was accepted."),
)
LoginDeclined = Forbidden.define("login_declined", _("You declined the login in the app. Nothing was shared."))

#: §12.1.1: automatic registration needs a request the RP signed: a request object (``request``)
#: or a pushed authorization request authenticated with ``private_key_jwt``.
UnsignedRequest = Forbidden.define(
    "unsigned_request",
    _("This service did not sign its sign-in request, so it cannot be identified. Nothing was shared."),
)
