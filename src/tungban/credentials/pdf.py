"""A printable copy of an e-licence or e-certificate (A4 PDF, drawn by fpdf2).

The page shows the issuer, the type's name in both languages, every claim with its label,
the issue and expiry dates, the credential id and a QR code. The QR code is a 認證易 link
(:func:`qr_payload`): ``{TUNGBAN_ISSUER}/verify/#vc=<SD-JWT>`` with every disclosure and no
key-binding JWT (paper cannot prove who presents it, so 認證易 says "check the holder's ID
card"). Scanned with a phone camera it opens the verify page, which reads the fragment in the
browser: the credential never appears in a server's access log.
"""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import segno
from django.conf import settings

from tungban.signing.pdf import stamp_font

from . import services
from .models import Credential, Status

HKT = ZoneInfo("Asia/Hong_Kong")
QR_ERROR = "m"
#: Labels of the page (Chinese, English); the claims' labels come from the type's display template.
TEXT = {
    "issuer": ("簽發機構", "Issuer"),
    "holder_details": ("證書資料", "Details"),
    "issued": ("簽發日期", "Issued on"),
    "valid_from": ("生效日期", "Valid from"),
    "expires": ("有效期至", "Valid until"),
    "no_expiry": ("不設屆滿日期", "Does not expire"),
    "id": ("證書編號", "Certificate id"),
    "status": ("列印時狀態", "Status when printed"),
    "yes": ("是", "Yes"),
    "no": ("否", "No"),
    "footer": (
        "本證書由簽發機構以數碼方式簽署（SD-JWT VC）。二維碼載有上列全部資料；核實時會檢查簽署、證書狀態及公開透明記錄。",
        "This certificate is digitally signed by the issuer (SD-JWT VC). The QR code holds every detail above; "
        "checking it confirms the signature, the certificate's current status and its entry in the public transparency log.",
    ),
}
STATUS_TEXT = {
    Status.VALID: ("有效", "Valid"),
    Status.SUSPENDED: ("已暫停", "Suspended"),
    Status.REVOKED: ("已撤銷", "Revoked"),
}


def verify_url() -> str:
    """The public 認證易 page, as printed under the QR code."""
    return f"{settings.TUNGBAN_ISSUER}/verify"


def qr_payload(credential: Credential) -> str:
    """The QR code's content: the 認證易 link carrying the whole SD-JWT (all disclosures)."""
    return f"{settings.TUNGBAN_ISSUER}/verify/#vc=" + credential.sd_jwt


def qr_code(payload: str) -> segno.QRCode:
    """The QR code for ``payload``: error correction level M (no boosting, so it can be
    rebuilt and compared). Version 40-M holds 2,331 bytes; a credential longer than that
    (e.g. a fire-safety certificate with every text field at its maximum length, about
    2,600 bytes) falls back to level L (2,953 bytes).

    :raises segno.DataOverflowError: when not even level L can hold it.
    """
    try:
        return segno.make(payload, error=QR_ERROR, boost_error=False, micro=False)
    except segno.DataOverflowError:
        return segno.make(payload, error="l", boost_error=False, micro=False)


def qr_png(payload: str, scale: int = 4) -> bytes:
    buffer = io.BytesIO()
    qr_code(payload).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def _hkt(value: dt.datetime | None) -> str:
    return value.astimezone(HKT).strftime("%Y-%m-%d") if value else ""


def _both(pair: tuple[str, str], zh_first: bool, sep: str = " ") -> str:
    return sep.join(pair if zh_first else pair[::-1])


def _value(value, zh_first: bool) -> str:
    if value is True:
        return _both(TEXT["yes"], zh_first, " / ")
    if value is False:
        return _both(TEXT["no"], zh_first, " / ")
    return str(value)


def page_content(credential: Credential, language: str | None) -> dict:
    """Everything the page prints, as text (useful to check a PDF without drawing it)."""
    zh_first = (language or "").startswith("zh")
    ctype, issuer = credential.credential_type, credential.issuer
    claims = services.issued_claims(credential)
    labels = {
        c["name"]: (c.get("label_zh", c["name"]), c.get("label_en", c["name"]))
        for c in (ctype.display or {}).get("claims", [])
    }
    order = [n for n in labels if n in claims] + [n for n in claims if n not in labels]
    rows = [(_both(labels.get(n, (n, n)), zh_first), _value(claims[n], zh_first)) for n in order]
    dates = [(_both(TEXT["issued"], zh_first), _hkt(credential.issued_at))]
    if (
        credential.valid_from
        and credential.valid_from.astimezone(HKT).date() != credential.issued_at.astimezone(HKT).date()
    ):
        dates.append((_both(TEXT["valid_from"], zh_first), _hkt(credential.valid_from)))
    dates.append(
        (
            _both(TEXT["expires"], zh_first),
            _hkt(credential.expires_at) if credential.expires_at else _both(TEXT["no_expiry"], zh_first, " / "),
        )
    )
    dates.append((_both(TEXT["id"], zh_first), str(credential.id)))
    if credential.status != Status.VALID:
        dates.append((_both(TEXT["status"], zh_first), _both(STATUS_TEXT[Status(credential.status)], zh_first, " / ")))
    titles = (ctype.name_zh, ctype.name_en) if zh_first else (ctype.name_en, ctype.name_zh)
    issuers = (issuer.name_zh, issuer.name_en) if zh_first else (issuer.name_en, issuer.name_zh)
    url = verify_url()
    scan = (f"以手機相機掃描或於 {url} 核實本證書", f"Scan with a phone camera or at {url} to check this certificate")
    too_long = (
        f"本證書資料太長，無法印成二維碼：請持有人以應用程式出示，或於 {url} 核實",
        f"This certificate is too long for a QR code: ask the holder to show it from the app, or check it at {url}",
    )
    return {
        "title": titles[0],
        "subtitle": titles[1],
        "issuer_label": _both(TEXT["issuer"], zh_first),
        "issuer": f"{issuers[0]} {issuers[1]}",
        "details_label": _both(TEXT["holder_details"], zh_first),
        "claims": rows,
        "dates": dates,
        "scan": scan if zh_first else scan[::-1],
        "too_long": too_long if zh_first else too_long[::-1],
        "footer": TEXT["footer"] if zh_first else TEXT["footer"][::-1],
        "qr": qr_payload(credential),
    }


def _rgb(colour: str | None, default: tuple[int, int, int]) -> tuple[int, int, int]:
    try:
        text = (colour or "").lstrip("#")
        return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)) if len(text) == 6 else default
    except ValueError:
        return default


def credential_pdf(credential: Credential, language: str | None) -> bytes:
    """An A4 PDF of ``credential`` with its 認證易 QR code; labels in both languages,
    ``language`` (``zh-hant`` or ``en``) first.

    :raises DomainError: ``stamp_font_missing`` when no CJK font is installed.
    """
    from fpdf import FPDF

    content = page_content(credential, language)
    texts = [
        content["title"],
        content["subtitle"],
        content["issuer_label"],
        content["issuer"],
        content["details_label"],
        *[t for row in content["claims"] + content["dates"] for t in row],
        *content["scan"],
        *content["too_long"],
        *content["footer"],
    ]
    # Measure only the characters used: for a CJK font fpdf2 otherwise maps the whole cmap.
    used = sorted({ord(c) for t in texts for c in t if c not in "\n"} | {ord(" ")})
    font = stamp_font()
    display = credential.credential_type.display or {}
    band, ink = _rgb(display.get("background"), (11, 93, 75)), _rgb(display.get("text"), (255, 255, 255))

    doc = FPDF(orientation="portrait", unit="mm", format="A4")
    doc.set_title(f"{credential.credential_type.name_en} {credential.credential_type.name_zh}")
    doc.set_author(f"{credential.issuer.name_en} {credential.issuer.name_zh}")
    doc.set_creator("tungban")
    doc.set_lang("zh-Hant-HK" if (language or "").startswith("zh") else "en-HK")
    doc.set_auto_page_break(True, margin=15)
    doc.set_margins(18, 15, 18)
    doc.add_page()
    if font.endswith(".ttc"):
        doc.add_font("cjk", fname=font, collection_font_number=0, unicode_range=used)
    else:
        doc.add_font("cjk", fname=font, unicode_range=used)
    width = doc.w - doc.l_margin - doc.r_margin

    # Header band in the type's colours.
    doc.set_fill_color(*band)
    doc.rect(0, 0, doc.w, 42, style="F")
    doc.set_text_color(*ink)
    doc.set_xy(doc.l_margin, 9)
    doc.set_font("cjk", size=20)
    doc.multi_cell(width, 9, content["title"], align="L", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("cjk", size=12)
    doc.multi_cell(width, 6, content["subtitle"], align="L", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("cjk", size=10)
    doc.multi_cell(width, 6, content["issuer"], align="L", new_x="LMARGIN", new_y="NEXT")

    doc.set_text_color(26, 26, 26)
    doc.set_y(50)
    doc.set_font("cjk", size=12)
    doc.multi_cell(width, 7, content["details_label"], align="L", new_x="LMARGIN", new_y="NEXT")
    doc.ln(1)
    label_w = 62
    doc.set_draw_color(200, 200, 200)
    for label, value in content["claims"] + content["dates"]:
        y = doc.get_y()
        doc.set_font("cjk", size=9)
        doc.set_text_color(74, 74, 74)
        doc.multi_cell(label_w - 2, 6, label, align="L", new_x="LMARGIN", new_y="NEXT")
        after_label = doc.get_y()
        doc.set_xy(doc.l_margin + label_w, y)
        doc.set_font("cjk", size=11)
        doc.set_text_color(26, 26, 26)
        doc.multi_cell(width - label_w, 6, value, align="L", new_x="LMARGIN", new_y="NEXT")
        bottom = max(doc.get_y(), after_label)
        doc.line(doc.l_margin, bottom + 0.8, doc.l_margin + width, bottom + 0.8)
        doc.set_y(bottom + 2)

    # The QR code, centred, with what to do with it.
    size = 80
    if doc.get_y() + size + 30 > doc.h - doc.b_margin:
        doc.add_page()
    top = doc.get_y() + 4
    try:
        png = qr_png(content["qr"])
    except segno.DataOverflowError:  # a custom type with very long claims: no QR code
        png, lines = None, content["too_long"]
    else:
        lines = content["scan"]
    if png:
        doc.image(io.BytesIO(png), x=(doc.w - size) / 2, y=top, w=size, h=size, alt_text=content["scan"][0])
        doc.set_y(top + size + 2)
    doc.set_font("cjk", size=10)
    for line in lines:
        doc.multi_cell(width, 5.5, line, align="C", new_x="LMARGIN", new_y="NEXT")
    doc.ln(4)
    doc.set_font("cjk", size=8)
    doc.set_text_color(74, 74, 74)
    for line in content["footer"]:
        doc.multi_cell(width, 4.5, line, align="L", new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())
