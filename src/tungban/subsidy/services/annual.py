"""Cyberport's annual report to the funder (issue 20, part F).

Seed 000 §21: 「數碼港每年須向資科辦提交報告，包括資助計劃的績效、安全審計和財務狀況」 — every year a
report on the scheme's performance, security audit and finances, with KPIs (AISC utilisation,
R&D outcomes, talent, operations, cyber security, ecosystem). Seed 002 ITIB153: due after the
financial year ends, with the use of the subsidy and a financial report; ITIB197: next year's
work plan and latest budget, after which the funder confirms the year's amount.

:func:`figures` computes the report from the records; :func:`submit` renders the bilingual
PDF (fpdf2, the CJK font of :func:`tungban.signing.pdf.stamp_font`) and the CSV once, stores
their bytes and SHA-256 and freezes the report: a second submission or an edit raises
``report_frozen``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from decimal import Decimal

from django.db import transaction
from django.utils import timezone, translation

from .. import errors
from ..constants import ApplicantCategory, ApplicationState, FundingLine
from ..models import Application
from ..models_progress import AnnualReport
from . import progress, reports

TEXT_FIELDS = ("security_audit_en", "security_audit_zh", "work_plan_en", "work_plan_zh")


def _statement(fy: str):
    """A's ``funds.statement(fy)`` (HK$ by funding line) once the ledger is installed, else
    ``None``: the report then says the financial statement waits for it (no figure is made
    up)."""
    try:
        from . import funds  # issue 20 part A
    except ImportError:
        return None
    return funds.statement(fy)


def figures(fy: str) -> dict:
    """The report's figures for the financial year ``fy`` (``"2025-26"``), JSON-safe (money
    and days as strings):

    * ``applications``: ``received`` (submitted in the year), ``decided``, ``approved``,
      ``rejected``, ``ineligible``;
    * ``awards``: ``made`` (decided in the year), ``subsidy_committed`` (their caps, HK$),
      ``active_projects`` (scheduled in any month of the year: seed 000 §18's KPI, AI-model
      R&D projects);
    * ``usage``: ``scheduled_node_months`` (in the year's months), ``subsidy_scheduled`` (HK$,
      the months' subsidy), ``by_category`` ({category: scheduled node-months}),
      ``subsidy_by_category`` ({category: HK$ scheduled}),
      ``used_gpu_minutes`` (``None`` until compute usage can be read);
    * ``outcomes``: the accepted progress reports' papers, models, datasets, talents and firms
      landed (seed 000 §18, §21);
    * ``times``: :func:`reports.processing_times` for applications decided in the year;
    * ``finance``: ``{line: {key: HK$}}`` from the ledger, or ``None`` while it waits for it.

    :raises DomainError: ``fiscal_year_format``.
    """
    start, end = reports.fiscal_year_bounds(fy)
    begin = dt.datetime.combine(start, dt.time.min, tzinfo=timezone.get_current_timezone())
    finish = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=timezone.get_current_timezone())
    received = Application.objects.filter(submitted_at__gte=begin, submitted_at__lt=finish)
    decided = Application.objects.filter(decided_at__gte=begin, decided_at__lt=finish)
    awards = reports.standing_awards().filter(decided_at__gte=begin, decided_at__lt=finish)
    months = reports.standing_months().filter(month__gte=start, month__lte=end)
    by_category = {c.value: 0 for c in ApplicantCategory}
    subsidy_by_category = {c.value: Decimal("0.00") for c in ApplicantCategory}
    node_months, subsidy = 0, Decimal("0.00")
    for category, nodes, amount in months.values_list("award__application__category", "nodes", "subsidy"):
        by_category[category] += nodes
        subsidy_by_category[category] += amount
        node_months += nodes
        subsidy += amount
    used = reports.usage_by_category(reports.months_of(start, end))
    statement = _statement(fy)
    finance = (
        None
        if statement is None
        else {str(line): {k: str(v) for k, v in values.items()} for line, values in statement.items()}
    )
    times = []
    for measure, values in _times(decided).items():
        stats = reports._stats(values)
        times.append({"measure": measure, **{k: (None if v is None else str(v)) for k, v in stats.items()}})
    return {
        "fiscal_year": fy,
        "period": [start.isoformat(), end.isoformat()],
        "applications": {
            "received": received.count(),
            "decided": decided.filter(state__in=[ApplicationState.APPROVED, ApplicationState.REJECTED]).count(),
            "approved": decided.filter(state=ApplicationState.APPROVED).count(),
            "rejected": decided.filter(state=ApplicationState.REJECTED).count(),
            "ineligible": decided.filter(state=ApplicationState.INELIGIBLE).count(),
        },
        "awards": {
            "made": awards.count(),
            "subsidy_committed": str(sum((a.subsidy_cap for a in awards), Decimal("0.00"))),
            "active_projects": months.values("award").distinct().count(),
        },
        "usage": {
            "scheduled_node_months": node_months,
            "subsidy_scheduled": str(subsidy),
            "by_category": by_category,
            "subsidy_by_category": {k: str(v) for k, v in subsidy_by_category.items()},
            "used_gpu_minutes": None if used is None else sum(used["by_category"].values()),
        },
        "outcomes": progress.outcomes(start, end),
        "times": times,
        "finance": finance,
    }


def _times(decided) -> dict[str, list]:
    approval, decision = [], []
    for a in decided.filter(state__in=[ApplicationState.APPROVED, ApplicationState.REJECTED]):
        days = reports.days_between(a.submitted_at, a.decided_at)
        decision.append(days)
        if a.state == ApplicationState.APPROVED:
            approval.append(days)
    return {"approval": approval, "decision": decision}


def draft(fy: str) -> AnnualReport:
    """The year's report, created empty if there is none (not frozen until submitted).

    :raises DomainError: ``fiscal_year_format``.
    """
    reports.fiscal_year_bounds(fy)
    report, _created = AnnualReport.objects.get_or_create(fiscal_year=fy)
    return report


def save_texts(fy: str, *, next_year_budget: Decimal | None = None, **texts: str) -> AnnualReport:
    """Cyberport's own parts: the security audit's status, next year's work plan (English and
    Chinese) and budget (HK$).

    :raises DomainError: ``report_frozen`` (409) once submitted, ``fiscal_year_format``.
    """
    draft(fy)
    with transaction.atomic():
        report = AnnualReport.objects.select_for_update().get(fiscal_year=fy)
        _refuse_if_frozen(report)
        for name in TEXT_FIELDS:
            if name in texts:
                setattr(report, name, (texts[name] or "").strip())
        report.next_year_budget = next_year_budget
        report.save()
    return report


def _refuse_if_frozen(report: AnnualReport) -> None:
    if report.frozen:
        raise errors.ReportFrozen(
            fy=report.fiscal_year, date=timezone.localtime(report.submitted_at).date().isoformat()
        )


def submit(fy: str, *, actor, now: dt.datetime | None = None) -> AnnualReport:
    """Submit the year's report to the funder: after the year has ended (seed 002 ITIB153),
    compute :func:`figures`, render the PDF and CSV once, store them with their SHA-256 and
    freeze the report, in one transaction.

    :raises DomainError: ``report_frozen`` (409: submitted already), ``fiscal_year_not_ended``
        (409), ``fiscal_year_format``, ``stamp_font_missing`` (503: no CJK font).
    """
    now = now or timezone.now()
    _start, end = reports.fiscal_year_bounds(fy)
    draft(fy)
    with transaction.atomic():
        report = AnnualReport.objects.select_for_update().get(fiscal_year=fy)
        _refuse_if_frozen(report)
        if timezone.localtime(now).date() <= end:
            raise errors.FiscalYearNotEnded(fy=fy, end=end.isoformat())
        data = figures(fy)
        report.figures = data
        report.submitted_at = now
        report.submitted_by = actor
        report.csv = to_csv(report, data).encode()
        report.pdf = render_pdf(report, data)
        report.pdf_sha256 = hashlib.sha256(report.pdf).hexdigest()
        report.csv_sha256 = hashlib.sha256(report.csv).hexdigest()
        report.save()
    return report


# --- rendering: the CSV and the PDF share these rows ------------------------------------------

SECTIONS = {
    "applications": ("Applications", "申請"),
    "awards": ("Awards", "資助"),
    "usage": ("Use of the subsidy", "資助使用情況"),
    "outcomes": ("Outcomes (KPIs)", "成效（績效指標）"),
    "times": ("Processing times (days)", "處理時間（日）"),
    "finance": ("Financial statement (HK$)", "財務報告（港元）"),
    "security": ("Security audit", "安全審計"),
    "plan": ("Next year's work plan and budget", "來年工作計劃及預算"),
}

LABELS = {
    "received": ("Received", "收到"),
    "decided": ("Decided (approved or rejected)", "已決定（批出或拒絕）"),
    "approved": ("Approved", "批出"),
    "rejected": ("Rejected", "拒絕"),
    "ineligible": ("Ineligible", "不符合資格"),
    "made": ("Awards made", "批出資助"),
    "subsidy_committed": ("Subsidy committed (HK$)", "承擔資助額（港元）"),
    "active_projects": ("AI-model R&D projects in the year", "年內人工智能模型研發項目"),
    "scheduled_node_months": ("Scheduled node-months", "編定節點月"),
    "subsidy_scheduled": ("Subsidy scheduled in the year (HK$)", "年內編定資助額（港元）"),
    "used_gpu_minutes": ("GPU-minutes used", "已用GPU分鐘"),
    "papers": ("Papers", "論文"),
    "models_released": ("AI models", "人工智能模型"),
    "datasets": ("Datasets", "數據集"),
    "talents": ("Talents and professionals involved", "參與人才及專業人員"),
    "landed_firms": ("Mainland or overseas firms and teams landed", "落戶的內地或海外企業及團隊"),
    "approval": ("Submission to approval", "由申請至批出"),
    "decision": ("Submission to decision", "由申請至決定"),
    "next_year_budget": ("Next year's budget (HK$)", "來年預算（港元）"),
}
CATEGORY_ZH = {
    "university": "本地院校",
    "rd_institution": "研發機構",
    "government_department": "政府部門",
    "ai_startup": "人工智能初創企業",
    "strategic_enterprise": "重點企業",
}
LINE_ZH = {"compute": "算力資助", "security": "網絡及數據安全", "ecosystem": "人工智能生態發展"}
WAITING = ("Waits for the fund's ledger (not installed): no figure is shown.", "待基金分類帳（未安裝）：不列數字。")
USAGE_WAITING = ("waits for compute usage", "待算力使用數據")


def _english(label) -> str:
    with translation.override("en"):
        return str(label)


def rows(report: AnnualReport, data: dict) -> list[tuple[str, str, str, str, str]]:
    """``(section, key, label_en, label_zh, value)`` for every figure and text of the report,
    in order (the CSV's rows; the PDF's tables)."""
    out = []

    def add(section, key, value, label=None):
        en, zh = label or LABELS.get(key, (key, key))
        out.append((section, key, en, zh, "" if value is None else str(value)))

    for key, value in data["applications"].items():
        add("applications", key, value)
    for key, value in data["awards"].items():
        add("awards", key, value)
    usage = data["usage"]
    add("usage", "scheduled_node_months", usage["scheduled_node_months"])
    add("usage", "subsidy_scheduled", usage["subsidy_scheduled"])
    for category, nodes in usage["by_category"].items():
        add(
            "usage",
            f"node_months:{category}",
            nodes,
            (
                f"Scheduled node-months: {_english(ApplicantCategory(category).label)}",
                f"編定節點月：{CATEGORY_ZH[category]}",
            ),
        )
    for category, amount in usage["subsidy_by_category"].items():
        add(
            "usage",
            f"subsidy:{category}",
            amount,
            (
                f"Subsidy scheduled (HK$): {_english(ApplicantCategory(category).label)}",
                f"編定資助額（港元）：{CATEGORY_ZH[category]}",
            ),
        )
    used = usage["used_gpu_minutes"]
    add("usage", "used_gpu_minutes", used if used is not None else f"{USAGE_WAITING[0]} / {USAGE_WAITING[1]}")
    for key, value in data["outcomes"].items():
        add("outcomes", key, value)
    for t in data["times"]:
        en, zh = LABELS[t["measure"]]
        for stat, (sen, szh) in (
            ("min", ("shortest", "最短")),
            ("average", ("average", "平均")),
            ("max", ("longest", "最長")),
        ):
            add("times", f"{t['measure']}:{stat}", t[stat], (f"{en}: {sen}", f"{zh}：{szh}"))
    if data["finance"] is None:
        add("finance", "statement", f"{WAITING[0]} / {WAITING[1]}", ("Financial statement", "財務報告"))
    else:
        for line, values in data["finance"].items():
            for key, value in values.items():
                add(
                    "finance",
                    f"{line}:{key}",
                    value,
                    (f"{_english(FundingLine(line).label)}: {key}", f"{LINE_ZH.get(line, line)}：{key}"),
                )
    add(
        "security",
        "security_audit_en",
        report.security_audit_en,
        ("Security audit status (English)", "安全審計狀況（英文）"),
    )
    add(
        "security",
        "security_audit_zh",
        report.security_audit_zh,
        ("Security audit status (Chinese)", "安全審計狀況（中文）"),
    )
    add("plan", "work_plan_en", report.work_plan_en, ("Work plan (English)", "工作計劃（英文）"))
    add("plan", "work_plan_zh", report.work_plan_zh, ("Work plan (Chinese)", "工作計劃（中文）"))
    add("plan", "next_year_budget", report.next_year_budget)
    return out


def to_csv(report: AnnualReport, data: dict) -> str:
    """RFC 4180 CSV (UTF-8, CRLF): ``section,key,label_en,label_zh,value`` for :func:`rows`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["section", "key", "label_en", "label_zh", "value"])
    writer.writerows(rows(report, data))
    return buffer.getvalue()


def render_pdf(report: AnnualReport, data: dict) -> bytes:
    """An A4 PDF of the report, every heading and label in English and Chinese (fpdf2, the CJK
    font of :func:`tungban.signing.pdf.stamp_font`, only the characters used mapped).

    :raises DomainError: ``stamp_font_missing`` (503).
    """
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    from tungban.signing.pdf import stamp_font

    fy = data["fiscal_year"]
    title_en = f"AI Subsidy Scheme: annual report {fy}"
    title_zh = f"人工智能資助計劃 {fy} 年度報告"
    subtitle = "Cyberport to the Digital Policy Office / 數碼港呈數字政策辦公室"
    table = rows(report, data)
    texts = [title_en, title_zh, subtitle, *[t for s in SECTIONS.values() for t in s], "Figure 項目 Value 數值"]
    texts += [t for r in table for t in r[2:]]
    used = sorted({ord(c) for t in texts for c in t if c != "\n"} | {ord(" ")} | set(range(32, 127)))
    font = stamp_font()

    doc = FPDF(orientation="portrait", unit="mm", format="A4")
    doc.set_title(f"{title_en} / {title_zh}")
    doc.set_author("Cyberport 數碼港")
    doc.set_creator("tungban")
    doc.set_lang("en-HK")
    if report.submitted_at:
        doc.set_creation_date(report.submitted_at)
    doc.set_auto_page_break(True, margin=15)
    doc.set_margins(18, 15, 18)
    if font.endswith(".ttc"):
        doc.add_font("cjk", fname=font, collection_font_number=0, unicode_range=used)
    else:
        doc.add_font("cjk", fname=font, unicode_range=used)
    doc.add_page()
    width = doc.w - doc.l_margin - doc.r_margin
    doc.set_font("cjk", size=16)
    doc.multi_cell(width, 8, title_en, new_x="LMARGIN", new_y="NEXT")
    doc.multi_cell(width, 8, title_zh, new_x="LMARGIN", new_y="NEXT")
    doc.set_font("cjk", size=10)
    doc.multi_cell(width, 6, subtitle, new_x="LMARGIN", new_y="NEXT")
    doc.multi_cell(width, 6, f"{data['period'][0]} to 至 {data['period'][1]}", new_x="LMARGIN", new_y="NEXT")
    for section, (en, zh) in SECTIONS.items():
        doc.ln(3)
        doc.set_font("cjk", size=12)
        doc.multi_cell(width, 7, f"{en} / {zh}", new_x="LMARGIN", new_y="NEXT")
        doc.set_font("cjk", size=9)
        with doc.table(col_widths=(65, 45, 64), headings_style=FontFace(emphasis=None), text_align="LEFT") as t:
            t.row(["Figure", "項目", "Value 數值"])
            for _s, _k, label_en, label_zh, value in (r for r in table if r[0] == section):
                t.row([label_en, label_zh, value])
    return bytes(doc.output())
