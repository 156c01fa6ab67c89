"""Signature verification (:mod:`tungban.signing.verify`), its page and its API, with
signatures made in-process by the platform's own signing code (a software key, the
platform CA and TSA) so these tests need no live server."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from io import BytesIO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from tungban.core.errors import DomainError
from tungban.signing import ca, keystore, pdf, services, verify
from tungban.signing.models import AuthorityRole, CredentialStatus, SigningCredential

CHANGED = "The document has changed since it was signed"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


# --- helpers ---------------------------------------------------------------------------------


def make_pdf(text: str = "Hello tungban") -> bytes:
    from fpdf import FPDF

    doc = FPDF()
    doc.set_compression(False)  # the page text stays visible in the file (see tamper tests)
    doc.add_page()
    doc.set_font("helvetica", size=14)
    doc.cell(text=text)
    return bytes(doc.output())


def make_credential(resident) -> SigningCredential:
    """A credential as :func:`.services.ensure_credential` makes it, with a software key."""
    return services.issue_credential(resident, None, keystore.SoftwareKeyStore())


def sign_pdf(credential, data: bytes, *, timestamped: bool = True) -> bytes:
    signer, _ = services._signer_for(credential)
    return pdf.sign_pdf(
        data,
        signer,
        signer_name=ca.common_name(credential.resident),
        reason="Test",
        signed_at=timezone.now(),
        timestamper=ca.timestamper() if timestamped else None,
    )


def sign_detached(credential, document: bytes, *, timestamped: bool = True) -> bytes:
    signer, _ = services._signer_for(credential)
    return services._cades(signer, hashlib.sha256(document).hexdigest(), ca.timestamper() if timestamped else None)


def change_one_byte(data: bytes, needle: bytes = b"Hello") -> bytes:
    at = data.index(needle)
    return data[:at] + b"J" + data[at + 1 :]


def self_signed_signer():
    """A signer whose certificate tungban did not issue."""
    from pyhanko.sign.signers import SimpleSigner

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Mallory")])
    now = timezone.now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return SimpleSigner(signing_cert=ca.asn1(cert), signing_key=keystore.asn1_private_key(key), cert_registry=None)


@pytest.fixture(autouse=True)
def english():
    """Reports are read in English here (the default language is Traditional Chinese)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def latin_stamp(monkeypatch):
    """The real stamp loads a CJK font (about 1.5 s a signature); verification does not
    look at the stamp, so these tests draw a plain one (test_external_tools uses the real one)."""

    def stamp(signer_name, signed_at):
        from fpdf import FPDF

        doc = FPDF(unit="pt", format=pdf.STAMP_SIZE)
        doc.add_page()
        doc.set_font("helvetica", size=8)
        doc.cell(text="Digitally signed")
        return bytes(doc.output())

    monkeypatch.setattr(pdf, "stamp_pdf", stamp)


@pytest.fixture
def credential(resident):
    return make_credential(resident)


@pytest.fixture
def signed_pdf(credential):
    return sign_pdf(credential, make_pdf())


# --- PDF -------------------------------------------------------------------------------------


def test_signed_pdf_report(credential, signed_pdf):
    report = verify.verify_pdf(signed_pdf)
    assert report["kind"] == "pdf" and report["valid"] is True
    assert report["summary"] == "Signature valid"
    assert report["document_sha256"] == hashlib.sha256(signed_pdf).hexdigest()
    (sig,) = report["signatures"]
    cert = x509.load_der_x509_certificate(bytes(credential.certificate_der))
    assert sig["signer"] == {
        "common_name": ca.common_name(credential.resident),
        "organisation_identifier": None,  # a resident's certificate, not an organisation's seal
        "subject": cert.subject.rfc4514_string(),
        "serial": credential.serial,
        "sha256_fingerprint": cert.fingerprint(hashes.SHA256()).hex(),
        "issuer": ca.certificate(AuthorityRole.SIGNING).subject.rfc4514_string(),
        "not_before": cert.not_valid_before_utc,
        "not_after": cert.not_valid_after_utc,
    }
    assert sig["intact"] and sig["valid"] and sig["trusted"] and sig["bottom_line"]
    assert sig["timestamped"] is True and sig["signing_time_source"] == "timestamp"
    assert abs(sig["signing_time"] - timezone.now()) < dt.timedelta(minutes=5)
    assert sig["revocation"]["status"] == "good"
    assert (
        sig["covers_whole_file"] is True and sig["modified_after_signing"] is False and sig["modifications"] == "none"
    )
    assert sig["field"] == "tungban-signature-1" and sig["reason"] == "Test"
    assert sig["problems"] == [] and sig["notes"] == []


def test_one_changed_byte_in_the_signed_range_breaks_the_pdf_signature(signed_pdf):
    tampered = change_one_byte(signed_pdf)
    assert len(tampered) == len(signed_pdf)
    report = verify.verify_pdf(tampered)
    assert report["valid"] is False
    assert report["summary"] == CHANGED
    (sig,) = report["signatures"]
    assert sig["intact"] is False and sig["bottom_line"] is False
    assert sig["trusted"] is True  # the certificate is fine; the document is not
    assert sig["problems"] == ["The document has changed since it was signed."]


def test_content_changed_in_a_later_revision_invalidates_the_signature(signed_pdf):
    """An incremental update after signing that rewrites the page (not a signature, form
    field or annotation) is caught by pyHanko's difference analysis."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(signed_pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    stream = generic.StreamObject(stream_data=b"BT /F1 14 Tf 72 720 Td (Pay 1000000 HKD) Tj ET")
    page["/Contents"] = writer.add_object(stream)
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    report = verify.verify_pdf(out.getvalue())
    (sig,) = report["signatures"]
    assert sig["intact"] is True  # the signed revision itself is untouched...
    assert sig["covers_whole_file"] is False and sig["modified_after_signing"] is True
    assert sig["modifications"] == "other"  # ...but the document shown has changed
    assert report["valid"] is False and report["summary"] == CHANGED


def test_second_signature_leaves_the_first_valid(credential, signed_pdf, officer):
    from tungban.testing.factories import make_resident

    other = make_credential(make_resident(officer, given_name_en="Siu Ming", name_zh="陳小明"))
    twice = sign_pdf(other, signed_pdf)
    report = verify.verify_pdf(twice)
    assert report["valid"] is True
    first, second = report["signatures"]
    assert first["signer"]["serial"] == credential.serial and second["signer"]["serial"] == other.serial
    assert first["covers_whole_file"] is False and first["modifications"] == "form_filling" and first["bottom_line"]
    assert first["notes"] and "added after this signature" in first["notes"][0]
    assert second["covers_whole_file"] is True


def test_untrusted_signer_is_reported(resident):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    out = signers.sign_pdf(
        IncrementalPdfFileWriter(BytesIO(make_pdf())),
        signers.PdfSignatureMetadata(field_name="Sig", subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256"),
        signer=self_signed_signer(),
    )
    report = verify.verify_pdf(out.getvalue())
    (sig,) = report["signatures"]
    assert sig["intact"] and sig["valid"] and not sig["trusted"]
    assert sig["signer"]["common_name"] == "Mallory"
    assert sig["revocation"]["status"] == "unknown"
    assert sig["timestamped"] is False and sig["signing_time_source"] == "claimed"
    assert report["valid"] is False
    assert any("not issued by tungban" in p for p in sig["problems"])


# --- Detached CMS ----------------------------------------------------------------------------


def test_detached_signature_in_der_pem_and_base64(credential):
    document = b"Declaration: all the above is true.\n"
    der = sign_detached(credential, document)
    pem = b"-----BEGIN PKCS7-----\n" + base64.encodebytes(der) + b"-----END PKCS7-----\n"
    for encoded in (der, pem, base64.b64encode(der)):
        report = verify.verify_detached(document, encoded)
        assert report["kind"] == "detached" and report["valid"] is True, report
        (sig,) = report["signatures"]
        assert sig["signer"]["serial"] == credential.serial
        assert sig["timestamped"] is True and sig["revocation"]["status"] == "good"
        assert sig["covers_whole_file"] is None and sig["field"] is None
    assert report["document_sha256"] == hashlib.sha256(document).hexdigest()


def test_changed_document_breaks_the_detached_signature(credential):
    document = b"Declaration: all the above is true.\n"
    signature = sign_detached(credential, document)
    report = verify.verify_detached(b"Declaration: all the above is false\n", signature)
    assert report["valid"] is False and report["summary"] == CHANGED
    assert report["signatures"][0]["intact"] is False and report["signatures"][0]["trusted"] is True


# --- Revocation at signing time --------------------------------------------------------------


def test_certificate_revoked_after_signing_keeps_time_stamped_signatures_valid(credential):
    document = b"signed before revocation"
    signature = sign_detached(credential, document)
    signed = sign_pdf(credential, make_pdf())
    services.revoke(credential, reason="key_compromise")
    credential.refresh_from_db()
    for report in (verify.verify_detached(document, signature), verify.verify_pdf(signed)):
        assert report["valid"] is True, report
        (sig,) = report["signatures"]
        assert sig["trusted"] and sig["bottom_line"]
        revocation = sig["revocation"]
        assert revocation["status"] == "revoked_later"
        assert revocation["reason"] == "key_compromise"
        assert revocation["revoked_at"] >= credential.revoked_at.replace(microsecond=0)
        assert revocation["revoked_at"] > sig["signing_time"]
        assert "revoked later" in revocation["message"] and "key compromised" in revocation["message"]
        assert revocation["message"] in sig["notes"]


def test_revocation_later_in_the_same_second_as_the_time_stamp(credential):
    """CRL times have whole seconds: a revocation later in the same second as the time
    stamp must not be published as if it came first (the CA rounds it up)."""
    document = b"same second"
    signature = sign_detached(credential, document)
    signed_at = verify.verify_detached(document, signature)["signatures"][0]["signing_time"]
    revoked_at = max(signed_at.replace(microsecond=999_999), signed_at + dt.timedelta(microseconds=1))
    SigningCredential.objects.filter(pk=credential.pk).update(
        status=CredentialStatus.REVOKED, revoked_at=revoked_at, revocation_reason="superseded"
    )
    ca.mark_crl_stale(AuthorityRole.SIGNING)
    report = verify.verify_detached(document, signature)
    (sig,) = report["signatures"]
    assert sig["signing_time"] == signed_at
    assert sig["revocation"]["status"] == "revoked_later" and report["valid"] is True


def test_signature_made_after_revocation_is_invalid(credential):
    """A key used after its certificate was revoked (e.g. a stolen copy): the time stamp
    shows the signature came later, so it is invalid."""
    SigningCredential.objects.filter(pk=credential.pk).update(
        status=CredentialStatus.REVOKED,
        revoked_at=timezone.now() - dt.timedelta(hours=1),
        revocation_reason="key_compromise",
    )
    ca.mark_crl_stale(AuthorityRole.SIGNING)
    document = b"signed after revocation"
    report = verify.verify_detached(document, sign_detached(credential, document))
    assert report["valid"] is False and report["summary"] == "Signature not valid"
    (sig,) = report["signatures"]
    assert sig["intact"] and sig["valid"] and not sig["trusted"]
    assert sig["revocation"]["status"] == "revoked"
    assert "before this signature was made" in sig["revocation"]["message"]
    assert sig["revocation"]["message"] in sig["problems"]


def test_revoked_certificate_without_time_stamp_is_invalid(credential):
    """Without a trusted time stamp nothing proves the signature predates the revocation."""
    document = b"no time stamp"
    signature = sign_detached(credential, document, timestamped=False)
    assert verify.verify_detached(document, signature)["valid"] is True
    services.revoke(credential, reason="cessation_of_operation")
    report = verify.verify_detached(document, signature)
    (sig,) = report["signatures"]
    assert report["valid"] is False and sig["timestamped"] is False
    assert sig["revocation"]["status"] == "revoked" and sig["revocation"]["reason"] == "cessation_of_operation"
    assert "no trusted time stamp" in sig["revocation"]["message"]


# --- Bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: verify.verify_pdf(b"hello, world"), "not_pdf"),
        (lambda: verify.verify_pdf(b""), "empty_file"),
        (lambda: verify.verify_pdf(b"%PDF-1.7\ngarbage"), "not_pdf"),
        (lambda: verify.verify_pdf(make_pdf()), "no_signatures"),
        (lambda: verify.verify_detached(b"doc", b"not a signature"), "not_cms"),
        (lambda: verify.verify_detached(b"doc", b"\x30\x03\x02\x01\x01"), "not_cms"),
        (lambda: verify.verify_detached(b"doc", b"-----BEGIN PKCS7-----\n!!!\n-----END PKCS7-----\n"), "not_cms"),
        (lambda: verify.verify_detached(b"doc", base64.b64encode(b"\x30\x03\x02\x01\x01")), "not_cms"),
    ],
)
def test_bad_input(db, call, code):
    with pytest.raises(DomainError) as exc:
        call()
    assert exc.value.code == code
    assert str(exc.value.message)


def test_broken_signature_inside_a_pdf(signed_pdf):
    start = signed_pdf.index(b"/Contents <") + len(b"/Contents <")
    broken = signed_pdf[:start] + b"00" * 8 + signed_pdf[start + 16 :]
    with pytest.raises(DomainError) as exc:
        verify.verify_pdf(broken)
    assert exc.value.code == "unreadable_signature"


def test_signature_file_alone_asks_for_the_document(credential):
    with pytest.raises(DomainError) as exc:
        verify.verify_upload(sign_detached(credential, b"doc"))
    assert exc.value.code == "document_missing"


def test_size_limit(db, settings):
    settings.TUNGBAN_VERIFY_MAX_BYTES = 1024 * 1024
    with pytest.raises(DomainError) as exc:
        verify.verify_pdf(b"%PDF-1.7\n" + b"0" * (1024 * 1024))
    assert (exc.value.code, exc.value.status) == ("file_too_large", 413)


# --- Page ------------------------------------------------------------------------------------


def test_page_form_is_labelled_and_csrf_protected(db):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/signing/verify", **EN)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html and 'enctype="multipart/form-data"' in html
    assert '<label for="id_file">' in html and '<label for="id_signature">' in html
    assert 'name="viewport"' in html
    refused = client.post("/signing/verify", {"file": SimpleUploadedFile("a.pdf", make_pdf())}, **EN)
    assert refused.status_code == 403


def test_page_reports_valid_and_changed_documents(client, signed_pdf):
    ok = client.post("/signing/verify", {"file": SimpleUploadedFile("signed.pdf", signed_pdf)}, **EN)
    assert ok.status_code == 200
    html = ok.content.decode()
    assert "Signature valid" in html and "Result: the signature is valid." in html
    assert "Unchanged since it was signed." in html and "confirmed by a trusted time stamp" in html
    assert "陳大文" in html
    assert ok["Cache-Control"] == "no-store"

    bad = client.post("/signing/verify", {"file": SimpleUploadedFile("signed.pdf", change_one_byte(signed_pdf))}, **EN)
    html = bad.content.decode()
    assert bad.status_code == 200
    assert CHANGED in html and "NOT valid" in html and "Signature valid" not in html


def test_page_checks_a_detached_signature(client, credential):
    document = b"Declaration: all the above is true.\n"
    signature = sign_detached(credential, document)
    ok = client.post(
        "/signing/verify",
        {"file": SimpleUploadedFile("d.txt", document), "signature": SimpleUploadedFile("d.txt.p7s", signature)},
        **EN,
    )
    assert "Signature valid" in ok.content.decode()
    bad = client.post(
        "/signing/verify",
        {"file": SimpleUploadedFile("d.txt", document + b"!"), "signature": SimpleUploadedFile("d.txt.p7s", signature)},
        **EN,
    )
    assert CHANGED in bad.content.decode()


def test_page_errors_are_shown_next_to_the_field(client, settings, db):  # db: the rate limiter counts there
    settings.TUNGBAN_VERIFY_MAX_BYTES = 1024 * 1024
    big = client.post("/signing/verify", {"file": SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * (1024 * 1024))}, **EN)
    assert big.status_code == 413
    assert "This file is too large: at most 1 MB can be checked." in big.content.decode()
    junk = client.post("/signing/verify", {"file": SimpleUploadedFile("a.pdf", b"hello")}, **EN)
    assert junk.status_code == 400
    assert 'id="id_file_error"' in junk.content.decode() and "This file is not a PDF." in junk.content.decode()
    missing = client.post("/signing/verify", {}, **EN)
    assert missing.status_code == 400 and 'id="id_file_error"' in missing.content.decode()
    badsig = client.post(
        "/signing/verify",
        {"file": SimpleUploadedFile("a.txt", b"doc"), "signature": SimpleUploadedFile("a.p7s", b"junk")},
        **EN,
    )
    assert 'id="id_signature_error"' in badsig.content.decode()


def test_page_in_chinese(client, db):
    page = client.get("/signing/verify", HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert page.status_code == 200 and 'lang="zh-Hant-HK"' in page.content.decode()


# --- API -------------------------------------------------------------------------------------


def test_api_verifies_a_pdf(client, credential, signed_pdf):
    r = client.post("/api/v1/signing/verify", {"file": SimpleUploadedFile("signed.pdf", signed_pdf)}, **EN)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["valid"] is True and body["kind"] == "pdf"
    sig = body["signatures"][0]
    assert sig["signer"]["serial"] == credential.serial and sig["timestamped"] is True
    assert sig["revocation"] == {
        "status": "good",
        "revoked_at": None,
        "reason": None,
        "message": "The certificate is not revoked.",
    }

    r = client.post(
        "/api/v1/signing/verify", {"file": SimpleUploadedFile("signed.pdf", change_one_byte(signed_pdf))}, **EN
    )
    assert r.status_code == 200 and r.json()["valid"] is False and r.json()["signatures"][0]["intact"] is False


def test_api_verifies_a_detached_pem_signature(client, credential):
    document = b"hello"
    der = sign_detached(credential, document)
    pem = b"-----BEGIN CMS-----\n" + base64.encodebytes(der) + b"-----END CMS-----\n"
    r = client.post(
        "/api/v1/signing/verify",
        {"file": SimpleUploadedFile("a.txt", document), "signature": SimpleUploadedFile("a.p7s", pem)},
    )
    assert r.status_code == 200 and r.json()["valid"] is True and r.json()["kind"] == "detached"


def test_api_errors(client, settings, db):
    r = client.post("/api/v1/signing/verify", {"file": SimpleUploadedFile("a.txt", b"hello")}, **EN)
    assert r.status_code == 400 and r.json()["error"] == "not_pdf" and r.json()["field"] == "file"
    r = client.post(
        "/api/v1/signing/verify",
        {"file": SimpleUploadedFile("a.txt", b"doc"), "signature": SimpleUploadedFile("a.p7s", b"junk")},
    )
    assert r.status_code == 400 and r.json()["error"] == "not_cms" and r.json()["field"] == "signature"
    r = client.post("/api/v1/signing/verify", {})
    assert r.status_code == 422
    settings.TUNGBAN_VERIFY_MAX_BYTES = 1024 * 1024
    r = client.post("/api/v1/signing/verify", {"file": SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * (1024 * 1024))})
    assert r.status_code == 413 and r.json()["error"] == "file_too_large"


def test_api_is_documented(client, db):
    spec = client.get("/api/v1/openapi.json").json()
    op = spec["paths"]["/api/v1/signing/verify"]["post"]
    form = op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file"] and set(form["properties"]) == {"file", "signature"}
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/VerificationOut")
    assert {"400", "413", "422"} <= set(op["responses"])
    assert "security" not in op
    sig = spec["components"]["schemas"]["VerifiedSignatureOut"]["properties"]
    assert {"intact", "valid", "trusted", "revocation", "signing_time", "covers_whole_file", "bottom_line"} <= set(sig)
