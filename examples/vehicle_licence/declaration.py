"""The applicant's declaration as a one-page PDF (fpdf2), in English and Traditional Chinese.

The service asks tungban to sign this PDF: the platform adds a PAdES signature with a
visible stamp at the bottom right of the last page, so the text here stays in the upper
part of the page. Chinese text needs a font with CJK glyphs (``VL_PDF_FONT``, by default
WenQuanYi Micro Hei from Debian's ``fonts-wqy-microhei``). Without one the declaration is
still made, in English only with a built-in PDF font, and says so.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
HONG_KONG_TIME = dt.timezone(dt.timedelta(hours=8), "HKT")

TITLE_EN = "Declaration: application for renewal of a vehicle licence"
TITLE_ZH = "聲明：車輛牌照續期申請"
DECLARATION_EN = (
    "I, the applicant named above, declare that the information given in this application "
    "is true, correct and complete to the best of my knowledge and belief. I understand that "
    "knowingly giving false information is an offence and that the licence may then be "
    "cancelled."
)
DECLARATION_ZH = (
    "本人（即上述申請人）謹此聲明，就本人所知所信，本申請所提供的資料均屬真實、正確及完整。"
    "本人明白，明知而提供虛假資料屬違法，牌照亦可因此被取消。"
)
DEMO_EN = "Demo document of the tungban sample service, not a real government form."
DEMO_ZH = "此為 tungban 示範服務的示範文件，並非真正政府表格。"
NO_CJK_NOTE = "(Chinese text omitted: no font with Chinese characters was found on the server.)"
PERIODS = {"4": ("4 months", "4 個月"), "12": ("12 months", "12 個月")}


def find_font(path: str | None) -> str | None:
    """``path`` if it names a readable font file, else None (the caller falls back)."""
    if path and Path(path).is_file():
        return str(path)
    if path:
        log.warning("Declaration font %s not found: the declaration is made in English only", path)
    return None


def file_name(reference: str) -> str:
    """The PDF's file name, also shown to the resident in the tungban app."""
    return f"declaration-{reference}.pdf"


def build_declaration(
    values: Mapping[str, str],
    reference: str,
    *,
    when: dt.datetime | None = None,
    font_path: str | None = DEFAULT_FONT,
) -> bytes:
    """The declaration PDF for a submitted renewal form.

    :param values: the validated form (``name_en``, ``name_zh``, ``registration_mark``,
        ``period``; others are not printed).
    :param reference: the application's reference number.
    :param when: the declaration date (default: now in Hong Kong).
    :param font_path: a TrueType font or collection (``.ttc``: its first face is used) with
        Chinese glyphs; when missing, English only with Helvetica.
    """
    from fpdf import FPDF

    when = (when or dt.datetime.now(HONG_KONG_TIME)).astimezone(HONG_KONG_TIME)
    font = find_font(font_path)
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(20, 20, 20)
    pdf.set_title(f"{TITLE_EN} ({reference})")
    pdf.set_author(values.get("name_en", ""))
    pdf.set_creator("tungban sample service: vehicle licence renewal")
    pdf.set_lang("en-HK")
    pdf.add_page()
    if font:
        if font.lower().endswith(".ttc"):
            pdf.add_font("cjk", fname=font, collection_font_number=0)
        else:
            pdf.add_font("cjk", fname=font)
        family = "cjk"

        def text(en: str, zh: str = "") -> str:
            return f"{en}\n{zh}" if zh else en

    else:
        family = "Helvetica"

        def text(en: str, zh: str = "") -> str:
            return en.encode("latin-1", "replace").decode("latin-1")

    width = pdf.w - pdf.l_margin - pdf.r_margin

    pdf.set_font(family, size=9)
    pdf.set_text_color(90, 90, 90)
    pdf.multi_cell(width, 4.5, text("Transport Department (demo)", "運輸署（示範）"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    pdf.set_text_color(0, 0, 0)
    pdf.set_font(family, size=15)
    pdf.multi_cell(width, 7.5, text(TITLE_EN, TITLE_ZH), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_draw_color(11, 79, 138)
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
    pdf.ln(5)

    period = values.get("period", "")
    period_en, period_zh = PERIODS.get(period, (period, period))
    rows = [
        (text("Reference number", "參考編號"), reference),
        (text("Name in English", "英文姓名"), values.get("name_en", "")),
    ]
    if font:  # a Chinese name cannot be written without a CJK font
        rows.append((text("Name in Chinese", "中文姓名"), values.get("name_zh", "")))
    rows += [
        (text("Vehicle registration mark", "車輛登記號碼"), values.get("registration_mark", "")),
        (text("Licence period", "牌照有效期"), text(period_en, period_zh)),
    ]
    label_width = 62
    for label, value in rows:
        top = pdf.get_y()
        pdf.set_font(family, size=10)
        pdf.set_text_color(70, 70, 70)
        pdf.multi_cell(label_width, 5, label, new_x="LMARGIN", new_y="NEXT")
        label_bottom = pdf.get_y()
        pdf.set_xy(pdf.l_margin + label_width, top)
        pdf.set_font(family, size=12)
        pdf.set_text_color(0, 0, 0)
        pdf.multi_cell(width - label_width, 6, text(value or "-"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(max(pdf.get_y(), label_bottom) + 2.5)

    pdf.ln(4)
    pdf.set_font(family, size=13)
    pdf.multi_cell(width, 7, text("Declaration", "聲明"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font(family, size=11)
    pdf.multi_cell(width, 6, text(DECLARATION_EN), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    if font:
        pdf.multi_cell(width, 6.5, DECLARATION_ZH, align="L", new_x="LMARGIN", new_y="NEXT")
    else:
        pdf.set_font(family, size=9)
        pdf.multi_cell(width, 5, NO_CJK_NOTE, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)

    pdf.set_font(family, size=11)
    date_text = when.strftime("%Y-%m-%d")
    pdf.multi_cell(
        width,
        6,
        text(f"Date: {date_text}", f"日期：{when.year}年{when.month}月{when.day}日"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(3)
    pdf.set_font(family, size=10)
    pdf.set_text_color(70, 70, 70)
    pdf.multi_cell(
        width,
        5,
        text(
            "Signed digitally with a tungban+ account: see the signature at the bottom of this page.",
            "以通辦+帳戶數碼簽署：簽署印章見本頁底部。",
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )

    pdf.set_y(-45)
    pdf.set_font(family, size=8)
    pdf.set_text_color(110, 110, 110)
    pdf.multi_cell(110, 4, text(DEMO_EN, DEMO_ZH), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
