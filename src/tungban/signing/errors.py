"""Signing's error codes (signing requests, PDFs, certificates, verification), declared once.

Listed in the OpenAPI document under the ``signing`` tag.
"""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import DomainError, Forbidden, NotFound
from tungban.oidc import errors as oidc_errors

# Who may sign and ask for signatures
PlusRequired = Forbidden.define(
    "plus_required", _("Signing needs a tungban+ account: upgrade at a registration counter.")
)
NoDevice = Forbidden.define("no_device", _("Bind the app first."))
CertificateRevoked = Forbidden.define(
    "certificate_revoked", _("Your signing certificate has been revoked. Bind the app again to get a new one.")
)
InvalidReason = DomainError.define("invalid_reason", _("Unknown revocation reason."), field="reason")
SigningNotAllowed = Forbidden.define("signing_not_allowed", _("This service is not allowed to request signatures."))
#: Step-up (RFC 9470) is the resource server's, for every API (issue 16 item 3): listed here too.
InsufficientUserAuthentication = oidc_errors.InsufficientUserAuthentication

# Signing requests
InvalidRequest = DomainError.define("invalid_request", _("Not valid base64."))
NoDocuments = DomainError.define("no_documents", _("Send at least one document."), field="documents")
TooManyDocuments = DomainError.define(
    "too_many_documents", _("At most %(n)d documents can be signed with one approval."), field="documents"
)
MixedDocuments = DomainError.define(
    "mixed_documents", _("Send either digests or PDFs in one request, not both."), field="documents"
)
PdfTooLarge = DomainError.define("pdf_too_large", _("This PDF is too large to sign."), status=413)
InvalidDigest = DomainError.define(
    "invalid_digest", _("A document digest must be a SHA-256 value: 64 hexadecimal digits.")
)
NotPdf = DomainError.define("not_pdf", _("This file is not a PDF."))
EncryptedPdf = DomainError.define(
    "encrypted_pdf", _("This PDF is encrypted or password-protected; send it unencrypted.")
)
NoSigningRequest = NotFound.define("no_signing_request", _("This signing request does not exist."))
NoDocument = NotFound.define("no_document", _("This document does not exist."))
NotSigned = DomainError.define("not_signed", _("This document is not signed (or the result was deleted)."), status=409)
SigningFailed = DomainError.define(
    "signing_failed",
    _("The documents could not be signed; nothing was signed. Ask the service to try again."),
    status=500,
)
KeystoreUnavailable = DomainError.define(
    "keystore_unavailable", "The signing keystore (PKCS#11) is unavailable.", status=503
)
StampFontMissing = DomainError.define(
    "stamp_font_missing",
    "No CJK font for the signature stamp: install fonts-wqy-microhei or set TUNGBAN_STAMP_FONT.",
    status=503,
)

# Signing for an organisation (issue 19)
PdfRequired = DomainError.define(
    "pdf_required",
    _("A signature for a company is made on PDFs (the company's seal is a PDF signature): send PDFs."),
    field="documents",
)
SecondSignatoryRequired = DomainError.define(
    "second_signatory_required",
    _(
        "This company's mandate needs a second authorised person's approval: the document is not signed until they approve."
    ),
    status=409,
)
SameSignatory = Forbidden.define(
    "same_signatory",
    _("The second signatory must be another authorised person of the company, not the one who signed first."),
)

# Verification (POST /verify)
FileTooLarge = DomainError.define(
    "file_too_large", _("This file is too large: at most %(mb)d MB can be checked."), status=413
)
EmptyFile = DomainError.define("empty_file", _("This file is empty."))
NoSignatures = DomainError.define("no_signatures", _("This PDF has no digital signature."), field="file")
NotCms = DomainError.define(
    "not_cms", _("The signature file is not a CMS / PKCS #7 signature (.p7s)."), field="signature"
)
MultipleSigners = DomainError.define(
    "multiple_signers", _("Only signatures with exactly one signer can be checked."), field="signature"
)
PdfTooComplex = DomainError.define(
    "pdf_too_complex", _("This PDF is too complex to process: %(reason)s"), status=422, field="file"
)
VerificationUnavailable = DomainError.define(
    "verification_unavailable",
    _("Signatures cannot be checked at the moment. Please try again in a minute."),
    status=503,
)
UnreadableSignature = DomainError.define("unreadable_signature", _("A signature cannot be read: %(reason)s"))
DocumentMissing = DomainError.define(
    "document_missing", _("This is a signature file (.p7s): upload the document it signs as well."), field="file"
)

# Showing the document in the app (issue 16)
NoPreview = NotFound.define(
    "no_preview", _("This request sent only the documents' digests: there are no pages to show.")
)
NoSuchPage = NotFound.define("no_such_page", _("The document has %(pages)d pages."))
PreviewUnavailable = DomainError.define(
    "preview_unavailable", _("The document's pages cannot be shown right now. Try again in a moment."), status=503
)
