"""CorpID's error codes (數碼企業身份, issue 19), declared once. Each is refused before
anything is written, or inside the service's transaction, so nothing partial is stored.

Listed in the OpenAPI document under the ``corpid`` tag.
"""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound

# Business Registration numbers and the register
BrNumberFormat = DomainError.define(
    "br_number_format",
    _("A Business Registration number is 8 digits (the first 8 digits of the certificate number)."),
    field="br_number",
)
BrNumberNotRegistered = NotFound.define(
    "br_number_not_registered",
    _("No company with this Business Registration number is on the register."),
    field="br_number",
)
CompanyNotLive = Conflict.define(
    "company_not_live",
    _("This company is not live on the register (dissolved or in liquidation)."),
    field="br_number",
)
InvalidRegister = DomainError.define("invalid_register", "The register file is not valid: %(reason)s")

# Organisations
NoOrganisation = NotFound.define("no_organisation", _("This company has not set up CorpID yet."), field="br_number")
NotADirector = Forbidden.define(
    "not_a_director",
    _("Only a director of the company on the Companies Registry's register can set up CorpID for it."),
    field="br_number",
)
OrganisationAlreadySetUp = Conflict.define(
    "organisation_already_set_up",
    _("This company already has a CorpID administrator. Ask an administrator to give you a mandate."),
    field="br_number",
)
OrganisationSuspended = Forbidden.define(
    "organisation_suspended",
    _("This company's CorpID is suspended: it has no administrator. A director can set it up again."),
)

# Granting, answering and revoking mandates
NotAnAdministrator = Forbidden.define(
    "not_an_administrator", _("Only the company's administrators and sub-administrators can do this.")
)
TooManyAdministrators = Conflict.define(
    "too_many_administrators", _("A company can have at most two administrators."), field="role"
)
LastAdministrator = Conflict.define(
    "last_administrator",
    _("This is the company's last administrator: appoint another administrator before removing this one."),
)
DelegationExceedsMandate = Forbidden.define(
    "delegation_exceeds_mandate",
    _("A mandate can only pass on what it allows: beyond it in %(what)s."),
)
InvalidScope = DomainError.define("invalid_scope", _("The mandate's scope is not valid: %(reason)s"), field="services")
InvalidDates = DomainError.define(
    "invalid_dates", _("The mandate's dates are not valid: %(reason)s"), field="valid_until"
)
UnknownHolder = NotFound.define("unknown_holder", _("No tungban account has this HKID number."), field="holder_hkid")
MandateExists = Conflict.define(
    "mandate_exists",
    _("This person already holds or has been offered a mandate for this company."),
    field="holder_hkid",
)
NoSuchMandate = NotFound.define("no_such_mandate", _("There is no such mandate."))
MandateNotOffered = Conflict.define("mandate_not_offered", _("This mandate is no longer waiting for an answer."))
OfferLapsed = Conflict.define(
    "offer_lapsed",
    _(
        "This offer can no longer be accepted: the person who made it may no longer give this mandate. "
        "Ask an administrator of the company for a new offer."
    ),
)
MandateNotLive = Conflict.define("mandate_not_live", _("This mandate is already revoked, declined or ended."))

# Checking a mandate (authority)
NoMandate = Forbidden.define("no_mandate", _("You have no mandate to act for this company."))
MandateNotAccepted = Forbidden.define(
    "mandate_not_accepted", _("Your mandate for this company is waiting for your answer in the app.")
)
MandateRevoked = Forbidden.define("mandate_revoked", _("Your mandate for this company has been revoked."))
MandateDeclined = Forbidden.define("mandate_declined", _("You declined the mandate for this company."))
MandateExpired = Forbidden.define("mandate_expired", _("Your mandate for this company has ended."))
MandateNotYetValid = Forbidden.define("mandate_not_yet_valid", _("Your mandate for this company starts on %(start)s."))
MandateOutOfScope = Forbidden.define(
    "mandate_out_of_scope", _("Your mandate for this company does not cover this: %(what)s.")
)
JointApprovalRequired = Forbidden.define(
    "joint_approval_required",
    _(
        "Your mandate for this company needs a second person's approval for each action, "
        "so it cannot give the company's consent alone."
    ),
)

# Corporate login (the OpenID Provider's corpid scope)
NoLoginMandate = Forbidden.define(
    "no_mandate_for_service",
    _("You have no mandate in force to act for a company at this service."),
)


# Signing for a company (the signing API)
LoginRequired = Forbidden.define(
    "login_required",
    _("Signing for a company needs the authorised person's login token, not the service's own token."),
)
