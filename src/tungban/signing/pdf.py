"""PDF input checks and PAdES signing with pyHanko, with a visible bilingual stamp.

The stamp is a small PDF drawn by fpdf2 (which shapes Chinese and Latin text with a CJK
font) and placed by pyHanko as the signature field's appearance. The signature is PAdES
baseline B-T (ETSI EN 319 142-1): CAdES-style signed attributes, ``/SubFilter
/ETSI.CAdES.detached``, plus an RFC 3161 signature time stamp from the platform TSA.
"""

from __future__ import annotations

import datetime as dt
import functools
import tempfile
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from . import errors

HKT = ZoneInfo("Asia/Hong_Kong")
STAMP_SIZE = (230, 64)  # points
FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
]


@functools.cache
def stamp_font() -> str:
    """Path of a font with Chinese and Latin glyphs (``TUNGBAN_STAMP_FONT`` or a Debian one).

    :raises DomainError: ``stamp_font_missing`` (install ``fonts-wqy-microhei``).
    """
    for candidate in [settings.TUNGBAN_STAMP_FONT, *FONT_CANDIDATES]:
        if candidate and Path(candidate).exists():
            return candidate
    raise errors.StampFontMissing()


def max_pages() -> int:
    """Most pages a PDF may have to be signed or verified (``TUNGBAN_PDF_MAX_PAGES``)."""
    return settings.TUNGBAN_PDF_MAX_PAGES


def too_deep(field: str):
    """The error for a PDF whose objects or page tree nest deeper than the parser can follow
    (Python's recursion limit bounds pyHanko's recursive parser; issue 13 item 4)."""
    return errors.PdfTooComplex(reason=_("its objects are nested too deeply"), field=field)


def nested_too_deeply(exc: BaseException) -> bool:
    """Whether ``exc`` is, or was caused by, a ``RecursionError`` (pyHanko wraps some in
    ``PdfReadError``)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, RecursionError):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def check_pdf(data: bytes, field: str = "pdf"):
    """Parse ``data`` as an unencrypted PDF and return pyHanko's reader.

    Crafted PDFs are bounded (issue 13 item 4): at most :func:`max_pages` pages (declared
    ``/Count``, checked before the page tree is walked), and objects or a page tree nested
    deeper than the parser can follow are refused rather than crashing it.

    :raises DomainError: ``not_pdf`` (not a PDF, unreadable, or without pages),
        ``encrypted_pdf``, ``pdf_too_complex`` (422: too many pages, nested too deeply).
    """
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    if not data.lstrip()[:5] == b"%PDF-":
        raise errors.NotPdf(field=field)
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        encrypted = reader.encrypted
        pages = 0 if encrypted else int(reader.root["/Pages"]["/Count"])
        if pages > max_pages():
            raise errors.PdfTooComplex(
                reason=_("at most %(n)d pages can be processed") % {"n": max_pages()}, field=field
            )
        if pages:
            reader.find_page_for_modification(pages - 1)  # the stamp goes on the last page
    except RecursionError:
        raise too_deep(field) from None
    except (PdfError, KeyError, ValueError, TypeError, IndexError) as exc:
        if nested_too_deeply(exc):
            raise too_deep(field) from None
        raise errors.NotPdf(
            _("This PDF cannot be read: %(reason)s") % {"reason": str(exc)[:200]}, field=field
        ) from None
    if not encrypted and pages < 1:
        raise errors.NotPdf(_("This PDF has no pages."), field=field)
    if encrypted:
        raise errors.EncryptedPdf(field=field)
    return reader


def stamp_pdf(signer_name: str, signed_at: dt.datetime, *, on_behalf: str = "") -> bytes:
    """A one-page PDF the size of the stamp: who signed and when, in Chinese and English;
    ``on_behalf``: the organisation's identifier when the person signs for one (issue 19)."""
    when = signed_at.astimezone(HKT).strftime("%Y-%m-%d %H:%M:%S HKT")
    lines = (
        "數碼簽署 Digitally signed",
        f"簽署人 Signer: {signer_name}",
        f"時間 Time: {when}",
        f"代表 For: {on_behalf}" if on_behalf else "通辦+ tungban+",
    )
    return _render_stamp(lines, stamp_font())


def organisation_stamp_pdf(name: str, identifier: str, signed_at: dt.datetime) -> bytes:
    """The stamp of an organisation's seal (issue 19): the company's seal, its names and
    identifier (``NTRHK-<BRN>``), and when."""
    when = signed_at.astimezone(HKT).strftime("%Y-%m-%d %H:%M:%S HKT")
    lines = (
        "公司電子印章 Company seal",
        name[:60],
        f"{identifier}",
        f"時間 Time: {when}",
    )
    return _render_stamp(lines, stamp_font())


def seal_stamp_pdf(seal_name: str, signed_at: dt.datetime) -> bytes:
    """The stamp of a platform seal (:mod:`.seal`): sealed by the platform, whose seal, and when."""
    when = signed_at.astimezone(HKT).strftime("%Y-%m-%d %H:%M:%S HKT")
    lines = (
        "電子印章 Electronic seal",
        seal_name,
        f"時間 Time: {when}",
        "通辦 tungban",
    )
    return _render_stamp(lines, stamp_font())


def _render_stamp(lines: tuple[str, ...], font: str) -> bytes:
    """Draw the stamp with fpdf2. Parsing the CJK font dominates (see ``bench/signing.py``),
    so a bulk request draws its stamp once (:func:`sign_pdf`'s ``stamp``)."""
    from fpdf import FPDF

    text = "\n".join(lines)
    # Measure only the stamp's characters: for a CJK font fpdf2 otherwise computes widths
    # and glyph ids for the whole cmap (tens of thousands of characters) on every add_font.
    used = sorted({ord(c) for c in text if c != "\n"})
    width, height = STAMP_SIZE
    doc = FPDF(unit="pt", format=(width, height))
    doc.set_auto_page_break(False)
    doc.set_margin(0)
    doc.add_page()
    if font.endswith(".ttc"):
        doc.add_font("stamp", fname=font, collection_font_number=0, unicode_range=used)
    else:
        doc.add_font("stamp", fname=font, unicode_range=used)
    doc.set_draw_color(0, 84, 147)
    doc.set_line_width(1)
    doc.rect(0.5, 0.5, width - 1, height - 1)
    doc.set_text_color(0, 0, 0)
    doc.set_font("stamp", size=7.5)
    doc.set_xy(6, 5)
    doc.multi_cell(width - 12, 13, text)
    return bytes(doc.output())


def sign_pdf(
    data: bytes,
    signer,
    *,
    signer_name: str,
    reason: str,
    signed_at: dt.datetime,
    timestamper,
    stamp: bytes | None = None,
    field_label: str = "",
) -> bytes:
    """Sign ``data`` (checked with :func:`check_pdf`) as PAdES B-T with a visible stamp at
    the bottom right of the last page. Returns the signed PDF (an incremental update, so
    the original bytes stay intact and earlier signatures remain valid).

    :param stamp: the stamp from :func:`stamp_pdf` for this signer and time, when the
        caller signs several PDFs at once; drawn here otherwise.
    :param field_label: appended to the signature field's name (``tungban-signature-<n>
        <label>``; no ``.``: ISO 32000-1 §12.7.3.2 separates names with it), which ``pdfsig``
        and pyHanko show: e.g. the organisation and mandate a person signs for.
    """
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.rw_common import find_inherited_value_in_tree
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import StaticStampStyle

    writer = IncrementalPdfFileWriter(BytesIO(data), strict=False)
    names = {name for name, _, _ in fields.enumerate_sig_fields(writer.prev, filled_status=None)}
    existing = len(names)
    last_page = int(writer.root["/Pages"]["/Count"]) - 1
    page = writer.prev.find_page_for_modification(last_page)[0]
    box = [
        float(v) for v in find_inherited_value_in_tree(page.get_object(), "/MediaBox", "/Parent")
    ]  # inheritable (ISO 32000-1 §7.7.3.4)
    width, height = STAMP_SIZE
    # Bottom right, above earlier stamps, kept on the page however small it is.
    x1 = max(box[0], box[2] - width - 24)
    y1 = min(box[1] + 24 + existing * (height + 8), max(box[1], box[3] - height))
    suffix = f" {field_label.replace('.', '-')}" if field_label else ""
    field_name = next(
        f"tungban-signature-{n}{suffix}"
        for n in range(existing + 1, existing + 1000)
        if f"tungban-signature-{n}{suffix}" not in names
    )
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason or None,
        location="Hong Kong",
        name=signer_name,
    )
    with tempfile.NamedTemporaryFile(suffix=".pdf") as stamp_file:
        stamp_file.write(stamp or stamp_pdf(signer_name, signed_at))
        stamp_file.flush()
        style = StaticStampStyle.from_pdf_file(stamp_file.name, border_width=0)
        pdf_signer = signers.PdfSigner(
            meta,
            signer=signer,
            timestamper=timestamper,
            stamp_style=style,
            new_field_spec=fields.SigFieldSpec(field_name, on_page=last_page, box=(x1, y1, x1 + width, y1 + height)),
        )
        out = pdf_signer.sign_pdf(writer)
    return out.getvalue()
