"""The wallet's error codes (binding, approvals, device proofs), declared once.

Raise them as ``raise errors.NoRequest()``; see :meth:`tungban.core.errors.DomainError.define`.
The API lists them in its OpenAPI document under the ``wallet`` tag.
"""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound

# Binding
BadActivationCode = Forbidden.define(
    "bad_activation_code",
    _("The HKID number or the activation code is not valid. Ask the counter for a new code if it has expired."),
)
ActivationCodeLocked = DomainError.define(
    "activation_code_locked",
    _(
        "This activation code is locked because a wrong code was typed too many times. Ask the "
        "registration counter for a new code, or try this one again in %(minutes)s minutes."
    ),
    status=429,
)
BadDeviceKey = DomainError.define(
    "bad_device_key", _("The device key must be a public ECDSA P-256 key (JWK)."), field="public_jwk"
)
BadPlatform = DomainError.define("bad_platform", _("Unknown app platform."), field="platform")
PasskeyRequired = DomainError.define("passkey_required", _("The web app needs a passkey for user verification."))
BadPasskey = Forbidden.define("bad_passkey", _("The passkey confirmation did not verify."))
DeviceTaken = Conflict.define(
    "device_taken", _("This device is already bound to an account. One device can serve one account only.")
)
AlreadyBound = Conflict.define("already_bound", _("One of these residents already has a bound device."))

# Approvals
NoRequest = NotFound.define("no_request", _("This request does not exist."))
RequestAlreadyDecided = Conflict.define(
    "request_already_decided", _("This request has already been answered. Start again from the service.")
)
RequestExpired = DomainError.define(
    "request_expired",
    _("This request has expired (requests last 2 minutes). Start again from the service."),
    status=410,
)
WrongAccount = Forbidden.define("wrong_account", _("This request is for another account."))
BadDecision = DomainError.define("bad_decision", _("The decision must be approve or decline."))
UnknownClaim = DomainError.define("unknown_claim", _("Only the requested fields can be approved."))
EssentialClaim = DomainError.define("essential_claim", _("The service needs these fields to continue: %(fields)s"))
WrongCode = Forbidden.define(
    "wrong_code",
    _(
        "That is not the number shown on the screen where you started. Check it and type it again. "
        "If you did not start this yourself, decline."
    ),
    field="code",
)
CodeAttemptsExceeded = Forbidden.define(
    "code_attempts_exceeded",
    _("The number was wrong too many times, so this request is cancelled. Nothing was shared."),
    field="code",
)
UserVerificationRequired = Forbidden.define(
    "user_verification_required", _("Confirm with your passkey (fingerprint, face or screen lock).")
)

# Device proofs (Authorization: Device <JWS>) and decision signatures
DeviceAuthRequired = Forbidden.define("device_auth_required", _("This call needs a bound device."), status=401)
BadSignature = Forbidden.define("bad_signature", _("The signature does not verify with this device's key."))
ProofExpired = Forbidden.define("proof_expired", _("The device clock is off or the proof is too old."), status=401)
ProofReplayed = Forbidden.define("proof_replayed", _("This proof was already used."), status=401)
DeviceUnbound = Forbidden.define("device_unbound", _("This device is no longer bound to an account."))

# Personal assistant panel (issue 16)
UnknownCardKind = DomainError.define(
    "unknown_card_kind", _("There is no such card for the personal assistant."), field="cards"
)
RepeatedCard = DomainError.define("repeated_card", _("Each card can be on the panel once."), field="cards")
TooManyCards = DomainError.define("too_many_cards", _("The panel holds at most %(max)s cards."), field="cards")
NoCardAction = NotFound.define("no_card_action", _("This card is not on your panel or has nothing to do."))
