"""The e-receipt and credit-note PDFs (issue 18: "a bilingual e-receipt PDF signed by the
platform"), drawn with fpdf2 in Traditional Chinese and English on one A4 page, before the
platform seals them (:func:`tungban.signing.services.seal_pdf`).

The CJK font is the signing stamp's (``TUNGBAN_STAMP_FONT`` or a Debian one,
:func:`tungban.signing.pdf.stamp_font`), loaded with only the characters the document uses
(fpdf2 otherwise measures the whole CJK cmap). The tests read the text back with poppler's
``pdftotext`` and check the seal with ``pdfsig``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tungban.signing import pdf as signing_pdf

A4 = (210, 297)  # mm


@dataclass(frozen=True)
class Row:
    """A labelled value: ``label_zh`` / ``label_en`` on the left, ``value`` on the right."""

    label_zh: str
    label_en: str
    value: str


@dataclass(frozen=True)
class Line:
    """A fee line: labels in both languages, quantity, unit and line amounts (text, HK$)."""

    label_zh: str
    label_en: str
    quantity: int
    unit: str
    total: str
    note: str = ""  # e.g. a concession


@dataclass(frozen=True)
class Document:
    title_zh: str
    title_en: str
    rows: list[Row]
    lines: list[Line] = field(default_factory=list)
    total: Row | None = None
    footer_zh: str = ""
    footer_en: str = ""


def money(cents: int) -> str:
    """``123456`` → ``"HK$1,234.56"`` (negative for refunds: ``"-HK$50.00"``)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}HK${cents // 100:,}.{cents % 100:02d}"


def _texts(doc: Document) -> str:
    parts = [
        doc.title_zh,
        doc.title_en,
        doc.footer_zh,
        doc.footer_en,
        "通辦 tungban",
        "項目 Item 數量 Qty 單價 Unit 金額",
    ]
    for r in [*doc.rows, *([doc.total] if doc.total else [])]:
        parts += [r.label_zh, r.label_en, r.value]
    for ln in doc.lines:
        parts += [ln.label_zh, ln.label_en, str(ln.quantity), ln.unit, ln.total, ln.note]
    return "".join(parts) + "".join(chr(c) for c in range(32, 127)) + "—"


def render(doc: Document) -> bytes:
    """The PDF of ``doc`` (A4, one page for a normal receipt; long fee lists flow on).

    :raises DomainError: ``stamp_font_missing`` (503) when no CJK font is installed.
    """
    from fpdf import FPDF

    font = signing_pdf.stamp_font()
    used = sorted({ord(c) for c in _texts(doc) if c not in "\n"})
    out = FPDF(unit="mm", format=A4)
    out.set_margins(18, 18, 18)
    out.set_auto_page_break(True, margin=24)
    out.set_title(f"{doc.title_en} {doc.title_zh}")
    out.set_author("tungban 通辦")
    out.set_lang("zh-Hant-HK")
    kwargs = {"collection_font_number": 0} if font.endswith(".ttc") else {}
    out.add_font("cjk", fname=font, unicode_range=used, **kwargs)
    out.add_page()
    width = out.w - out.l_margin - out.r_margin

    out.set_text_color(0, 84, 147)
    out.set_font("cjk", size=11)
    out.cell(width, 7, "通辦 tungban", new_x="LMARGIN", new_y="NEXT")
    out.set_text_color(0, 0, 0)
    out.set_font("cjk", size=18)
    out.cell(width, 10, doc.title_zh, new_x="LMARGIN", new_y="NEXT")
    out.set_font("cjk", size=13)
    out.cell(width, 8, doc.title_en, new_x="LMARGIN", new_y="NEXT")
    out.ln(4)

    label_w = 62
    out.set_font("cjk", size=10)
    for r in doc.rows:
        y = out.get_y()
        out.multi_cell(label_w, 5.5, f"{r.label_zh}\n{r.label_en}", new_x="RIGHT", new_y="TOP")
        out.multi_cell(width - label_w, 5.5, r.value or "—", new_x="LMARGIN", new_y="NEXT")
        out.set_y(max(out.get_y(), y + 11) + 1.5)

    if doc.lines:
        out.ln(2)
        out.set_font("cjk", size=10)
        cols = (width - 70, 14, 28, 28)
        out.set_fill_color(230, 238, 245)
        for text, w, align in zip(
            ("項目 Item", "數量 Qty", "單價 Unit", "金額 Amount"), cols, ("L", "R", "R", "R"), strict=True
        ):
            out.cell(w, 7, text, border="B", align=align, fill=True)
        out.ln(7)
        for ln in doc.lines:
            y = out.get_y()
            label = f"{ln.label_zh}\n{ln.label_en}" + (f"\n{ln.note}" if ln.note else "")
            out.multi_cell(cols[0], 5, label, new_x="RIGHT", new_y="TOP")
            out.cell(cols[1], 5, str(ln.quantity), align="R")
            out.cell(cols[2], 5, ln.unit, align="R")
            out.cell(cols[3], 5, ln.total, align="R")
            out.set_y(max(out.get_y(), y + 10 + (5 if ln.note else 0)) + 1)
        if doc.total:
            out.set_font("cjk", size=12)
            out.cell(width - cols[3], 8, f"{doc.total.label_zh} {doc.total.label_en}", border="T", align="R")
            out.cell(cols[3], 8, doc.total.value, border="T", align="R", new_x="LMARGIN", new_y="NEXT")
    elif doc.total:
        out.set_font("cjk", size=12)
        out.cell(
            width, 8, f"{doc.total.label_zh} {doc.total.label_en}: {doc.total.value}", new_x="LMARGIN", new_y="NEXT"
        )

    if doc.footer_zh or doc.footer_en:
        out.ln(6)
        out.set_font("cjk", size=8.5)
        out.set_text_color(60, 60, 60)
        out.multi_cell(width, 4.5, f"{doc.footer_zh}\n{doc.footer_en}")
    return bytes(out.output())
