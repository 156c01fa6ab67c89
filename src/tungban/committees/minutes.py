"""The minutes' PDF (issue 20, part E): the record :func:`.services.minutes_record` froze at
the meeting's close, drawn with fpdf2 in Traditional Chinese and English on A4.

The CJK font is the signing stamp's (``TUNGBAN_STAMP_FONT`` or a Debian one,
:func:`tungban.signing.pdf.stamp_font`), loaded with only the characters the minutes use
(fpdf2 otherwise measures the whole CJK cmap).
"""

from __future__ import annotations

from tungban.signing import pdf as signing_pdf

OUTCOMES = {"approve": ("批准", "Approved"), "reject": ("拒絕", "Rejected"), "defer": ("押後", "Deferred")}
ROLES = {"chair": ("主席", "Chair"), "secretary": ("秘書", "Secretary"), "member": ("委員", "Member")}


def lines(record: dict) -> list[tuple[str, str]]:
    """The minutes as ``(style, text)`` lines: ``h1``, ``h2`` or ``p``."""
    c, m = record["committee"], record["meeting"]
    out = [
        ("h1", f"{c['name_zh']} 會議記錄"),
        ("h1", f"Minutes of the {c['name_en']}"),
        ("p", f"批次 Batch: {m['batch_label']}    日期 Date: {m['held_on']}    法定人數 Quorum: {m['quorum']}"),
        ("h2", "委員 Members"),
    ]
    for member in record["members"]:
        zh, en = ROLES.get(member["role"], (member["role"], member["role"]))
        out.append(("p", f"{member['name']} — {zh} {en}; {member['organisation']}"))
    out.append(("h2", "評審準則 Criteria"))
    for crit in record["criteria"]:
        out.append(("p", f"({crit['code']}) {crit['name_zh']} / {crit['name_en']} — {crit['weight']}"))
    for item in record["items"]:
        out.append(("h2", f"{item['position']}. {item['title_zh']} / {item['title_en']}"))
        out.append(("p", f"加權分數 Weighted score: {item['weighted_score'] or '—'}"))
        if item["recused"]:
            out.append(("p", "避席 Recused: " + ", ".join(item["recused"])))
        for d in item["dismissed"]:
            out.append(
                (
                    "p",
                    f"利益衝突不成立 Conflict dismissed: {d['member']} ({d['by']}): {d['reasons_zh']} / {d['reasons_en']}",
                )
            )
        if item["outcome"]:
            zh, en = OUTCOMES[item["outcome"]]
            out.append(("p", f"決定 Decision: {zh} {en} ({item['decided_by']}, {item['decided_at']})"))
            out.append(("p", f"理由：{item['reasons_zh']}"))
            out.append(("p", f"Reasons: {item['reasons_en']}"))
        else:
            out.append(("p", "未有決定 Not decided"))
    return out


def render_pdf(record: dict) -> bytes:
    """The minutes' PDF (A4).

    :raises DomainError: ``stamp_font_missing`` (503) when no CJK font is installed."""
    from fpdf import FPDF

    font = signing_pdf.stamp_font()
    content = lines(record)
    used = sorted({ord(ch) for _, text in content for ch in text} | set(range(32, 127)))
    doc = FPDF(unit="mm", format="A4")
    doc.set_auto_page_break(True, margin=15)
    doc.set_margins(18, 18, 18)
    if font.endswith(".ttc"):
        doc.add_font("cjk", fname=font, collection_font_number=0, unicode_range=used)
    else:
        doc.add_font("cjk", fname=font, unicode_range=used)
    doc.set_title(f"Minutes {record['committee']['code']} {record['meeting']['batch_label']}")
    doc.add_page()
    sizes = {"h1": (15, 8), "h2": (12, 7), "p": (10, 5.5)}
    for style, text in content:
        size, height = sizes[style]
        doc.set_font("cjk", size=size)
        if style == "h2":
            doc.ln(2)
        doc.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())
