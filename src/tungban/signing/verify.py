"""Verifying signatures: PDF signatures (PAdES, ETSI EN 319 142-1) and detached CMS / CAdES
signatures (RFC 5652, ETSI EN 319 122-1), such as the ones :mod:`.services` makes.

pyHanko does the cryptography and the certificate path validation (RFC 5280 §6) against
the tungban root, with the signing CA as an intermediate and the CAs' current CRLs
(:func:`.ca.current_crl`); nothing is fetched from the network.

Point-in-time validation: when a signature carries a valid RFC 3161 signature time stamp
from a trusted TSA, the signer's certificate is validated *at the time stamp's time*
(``ValidationContext(moment=..., retroactive_revinfo=True)``, using today's CRL for that
past moment), so a certificate revoked *after* signing does not invalidate the signature;
it is reported as "revoked later". Without a trusted time stamp the signature is validated
now, and a revoked certificate makes it invalid (nothing proves it was made in time).

Reports are plain dictionaries (shape in :func:`verify_pdf` and :func:`verify_detached`);
their sentences are translated into the active language.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import math
import re

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tungban.core.errors import DomainError, declared_errors

from . import ca, errors, isolation, pdf
from .models import AuthorityRole

#: pyHanko's modification levels (``ModificationLevel``) by our name.
MODIFICATIONS = {
    "NONE": "none",
    "LTA_UPDATES": "validation_data",
    "FORM_FILLING": "form_filling",
    "ANNOTATIONS": "annotations",
    "OTHER": "other",
}

#: Errors pyHanko and asn1crypto raise on malformed signatures (their bases).
_MALFORMED = (ValueError, TypeError, KeyError, IndexError, NotImplementedError)


def max_bytes() -> int:
    """Largest upload accepted for verification, in bytes (``TUNGBAN_VERIFY_MAX_BYTES``)."""
    return settings.TUNGBAN_VERIFY_MAX_BYTES


def check_size(size: int, field: str = "file") -> None:
    """:raises DomainError: ``file_too_large`` (413) above :func:`max_bytes`; ``empty_file``."""
    if size > max_bytes():
        raise errors.FileTooLarge(mb=max_bytes() // (1024 * 1024), field=field)
    if size == 0:
        raise errors.EmptyFile(field=field)


# --- Validation contexts ---------------------------------------------------------------------


class _Trust:
    """The tungban root, the signing CA and the current CRLs, loaded once per verification
    (:meth:`load`, from the database) and handed to the verifier process as ``material``:
    ``(root DER, signing CA DER, (signing CA CRL DER, root CRL DER))``."""

    def __init__(self, root_der: bytes, signing_ca_der: bytes, crls: tuple[bytes, bytes]):
        self.material = (root_der, signing_ca_der, tuple(crls))
        self.root = ca.asn1(x509.load_der_x509_certificate(root_der))
        self.signing_ca = x509.load_der_x509_certificate(signing_ca_der)
        self.crls = list(crls)
        self.signing_crl = x509.load_der_x509_crl(self.crls[0])

    @classmethod
    def load(cls) -> _Trust:
        der = serialization.Encoding.DER
        return cls(
            ca.certificate(AuthorityRole.ROOT).public_bytes(der),
            ca.certificate(AuthorityRole.SIGNING).public_bytes(der),
            (ca.current_crl(AuthorityRole.SIGNING), ca.current_crl(AuthorityRole.ROOT)),
        )

    def context(self, moment: dt.datetime | None = None):
        """A ``ValidationContext``: now, or at ``moment`` (point-in-time, RFC 5280 §6.1.1
        ``current date/time`` set to the signing time) with today's CRLs applying then."""
        from pyhanko_certvalidator import ValidationContext

        extra = {"moment": moment, "retroactive_revinfo": True} if moment else {}
        return ValidationContext(
            trust_roots=[self.root],
            other_certs=[ca.asn1(self.signing_ca)],
            crls=self.crls,
            allow_fetching=False,
            revocation_mode="hard-fail",
            **extra,
        )

    def crl_entry(self, cert: x509.Certificate):
        """The signing CA's CRL entry for ``cert`` (``None`` if absent or another issuer's)."""
        if cert.issuer != self.signing_ca.subject:
            return None
        return self.signing_crl.get_revoked_certificate_by_serial_number(cert.serial_number)

    def issued_here(self, cert: x509.Certificate) -> bool:
        return cert.issuer == self.signing_ca.subject


async def _trusted_timestamp(signer_info, trust: _Trust, raw_digest):
    """The time of the signature's RFC 3161 time stamp if it is intact and from a trusted
    TSA (``(time, status)``), else ``(None, status or None)``."""
    from pyhanko.sign.validation import generic_cms

    timing = await generic_cms.collect_timing_info(signer_info, trust.context(), raw_digest=raw_digest)
    tst = timing.get("timestamp_validity")
    if tst is not None and tst.intact and tst.valid and tst.trusted:
        return tst.timestamp, tst
    return None, tst


# --- Reports ---------------------------------------------------------------------------------


def _when(value: dt.datetime) -> str:
    return formats.date_format(timezone.localtime(value), "Y-m-d H:i:s T")


def _reason_label(reason: str | None) -> str:
    labels = {
        "unspecified": _("no reason given"),
        "key_compromise": _("key compromised"),
        "ca_compromise": _("certification authority compromised"),
        "affiliation_changed": _("affiliation changed"),
        "superseded": _("superseded"),
        "cessation_of_operation": _("no longer used"),
        "certificate_hold": _("on hold"),
        "privilege_withdrawn": _("privilege withdrawn"),
        "aa_compromise": _("attribute authority compromised"),
    }
    return labels.get(reason or "unspecified", reason or "")


def _common_name(name: x509.Name) -> str | None:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else None


def _organisation_identifier(name: x509.Name) -> str | None:
    """``organizationIdentifier`` (OID 2.5.4.97, ETSI EN 319 412-1 §5.1.4): an organisation's seal."""
    values = name.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)
    return str(values[0].value) if values else None


def _signer(asn1_cert) -> tuple[x509.Certificate, dict]:
    cert = x509.load_der_x509_certificate(asn1_cert.dump())
    return cert, {
        "common_name": _common_name(cert.subject),
        "organisation_identifier": _organisation_identifier(cert.subject),
        "subject": cert.subject.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "sha256_fingerprint": cert.fingerprint(hashes.SHA256()).hex(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_before": cert.not_valid_before_utc,
        "not_after": cert.not_valid_after_utc,
    }


def _revocation(status, cert: x509.Certificate, trust: _Trust, ts_time: dt.datetime | None) -> dict:
    """Revocation status at signing time: ``good``, ``revoked_later`` (after the trusted
    signing time: the signature stands), ``revoked`` (before it, or no trusted time) or
    ``unknown`` (not a tungban certificate: no CRL to consult)."""
    details = status.revocation_details
    if details is not None:
        when, reason = details.revocation_date, details.revocation_reason.native
        if details.ca_revoked:
            message = _("A certification authority of this certificate was revoked on %(date)s (%(reason)s).")
        elif ts_time is None:
            message = _(
                "The certificate was revoked on %(date)s (%(reason)s) and no trusted time stamp shows the signature was made before that."
            )
        else:
            message = _("The certificate was revoked on %(date)s (%(reason)s), before this signature was made.")
        return {
            "status": "revoked",
            "revoked_at": when,
            "reason": reason,
            "message": message % {"date": _when(when), "reason": _reason_label(reason)},
        }
    entry = trust.crl_entry(cert)
    if entry is not None:
        reason_ext = next((e.value for e in entry.extensions if isinstance(e.value, x509.CRLReason)), None)
        reason = reason_ext.reason.name if reason_ext else "unspecified"
        when = entry.revocation_date_utc
        if ts_time is not None and when >= ts_time:
            message = _(
                "The certificate was revoked later, on %(date)s (%(reason)s). The signature was made before that, so it stays valid."
            )
            return {
                "status": "revoked_later",
                "revoked_at": when,
                "reason": reason,
                "message": message % {"date": _when(when), "reason": _reason_label(reason)},
            }
        # Not reported by pyHanko (e.g. the path could not be built): still revoked.
        message = _("The certificate was revoked on %(date)s (%(reason)s).")
        return {
            "status": "revoked",
            "revoked_at": when,
            "reason": reason,
            "message": message % {"date": _when(when), "reason": _reason_label(reason)},
        }
    if trust.issued_here(cert):
        return {"status": "good", "revoked_at": None, "reason": None, "message": _("The certificate is not revoked.")}
    return {
        "status": "unknown",
        "revoked_at": None,
        "reason": None,
        "message": _("Revocation could not be checked: the certificate was not issued by tungban."),
    }


def _signature_report(status, trust: _Trust, ts_time, ts_status, *, field: str | None = None, pdf_sig=None) -> dict:
    cert, signer = _signer(status.signing_cert)
    revocation = _revocation(status, cert, trust, ts_time)
    if ts_time is not None:
        signing_time, source = ts_time, "timestamp"
    elif status.signer_reported_dt is not None:
        signing_time, source = status.signer_reported_dt, "claimed"
    else:
        signing_time, source = None, None
    # The certificate's own verdict (pyHanko's ``trusted`` also requires an intact document).
    trusted = status.validation_path is not None and status.trust_problem_indic is None
    problems = []
    if not status.intact:
        problems.append(_("The document has changed since it was signed."))
    if not status.valid:
        problems.append(_("The signature is broken: it does not match the signer's certificate."))
    if revocation["status"] == "revoked":
        problems.append(revocation["message"])
    elif not trusted:
        if trust.issued_here(cert):
            problems.append(_("The signer's certificate could not be validated (it may have expired)."))
        else:
            problems.append(_("The signer's certificate was not issued by tungban: its identity is not confirmed."))
    if ts_status is not None and ts_time is None:
        problems.append(_("The signature's time stamp is not valid or not from a trusted time-stamping authority."))
    report = {
        "field": field,
        "signer": signer,
        "signing_time": signing_time,
        "signing_time_source": source,
        "timestamped": ts_time is not None,
        "intact": bool(status.intact),
        "valid": bool(status.valid),
        "trusted": trusted,
        "revocation": revocation,
        "reason": None,
        "covers_whole_file": None,
        "modified_after_signing": None,
        "modifications": None,
    }
    if pdf_sig is not None:
        from pyhanko.sign.validation import SignatureCoverageLevel

        level = status.modification_level
        modifications = MODIFICATIONS.get(level.name, "other") if level is not None else None
        whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        report.update(
            reason=_pdf_text(pdf_sig.sig_object, "/Reason"),
            covers_whole_file=whole,
            modified_after_signing=not whole,
            modifications=modifications,
        )
        if status.intact and not whole:
            if modifications in ("other", None) or status.docmdp_ok is False:
                problems.append(
                    _("The document has changed since it was signed: content was modified after this signature.")
                )
    ok = bool(status.bottom_line) and not problems
    if not ok and not problems:
        problems.append(_("The signature does not meet the validation rules."))
    report["bottom_line"] = ok
    report["problems"] = problems
    if ok:
        report["summary"] = _("Signature valid")
    elif not status.intact or (pdf_sig is not None and report["modifications"] == "other"):
        report["summary"] = _("Signature not valid: the document has changed since it was signed")
    else:
        report["summary"] = _("Signature not valid")
    if ok and report["modified_after_signing"]:
        report["notes"] = [
            _("Content was added after this signature (%(what)s); the signed version is unchanged.")
            % {"what": _modification_label(report["modifications"])}
        ]
    else:
        report["notes"] = []
    if ok and revocation["status"] == "revoked_later":
        report["notes"].append(revocation["message"])
    return report


def _modification_label(level: str | None) -> str:
    return {
        "none": _("nothing"),
        "validation_data": _("validation data"),
        "form_filling": _("further signatures or form filling"),
        "annotations": _("comments or annotations"),
    }.get(level or "", _("other changes"))


def _pdf_text(obj, key: str) -> str | None:
    try:
        value = obj.get(key)
    except _MALFORMED:
        return None
    return str(value)[:200] if value is not None else None


#: The field name of a person's signature for an organisation (:func:`.pdf.sign_pdf`'s
#: ``field_label``, :func:`.services.run_signing`): ``… for <organisation identifier> under mandate <id>``.
_FOR_ORGANISATION = re.compile(r" for (\S+) under mandate (\S+)$")


def _on_behalf(signatures: list[dict]) -> list[str]:
    """Who signed for which organisation under which mandate (issue 19): a person's signature
    whose field names an organisation and a mandate is *confirmed* when a later signature in
    the document (which covers it) is that organisation's valid seal, i.e. its certificate's
    ``organizationIdentifier`` is the one named. Sets each signature's ``on_behalf``
    (``None``, or ``{"organisation", "organisation_identifier", "mandate_id", "sealed"}``) and
    returns the confirmed statements, "X signed for Y under mandate Z", in order."""
    statements = []
    for i, sig in enumerate(signatures):
        sig["on_behalf"] = None
        found = _FOR_ORGANISATION.search(sig.get("field") or "")
        if found is None:
            continue
        identifier, mandate = found.groups()
        seal = next((s for s in signatures[i + 1 :] if s["signer"].get("organisation_identifier") == identifier), None)
        sealed = bool(seal and seal["bottom_line"] and sig["bottom_line"])
        organisation = (seal["signer"]["common_name"] if seal else None) or identifier
        sig["on_behalf"] = {
            "organisation": organisation,
            "organisation_identifier": identifier,
            "mandate_id": mandate,
            "sealed": sealed,
        }
        values = {
            "person": sig["signer"]["common_name"] or sig["signer"]["subject"],
            "organisation": f"{organisation} ({identifier})",
            "mandate": mandate,
        }
        if sealed:
            statement = _("%(person)s signed for %(organisation)s under mandate %(mandate)s") % values
            statements.append(statement)
            sig["notes"].append(statement)
        else:
            sig["notes"].append(
                _(
                    "This signature names %(organisation)s and mandate %(mandate)s, but no valid seal of that organisation covers it."
                )
                % values
            )
    return statements


def _document_report(kind: str, data: bytes, signatures: list[dict]) -> dict:
    valid = all(s["bottom_line"] for s in signatures)
    if valid:
        summary = (
            _("Signature valid")
            if len(signatures) == 1
            else _("All %(n)d signatures are valid") % {"n": len(signatures)}
        )
    elif any(not s["intact"] or s["modifications"] == "other" for s in signatures):
        summary = _("The document has changed since it was signed")
    else:
        summary = _("Signature not valid")
    return {
        "kind": kind,
        "valid": valid,
        "summary": summary,
        "document_sha256": hashlib.sha256(data).hexdigest(),
        "signatures": signatures,
        "statements": _on_behalf(signatures) if kind == "pdf" else [],
    }


def _run(coro):
    try:
        return asyncio.run(coro)
    except DomainError:
        raise
    except RecursionError:
        raise pdf.too_deep("file") from None
    except _MALFORMED as exc:
        if pdf.nested_too_deeply(exc):
            raise pdf.too_deep("file") from None
        raise errors.UnreadableSignature(reason=str(exc)[:200], field="signature") from None


# --- PDF -------------------------------------------------------------------------------------


def verify_pdf(data: bytes, trust: _Trust | None = None) -> dict:
    """Verify every signature in a PDF (PAdES: ETSI EN 319 142-1; ISO 32000-1 §12.8).

    Runs unbounded in the calling process: uploads go through :func:`verify_upload`.
    ``trust``: as in :func:`verify_detached`.

    Each ``/Sig`` signature is validated by pyHanko: the ``/ByteRange`` digest against the
    CMS ``message-digest`` (``intact``), the signature value (``valid``), the certificate
    path to the tungban root with CRLs (``trusted``, RFC 5280 §6) at the signing time (see
    the module docstring), and the changes made after signing (coverage and difference
    analysis). Document time stamps (``/DocTimeStamp``) are not reported.

    Returns::

        {"kind": "pdf", "valid": bool,  # bottom line: every signature valid, no illicit change
         "summary": str, "document_sha256": hex,
         "statements": [str],  # "X signed for Y under mandate Z", confirmed by Y's seal (issue 19)
         "signatures": [{
            "field": str, "reason": str | None,
            "signer": {"common_name", "organisation_identifier" (a seal's, else None), "subject",
                       "serial" (hex), "sha256_fingerprint" (hex), "issuer", "not_before", "not_after"},
            "on_behalf": None | {"organisation", "organisation_identifier", "mandate_id", "sealed": bool},
            "signing_time": datetime | None,
            "signing_time_source": "timestamp" | "claimed" | None, "timestamped": bool,
            "intact": bool, "valid": bool, "trusted": bool,
            "revocation": {"status": "good" | "revoked_later" | "revoked" | "unknown",
                           "revoked_at": datetime | None, "reason": str | None, "message": str},
            "covers_whole_file": bool, "modified_after_signing": bool,
            "modifications": "none" | "validation_data" | "form_filling" | "annotations"
                             | "other" | None,
            "bottom_line": bool, "summary": str, "problems": [str], "notes": [str]}]}

    :raises DomainError: ``file_too_large`` (413), ``empty_file``, ``not_pdf``,
        ``encrypted_pdf``, ``no_signatures``, ``unreadable_signature`` (a signature is not
        well-formed CMS, or its certificate is missing), ``pdf_too_complex`` (422: more
        pages than ``TUNGBAN_PDF_MAX_PAGES``, objects nested too deeply).
    """
    check_size(len(data), "file")
    if not data.lstrip()[:5] == b"%PDF-":
        raise errors.NotPdf(
            gettext_lazy("This file is not a PDF. To check a separate signature (.p7s), upload it too."), field="file"
        )
    from pyhanko.pdf_utils.misc import PdfError

    reader = pdf.check_pdf(data, field="file")
    try:
        embedded = [s for s in reader.embedded_signatures if s.sig_object_type == "/Sig"]
    except RecursionError:
        raise pdf.too_deep("file") from None
    except (PdfError, *_MALFORMED) as exc:
        if pdf.nested_too_deeply(exc):
            raise pdf.too_deep("file") from None
        raise errors.UnreadableSignature(
            gettext_lazy("A signature in this PDF cannot be read: %(reason)s") % {"reason": str(exc)[:200]},
            field="file",
        ) from None
    if not embedded:
        raise errors.NoSignatures()
    trust = trust or _Trust.load()

    async def validate_all():
        from pyhanko.sign.validation import async_validate_pdf_signature

        reports = []
        for sig in embedded:
            try:
                ts_time, ts_status = await _trusted_timestamp(sig.signer_info, trust, sig.compute_digest)
                status = await async_validate_pdf_signature(
                    sig, signer_validation_context=trust.context(ts_time), ts_validation_context=trust.context()
                )
            except PdfError as exc:
                raise ValueError(str(exc)) from exc
            reports.append(_signature_report(status, trust, ts_time, ts_status, field=sig.field_name, pdf_sig=sig))
        return reports

    return _document_report("pdf", data, _run(validate_all()))


# --- Detached CMS ----------------------------------------------------------------------------


def parse_signature(raw: bytes) -> cms.SignedData:
    """A detached signature file as CMS ``SignedData`` (RFC 5652 §5): DER (``.p7s``), PEM
    (``-----BEGIN PKCS7-----`` / ``CMS``) or bare base64 of the DER.

    :raises DomainError: ``file_too_large`` (413), ``empty_file``, ``not_cms``,
        ``multiple_signers`` (only one SignerInfo is supported).
    """
    check_size(len(raw), "signature")
    der = raw
    if raw[:1] != b"\x30":
        text = raw.strip()
        if text.startswith(b"-----BEGIN"):
            text = b"".join(line for line in text.splitlines() if not line.startswith(b"-----"))
        try:
            der = base64.b64decode(b"".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            der = b""
    not_cms = errors.NotCms()
    try:
        info = cms.ContentInfo.load(der)
        if info["content_type"].native != "signed_data":
            raise not_cms
        signed_data = info["content"]
        signer_infos = signed_data["signer_infos"]
        count = len(signer_infos)
        signer_infos[0]["digest_algorithm"]["algorithm"].native  # noqa: B018 - forces parsing
    except DomainError:
        raise
    except _MALFORMED:
        raise not_cms from None
    if count != 1:
        raise errors.MultipleSigners()
    return signed_data


def verify_detached(document: bytes, signature: bytes, trust: _Trust | None = None) -> dict:
    """Verify a detached CMS signature (RFC 5652; CAdES-BES, ETSI EN 319 122-1, with an
    RFC 3161 signature time stamp when present) over ``document``.

    ``intact`` says whether the document's digest matches the signed ``message-digest``
    attribute (RFC 5652 §11.2); the certificate is validated as in :func:`verify_pdf`.

    ``trust``: the anchors and CRLs (:class:`_Trust`), loaded from the database if not given
    (in the verifier process they are given: it has no database).

    Returns the report of :func:`verify_pdf` with ``"kind": "detached"`` and one signature,
    whose PDF-only fields (``field``, ``reason``, ``covers_whole_file``,
    ``modified_after_signing``, ``modifications``) are ``None``.

    :raises DomainError: ``file_too_large`` (413), ``empty_file``, ``not_cms``,
        ``multiple_signers``, ``unreadable_signature``.
    """
    check_size(len(document), "file")
    signed_data = parse_signature(signature)
    trust = trust or _Trust.load()

    def digest(algorithm: str) -> bytes:
        return hashlib.new(algorithm, document).digest()

    async def validate():
        from pyhanko.sign.general import extract_signer_info
        from pyhanko.sign.validation import async_validate_detached_cms

        ts_time, ts_status = await _trusted_timestamp(extract_signer_info(signed_data), trust, digest)
        status = await async_validate_detached_cms(
            document,
            signed_data,
            signer_validation_context=trust.context(ts_time),
            ts_validation_context=trust.context(),
        )
        return [_signature_report(status, trust, ts_time, ts_status)]

    return _document_report("detached", document, _run(validate()))


def max_seconds() -> float:
    """Longest one verification may run, in seconds (``TUNGBAN_VERIFY_MAX_SECONDS``; 0: unbounded)."""
    return settings.TUNGBAN_VERIFY_MAX_SECONDS


#: The settings the verifier process reads, copied from the request's process on each call
#: (so an operator's or a test's value applies there too).
CHILD_SETTINGS = ("TUNGBAN_VERIFY_MAX_BYTES", "TUNGBAN_PDF_MAX_PAGES")


def verify_upload(file: bytes, signature: bytes | None = None) -> dict:
    """What the verification page and API do with an upload: a PDF alone, or a document
    with its detached signature, checked in a verifier process (:mod:`.isolation`) that is
    stopped after :func:`max_seconds` — in whichever thread the request runs (issue 13
    item 4; gthread workers since issue 14 item 1). The sizes are checked and the trust
    anchors and CRLs loaded here; the report and errors come back in the active language.

    :raises DomainError: as :func:`verify_pdf` / :func:`verify_detached`, and
        ``document_missing`` when only a signature file was uploaded, ``pdf_too_complex``
        (422) when the check takes longer than :func:`max_seconds`, needs more memory than
        ``TUNGBAN_VERIFY_MAX_MEMORY`` or its process dies, ``verification_unavailable`` (503,
        ``details.retry_after`` seconds) when no verifier process takes it within
        ``TUNGBAN_VERIFY_WAIT_SECONDS`` or ``TUNGBAN_VERIFY_MAX_WAITING`` requests already wait.
    """
    check_size(len(file), "file")
    if signature:
        check_size(len(signature), "signature")
    context = {
        "language": translation.get_language(),
        "timezone": timezone.get_current_timezone_name(),
        "settings": {name: getattr(settings, name) for name in CHILD_SETTINGS},
    }
    try:
        kind, value = isolation.call(
            _verify_in_child,
            file,
            signature,
            _Trust.load().material,
            context,
            seconds=max_seconds(),
            wait=settings.TUNGBAN_VERIFY_WAIT_SECONDS,
        )
    except isolation.TimedOut:
        raise errors.PdfTooComplex(reason=gettext_lazy("the check took too long"), field="file") from None
    except isolation.ChildDied:
        raise errors.PdfTooComplex(reason=gettext_lazy("the check stopped before it finished"), field="file") from None
    except isolation.OutOfMemory:  # e.g. a decompression bomb (TUNGBAN_VERIFY_MAX_MEMORY)
        raise errors.PdfTooComplex(reason=gettext_lazy("the check needed too much memory"), field="file") from None
    except isolation.Unavailable:  # a child frees up within max_seconds(): try then
        raise errors.VerificationUnavailable(details={"retry_after": max(1, math.ceil(max_seconds()))}) from None
    if kind == "error":
        raise _error(**value)
    return value


def _verify_in_child(file: bytes, signature: bytes | None, material: tuple, context: dict) -> tuple[str, dict]:
    """In the verifier process: ``("report", report)`` or ``("error", DomainError's fields)``
    (declared errors are rebuilt in the request's process by :func:`_error`)."""
    for name, value in context["settings"].items():
        setattr(settings, name, value)
    with translation.override(context["language"]), timezone.override(context["timezone"]):
        try:
            return "report", _verify_upload(file, signature, _Trust(*material))
        except DomainError as exc:
            fields = {"code": exc.code, "message": str(exc.message), "field": exc.field}
            return "error", {**fields, "status": exc.status, "details": exc.details}


def _error(code: str, message: str, field: str | None, status: int, details: dict | None) -> DomainError:
    declared = {e.code: e for e in declared_errors(errors)}.get(code)
    if declared is None:
        return DomainError(code, message, field=field, status=status, details=details)
    return declared(message, field=field, status=status, details=details)


def _verify_upload(file: bytes, signature: bytes | None, trust: _Trust | None = None) -> dict:
    if signature:
        return verify_detached(file, signature, trust)
    if file.lstrip()[:5] != b"%PDF-" and 0 < len(file) <= max_bytes():
        try:
            parse_signature(file)
        except DomainError:
            pass  # not a signature either: verify_pdf says it is not a PDF
        else:
            raise errors.DocumentMissing()
    return verify_pdf(file, trust)
