"""The platform's electronic seals: PDFs the platform itself issues (e-receipts and credit notes,
issue 18) signed as PAdES B-T by the existing signing stack — the keystore (PKCS#11 token or
the logged software fallback, :mod:`.keystore`), a certificate from the signing CA
(:func:`.ca.issue_seal`), pyHanko through :func:`.pdf.sign_pdf` and the platform TSA
(:func:`.ca.timestamper`). Nothing here builds a signature: it chooses the key and the stamp.

A seal differs from a resident's signature only in whose key it is: no resident, no app
approval (the platform is the signer, as a department's seal on a printed receipt). Its key
goes through the key register like residents' keys (issue 14 item 3): the label is reserved
(committed) before the token makes the key, and activated in the transaction that records
the :class:`~.models.PlatformSeal`, so a killed worker leaves nothing the sweep cannot find.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.db import IntegrityError, transaction
from django.utils import timezone

from tungban.keys import token

from . import ca, errors, keystore, pdf
from .models import AuthorityRole, CredentialStatus, OrganisationSeal, PlatformSeal

log = logging.getLogger(__name__)

#: A seal this close to expiry is replaced before it signs (as residents' certificates).
RENEW_BEFORE = dt.timedelta(days=7)
KEY_PURPOSE = "platform_seal"
ORGANISATION_KEY_PURPOSE = "organisation_seal"


def _usable(seal: PlatformSeal | None, name: str) -> bool:
    return (
        seal is not None
        and seal.status == CredentialStatus.ACTIVE
        and seal.name == name[:64]
        and seal.not_after > timezone.now() + RENEW_BEFORE
    )


def _new_key(store, purpose: str = KEY_PURPOSE) -> keystore.GeneratedKey:
    if store.kind == keystore.Pkcs11KeyStore.kind:
        label = token.reserve(purpose)  # committed before the token makes the key
    else:
        label = f"tungban-seal-{uuid.uuid4()}"
    return store.generate(label)


def _discard(store, key: keystore.GeneratedKey) -> None:
    if store.kind == keystore.Pkcs11KeyStore.kind:
        token.discard(store, key.label)


def seal_for(purpose: str, name: str) -> PlatformSeal:
    """The valid seal of ``purpose`` whose certificate names ``name`` (at most 64 characters),
    made on first use, and replaced when it is within :data:`RENEW_BEFORE` of expiry or its
    name changed (the old one revoked, reason ``superseded``). Call outside a transaction: the
    key is made between two commits. Concurrent first uses make one seal (the unique
    constraint on the active seal of a purpose decides; the loser's key is discarded).

    :raises DomainError: ``keystore_unavailable`` (503).
    """
    return _ensure(
        PlatformSeal.objects.filter(purpose=purpose, status=CredentialStatus.ACTIVE),
        lambda seal: _usable(seal, name),
        lambda store, key: _record(purpose, name, store, key),
    )


def _ensure(active, usable, record, purpose: str = KEY_PURPOSE):
    """The row of ``active`` (a query for the one valid seal) when ``usable`` says it can sign,
    else a new one made by ``record(store, key)`` with a new key, superseding the old one.
    The key is made between two commits (issue 14 item 3); a concurrent first use that
    committed first wins (the unique constraint decides; the loser's key is discarded)."""
    current = active.first()
    if usable(current):
        return current
    store = keystore.get_keystore()
    key = _new_key(store, purpose)
    reused = None
    try:
        with transaction.atomic():
            current = active.select_for_update().first()
            if usable(current):  # another worker made one meanwhile: ours is not needed
                reused = current
            else:
                if current is not None:
                    _revoke(current, "superseded")
                seal = record(store, key)
    except IntegrityError:  # a concurrent first use committed its seal first
        _discard(store, key)
        return active.get()
    except Exception:
        _discard(store, key)
        raise
    if reused is not None:
        _discard(store, key)
        return reused
    log.info("Seal %s made (%s keystore)", seal, store.kind)
    return seal


def _record(purpose: str, name: str, store, key: keystore.GeneratedKey) -> PlatformSeal:
    """Issue the certificate of ``key`` and save the seal, activating a token key in the same
    transaction (the caller's)."""
    serial = x509.random_serial_number()
    cert = ca.issue_seal(name, key.public_key, serial)
    return _save(PlatformSeal, cert, store, key, purpose=purpose, name=name[:64])


def _save(model, cert: x509.Certificate, store, key: keystore.GeneratedKey, **fields):
    """Save a seal row of ``model`` for ``cert`` and ``key``; a token key is activated in the
    same transaction (the caller's)."""
    seal = model.objects.create(
        serial=format(cert.serial_number, "x"),
        certificate_der=cert.public_bytes(serialization.Encoding.DER),
        keystore=store.kind,
        key_label=key.label,
        software_key_pem=key.sealed_private,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        **fields,
    )
    if store.kind == keystore.Pkcs11KeyStore.kind:
        token.activate(key.label)
    return seal


def _revoke(seal: PlatformSeal | OrganisationSeal, reason: str) -> None:
    """Revoke ``seal`` in the caller's transaction; its key is destroyed after the commit."""
    seal.status = CredentialStatus.REVOKED
    seal.revoked_at = timezone.now()
    seal.revocation_reason = reason
    seal.software_key_pem = None
    seal.save(update_fields=["status", "revoked_at", "revocation_reason", "software_key_pem"])
    ca.mark_crl_stale(AuthorityRole.SIGNING)
    if seal.keystore == keystore.Pkcs11KeyStore.kind:
        token.retire(seal.key_label)
        label = seal.key_label

        def destroy():
            try:
                keystore.get_keystore().destroy_label(label)
                token.destroyed(label)
            except Exception:  # noqa: BLE001 - the register says "retiring": the sweep destroys it
                log.exception("Could not destroy the key %s of a revoked seal", label)

        transaction.on_commit(destroy)


@transaction.atomic
def revoke_seal(purpose: str, *, reason: str = "unspecified") -> int:
    """Revoke the valid seal of ``purpose`` (RFC 5280 §5.3.1 ``reason``, :data:`.ca.REASONS`):
    it is in the next CRL and its key is destroyed; the next :func:`seal_pdf` makes a new one.
    Documents sealed before stay valid at their time-stamped signing time. Returns how many
    seals were revoked (0 or 1).

    :raises DomainError: ``invalid_reason``.
    """
    if reason not in ca.REASONS:
        raise errors.InvalidReason()
    seals = list(PlatformSeal.objects.select_for_update().filter(purpose=purpose, status=CredentialStatus.ACTIVE))
    for seal in seals:
        _revoke(seal, reason)
    return len(seals)


def seal_pdf(data: bytes, *, purpose: str, name: str, reason: str) -> bytes:
    """``data`` (a PDF the platform made) signed with the seal of ``purpose``: PAdES baseline
    B-T (ETSI EN 319 142-1: CAdES signed attributes, ``/ETSI.CAdES.detached``, an RFC 3161
    signature time stamp from the platform TSA) with a visible bilingual stamp, by
    :func:`.pdf.sign_pdf`. The result validates against the tungban root (pyHanko,
    poppler's ``pdfsig``, the platform's ``/signing/verify``). Call outside a transaction (see
    :func:`seal_for`); CPU-bound (the CJK stamp font, about a second): run it in a task.

    :raises DomainError: ``not_pdf``, ``encrypted_pdf``, ``pdf_too_complex`` (the input),
        ``keystore_unavailable`` (503), ``stamp_font_missing`` (503).
    """
    pdf.check_pdf(data)
    seal = seal_for(purpose, name)
    cert = x509.load_der_x509_certificate(bytes(seal.certificate_der))
    chain = [ca.asn1(ca.certificate(AuthorityRole.SIGNING))]
    signer = keystore.for_credential(seal).signer(seal, ca.asn1(cert), chain)
    signed_at = timezone.now()
    return pdf.sign_pdf(
        data,
        signer,
        signer_name=seal.name,
        reason=reason,
        signed_at=signed_at,
        timestamper=ca.timestamper(),
        stamp=pdf.seal_stamp_pdf(seal.name, signed_at),
    )


# --- Organisations' seals (issue 19) -----------------------------------------------------------


def _organisation_usable(seal: OrganisationSeal | None, name_en: str, name_zh: str) -> bool:
    return (
        seal is not None
        and seal.status == CredentialStatus.ACTIVE
        and (seal.name_en, seal.name_zh) == (name_en, name_zh)
        and seal.not_after > timezone.now() + RENEW_BEFORE
    )


def organisation_seal_for(identifier: str, name_en: str, name_zh: str = "") -> OrganisationSeal:
    """The organisation's valid seal (:class:`~.models.OrganisationSeal`, certificate by
    :func:`.ca.issue_organisation_seal`), made on first use and replaced when it nears expiry or
    the organisation's names changed (the old one revoked, reason ``superseded``). Who may use
    it is not decided here: :func:`.services.run_signing` applies it only to a request that its
    authority checker (:mod:`.behalf`) allowed. Call outside a transaction (see :func:`seal_for`).

    :param identifier: ETSI EN 319 412-1 §5.1.4 organisation identifier, e.g. ``NTRHK-21812345``.
    :raises DomainError: ``keystore_unavailable`` (503).
    """
    return _ensure(
        OrganisationSeal.objects.filter(organisation_identifier=identifier, status=CredentialStatus.ACTIVE),
        lambda seal: _organisation_usable(seal, name_en, name_zh),
        lambda store, key: _record_organisation(identifier, name_en, name_zh, store, key),
        ORGANISATION_KEY_PURPOSE,
    )


def _record_organisation(identifier: str, name_en: str, name_zh: str, store, key) -> OrganisationSeal:
    cert = ca.issue_organisation_seal(identifier, name_en, name_zh, key.public_key, x509.random_serial_number())
    return _save(
        OrganisationSeal, cert, store, key, organisation_identifier=identifier, name_en=name_en, name_zh=name_zh
    )


@transaction.atomic
def revoke_organisation_seal(identifier: str, *, reason: str = "unspecified") -> int:
    """Revoke the organisation's valid seal (RFC 5280 §5.3.1 ``reason``): in the signing CA's
    next CRL, its key destroyed after the commit; the next signature for the organisation
    makes a new one. Documents sealed before stay valid at their time-stamped signing time.
    Returns how many seals were revoked (0 or 1). Runs in the caller's transaction when there
    is one (CorpID revokes it in the transaction that suspends the organisation).

    :raises DomainError: ``invalid_reason``.
    """
    if reason not in ca.REASONS:
        raise errors.InvalidReason()
    seals = list(
        OrganisationSeal.objects.select_for_update().filter(
            organisation_identifier=identifier, status=CredentialStatus.ACTIVE
        )
    )
    for seal in seals:
        _revoke(seal, reason)
    return len(seals)


def organisation_signer(seal: OrganisationSeal):
    """A pyHanko signer for the organisation's seal key (the chain: the signing CA)."""
    cert = x509.load_der_x509_certificate(bytes(seal.certificate_der))
    chain = [ca.asn1(ca.certificate(AuthorityRole.SIGNING))]
    return keystore.for_credential(seal).signer(seal, ca.asn1(cert), chain)
