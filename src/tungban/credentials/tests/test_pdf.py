"""The printable PDF of a credential: text, QR code, and the 認證易 link it carries."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.conf import settings

from tungban.credentials import pdf, services
from tungban.credentials.verify import DatabaseTrust, verify_presentation

needs_poppler = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdfimages")), reason="poppler-utils not installed"
)


def _text(data: bytes, tmp_path) -> str:
    path = tmp_path / "credential.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def _module_matrix(png_path, size: int, scale: int = 4, border: int = 4) -> list[list[int]]:
    """Read back the QR code's modules (1 = dark) from the image embedded in the PDF."""
    from PIL import Image

    image = Image.open(png_path).convert("L")
    assert image.size == ((size + 2 * border) * scale,) * 2
    return [
        [
            1 if image.getpixel(((col + border) * scale + scale // 2, (row + border) * scale + scale // 2)) < 128 else 0
            for col in range(size)
        ]
        for row in range(size)
    ]


def test_qr_payload_is_the_verify_link_with_every_disclosure(senior_card):
    payload = pdf.qr_payload(senior_card)
    assert payload == f"{settings.TUNGBAN_ISSUER}/verify/#vc=" + senior_card.sd_jwt
    # Every claim is disclosed, and there is no key binding (paper cannot prove who presents it).
    assert set(services.issued_claims_from(payload.split("#vc=", 1)[1])) == {
        "family_name",
        "given_name",
        "name_zh",
        "birthdate",
        "age_over_65",
        "card_number",
    }
    assert payload.endswith("~")
    result = verify_presentation(payload, DatabaseTrust())
    assert result.valid, result.problems
    assert result.holder_binding == "not_presented"
    assert result.undisclosed == 0


def test_qr_code_is_error_level_m():
    code = pdf.qr_code("https://example.hk/verify/#vc=abc.def.ghi~")
    assert code.error == "M"


@needs_poppler
def test_pdf_shows_holder_type_and_dates(senior_card, tmp_path):
    data = pdf.credential_pdf(senior_card, "en")
    assert data.startswith(b"%PDF")
    text = _text(data, tmp_path)
    assert "CHAN" in text and "Tai Man" in text and "陳大文" in text
    assert "Senior Citizen Card" in text and "長者咭" in text
    assert "Social Welfare Department" in text and "社會福利署" in text
    assert "SC12345678" in text and "Card number" in text and "長者咭號碼" in text
    assert str(senior_card.id) in text
    assert senior_card.issued_at.astimezone(pdf.HKT).strftime("%Y-%m-%d") in text
    assert "Does not expire" in text
    assert f"{settings.TUNGBAN_ISSUER}/verify" in text and "Scan with a phone camera" in text and "核實本證書" in text


@needs_poppler
def test_pdf_in_chinese_puts_chinese_first(senior_card, tmp_path):
    text = _text(pdf.credential_pdf(senior_card, "zh-hant"), tmp_path)
    assert text.index("長者咭") < text.index("Senior Citizen Card")
    assert "姓氏 Surname" in text


@needs_poppler
def test_pdf_qr_code_encodes_the_verify_link(senior_card, tmp_path):
    """Extract the QR image from the PDF and compare it, module by module, with the QR code
    of the expected link (segno is deterministic: same content and level, same symbol)."""
    import segno

    path = tmp_path / "credential.pdf"
    path.write_bytes(pdf.credential_pdf(senior_card, "en"))
    subprocess.run(["pdfimages", "-png", str(path), str(tmp_path / "img")], check=True)
    images = sorted(tmp_path.glob("img-*.png"))
    assert len(images) == 1
    expected = segno.make(f"{settings.TUNGBAN_ISSUER}/verify/#vc=" + senior_card.sd_jwt, error="m", boost_error=False)
    size = expected.symbol_size(scale=1, border=0)[0]
    assert _module_matrix(images[0], size) == [list(row) for row in expected.matrix]
    # And not the QR code of something else.
    other = segno.make(
        f"{settings.TUNGBAN_ISSUER}/verify/#vc=" + senior_card.sd_jwt + "x", error="m", boost_error=False
    )
    if other.symbol_size(scale=1, border=0)[0] == size:
        assert _module_matrix(images[0], size) != [list(row) for row in other.matrix]


@needs_poppler
def test_revoked_credential_pdf_says_so(senior_card, tmp_path):
    services.change_status(senior_card, "revoked", reason="test", changed_by="officer:test")
    text = _text(pdf.credential_pdf(senior_card, "en"), tmp_path)
    assert "Revoked" in text and "已撤銷" in text


@needs_poppler
def test_long_fire_safety_certificate_fits(bundled, holder, tmp_path):
    ctype = services.get_type("fire-safety-certificate")
    credential = services.issue(
        ctype,
        holder.resident,
        {
            "certificate_number": "FS1234567",
            "premises": "Shop 12, G/F, " + "Very Long Industrial Building Name, " * 2 + "Kwun Tong",
            "installations": "Sprinkler system; " * 5 + "fire alarm",
            "inspection_date": "2025-01-15",
        },
        issued_by="officer:test",
    )
    text = _text(pdf.credential_pdf(credential, "zh-hant"), tmp_path)
    assert "FS1234567" in text and "消防裝置及設備證書" in text
    assert credential.expires_at.astimezone(pdf.HKT).strftime("%Y-%m-%d") in text


@needs_poppler
def test_longest_possible_certificate_still_gets_a_qr_code(bundled, tmp_path):
    """Every text at its maximum length still gets a QR code (level M, or L when M is full)."""
    from tungban.credentials.tests.conftest import make_holder

    resident = make_holder(family_name_en="X" * 60, given_name_en="Y" * 80, name_zh="陳" * 20).resident
    credential = services.issue(
        services.get_type("fire-safety-certificate"),
        resident,
        {
            "certificate_number": "FS7654321",
            "premises": "P" * 120,
            "installations": "I" * 120,
            "inspection_date": "2025-01-01",
        },
        issued_by="officer:test",
    )
    payload = pdf.qr_payload(credential)
    assert pdf.qr_code(payload).error in ("M", "L")
    path = tmp_path / "long.pdf"
    path.write_bytes(pdf.credential_pdf(credential, "en"))
    subprocess.run(["pdfimages", "-png", str(path), str(tmp_path / "img")], check=True)
    assert len(list(tmp_path.glob("img-*.png"))) == 1
    assert "FS7654321" in _text(path.read_bytes(), tmp_path)
