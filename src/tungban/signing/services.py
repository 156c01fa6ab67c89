"""Digital signing domain logic (issue #3; MISSION §1, tungban+ accounts under the Electronic
Transactions Ordinance, Cap. 553).

Flow (modelled on the Cloud Signature Consortium API's remote signing): an online service
with the ``signing`` scope submits documents (:func:`create_request`); the resident approves
in the app with the device key over the documents' SHA-256 digests; on approval the
platform signs with the resident's remote key in a background job (:func:`accept_approval`
queues it in the approval's transaction; :func:`run_signing` in ``tungban worker`` stores each
result once, and a request is ``signed`` only when all are); the service polls
:func:`request_result` or gets a callback (:func:`notify`, retried with backoff). A resident's credential (key + certificate) is created on the first signature
from a bound device and revoked when the device is unbound or the account suspended.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import logging
import uuid
from dataclasses import dataclass

import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tungban.core import jobs
from tungban.core.errors import DomainError
from tungban.core.killpoints import killpoint
from tungban.identity import services as identity
from tungban.identity.models import Resident
from tungban.keys import token
from tungban.oidc import stepup
from tungban.oidc.models import Client
from tungban.wallet import errors as wallet_errors
from tungban.wallet import services as wallet
from tungban.wallet.models import ApprovalRequest, Device, DeviceStatus, RequestStatus

from . import behalf, ca, compare, errors, keystore, pdf, preview
from . import seal as seals
from .constants import SIGN_KIND, SIGNING_SCOPE
from .models import (
    AuthorityRole,
    BehalfSigning,
    CredentialStatus,
    JobState,
    SigningCredential,
    SigningDocument,
    SigningFormat,
    SigningRequest,
)
from .seal import (  # noqa: F401  (the platform's seals, for other apps: issue 18; organisations': issue 19)
    revoke_organisation_seal,
    revoke_seal,
    seal_pdf,
)

log = logging.getLogger(__name__)

DIGEST_HEX_LENGTH = 64
#: A certificate this close to expiry is replaced before it signs.
RENEW_BEFORE = dt.timedelta(days=7)


# --- Credentials -----------------------------------------------------------------------------


def _require_plus(resident: Resident) -> None:
    if resident.tier != "plus":
        raise errors.PlusRequired()


def check_can_sign(resident: Resident) -> None:
    """Refuse early what signing would refuse: suspended, basic tier, no bound device, a
    revoked certificate.

    :raises Forbidden: ``account_suspended``, ``plus_required``, ``no_device``,
        ``certificate_revoked``.
    """
    identity.require_active(resident)
    _require_plus(resident)
    device = wallet.active_device(resident)
    if device is None:
        raise errors.NoDevice()
    credential = SigningCredential.objects.filter(device=device).order_by("-created_at").first()
    if credential and credential.status == CredentialStatus.REVOKED:
        raise errors.CertificateRevoked()


def _usable(credential: SigningCredential | None, resident: Resident) -> bool:
    """Whether ``credential`` may sign for ``resident`` as it is: valid, not within
    :data:`RENEW_BEFORE` of expiry, naming the resident as the record does."""
    return (
        credential is not None
        and credential.status == CredentialStatus.ACTIVE
        and credential.not_after > timezone.now() + RENEW_BEFORE
        and _certificate_name(credential) == ca.common_name(resident)
    )


def current_credential(resident: Resident, device: Device) -> SigningCredential | None:
    """The device's credential if it can sign as it is, else ``None`` (the signing job makes
    one with :func:`ensure_credential`). Locks it: call inside a transaction.

    :raises Forbidden: as :func:`check_can_sign`.
    """
    check_can_sign(resident)
    existing = SigningCredential.objects.select_for_update().filter(device=device).order_by("-created_at").first()
    if existing and existing.status == CredentialStatus.REVOKED:  # revoked since check_can_sign read it
        raise errors.CertificateRevoked()
    return existing if _usable(existing, resident) else None


def ensure_credential(resident: Resident, device: Device) -> SigningCredential:
    """The device's valid credential, creating the key (in the keystore) and certificate on
    first use. A certificate that expires within :data:`RENEW_BEFORE`, or that names the
    resident differently from the record, is superseded (revoked with reason
    ``superseded``) by a new one.

    Call outside a transaction: a new key is reserved in the key register first, in a
    transaction of its own (:func:`tungban.keys.token.reserve`), then generated, then
    recorded with the credential in one transaction that also activates it, so a worker
    killed anywhere leaves no key the platform does not know about (issue 14 item 3).

    :raises Forbidden: as :func:`check_can_sign`; ``no_device`` when ``device`` is no longer
        the resident's bound device.
    :raises DomainError: ``keystore_unavailable`` (503).
    """
    with transaction.atomic():
        existing = current_credential(resident, device)
    if existing:
        return existing
    store = keystore.get_keystore()
    key = _new_key(store)
    reused = None
    try:
        with transaction.atomic():
            if not Device.objects.select_for_update().filter(pk=device.pk, status=DeviceStatus.ACTIVE).exists():
                raise errors.NoDevice()
            existing = (
                SigningCredential.objects.select_for_update().filter(device=device).order_by("-created_at").first()
            )
            if existing and existing.status == CredentialStatus.REVOKED:
                raise errors.CertificateRevoked()
            if _usable(existing, resident):  # another job made one meanwhile: ours is not needed
                reused = existing
            else:
                if existing:
                    revoke(existing, reason="superseded")
                credential = _record_credential(resident, device, store, key)
                identity.audit(
                    resident, "signing_certificate_issued", None, serial=credential.serial, keystore=credential.keystore
                )
    except Exception:
        _discard_key(store, key)
        raise
    if reused:
        _discard_key(store, key)
        return reused
    return credential


def _certificate_name(credential: SigningCredential) -> str:
    cert = x509.load_der_x509_certificate(bytes(credential.certificate_der))
    return cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value


KEY_PURPOSE = "signing_credential"


def _new_key(store) -> keystore.GeneratedKey:
    """A new key in ``store``. In a PKCS#11 token its label is first reserved in the key
    register (committed on its own, :func:`tungban.keys.token.reserve`); the caller records
    it with :func:`_record_credential`. ``keys.generated`` is the kill point between the two."""
    if store.kind == keystore.Pkcs11KeyStore.kind:
        label = token.reserve(KEY_PURPOSE)
    else:  # the sealed key is stored in the credential's row: nothing outside the database
        label = f"tungban-{uuid.uuid4()}"
    key = store.generate(label)
    killpoint("keys.generated")
    return key


def _discard_key(store, key: keystore.GeneratedKey) -> None:
    if store.kind == keystore.Pkcs11KeyStore.kind:
        token.discard(store, key.label)


def _record_credential(
    resident: Resident, device: Device | None, store, key: keystore.GeneratedKey
) -> SigningCredential:
    """Issue the certificate of ``key`` (:func:`.ca.issue_end_entity`) and save the
    credential, activating a token key in the same transaction (the caller's). The subject
    ``serialNumber`` is the resident's first one (random, stored), so it stays the same
    across devices."""
    first = (
        SigningCredential.objects.filter(resident=resident)
        .order_by("created_at")
        .values_list("subject_serial", flat=True)
        .first()
    )
    credential = SigningCredential(
        resident=resident,
        device=device,
        keystore=store.kind,
        key_label=key.label,
        subject_serial=first or ca.new_subject_serial(),
    )
    serial = x509.random_serial_number()
    credential.serial = format(serial, "x")
    cert = ca.issue_end_entity(resident, key.public_key, serial, credential.subject_serial)
    credential.software_key_pem = key.sealed_private
    credential.certificate_der = cert.public_bytes(serialization.Encoding.DER)
    credential.not_before = cert.not_valid_before_utc
    credential.not_after = cert.not_valid_after_utc
    credential.save()
    if store.kind == keystore.Pkcs11KeyStore.kind:
        token.activate(key.label)
    return credential


def issue_credential(resident: Resident, device: Device | None, store) -> SigningCredential:
    """Generate a key in ``store`` and issue its certificate; saves and returns the
    credential. No checks: callers use :func:`ensure_credential`. Call outside a transaction
    (see :func:`ensure_credential`)."""
    key = _new_key(store)
    try:
        with transaction.atomic():
            return _record_credential(resident, device, store, key)
    except Exception:
        _discard_key(store, key)
        raise


@transaction.atomic
def revoke(credential: SigningCredential, *, reason: str = "unspecified", actor=None) -> SigningCredential:
    """Revoke a certificate (RFC 5280 §5.3.1 ``reason``: see :data:`.ca.REASONS`) and destroy
    its key once the revocation is committed, so it can never sign again; the CRL is rebuilt
    on its next fetch. Signatures made before ``revoked_at`` stay valid at their
    (time-stamped) signing time.

    :raises DomainError: ``invalid_reason``.
    """
    if reason not in ca.REASONS:
        raise errors.InvalidReason()
    credential = SigningCredential.objects.select_for_update().get(pk=credential.pk)
    if credential.status == CredentialStatus.REVOKED:
        return credential
    credential.status = CredentialStatus.REVOKED
    credential.revoked_at = timezone.now()
    credential.revocation_reason = reason
    credential.software_key_pem = None
    credential.save()
    if credential.keystore == keystore.Pkcs11KeyStore.kind:
        # The HSM is outside the transaction: delete only what a committed revocation covers
        # (if that fails, the register says "retiring" and the key sweep destroys it).
        token.retire(credential.key_label)
        transaction.on_commit(lambda: _destroy_key(credential))
    ca.mark_crl_stale(AuthorityRole.SIGNING)
    identity.audit(credential.resident, "signing_certificate_revoked", actor, serial=credential.serial, reason=reason)
    return credential


def _destroy_key(credential: SigningCredential) -> None:
    try:
        keystore.for_credential(credential).destroy(credential)
        token.destroyed(credential.key_label)
    except Exception:  # noqa: BLE001 - an HSM outage must not undo a revocation; the status already refuses the key
        log.exception("Could not destroy the HSM key %s of revoked credential %s", credential.key_label, credential.pk)


def revoke_for_device(device: Device, *, reason: str, actor=None) -> int:
    """Revoke the device's valid credentials (unbinding, suspension). Returns how many."""
    count = 0
    for credential in SigningCredential.objects.filter(device=device, status=CredentialStatus.ACTIVE):
        revoke(credential, reason=reason, actor=actor)
        count += 1
    return count


def credentials_of(resident: Resident) -> list[SigningCredential]:
    return list(SigningCredential.objects.filter(resident=resident).order_by("-created_at"))


def credential_summary(credential: SigningCredential) -> dict:
    cert = x509.load_der_x509_certificate(bytes(credential.certificate_der))
    return {
        "serial": credential.serial,
        "subject": cert.subject.rfc4514_string(),
        "status": credential.status,
        "not_before": credential.not_before,
        "not_after": credential.not_after,
        "revoked_at": credential.revoked_at,
        "revocation_reason": credential.revocation_reason,
        "keystore": credential.keystore,
        "certificate_pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
    }


# --- Requests --------------------------------------------------------------------------------


def _decode_b64(value: str, field: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise errors.InvalidRequest(field=field) from None


def parse_documents(documents: list[dict]) -> tuple[str, list[dict]]:
    """Check a request's documents: 1 to ``TUNGBAN_SIGNING_MAX_DOCUMENTS`` items, all either
    ``{"name", "sha256": hex}`` (CAdES over a digest) or ``{"name", "pdf": base64}`` (PAdES).

    Returns ``(format, [{"name", "sha256", "content": bytes|None}])``.

    :raises DomainError: ``too_many_documents``, ``no_documents``, ``mixed_documents``,
        ``invalid_digest`` (not 64 hex digits: SHA-256 only), ``not_pdf``, ``encrypted_pdf``,
        ``pdf_too_large`` (413), ``invalid_request``.
    """
    if not documents:
        raise errors.NoDocuments()
    if len(documents) > settings.TUNGBAN_SIGNING_MAX_DOCUMENTS:
        raise errors.TooManyDocuments(n=settings.TUNGBAN_SIGNING_MAX_DOCUMENTS)
    kinds = {"pdf" if d.get("pdf") is not None else "sha256" for d in documents}
    if len(kinds) > 1:
        raise errors.MixedDocuments()
    parsed = []
    for i, doc in enumerate(documents):
        field = f"documents.{i}"
        name = (doc.get("name") or "").strip()
        if not name or len(name) > 200 or any(ord(c) < 32 or c in '"\\/' for c in name):
            raise errors.InvalidRequest(
                _(
                    "Each document needs a name of at most 200 characters, without control characters, quotes or slashes."
                ),
                field=f"{field}.name",
            )
        if doc.get("pdf") is not None:
            content = _decode_b64(doc["pdf"], f"{field}.pdf")
            if len(content) > settings.TUNGBAN_SIGNING_MAX_PDF_BYTES:
                raise errors.PdfTooLarge(field=f"{field}.pdf")
            pdf.check_pdf(content, field=f"{field}.pdf")
            parsed.append({"name": name, "sha256": hashlib.sha256(content).hexdigest(), "content": content})
        else:
            digest = (doc.get("sha256") or "").strip().lower()
            if len(digest) != DIGEST_HEX_LENGTH or any(c not in "0123456789abcdef" for c in digest):
                raise errors.InvalidDigest(field=f"{field}.sha256")
            parsed.append({"name": name, "sha256": digest, "content": None})
    return (SigningFormat.PADES if "pdf" in kinds else SigningFormat.CADES), parsed


def check_token(token) -> None:
    """The bearer token must carry the ``signing`` scope of a client allowed to sign, and a
    login token must be recent enough for the client's ``signing_max_auth_age``.

    :raises Forbidden: ``signing_not_allowed`` (403).
    :raises DomainError: ``insufficient_user_authentication`` (401, RFC 9470 §3: log in
        again with ``max_age``; ``details.max_age`` gives the limit).
    """
    client = token.client
    if SIGNING_SCOPE not in client.allowed_scopes or SIGNING_SCOPE not in (token.scope or "").split():
        raise errors.SigningNotAllowed()
    # The one step-up helper of every API (RFC 9470; issue 16 item 3): signing's own
    # maximum login age, and the level the client registered.
    stepup.require(token, max_age=client.signing_max_auth_age, floor=client.required_acr)


def create_request(token, documents: list[dict], *, reason: str = "") -> SigningRequest:
    """Open a signing request for the resident behind ``token`` (signing after login) or for
    whoever approves it (anonymous signing, a ``client_credentials`` token).

    :raises DomainError: see :func:`check_token`, :func:`parse_documents`, and for a login
        token :func:`check_can_sign`.
    """
    check_token(token)
    fmt, parsed = parse_documents(documents)
    resident = token.resident if token.resident_id else None
    if resident is not None:
        check_can_sign(resident)
    return _open_request(token.client, resident, fmt, parsed, reason)


def _sign_approval(client, resident: Resident | None, fmt: str, documents: list[dict], reason: str, details=None):
    """The app's approval of a signing request: the documents' names and digests (the signed
    decision repeats the digests), the reason, and ``details`` lines (signing for a company)."""
    context = {
        "documents": [{"name": d["name"], "sha256": d["sha256"]} for d in documents],
        "format": fmt,
        "reason": reason,
    }
    if details:
        context["details"] = details
    return wallet.create_request(
        kind=SIGN_KIND,
        requester_id=client.client_id,
        requester_name_en=client.name_en,
        requester_name_zh=client.name_zh,
        requester_logo_url=client.logo_url,
        requested_claims=[],
        resident=resident,
        context=context,
        binds={"documents": [d["sha256"] for d in documents]},
    )


def _open_request(
    client, resident: Resident | None, fmt: str, parsed: list[dict], reason: str, details=None
) -> SigningRequest:
    reason = (reason or "").strip()[:200]
    with transaction.atomic():
        approval = _sign_approval(client, resident, fmt, parsed, reason, details)
        req = SigningRequest.objects.create(
            client=client,
            resident=resident,
            approval=approval,
            format=fmt,
            reason=reason,
            purge_after=timezone.now() + dt.timedelta(seconds=settings.TUNGBAN_SIGNING_RESULT_TTL),
        )
        SigningDocument.objects.bulk_create(
            [
                SigningDocument(request=req, index=i, name=d["name"], sha256=d["sha256"], content=d["content"])
                for i, d in enumerate(parsed)
            ]
        )
    return req


def create_request_for(
    client_id: str, resident: Resident, documents: list[dict], *, reason: str = ""
) -> SigningRequest:
    """For the platform's own relying parties (``TUNGBAN_FIRST_PARTY_CLIENTS``; the e-services
    portal signs a resident's application PDF at the declaration, issue 17): a signing request
    for ``resident`` without a bearer token, as :func:`create_request` makes after login.

    :raises DomainError: ``signing_not_allowed`` (not a first-party client), as
        :func:`parse_documents` and :func:`check_can_sign`.
    """
    client = Client.objects.filter(client_id=client_id, is_active=True).first()
    if client is None or client_id not in settings.TUNGBAN_FIRST_PARTY_CLIENTS:
        raise errors.SigningNotAllowed()
    fmt, parsed = parse_documents(documents)
    check_can_sign(resident)
    return _open_request(client, resident, fmt, parsed, reason)


def get_request_for(client_id: str, request_id) -> SigningRequest:
    """A first-party client's signing request (:func:`get_request` by client id)."""
    return get_request(Client.objects.filter(client_id=client_id).first(), request_id)


# --- Signing for an organisation (issue 19) ----------------------------------------------------


def _signing_client(client_id: str) -> Client:
    """An active client that may ask for signatures: a first-party client, or one registered
    with the ``signing`` scope (whose token the caller checked).

    :raises Forbidden: ``signing_not_allowed``."""
    client = Client.objects.filter(client_id=client_id, is_active=True).first()
    if client is None or (
        client_id not in settings.TUNGBAN_FIRST_PARTY_CLIENTS and SIGNING_SCOPE not in client.allowed_scopes
    ):
        raise errors.SigningNotAllowed()
    return client


def _behalf_details(authority: behalf.Authority, *, second: bool = False) -> list[dict]:
    """The lines the app shows under a signing request for an organisation, in both languages."""
    name = " ".join(n for n in (authority.name_zh, authority.name_en) if n)
    lines = [
        {
            "label": {"en": "Signing for", "zh": "代表簽署"},
            "value": {
                "en": f"{name} ({authority.organisation_identifier})",
                "zh": f"{name}（{authority.organisation_identifier}）",
            },
        },
        {
            "label": {"en": "Company seal", "zh": "公司電子印章"},
            "value": {
                "en": "Applied after your approval"
                + (" and the second signatory's" if authority.joint_approval else ""),
                "zh": "在你批准" + ("及第二位簽署人批准" if authority.joint_approval else "") + "後蓋上",
            },
        },
    ]
    if second:
        lines.insert(
            1,
            {
                "label": {"en": "You are", "zh": "你的身分"},
                "value": {"en": "The second signatory (joint approval)", "zh": "第二位簽署人（聯名批准）"},
            },
        )
    else:
        lines.insert(
            1,
            {
                "label": {"en": "Mandate", "zh": "授權"},
                "value": {"en": authority.mandate_id, "zh": authority.mandate_id},
            },
        )
    return lines


def create_request_on_behalf(
    client_id: str,
    resident: Resident,
    documents: list[dict],
    *,
    scheme: str,
    organisation: str,
    service: str,
    reason: str = "",
) -> SigningRequest:
    """Open a signing request for ``resident`` to sign PDFs for an organisation: the checker of
    ``scheme`` (:mod:`.behalf`) must allow it now, at the approval(s) and when the job signs.
    The result carries the person's PAdES signature, the second signatory's when the
    authority needs joint approval, then the organisation's seal (:mod:`.seal`), in that order.

    :param client_id: the requesting service's client (first-party, or with the ``signing``
        scope: the caller checked its token).
    :raises DomainError: ``signing_not_allowed``, ``pdf_required`` (digests: a seal is a PDF
        signature), as :func:`parse_documents` and :func:`check_can_sign`, and the checker's
        refusal (e.g. CorpID's ``no_mandate``, ``mandate_revoked``, ``organisation_suspended``).
        Nothing is stored.
    """
    client = _signing_client(client_id)
    fmt, parsed = parse_documents(documents)
    if fmt != SigningFormat.PADES:
        raise errors.PdfRequired()
    check_can_sign(resident)
    authority = behalf.check(scheme, resident, organisation, service)
    with transaction.atomic():
        req = _open_request(client, resident, fmt, parsed, reason, _behalf_details(authority))
        BehalfSigning.objects.create(
            request=req,
            scheme=scheme,
            organisation=organisation,
            service=service,
            organisation_identifier=authority.organisation_identifier,
            organisation_name_en=authority.name_en,
            organisation_name_zh=authority.name_zh,
            mandate_id=authority.mandate_id,
            joint_approval=authority.joint_approval,
        )
    return req


def _authority(on: BehalfSigning, resident: Resident) -> behalf.Authority:
    """The checker's answer for ``resident`` signing ``on``'s request, now; an answer for
    another organisation is refused as the checker's ``no_mandate`` would be.

    :raises DomainError: the checker's refusal."""
    authority = behalf.check(on.scheme, resident, on.organisation, on.service)
    if authority.organisation_identifier != on.organisation_identifier:
        raise errors.SigningFailed()
    return authority


def second_signatory_needed(req: SigningRequest) -> bool:
    """Whether ``req`` (made for an organisation under joint approval) still waits for the
    second authorised person's approval."""
    on = getattr(req, "behalf", None)
    return on is not None and on.awaiting_second


def approval_ids(req: SigningRequest) -> list[str]:
    """The app approvals of ``req`` to show (as a link or QR code): the signatory's, then the
    second signatory's once the first approved (joint approval)."""
    ids = [str(req.approval_id)]
    on = getattr(req, "behalf", None)
    if on is not None and on.second_approval_id:
        ids.append(str(on.second_approval_id))
    return ids


def _open_second_approval(on: BehalfSigning, req: SigningRequest, authority: behalf.Authority) -> None:
    """After the first signatory's approval under joint approval: the second signatory's
    approval (any bound device of another authorised person; checked when it arrives)."""
    documents = list(req.documents.values("name", "sha256"))
    on.second_approval = _sign_approval(
        req.client, None, req.format, documents, req.reason, _behalf_details(authority, second=True)
    )
    on.save(update_fields=["second_approval"])


def _accept_second(on: BehalfSigning, approval: ApprovalRequest) -> SigningRequest:
    """The second signatory approved: another authorised person (checked now, as the first
    signatory is again), with a certificate that can sign; then the job is queued.

    :raises Forbidden: ``same_signatory`` (also when either signatory's authority was passed on
        by the other: :attr:`.behalf.Authority.sources`), as :func:`check_can_sign`, the
        checker's refusal."""
    req = SigningRequest.objects.select_for_update().select_related("client").get(pk=on.request_id)
    if approval.resident_id == req.resident_id:
        raise errors.SameSignatory()
    first = _authority(on, req.resident)  # the first signatory's authority, again
    second = _authority(on, approval.resident)
    if first.mandate_id in second.sources or second.mandate_id in first.sources:
        raise errors.SameSignatory()  # one's authority was passed on by the other: not a second person's
    on.second_mandate_id = second.mandate_id
    on.second_resident = approval.resident
    on.second_credential = current_credential(approval.resident, approval.device)
    on.save(update_fields=["second_resident", "second_mandate_id", "second_credential"])
    _queue_signing(req)
    return req


def _queue_signing(req: SigningRequest) -> None:
    req.sign_state = JobState.QUEUED
    req.sign_task_id = jobs.enqueue(sign_request_task, str(req.id))
    req.save(update_fields=["resident", "credential", "sign_state", "sign_task_id"])


def request_of_approval(approval_id) -> SigningRequest:
    """The signing request an approval belongs to: its own, or the one whose second
    signatory it asks (joint approval).

    :raises SigningRequest.DoesNotExist: neither."""
    found = SigningRequest.objects.select_related("client", "approval").filter(approval_id=approval_id).first()
    if found is None:
        found = SigningRequest.objects.select_related("client", "approval").get(behalf__second_approval_id=approval_id)
    return found


def _signer_for(credential: SigningCredential):
    cert = x509.load_der_x509_certificate(bytes(credential.certificate_der))
    chain = [ca.asn1(ca.certificate(AuthorityRole.SIGNING))]
    return keystore.for_credential(credential).signer(credential, ca.asn1(cert), chain), cert


def _cades(signer, digest_hex: str, timestamper) -> bytes:
    """Detached CMS SignedData (RFC 5652) with CAdES-BES signed attributes (content-type,
    message-digest, signing-certificate-v2; ETSI EN 319 122-1) and a signature time stamp."""
    cms = asyncio.run(
        signer.async_sign(
            bytes.fromhex(digest_hex), "sha256", use_pades=False, is_pdf_sig=False, timestamper=timestamper
        )
    )
    return cms.dump()


def accept_approval(approval: ApprovalRequest) -> SigningRequest:
    """Record an approved signing request and queue its signing job (called in the approval's
    transaction; the task row commits with it). The checks that can refuse are made here, so
    the app shows why at once: the approving device's credential is loaded now, or created by
    :func:`run_signing` in the worker (a key is never made inside this transaction, whose loss
    would leave it unknown: issue 14 item 3), and every document is signed with it.

    For a request made for an organisation (:func:`create_request_on_behalf`) the checker is
    asked again; under joint approval the first approval opens the second signatory's
    (:func:`approval_ids`) and the job is queued only when that one is approved
    (``same_signatory`` when the same person approves it).

    :raises Forbidden: ``plus_required``, ``certificate_revoked``, ``account_suspended``,
        ``same_signatory``, the checker's refusal (e.g. ``mandate_revoked``).
    """
    second = BehalfSigning.objects.select_for_update().filter(second_approval=approval).first()
    if second is not None:
        return _accept_second(second, approval)
    req = SigningRequest.objects.select_for_update().select_related("client").get(approval=approval)
    req.resident = approval.resident
    # The key, when one is needed, is made by the job, outside this transaction (issue 14 item 3).
    req.credential = current_credential(approval.resident, approval.device)
    on = BehalfSigning.objects.select_for_update().filter(request=req).first()
    if on is not None:
        authority = _authority(on, approval.resident)  # revoked since the request: refused now
        if on.joint_approval:
            req.save(update_fields=["resident", "credential"])
            _open_second_approval(on, req, authority)
            return req
    _queue_signing(req)
    return req


@task(takes_context=True)
def sign_request_task(context, request_id: str) -> str:
    """The signing job of one approved request (:func:`run_signing`), retried with backoff."""
    try:
        return run_signing(request_id, context.task_result.id)
    except Exception as exc:
        _signing_retry_or_fail(request_id, context.task_result.id, exc)
        raise


def run_signing(request_id: str, task_id: str) -> str:
    """Sign every document of an approved request that has no result yet, storing each
    result once (a conditional update: a rerun after a crash, or a second worker, never
    replaces a stored signature); then mark the request signed and queue the callback.

    A certificate revoked while the job runs (the device unbound, the account suspended)
    stops it: the status is read again before each document and, under a lock that
    :func:`revoke` also takes, before the request is marked signed, so no request is
    reported signed by a certificate revoked before it finished (ETO Cap. 553: a revoked
    certificate no longer supports new signatures); the results are then discarded.

    :returns: ``signed`` or ``skipped`` (the job is over, or ``task_id`` is not its task).
    :raises Forbidden: ``certificate_revoked`` (revoked since the approval): not retried.
    """
    req = SigningRequest.objects.select_related("credential", "approval", "resident", "client").get(pk=request_id)
    if req.sign_state not in (JobState.QUEUED, JobState.RUNNING) or req.sign_task_id != str(task_id):
        return "skipped"
    SigningRequest.objects.filter(
        pk=req.pk, sign_task_id=str(task_id), sign_state__in=(JobState.QUEUED, JobState.RUNNING)
    ).update(sign_state=JobState.RUNNING)
    credential = req.credential
    if credential is None or (credential.status == CredentialStatus.ACTIVE and not _usable(credential, req.resident)):
        credential = ensure_credential(req.resident, req.approval.device)
        SigningRequest.objects.filter(pk=req.pk).update(credential=credential)
    if credential.status != CredentialStatus.ACTIVE:
        raise errors.CertificateRevoked()
    signer, _cert = _signer_for(credential)
    timestamper = ca.timestamper()
    signed_at = timezone.now()
    name = ca.common_name(req.resident)
    on = BehalfSigning.objects.select_related("second_approval", "second_resident", "second_credential").filter(
        request=req
    )
    on = on.first()
    if on is not None:  # for an organisation: the person, the second signatory, the seal (issue 19)
        steps, credentials = _behalf_steps(on, req, credential, signer, signed_at)
    else:
        stamp = pdf.stamp_pdf(name, signed_at) if req.format == SigningFormat.PADES else None  # one per request
        steps, credentials = [_Step(signer, name, req.reason, stamp)], [credential.pk]
    for doc in req.documents.filter(result__isnull=True).order_by("index"):
        if SigningCredential.objects.filter(pk__in=credentials).exclude(status=CredentialStatus.ACTIVE).exists():
            raise errors.CertificateRevoked()
        if req.format == SigningFormat.PADES:
            result = bytes(doc.content)
            for step in steps:  # each signature covers the ones before it (incremental updates)
                result = pdf.sign_pdf(
                    result,
                    step.signer,
                    signer_name=step.name,
                    reason=step.reason,
                    signed_at=signed_at,
                    timestamper=timestamper,
                    stamp=step.stamp,
                    field_label=step.label,
                )
        else:
            result = _cades(signer, doc.sha256, timestamper)
        SigningDocument.objects.filter(pk=doc.pk, result__isnull=True).update(result=result)
    with transaction.atomic():
        req = (
            SigningRequest.objects.select_for_update(of=("self",))
            .select_related("client", "resident")
            .get(pk=request_id)
        )
        if (
            req.signed_at
            or req.sign_task_id != str(task_id)
            or req.sign_state not in (JobState.QUEUED, JobState.RUNNING)
        ):
            return "skipped"
        locked = SigningCredential.objects.select_for_update().filter(pk__in=credentials)  # as revoke() locks them
        if any(status != CredentialStatus.ACTIVE for status in locked.values_list("status", flat=True)):
            raise errors.CertificateRevoked()
        if on is not None:  # a mandate revoked while the job signed: nothing is reported signed
            _authority(on, req.resident)
            if on.joint_approval:
                _authority(on, on.second_resident)
        count = req.documents.count()
        if req.documents.filter(result__isnull=True).exists():
            raise RuntimeError("a document has no result after signing")
        req.signed_at = signed_at
        req.sign_state = JobState.DONE
        req.save(update_fields=["signed_at", "sign_state"])
        signatories = [(req.resident, req.approval, credential)]
        if on is not None and on.joint_approval:
            signatories.append((on.second_resident, on.second_approval, on.second_credential))
        for resident, approval, used in signatories:  # each signatory's history and audit
            wallet.record_release(
                resident,
                requester_id=req.client.client_id,
                requester_name_en=req.client.name_en,
                requester_name_zh=req.client.name_zh,
                kind=SIGN_KIND,
                claims=[],
                approval=approval,
            )
            identity.audit(resident, "documents_signed", None, request=str(req.id), count=count, serial=used.serial)
        queue_callback(req)
        killpoint("signing.signed")  # the documents are signed; this transaction is not committed
    return "signed"


@dataclass(frozen=True)
class _Step:
    """One signature the job adds to each PDF: the pyHanko signer, the name on the stamp and
    in ``/Name``, the ``/Reason``, the stamp, and what the field name adds (signing for an
    organisation: the organisation's identifier and the mandate, which ``pdfsig`` and
    pyHanko show)."""

    signer: object
    name: str
    reason: str
    stamp: bytes | None
    label: str = ""


def _behalf_steps(
    on: BehalfSigning, req: SigningRequest, credential: SigningCredential, signer, signed_at
) -> tuple[list[_Step], list]:
    """The signatures of a request made for an organisation, in order: the signatory's (their
    tungban+ certificate), the second signatory's under joint approval, then the organisation's
    seal (made on first use, :func:`.seal.organisation_seal_for`), which covers both. Asks the
    checker again first (a mandate revoked since the approval stops the job: not retried).
    Returns the steps and the residents' credentials to watch for revocation.

    :raises DomainError: the checker's refusal, ``certificate_revoked``, ``keystore_unavailable``."""
    authority = _authority(on, req.resident)
    org = f"{on.organisation_name_en} {on.organisation_name_zh}".strip()
    ident = on.organisation_identifier

    def person(cred: SigningCredential, resident: Resident, person_signer, mandate_id: str) -> _Step:
        name = ca.common_name(resident)
        reason = f"Signed for {org} ({ident}) under mandate {mandate_id}" + (f": {req.reason}" if req.reason else "")
        stamp = pdf.stamp_pdf(name, signed_at, on_behalf=ident)
        return _Step(person_signer, name, reason, stamp, f"for {ident} under mandate {mandate_id}")

    steps = [person(credential, req.resident, signer, authority.mandate_id)]
    credentials = [credential.pk]
    mandates = [authority.mandate_id]
    if on.joint_approval:
        second = _authority(on, on.second_resident)
        cred = on.second_credential
        if cred is None or (cred.status == CredentialStatus.ACTIVE and not _usable(cred, on.second_resident)):
            cred = ensure_credential(on.second_resident, on.second_approval.device)
            BehalfSigning.objects.filter(pk=on.pk).update(second_credential=cred)
            on.second_credential = cred
        if cred.status != CredentialStatus.ACTIVE:
            raise errors.CertificateRevoked()
        steps.append(person(cred, on.second_resident, _signer_for(cred)[0], second.mandate_id))
        credentials.append(cred.pk)
        mandates.append(second.mandate_id)
    seal = seals.organisation_seal_for(ident, on.organisation_name_en, on.organisation_name_zh)
    BehalfSigning.objects.filter(pk=on.pk).update(seal=seal)
    reason = f"Seal of {org} ({ident}) over the signatures under mandate " + " and ".join(mandates)
    stamp = pdf.organisation_stamp_pdf(org, ident, signed_at)
    steps.append(_Step(seals.organisation_signer(seal), org, reason, stamp, f"seal of {ident}"))
    return steps, credentials


def signing_task_lost(request_id: str, task_id: str) -> None:
    """The signing task ``task_id`` ended without its own handler running (its workers died):
    a failed attempt of the job (retried or failed as any other)."""
    _signing_retry_or_fail(request_id, task_id, jobs.WorkerLost("the worker died"))


def _signing_retry_or_fail(request_id: str, task_id: str, exc: Exception) -> None:
    """After an error in :func:`run_signing`: queue another attempt (unexpected errors,
    backoff), or fail the request: results are deleted (nothing half-signed reaches the
    service), the approval is marked failed with the code and the service is told."""
    with transaction.atomic():
        req = SigningRequest.objects.select_for_update(of=("self",)).select_related("client").get(pk=request_id)
        if req.sign_state not in (JobState.QUEUED, JobState.RUNNING) or req.sign_task_id != str(task_id):
            return
        req.sign_attempts += 1
        transient = not isinstance(exc, DomainError) or isinstance(exc, errors.KeystoreUnavailable)
        if transient and jobs.can_retry(req.sign_attempts):
            req.sign_state = JobState.QUEUED
            req.sign_task_id = jobs.enqueue(sign_request_task, request_id, delay=jobs.retry_delay(req.sign_attempts))
            req.save(update_fields=["sign_attempts", "sign_state", "sign_task_id"])
            log.warning("Signing request %s failed (attempt %d), will retry", request_id, req.sign_attempts)
            return
        log.error("Signing request %s failed: %r", request_id, exc)
        req.sign_state = JobState.FAILED
        req.save(update_fields=["sign_attempts", "sign_state"])
        req.documents.update(result=None)
        code = exc.code if isinstance(exc, DomainError) else "signing_failed"
        ApprovalRequest.objects.filter(pk=req.approval_id).update(status=RequestStatus.FAILED, failure_code=code)
        queue_callback(req)


def get_request(client, request_id) -> SigningRequest:
    """A signing request of this client.

    :raises NotFound: ``no_signing_request`` (also for another client's request).
    """
    try:
        return SigningRequest.objects.select_related(
            "approval", "credential", "resident", "behalf", "behalf__second_approval", "behalf__seal"
        ).get(pk=request_id, client=client)
    except (SigningRequest.DoesNotExist, ValueError, ValidationError):
        raise errors.NoSigningRequest() from None


def request_result(req: SigningRequest) -> dict:
    """What the service sees: status, documents with results (base64) once signed, the
    signer's certificate, the error when it failed, the signing ``job`` once approved
    (``{state, documents_signed, documents_total, attempts}``) and ``callback_status``.
    Results are gone after purging."""
    status = req.status()
    data = {
        "id": str(req.id),
        "status": status,
        "format": req.format,
        "approval_uri": f"{settings.TUNGBAN_ISSUER}/app/approve/{req.approval_id}",
        "comparison_code": None,
        "expires_at": req.approval.expires_at,
        "signed_at": req.signed_at,
        "error": None,
        "signer": None,
        "documents": [],
        "job": None,
        "callback_status": req.callback_status or None,
    }
    if status == "failed":
        data["error"] = req.failure_code()
    done = 0
    for doc in req.documents.all():
        done += doc.result is not None
        item = {"index": doc.index, "name": doc.name, "sha256": doc.sha256, "signature": None, "signed_pdf": None}
        if status == "signed" and doc.result is not None:
            key = "signed_pdf" if req.format == SigningFormat.PADES else "signature"
            item[key] = base64.b64encode(bytes(doc.result)).decode()
        data["documents"].append(item)
    data["comparison_code"] = compare.comparison_code(str(req.approval_id), [d["sha256"] for d in data["documents"]])
    if req.sign_state:
        data["job"] = {
            "state": req.sign_state,
            "documents_signed": done if req.sign_state != JobState.FAILED else 0,
            "documents_total": len(data["documents"]),
            "attempts": req.sign_attempts,
        }
    if status == "signed" and req.credential:
        cert = x509.load_der_x509_certificate(bytes(req.credential.certificate_der))
        data["signer"] = {
            "name": _certificate_name(req.credential),
            "certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
            "serial": req.credential.serial,
        }
    on = getattr(req, "behalf", None)
    data["organisation"] = _behalf_result(on, status, data["documents"]) if on is not None else None
    return data


def _behalf_result(on: BehalfSigning, status: str, documents: list[dict]) -> dict:
    """The ``organisation`` member of :func:`request_result` for a request made for one."""
    second = on.second_approval
    result = {
        "identifier": on.organisation_identifier,
        "name_en": on.organisation_name_en,
        "name_zh": on.organisation_name_zh,
        "mandate_id": on.mandate_id,
        "joint_approval": on.joint_approval,
        "second_signatory_needed": on.awaiting_second and status == "pending",
        "second_approval_uri": f"{settings.TUNGBAN_ISSUER}/app/approve/{second.pk}" if second else None,
        "second_comparison_code": (
            compare.comparison_code(str(second.pk), [d["sha256"] for d in documents]) if second else None
        ),
        "second_mandate_id": on.second_mandate_id or None,
        "seal": None,
    }
    if status == "signed" and on.seal_id:
        cert = x509.load_der_x509_certificate(bytes(on.seal.certificate_der))
        result["seal"] = {
            "name": f"{on.seal.name_en} {on.seal.name_zh}".strip(),
            "certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
            "serial": on.seal.serial,
        }
    return result


def document_result(req: SigningRequest, index: int) -> tuple[bytes, str, str]:
    """``(bytes, media type, file name)`` of one signed result.

    :raises NotFound: ``no_document``; :class:`DomainError` ``not_signed`` (409),
        ``second_signatory_required`` (409: for a company under joint approval, the second
        authorised person has not approved yet).
    """
    doc = req.documents.filter(index=index).first()
    if doc is None:
        raise errors.NoDocument()
    if second_signatory_needed(req) and req.status() == "pending":
        raise errors.SecondSignatoryRequired()
    if req.status() != "signed" or doc.result is None:
        raise errors.NotSigned()
    if req.format == SigningFormat.PADES:
        return (
            bytes(doc.result),
            "application/pdf",
            doc.name if doc.name.lower().endswith(".pdf") else f"{doc.name}.pdf",
        )
    return bytes(doc.result), "application/pkcs7-signature", f"{doc.name}.p7s"


def queue_callback(req: SigningRequest) -> None:
    """Queue the callback to the service (in the caller's transaction), if it registered a
    ``signing_callback_uri``: ``callback_status`` becomes ``pending``."""
    if not req.client.signing_callback_uri:
        return
    req.callback_status = "pending"
    req.callback_task_id = jobs.enqueue(deliver_callback_task, str(req.id))
    SigningRequest.objects.filter(pk=req.pk).update(
        callback_status=req.callback_status, callback_task_id=req.callback_task_id
    )


@task(takes_context=True)
def deliver_callback_task(context, request_id: str) -> str:
    """One delivery attempt of a signing callback (:func:`notify`)."""
    return notify(request_id, context.task_result.id)


def notify(request_id: str, task_id: str) -> str:
    """POST ``{"id", "status"}`` to the client's registered ``signing_callback_uri`` (no
    personal data: the service fetches the result with its token), 5 s timeout. A 2xx answer
    is delivery; anything else is retried with backoff up to ``TUNGBAN_TASK_MAX_ATTEMPTS``
    attempts. The outcome is kept in ``callback_status``: ``http_<code>`` (delivered),
    ``retrying_<outcome>`` or ``failed_<outcome>`` (gave up).

    :returns: the new ``callback_status`` (``skipped``: not this request's current callback).
    """
    req = SigningRequest.objects.select_related("client", "approval").get(pk=request_id)
    uri = req.client.signing_callback_uri
    if not uri or req.callback_task_id != str(task_id):
        return "skipped"
    try:
        response = requests.post(
            uri, json={"id": str(req.id), "status": req.status()}, timeout=5, allow_redirects=False
        )
        outcome, delivered = f"http_{response.status_code}", 200 <= response.status_code < 300
    except requests.RequestException as exc:
        outcome, delivered = f"error_{type(exc).__name__}", False
    with transaction.atomic():
        req = SigningRequest.objects.select_for_update().get(pk=request_id)
        if req.callback_task_id != str(task_id):
            return "skipped"
        req.callback_attempts += 1
        if delivered:
            req.callback_status = outcome
        elif jobs.can_retry(req.callback_attempts):
            req.callback_status = f"retrying_{outcome}"[:40]
            req.callback_task_id = jobs.enqueue(
                deliver_callback_task, request_id, delay=jobs.retry_delay(req.callback_attempts)
            )
        else:
            req.callback_status = f"failed_{outcome}"[:40]
        req.save(update_fields=["callback_status", "callback_attempts", "callback_task_id"])
    return req.callback_status


def purge_expired(now: dt.datetime | None = None, batch: int = 1000) -> int:
    """Delete submitted PDFs and results of requests past ``purge_after``; keep names and
    digests. Returns the number of requests purged (``tungban purge_signing``)."""
    now = now or timezone.now()
    purged = 0
    while True:
        holding = SigningDocument.objects.filter(request__purge_after__lt=now).exclude(
            content__isnull=True, result__isnull=True
        )
        ids = list(holding.order_by("request__purge_after").values_list("request_id", flat=True).distinct()[:batch])
        if not ids:
            return purged
        SigningDocument.objects.filter(request_id__in=ids).update(content=None, result=None)
        purged += len(ids)


def sweep_keys(now: dt.datetime | None = None, grace: float | None = None) -> dict[str, int]:
    """Destroy token objects no row knows and reserved keys never used after ``grace``
    seconds (default ``TUNGBAN_KEY_SWEEP_GRACE``): :func:`tungban.keys.token.sweep` on the
    PKCS#11 keystore (nothing to do for the software keystore, whose keys live in their
    rows). Run by ``tungban sweep_keys`` and the scheduled purge (issue 14 item 3).

    :raises DomainError: ``keystore_unavailable``.
    """
    store = keystore.get_keystore()
    if store.kind != keystore.Pkcs11KeyStore.kind:
        return {}
    return token.sweep(store, now, grace)


def document_page(device, approval_id, index: int, page: int) -> tuple[bytes, int]:
    """``(PNG, number of pages)`` of page ``page`` (1-based) of document ``index`` of the
    signing request behind approval ``approval_id``, for the app of ``device`` (issue 16).
    Only a device of the request's resident (for an anonymous request, any bound device, as
    the request itself: :func:`tungban.wallet.services.request_details`) while it is pending.

    :raises NotFound: ``no_request`` (unknown, another resident's, or no longer pending),
        ``no_preview`` (a digest-only request), ``no_such_page``.
    :raises DomainError: ``preview_unavailable`` (503)."""
    try:
        req = request_of_approval(approval_id)
        approval = ApprovalRequest.objects.get(pk=approval_id)
    except (SigningRequest.DoesNotExist, ApprovalRequest.DoesNotExist, ValueError, ValidationError):
        raise wallet_errors.NoRequest() from None
    if (
        approval.resident_id and approval.resident_id != device.resident_id
    ) or approval.effective_status() != "pending":
        raise wallet_errors.NoRequest()
    doc = req.documents.filter(index=index).first()
    if doc is None:
        raise wallet_errors.NoRequest()
    if doc.content is None:
        raise errors.NoPreview()
    return preview.page_png(bytes(doc.content), page)
