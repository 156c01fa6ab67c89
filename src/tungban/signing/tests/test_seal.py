"""The platform's electronic seal (:mod:`tungban.signing.seal`, issue 18: e-receipts signed by
the platform through the signing stack). A sealed PDF validates with poppler's ``pdfsig``
(NSS, trusting only the tungban root) and with pyHanko; one changed byte breaks it; the seal
is made once and reused; a revoked seal is in the signing CA's CRL and the next PDF gets a
new seal, while documents sealed before still validate."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tungban.signing import ca, seal, services, verify
from tungban.signing.models import AuthorityRole, CredentialStatus, PlatformSeal

from .test_verify import change_one_byte, make_pdf

PURPOSE = "tests.receipts"
NAME = "tungban e-Receipts 通辦電子收據"


def require(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (poppler-utils / libnss3-tools)")


@pytest.fixture
def nss_db(tmp_path, db):
    """An NSS database trusting only the tungban root (for pdfsig)."""
    require("certutil")
    root = tmp_path / "root.pem"
    root.write_bytes(ca.certificate(AuthorityRole.ROOT).public_bytes(serialization.Encoding.PEM))
    nss = tmp_path / "nss"
    nss.mkdir()
    for args in (["-N", "--empty-password"], ["-A", "-n", "root", "-t", "C,C,C", "-i", str(root)]):
        result = subprocess.run(["certutil", "-d", f"sql:{nss}", *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
    return f"sql:{nss}"


def pdfsig(nss: str, path) -> str:
    result = subprocess.run(["pdfsig", "-nssdir", nss, str(path)], capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


@pytest.mark.django_db
def test_a_sealed_pdf_passes_pdfsig_and_pyhanko_and_one_changed_byte_fails(nss_db, tmp_path):
    require("pdfsig")
    original = make_pdf("Hello receipt")
    sealed = services.seal_pdf(original, purpose=PURPOSE, name=NAME, reason="Receipt")
    assert sealed.startswith(original)  # an incremental update
    (tmp_path / "sealed.pdf").write_bytes(sealed)
    out = pdfsig(nss_db, tmp_path / "sealed.pdf")
    assert "Signature is Valid" in out and "Certificate is Trusted" in out, out
    assert "Total document signed" in out, out
    assert "tungban e-Receipts" in out, out

    report = verify.verify_pdf(sealed)
    assert report["valid"] is True, report
    (sig,) = report["signatures"]
    assert sig["timestamped"] is True and sig["trusted"] is True

    tampered = change_one_byte(sealed, b"Hello receipt")
    (tmp_path / "tampered.pdf").write_bytes(tampered)
    out = pdfsig(nss_db, tmp_path / "tampered.pdf")
    assert "Signature is Valid" not in out, out
    assert verify.verify_pdf(tampered)["valid"] is False


@pytest.mark.django_db
def test_the_seal_is_made_once_names_the_platform_and_is_not_a_residents_certificate():
    first = seal.seal_for(PURPOSE, NAME)
    again = seal.seal_for(PURPOSE, NAME)
    assert first.pk == again.pk
    assert PlatformSeal.objects.filter(purpose=PURPOSE).count() == 1
    cert = x509.load_der_x509_certificate(bytes(first.certificate_der))
    assert cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)[0].value == "tungban"
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == NAME
    assert cert.issuer == ca.certificate(AuthorityRole.SIGNING).subject
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    # Another purpose has its own seal.
    other = seal.seal_for("tests.other", "tungban other")
    assert other.pk != first.pk and other.key_label != first.key_label


@pytest.mark.django_db
def test_a_revoked_seal_is_in_the_crl_the_next_pdf_gets_a_new_seal_and_earlier_ones_still_validate():
    before = services.seal_pdf(make_pdf(), purpose=PURPOSE, name=NAME, reason="Receipt")
    old = PlatformSeal.objects.get(purpose=PURPOSE)
    assert services.revoke_seal(PURPOSE, reason="key_compromise") == 1
    old.refresh_from_db()
    assert old.status == CredentialStatus.REVOKED and old.software_key_pem is None
    crl = x509.load_der_x509_crl(ca.current_crl(AuthorityRole.SIGNING))
    assert crl.get_revoked_certificate_by_serial_number(int(old.serial, 16)) is not None

    services.seal_pdf(make_pdf(), purpose=PURPOSE, name=NAME, reason="Receipt")
    new = PlatformSeal.objects.get(purpose=PURPOSE, status=CredentialStatus.ACTIVE)
    assert new.pk != old.pk

    report = verify.verify_pdf(before)
    assert report["valid"] is True, report
    assert report["signatures"][0]["revocation"]["status"] == "revoked_later"


@pytest.mark.django_db
def test_a_renamed_seal_supersedes_the_old_one_and_bad_input_is_refused():
    old = seal.seal_for(PURPOSE, NAME)
    new = seal.seal_for(PURPOSE, "tungban Receipts (renamed)")
    old.refresh_from_db()
    assert new.pk != old.pk and old.status == CredentialStatus.REVOKED and old.revocation_reason == "superseded"
    from tungban.core.errors import DomainError

    with pytest.raises(DomainError) as refused:
        services.seal_pdf(b"not a pdf", purpose=PURPOSE, name=NAME, reason="x")
    assert refused.value.code == "not_pdf"
    with pytest.raises(DomainError) as refused:
        services.revoke_seal(PURPOSE, reason="because")
    assert refused.value.code == "invalid_reason"
