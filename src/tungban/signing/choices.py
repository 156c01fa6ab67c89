"""Labels officers read for signing-certificate states (display only; the wire values are
the keys). Revocation reasons are RFC 5280 §5.3.1 ``CRLReason`` names as in
:data:`tungban.signing.ca.REASONS`."""

from django.utils.translation import gettext_lazy as _

#: RFC 5280 §5.3.1 reasons (names as in ``tungban.signing.ca.REASONS``) as officers read them.
REVOCATION_REASON_LABELS = {
    "key_compromise": _("Key compromise (the phone or key may be in someone else's hands)"),
    "privilege_withdrawn": _("Privilege withdrawn (the resident may no longer sign)"),
    "unspecified": _("Unspecified"),
    "cessation_of_operation": _("Cessation of operation (device unbound)"),
    "superseded": _("Superseded"),
}
#: The reasons an officer may choose when revoking by hand.
OFFICER_REVOCATION_REASONS = ["key_compromise", "privilege_withdrawn", "unspecified"]
#: ``SigningCredential.status`` values as officers read them.
CERTIFICATE_STATUS_LABELS = {"active": _("Valid"), "revoked": _("Revoked")}
#: Keystore kinds (``tungban.signing.keystore``) as officers read them.
KEYSTORE_LABELS = {"pkcs11": "PKCS#11", "software": _("Software (encrypted at rest)")}
