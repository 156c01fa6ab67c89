"""The e-licence (credentials) error codes, declared once.

Listed in the OpenAPI document under the ``credentials`` tag. The problems 認證易 reports
inside a 200 verification answer (``problems[].code``) are verification results, not
errors, and are listed on ``VerificationOut`` instead.
"""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound

# Issuers and officers
NotAnIssuerOfficer = Forbidden.define("not_an_issuer_officer", _("You are not an officer of any issuing department."))
NotAnIssuer = Forbidden.define("not_an_issuer", _("This client is not registered as a credential issuer."))

# Issuance
CredentialTypeUnknown = NotFound.define(
    "credential_type_unknown", _("There is no credential type “%(id)s”."), field="type"
)
CredentialTypeForeign = Forbidden.define("credential_type_foreign", "%(issuer)s does not issue %(type)s.", field="type")
HolderNotActive = DomainError.define("holder_not_active", _("The holder's account is suspended."), field="hkid")
HolderTooYoung = DomainError.define(
    "holder_too_young", _("The holder must be at least %(age)d years old."), field="hkid"
)
ClaimsInvalid = DomainError.define("claims_invalid", _("Unknown claim “%(name)s”."))
ValidFromInvalid = DomainError.define(
    "valid_from_invalid",
    _("The start of validity needs a time zone and must be from a day ago to a year ahead."),
    field="valid_from",
)
ExpiresAtInvalid = DomainError.define(
    "expires_at_invalid",
    _("The end of validity needs a time zone and must be after its start."),
    field="expires_at",
)

# Bulk issuance
CsvInvalid = DomainError.define("csv_invalid", _("The file is not UTF-8 text."), field="file")
BulkEmpty = DomainError.define("bulk_empty", _("The file has no rows to issue."), field="file")
BatchUnknown = NotFound.define("batch_unknown", _("There is no such batch."), field="id")

# Status
StatusReasonRequired = DomainError.define(
    "status_reason_required",
    _("Give the reason for suspending or revoking the credential."),
    field="reason",
    status=422,
)
RevocationNotConfirmed = DomainError.define(
    "revocation_not_confirmed",
    _("Revocation is final: confirm that the credential is to be revoked permanently."),
    field="confirm",
    status=422,
)
StatusInvalid = DomainError.define("status_invalid", _("Status must be valid, suspended or revoked."), field="status")
StatusTransition = Conflict.define(
    "status_transition", _("A %(old)s credential cannot become %(new)s."), field="status"
)
StatusListUnknown = NotFound.define("status_list_unknown", _("There is no such status list."))
CredentialUnknown = NotFound.define("credential_unknown", _("There is no such credential."), field="id")

# Verification (認證易)
CredentialMalformed = DomainError.define(
    "credential_malformed",
    _("This is not an e-certificate. Paste the whole text, or scan the QR code again."),
    field="credential",
)

# Personal code (個人碼, issue 16)
VerifierUnknown = NotFound.define(
    "verifier_unknown", _("There is no verifier “%(id)s” for personal codes."), field="verifier"
)
HolderProofInvalid = DomainError.define(
    "holder_proof_invalid",
    _("The app's proof that it holds the key for this code is missing, not for this code, or too old."),
    field="holder_proof",
)
HolderKeyInvalid = DomainError.define(
    "holder_key_invalid", _("The app's key for this code must be a public EC P-256 key."), field="holder_jwk"
)
PersonalCodeClaimUnknown = DomainError.define(
    "personal_code_claim_unknown", _("A personal code cannot show “%(name)s”."), field="claims"
)
