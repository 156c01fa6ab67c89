"""Identity's error codes (HKID numbers, registration, accounts), declared once.

Raised through the wallet's registration and the credentials issuance APIs, and listed in
the OpenAPI document with them.
"""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound

HkidFormat = DomainError.define(
    "hkid_format",
    _("An HKID number is 1 or 2 letters, 6 digits and a check digit, e.g. A123456(3)."),
    field="hkid",
)
HkidCheckDigit = DomainError.define(
    "hkid_check_digit",
    _("The check digit of this HKID number is wrong. Please check the number on the card."),
    field="hkid",
)
HkidTaken = Conflict.define("hkid_taken", _("An account already exists for this HKID number."))
NoAccount = NotFound.define("no_account", _("No account exists for this HKID number."), field="hkid")
AccountSuspended = Forbidden.define(
    "account_suspended", _("This account is suspended. Please contact a registration counter.")
)
DateOfBirthFuture = DomainError.define(
    "date_of_birth_future", _("The date of birth is in the future."), field="date_of_birth"
)
TooYoung = DomainError.define("too_young", _("Residents must be aged 11 or over to register."), field="date_of_birth")
GuardianRequired = DomainError.define(
    "guardian_required",
    _(
        "Residents aged 11 to 17 need a parent's or guardian's consent: enter the guardian's name, HKID number and relationship."
    ),
    field="guardian_name",
)
Required = DomainError.define("required", _("%(field)s is required."))
InvalidGender = DomainError.define("invalid_gender", _("Choose a gender."), field="gender")
InvalidTier = DomainError.define("invalid_tier", _("Unknown tier."), field="tier")
InvalidStatus = DomainError.define("invalid_status", _("Unknown status."))
UnknownField = DomainError.define("unknown_field", _("These fields cannot be changed here."))
InvalidPhone = DomainError.define("invalid_phone", _("Enter a valid phone number."), field="phone")
InvalidEmail = DomainError.define("invalid_email", _("Enter a valid email address."), field="email")
ProofingFailed = DomainError.define(
    "proofing_failed",
    _(
        "We could not confirm your identity with these details. Check them against your HKID card, or register at a counter."
    ),
)
TextTooLong = DomainError.define("text_too_long", _("%(label)s is too long: at most %(max)s characters."), status=422)
InvalidCharacters = DomainError.define(
    "invalid_characters",
    _("%(label)s contains characters that are not allowed (control characters or invalid Unicode)."),
    status=422,
)
