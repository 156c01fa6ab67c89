"""Acceptance tests with independent tools: signatures made through the signing API (a
service's token, approval in the CLI app) must validate with poppler's ``pdfsig`` (NSS),
``openssl cms`` and pyHanko against the tungban root fetched from the live server, and
must stop validating when one byte of the signed document changes. Revoking a credential
refuses new signatures but leaves time-stamped earlier ones valid at their signing time.

Debian packages: poppler-utils (pdfsig), libnss3-tools (certutil), openssl. A test is
skipped, saying which, when a binary is missing.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import shutil
import subprocess
from io import BytesIO

import pytest
import requests

from tungban.signing import services
from tungban.signing.models import SigningCredential, SigningDocument, SigningRequest
from tungban.testing.factories import PIN, login
from tungban.testing.tasks import run_queued_tasks
from tungban.wallet.client import AppError

from .conftest import client_token

PACKAGES = {"pdfsig": "poppler-utils", "certutil": "libnss3-tools", "openssl": "openssl"}
CHANGED = "The document has changed since it was signed"
PAGE_TEXT = b"(Hello tungban, this PDF is signed)"


def require(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (Debian package {PACKAGES[tool]})")


def run(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60, **kw)


def make_pdf() -> bytes:
    from fpdf import FPDF

    doc = FPDF()
    doc.set_compression(False)  # keeps PAGE_TEXT readable in the file, to change one byte of it
    doc.add_page()
    doc.set_font("helvetica", size=14)
    doc.cell(text=PAGE_TEXT.decode()[1:-1])
    data = bytes(doc.output())
    assert PAGE_TEXT in data
    return data


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def sign(issuer: str, token: str, app, documents: list[dict]) -> dict:
    """Submit documents, approve in the app, return the signed result."""
    created = requests.post(
        f"{issuer}/api/v1/signing/requests",
        json={"documents": documents, "reason": "Acceptance test"},
        headers=auth(token),
    )
    assert created.status_code == 201, created.text
    app.decide(created.json()["approval_uri"], PIN, "approve")
    run_queued_tasks()  # the signing job
    result = requests.get(f"{issuer}/api/v1/signing/requests/{created.json()['id']}", headers=auth(token)).json()
    assert result["status"] == "signed", result
    return result


def verify_api(issuer: str, file: bytes, signature: bytes | None = None) -> dict:
    files = {"file": ("document", file)}
    if signature is not None:
        files["signature"] = ("document.p7s", signature)
    r = requests.post(f"{issuer}/api/v1/signing/verify", files=files, headers={"Accept-Language": "en"})
    assert r.status_code == 200, r.text
    return r.json()


def verify_page(issuer: str, file: bytes, signature: bytes | None = None) -> str:
    """The verification page, as a browser uses it (CSRF cookie and token)."""
    browser = requests.Session()
    browser.headers["Accept-Language"] = "en"
    form = browser.get(f"{issuer}/signing/verify")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    files = {"file": ("document.pdf", file)}
    if signature is not None:
        files["signature"] = ("document.p7s", signature)
    page = browser.post(f"{issuer}/signing/verify", data={"csrfmiddlewaretoken": csrf}, files=files)
    assert page.status_code == 200, page.text[:500]
    return page.text


@pytest.fixture
def root_pem(issuer, tmp_path):
    r = requests.get(f"{issuer}/signing/ca/root-ca.crt", params={"format": "pem"})
    assert r.status_code == 200 and r.text.startswith("-----BEGIN CERTIFICATE-----")
    path = tmp_path / "root.pem"
    path.write_bytes(r.content)
    return path


@pytest.fixture
def nss_db(tmp_path, root_pem):
    """An NSS database trusting only the tungban root (for pdfsig)."""
    require("certutil")
    db = tmp_path / "nss"
    db.mkdir()
    for args in (["-N", "--empty-password"], ["-A", "-n", "root", "-t", "C,C,C", "-i", root_pem]):
        result = run("certutil", "-d", f"sql:{db}", *args)
        assert result.returncode == 0, result.stderr
    return f"sql:{db}"


@pytest.fixture
def service_token(issuer, signing_client):
    client, secret = signing_client
    return client_token(issuer, client.client_id, secret)


def pyhanko_pdf_status(issuer: str, root_pem, data: bytes):
    """pyHanko's own validator, trusting the root from the server, with the served CRLs."""
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    crls = [requests.get(f"{issuer}/signing/crl/{name}").content for name in ("signing-ca.crl", "root-ca.crl")]
    context = ValidationContext(
        trust_roots=[load_cert_from_pemder(str(root_pem))], crls=crls, allow_fetching=False, revocation_mode="hard-fail"
    )
    (sig,) = PdfFileReader(BytesIO(data)).embedded_signatures
    return validate_pdf_signature(sig, context)


def pdfsig(nss: str, path) -> str:
    result = run("pdfsig", "-nssdir", nss, path)
    return result.stdout + result.stderr


def test_pdf_signed_through_the_api_passes_pdfsig_and_pyhanko_and_one_changed_byte_fails(
    signer_app, service_token, issuer, root_pem, nss_db, tmp_path
):
    require("pdfsig")
    resident, app = signer_app
    original = make_pdf()
    result = sign(issuer, service_token, app, [{"name": "declaration.pdf", "pdf": base64.b64encode(original).decode()}])
    signed = base64.b64decode(result["documents"][0]["signed_pdf"])
    assert signed.startswith(original)  # an incremental update: the original bytes are untouched
    (tmp_path / "signed.pdf").write_bytes(signed)

    out = pdfsig(nss_db, tmp_path / "signed.pdf")
    assert "Signature is Valid" in out and "Certificate is Trusted" in out, out
    assert "Total document signed" in out, out

    status = pyhanko_pdf_status(issuer, root_pem, signed)
    assert status.bottom_line and status.intact and status.valid and status.trusted
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted  # PAdES B-T

    report = verify_api(issuer, signed)
    assert report["valid"] is True
    assert report["signatures"][0]["signer"]["serial"] == result["signer"]["serial"]

    # One byte of the page content, inside the first signed byte range.
    at = signed.index(PAGE_TEXT) + 1
    from pyhanko.pdf_utils.reader import PdfFileReader

    byte_range = list(PdfFileReader(BytesIO(signed)).embedded_signatures[0].byte_range)
    assert at < byte_range[1]
    tampered = signed[:at] + b"J" + signed[at + 1 :]
    (tmp_path / "tampered.pdf").write_bytes(tampered)

    out = pdfsig(nss_db, tmp_path / "tampered.pdf")
    assert "Signature is Valid" not in out, out
    assert "Digest Mismatch" in out or "Signature is Invalid" in out, out

    status = pyhanko_pdf_status(issuer, root_pem, tampered)
    assert not status.intact and not status.bottom_line

    report = verify_api(issuer, tampered)
    assert report["valid"] is False and report["signatures"][0]["intact"] is False
    assert CHANGED in verify_page(issuer, tampered)
    assert "Signature valid" in verify_page(issuer, signed)


def test_hash_signature_passes_openssl_and_a_changed_document_fails(
    signer_app, service_token, issuer, root_pem, tmp_path
):
    require("openssl")
    resident, app = signer_app
    document = "聲明 Declaration: everything above is true.\n".encode()
    result = sign(
        issuer, service_token, app, [{"name": "declaration.txt", "sha256": hashlib.sha256(document).hexdigest()}]
    )
    signature = base64.b64decode(result["documents"][0]["signature"])
    (tmp_path / "doc").write_bytes(document)
    (tmp_path / "sig.p7s").write_bytes(signature)

    def openssl_verify(content_path):
        return run(
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            tmp_path / "sig.p7s",
            "-content",
            content_path,
            "-CAfile",
            root_pem,
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        )

    ok = openssl_verify(tmp_path / "doc")
    assert ok.returncode == 0, ok.stderr
    assert verify_api(issuer, document, signature)["valid"] is True

    changed = bytearray(document)
    changed[-2] ^= 0x01
    (tmp_path / "changed").write_bytes(bytes(changed))
    bad = openssl_verify(tmp_path / "changed")
    assert bad.returncode != 0

    report = verify_api(issuer, bytes(changed), signature)
    assert report["valid"] is False and report["signatures"][0]["intact"] is False
    assert CHANGED in verify_page(issuer, bytes(changed), signature)
    assert "Signature valid" in verify_page(issuer, document, signature)


def test_revocation_refuses_new_signatures_and_keeps_earlier_ones_valid(
    signer_app, signing_client, service_token, issuer
):
    resident, app = signer_app
    client, secret = signing_client
    document = b"signed before the revocation"
    cades = sign(issuer, service_token, app, [{"name": "a.txt", "sha256": hashlib.sha256(document).hexdigest()}])
    pades = sign(issuer, service_token, app, [{"name": "b.pdf", "pdf": base64.b64encode(make_pdf()).decode()}])
    signature = base64.b64decode(cades["documents"][0]["signature"])
    signed_pdf = base64.b64decode(pades["documents"][0]["signed_pdf"])

    credential = SigningCredential.objects.get(resident=resident)
    services.revoke(credential, reason="key_compromise")
    signed_results = SigningDocument.objects.filter(result__isnull=False).count()

    # Anonymous signing: the request is accepted, the approval fails, nothing is signed.
    created = requests.post(
        f"{issuer}/api/v1/signing/requests",
        json={"documents": [{"name": "c.txt", "sha256": hashlib.sha256(b"after").hexdigest()}]},
        headers=auth(service_token),
    )
    assert created.status_code == 201, created.text
    with pytest.raises(AppError) as refused:
        app.decide(created.json()["approval_uri"], PIN, "approve")
    assert refused.value.code == "certificate_revoked"
    after = requests.get(f"{issuer}/api/v1/signing/requests/{created.json()['id']}", headers=auth(service_token)).json()
    assert after["status"] == "failed" and after["error"] == "certificate_revoked"
    assert after["documents"][0]["signature"] is None and after["signer"] is None

    # Signing after login: refused when the request is made.
    tokens = login(issuer, app, client.client_id, secret, "https://sign.example/cb", scope="openid profile signing")
    requests_before = SigningRequest.objects.count()
    r = requests.post(
        f"{issuer}/api/v1/signing/requests",
        json={"documents": [{"name": "d.txt", "sha256": hashlib.sha256(b"after").hexdigest()}]},
        headers=auth(tokens["access_token"]),
    )
    assert r.status_code == 403 and r.json()["error"] == "certificate_revoked", r.text
    assert SigningRequest.objects.count() == requests_before
    assert SigningDocument.objects.filter(result__isnull=False).count() == signed_results

    # The earlier signatures still verify at their (time-stamped) signing time.
    for report in (verify_api(issuer, document, signature), verify_api(issuer, signed_pdf)):
        assert report["valid"] is True, report
        (sig,) = report["signatures"]
        assert sig["timestamped"] is True and sig["trusted"] is True
        assert sig["revocation"]["status"] == "revoked_later"
        assert sig["revocation"]["reason"] == "key_compromise"
        assert dt.datetime.fromisoformat(sig["revocation"]["revoked_at"]) > dt.datetime.fromisoformat(
            sig["signing_time"]
        )
        assert "revoked later" in sig["revocation"]["message"]
