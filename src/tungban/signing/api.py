"""Signing API for online services (``/api/v1/signing/``), OAuth-protected (RFC 6750).

A service calls it with ``Authorization: Bearer <access token>`` carrying the ``signing``
scope: the resident's token from a login (signing after login) or the service's own
``client_credentials`` token (anonymous signing: whoever approves signs). Errors use the
platform's JSON error shape (:class:`tungban.core.api.ErrorOut`); the codes are declared in
:mod:`.errors` and listed in the OpenAPI document's ``signing`` tag.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from ninja import Field, File, Router, Schema, Status, UploadedFile

from tungban.core import ratelimit
from tungban.core.api import error_responses
from tungban.core.idempotency import idempotent
from tungban.oidc.resource import ScopedBearer
from tungban.wallet.auth import device_auth

from . import services
from . import verify as verification

router = Router(tags=["signing"])


class ServiceBearer(ScopedBearer):
    """``Authorization: Bearer <access token>`` with the ``signing`` scope; ``request.auth``
    is the token (RFC 6750 errors: 401 ``invalid_token``, 403 ``insufficient_scope``)."""


bearer = ServiceBearer(services.SIGNING_SCOPE)


def service(request) -> str:
    """The caller that owns an ``Idempotency-Key``: the service's OAuth client, and the
    resident for a login token (two residents' requests never share a key)."""
    token = request.auth
    return f"client:{token.client.client_id}" + (f"/resident:{token.resident_id}" if token.resident_id else "")


class DocumentIn(Schema):
    name: str = Field(description="Shown to the resident in the app, e.g. 'declaration.pdf' (max 200 characters)")
    sha256: str | None = Field(
        None,
        description="Hash signing: the document's SHA-256, 64 hex digits; returns a detached CMS (CAdES) signature",
    )
    pdf: str | None = Field(
        None, description="PDF signing: the PDF, base64; returns the PDF signed as PAdES with a visible stamp"
    )


class SigningRequestIn(Schema):
    documents: list[DocumentIn] = Field(
        description="1 to 50 documents, all digests or all PDFs; one approval signs them all"
    )
    reason: str = Field("", description="Why the resident signs (PDF /Reason), optional")


class DocumentOut(Schema):
    index: int
    name: str
    sha256: str
    signature: str | None = Field(None, description="Base64 DER CMS SignedData, detached (hash signing), once signed")
    signed_pdf: str | None = Field(None, description="Base64 signed PDF (PDF signing), once signed")


class SignerOut(Schema):
    name: str
    certificate: str = Field(description="PEM X.509 certificate of the signing key")
    serial: str


class SigningJobOut(Schema):
    state: Literal["queued", "running", "done", "failed"] = Field(
        description="The background signing job after the approval"
    )
    documents_signed: int
    documents_total: int
    attempts: int = Field(description="Failed attempts so far (retried with backoff)")


class SealOut(Schema):
    name: str = Field(description="The organisation's names as in the seal certificate")
    certificate: str = Field(description="PEM X.509 certificate of the organisation's seal (ETSI EN 319 412-3)")
    serial: str


class OrganisationSigningOut(Schema):
    identifier: str = Field(description="organizationIdentifier of the seal, ETSI EN 319 412-1 §5.1.4: NTRHK-<BRN>")
    name_en: str
    name_zh: str
    mandate_id: str = Field(description="The signatory's mandate, written into the signature")
    joint_approval: bool = Field(description="A second authorised person must approve too")
    second_signatory_needed: bool = Field(
        description="Waiting for the second authorised person: show them `second_approval_uri`; until then "
        "the documents cannot be collected (`second_signatory_required`)"
    )
    second_approval_uri: str | None = Field(
        None, description="The second signatory's approval, once the first approved"
    )
    second_comparison_code: str | None = None
    second_mandate_id: str | None = None
    seal: SealOut | None = Field(None, description="The organisation's seal, once signed")


class SigningRequestOut(Schema):
    id: str
    status: Literal["pending", "signed", "declined", "expired", "failed"] = Field(
        description="`pending` until approved and every document is signed (see `job`)"
    )
    format: Literal["cades", "pades"]
    approval_uri: str = Field(description="Open in the app (or show as a QR code) to approve")
    comparison_code: str = Field(
        description="6 characters (Crockford base 32) the app also shows: show them to the resident to compare "
        "(tungban.signing.compare; issue 16)"
    )
    expires_at: dt.datetime
    signed_at: dt.datetime | None
    error: str | None = Field(None, description="Why a request failed, e.g. certificate_revoked, plus_required")
    signer: SignerOut | None
    documents: list[DocumentOut]
    job: SigningJobOut | None = Field(None, description="Set once the resident approved")
    callback_status: str | None = Field(
        None, description="pending | http_<code> (delivered) | retrying_<outcome> | failed_<outcome>"
    )
    organisation: OrganisationSigningOut | None = Field(
        None, description="For a request made for a company (CorpID, integrators' guide §12): whose seal, which mandate"
    )


ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 503)
#: The device's page renders: as above plus 429 (``signing_pages``, per device).
PAGE_ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 429, 503)


@router.post(
    "/requests", response={201: SigningRequestOut, **ERRORS}, auth=bearer, summary="Ask the resident to sign documents"
)
@idempotent(caller=service, description="Optional here (recommended): a retry gets the same signing request.")
def create_request(request, payload: SigningRequestIn):
    """Submit up to 50 digests or PDFs. With a login token the request goes to that
    resident's app; with a ``client_credentials`` token it is anonymous: show
    ``approval_uri`` (as a link or QR code) and whoever approves signs. Then poll
    ``GET /requests/{id}`` or wait for the callback to your registered URL."""
    req = services.create_request(request.auth, [d.dict() for d in payload.documents], reason=payload.reason)
    return Status(201, services.request_result(req))


@router.get(
    "/requests/{request_id}",
    response={200: SigningRequestOut, **ERRORS},
    auth=bearer,
    summary="Status and results of a signing request",
)
def get_request(request, request_id: str):
    return services.request_result(services.get_request(request.auth.client, request_id))


@router.get(
    "/requests/{request_id}/documents/{index}",
    response={200: None, **ERRORS},
    auth=bearer,
    summary="Download one result: the signed PDF or the .p7s signature",
)
def get_document(request, request_id: str, index: int):
    data, media_type, filename = services.document_result(services.get_request(request.auth.client, request_id), index)
    response = HttpResponse(data, content_type=media_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)  # RFC 6266, UTF-8 names
    return response


# --- The app: the pages of a document to sign (issue 16) ------------------------------------


@router.get(
    "/app/requests/{approval_id}/documents/{index}/pages/{page}",
    response={200: None, **PAGE_ERRORS},
    auth=device_auth,
    summary="(device) One page of a PDF to sign, as a PNG image",
    description="For the app of the request's resident while it is pending: page `page` (1-based) of "
    "document `index`, rendered by the platform from the submitted PDF; the number of pages in "
    "`X-Page-Count`. Errors: `no_request`, `no_preview` (a digest-only request), `no_such_page`, "
    "`preview_unavailable` (503), `rate_limited` (429: more renders than `signing_pages` allows this "
    "device, `Retry-After`).",
)
def document_page(request, approval_id: str, index: int, page: int):
    # Each render runs poppler in the child pool the public signature check shares: one device
    # may not keep it busy (issue 16 security review M6). Counted per device, every request.
    ratelimit.count("signing_pages", f"device:{request.auth.pk}")
    png, pages = services.document_page(request.auth, approval_id, index, page)
    response = HttpResponse(png, content_type="image/png")
    response["X-Page-Count"] = str(pages)
    response["Cache-Control"] = "private, no-store"
    return response


# --- Verification (public) -------------------------------------------------------------------


class VerifiedCertificateOut(Schema):
    common_name: str | None = Field(description="The signer's name as in the certificate, e.g. 'CHAN, Tai Man 陳大文'")
    organisation_identifier: str | None = Field(
        None, description="An organisation's seal: its organizationIdentifier (ETSI EN 319 412-1), e.g. NTRHK-21812345"
    )
    subject: str = Field(description="Subject distinguished name (RFC 4514)")
    serial: str = Field(description="Certificate serial number, lowercase hex")
    sha256_fingerprint: str = Field(description="SHA-256 of the DER certificate, lowercase hex")
    issuer: str = Field(description="Issuer distinguished name (RFC 4514)")
    not_before: dt.datetime
    not_after: dt.datetime


class RevocationOut(Schema):
    status: Literal["good", "revoked_later", "revoked", "unknown"] = Field(
        description="At the signing time: good; revoked_later (revoked after the time-stamped signing time: the signature stands); "
        "revoked (before it, or no trusted time stamp); unknown (not a tungban certificate)"
    )
    revoked_at: dt.datetime | None = Field(None, description="Revocation time from the CRL")
    reason: str | None = Field(None, description="RFC 5280 §5.3.1 reason, e.g. key_compromise, cessation_of_operation")
    message: str


class OnBehalfOut(Schema):
    organisation: str = Field(description="The organisation's name from its seal (or its identifier without one)")
    organisation_identifier: str
    mandate_id: str
    sealed: bool = Field(description="A later valid seal of this organisation covers this signature: confirmed")


class VerifiedSignatureOut(Schema):
    field: str | None = Field(None, description="PDF signature field name (PDF only)")
    reason: str | None = Field(None, description="PDF /Reason (PDF only)")
    signer: VerifiedCertificateOut
    signing_time: dt.datetime | None = Field(
        None, description="The RFC 3161 time-stamp time when time-stamped, else the time the signer claims"
    )
    signing_time_source: Literal["timestamp", "claimed"] | None
    timestamped: bool = Field(description="A valid time stamp from a trusted TSA fixes the signing time")
    intact: bool = Field(description="The document's digest matches the signed one: it has not changed")
    valid: bool = Field(description="The signature value is cryptographically sound")
    trusted: bool = Field(
        description="The certificate chains to the tungban root and was valid, not revoked, at the signing time"
    )
    revocation: RevocationOut
    covers_whole_file: bool | None = Field(None, description="PDF: the signature covers the whole file")
    modified_after_signing: bool | None = Field(None, description="PDF: content was added after this signature")
    modifications: Literal["none", "validation_data", "form_filling", "annotations", "other"] | None = Field(
        None,
        description="PDF: what was changed after signing (pyHanko's difference analysis); 'other' invalidates the signature",
    )
    on_behalf: OnBehalfOut | None = Field(
        None, description="A person's signature for an organisation (CorpID): which one, under which mandate"
    )
    bottom_line: bool = Field(description="This signature is valid")
    summary: str
    problems: list[str] = Field(description="Why it is not valid, in the request's language")
    notes: list[str] = Field(description="Remarks that do not affect validity (e.g. revoked later)")


class VerificationOut(Schema):
    kind: Literal["pdf", "detached"]
    valid: bool = Field(description="Bottom line: every signature is valid and the document did not change")
    summary: str
    document_sha256: str = Field(description="SHA-256 of the uploaded file, lowercase hex")
    statements: list[str] = Field(
        default_factory=list,
        description="'X signed for Y under mandate Z' for each person's signature that organisation Y's seal confirms",
    )
    signatures: list[VerifiedSignatureOut]


@router.post(
    "/verify",
    response={200: VerificationOut, **error_responses(400, 413, 422, 429, 503)},
    auth=None,
    summary="Verify a signed PDF or a detached signature (public)",
)
@ratelimit.limit_operation("verify")
def verify_signature(
    request,
    file: File[UploadedFile, dict(description="The signed PDF, or the document a detached signature signs")],
    signature: File[
        UploadedFile, dict(description="Detached CMS signature (.p7s): DER, PEM or base64; omit for a PDF")
    ] = None,
):
    """Upload (``multipart/form-data``) a PDF to check its embedded signatures (PAdES), or a
    document with its detached CMS / CAdES signature. Validation is against the tungban root
    and CRLs at the signing time fixed by the RFC 3161 time stamp. Nothing is stored; no
    authentication. Errors: ``not_pdf``, ``encrypted_pdf``, ``no_signatures``, ``not_cms``,
    ``multiple_signers``, ``unreadable_signature``, ``document_missing``, ``empty_file``,
    ``file_too_large`` (413), ``pdf_too_complex`` (422: more pages than allowed, nested too
    deeply, or the check took longer than ``TUNGBAN_VERIFY_MAX_SECONDS`` or stopped),
    ``verification_unavailable`` (503 with ``Retry-After``: no verifier process was free)."""
    verification.check_size(file.size, "file")
    if signature is not None:
        verification.check_size(signature.size, "signature")
    return verification.verify_upload(file.read(), signature.read() if signature is not None else None)
