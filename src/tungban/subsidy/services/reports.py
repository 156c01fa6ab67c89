"""The scheme's standard reports (issue 20, part F): the figures legislators keep asking for
(anchor study §2.12; seed 002 ITIB153 Q0642, ITIB239 Q0211, ITIB229 Q3721, ITIB179 Q1751,
ITIB227 Q3718) and the KPI dashboard's series (seed 000 §21: AISC utilisation, R&D outcomes).

Every figure is computed from the records (:class:`~tungban.subsidy.models.Application`,
``Award``, ``AwardMonth``) when asked; none is stored or estimated. Usage comes from the
compute app (``compute.services.usage_by_month``, GPU-minutes, by the awards' scheduler
accounts).

Days are calendar days between two instants, to one decimal place (``Decimal``), rounded half
up; money is HK$ ``Decimal``; months are first days of months.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Max, Min
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from tungban.compute import services as compute

from .. import errors, rules
from ..constants import ApplicantCategory, ApplicationState, AwardState
from ..models import Application, Award, AwardMonth, CapacityMonth

TENTH = Decimal("0.1")


# --- financial years (HK: 1 April to 31 March) ---------------------------------------------


fiscal_year = rules.fiscal_year


def fiscal_year_bounds(label: str) -> tuple[dt.date, dt.date]:
    """:func:`tungban.subsidy.rules.fiscal_year_bounds` for a label typed by a person:
    ``"2025-26"`` → ``(date(2025, 4, 1), date(2026, 3, 31))``.

    :raises DomainError: ``fiscal_year_format`` for anything else.
    """
    try:
        return rules.fiscal_year_bounds(label)
    except ValueError:
        raise errors.FiscalYearFormat() from None


def months_of(start: dt.date, end: dt.date) -> list[dt.date]:
    """First days of the months from ``start``'s to ``end``'s, both included."""
    out, month = [], start.replace(day=1)
    while month <= end:
        out.append(month)
        month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


# --- helpers -----------------------------------------------------------------------------------


def days_between(start: dt.datetime, end: dt.datetime) -> Decimal:
    """Calendar days from ``start`` to ``end`` (exact, from the seconds)."""
    return Decimal(round((end - start).total_seconds())) / Decimal(86400)


def _tenth(value: Decimal) -> Decimal:
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


def _stats(values: list[Decimal]) -> dict:
    """``{"count", "min", "average", "max"}`` of ``values`` (days or per cent, each to 0.1, the average
    of the exact values); ``None`` without values."""
    if not values:
        return {"count": 0, "min": None, "average": None, "max": None}
    average = sum(values) / len(values)
    return {"count": len(values), "min": _tenth(min(values)), "average": _tenth(average), "max": _tenth(max(values))}


def category_label(code: str) -> str:
    return str(ApplicantCategory(code).label)


def _usage_by_month():
    """B's ``compute.services.usage_by_month`` (GPU-minutes by account and month)."""
    return compute.usage_by_month


def usage_available() -> bool:
    """Whether usage figures can be read (the compute app is installed)."""
    return _usage_by_month() is not None


# --- the legislators' standard reports (anchor §2.12) -----------------------------------------


def standing_awards():
    """The awards that count as granted in every report: all but offers that lapsed unsigned
    (their commitment went back to the ledger; seed 000 §21: the grantee signs an agreement)."""
    return Award.objects.exclude(state=AwardState.LAPSED)


def standing_months():
    """The scheduled months of :func:`standing_awards`."""
    return AwardMonth.objects.exclude(award__state=AwardState.LAPSED)


def applications_by_category() -> list[dict]:
    """Applications received, by applicant category and state (seed 002 ITIB153 Q0642: how
    many applications; ITIB229: the five categories). One row per category
    (``category``, ``label``, ``total``, ``states: {state: count}``), then a ``total`` row."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for category, state in Application.objects.values_list("category", "state"):
        counts[category][state] += 1
    rows = []
    totals: dict[str, int] = defaultdict(int)
    for category in ApplicantCategory:
        states = {s.value: counts[category.value].get(s.value, 0) for s in ApplicationState}
        for k, v in states.items():
            totals[k] += v
        rows.append(
            {"category": category.value, "label": str(category.label), "total": sum(states.values()), "states": states}
        )
    rows.append(
        {"category": "total", "label": str(_("All categories")), "total": sum(totals.values()), "states": dict(totals)}
    )
    return rows


def rejections() -> list[dict]:
    """Applications not approved and why (seed 002 ITIB153 Q0642: 「未能獲批的申請原因」):
    rejected by the committee or found ineligible, with the reasons in both languages, oldest
    decision first."""
    apps = Application.objects.filter(state__in=[ApplicationState.REJECTED, ApplicationState.INELIGIBLE]).order_by(
        "decided_at", "reference"
    )
    return [
        {
            "reference": a.reference,
            "organisation_en": a.organisation_name_en,
            "organisation_zh": a.organisation_name_zh,
            "category": a.category,
            "state": a.state,
            "decided_at": a.decided_at,
            "reasons_en": a.decision_reasons_en,
            "reasons_zh": a.decision_reasons_zh,
        }
        for a in apps
    ]


def processing_times() -> list[dict]:
    """Shortest, average and longest time in days (seed 002 ITIB239 Q0211: 「由提交申請到獲批
    款項的最長、最短和平均時間」; ITIB239: the 2 months run from complete information):

    * ``approval``: submission → decision, approved applications;
    * ``decision``: submission → decision, approved or rejected;
    * ``recommendation``: information complete → the secretariat's recommendation.

    Each row: ``measure``, ``label``, ``count``, ``min``, ``average``, ``max``.
    """
    approval, decision, recommendation = [], [], []
    for a in Application.objects.only("state", "submitted_at", "decided_at", "complete_at", "recommended_at"):
        if a.decided_at and a.state in (ApplicationState.APPROVED, ApplicationState.REJECTED):
            days = days_between(a.submitted_at, a.decided_at)
            decision.append(days)
            if a.state == ApplicationState.APPROVED:
                approval.append(days)
        if a.complete_at and a.recommended_at:
            recommendation.append(days_between(a.complete_at, a.recommended_at))
    return [
        {"measure": "approval", "label": str(_("Submission to approval")), **_stats(approval)},
        {"measure": "decision", "label": str(_("Submission to decision")), **_stats(decision)},
        {
            "measure": "recommendation",
            "label": str(_("Information complete to recommendation")),
            **_stats(recommendation),
        },
    ]


def awards_by_project() -> list[dict]:
    """Every award with its amount and duration (seed 002 ITIB179 Q1751, ITIB227 Q3718,
    ITIB239 Q0211: amount per project; ITIB153: projects of 8–512 PFLOPS for 1.5–12 months):
    ``reference``, organisation, ``category``, project titles, ``starts_on``, ``ends_on``,
    ``months`` (scheduled months), ``node_months``, ``peak_pflops`` (most nodes in a month ×
    the class's PFLOPS per node), ``rate``, ``subsidy_cap`` and ``co_payment`` (HK$)."""
    awards = standing_awards().select_related("application__service_class").prefetch_related("months")
    rows = []
    for award in sorted(awards, key=lambda w: (w.decided_at, w.application.reference)):
        app = award.application
        months = list(award.months.all())
        peak = max((m.nodes for m in months), default=0)
        rows.append(
            {
                "reference": app.reference,
                "organisation_en": app.organisation_name_en,
                "organisation_zh": app.organisation_name_zh,
                "category": app.category,
                "title_en": app.project_title_en,
                "title_zh": app.project_title_zh,
                "state": award.state,
                "starts_on": award.starts_on,
                "ends_on": award.ends_on,
                "months": len(months),
                "node_months": award.node_months,
                "peak_pflops": peak * app.service_class.pflops_per_node,
                "rate": award.rate,
                "subsidy_cap": award.subsidy_cap,
                "co_payment": award.co_payment,
            }
        )
    return rows


def amounts_by_category() -> list[dict]:
    """Awards by applicant category: ``count``, ``node_months``, ``subsidy_cap``,
    ``co_payment`` (HK$), one row per category then ``total``."""
    sums: dict[str, dict] = {
        c.value: {"count": 0, "node_months": 0, "subsidy_cap": Decimal("0.00"), "co_payment": Decimal("0.00")}
        for c in ApplicantCategory
    }
    for category, node_months, cap, co in standing_awards().values_list(
        "application__category", "node_months", "subsidy_cap", "co_payment"
    ):
        row = sums[category]
        row["count"] += 1
        row["node_months"] += node_months
        row["subsidy_cap"] += cap
        row["co_payment"] += co
    rows = [{"category": c, "label": category_label(c), **v} for c, v in sums.items()]
    total = {k: sum(r[k] for r in rows) for k in ("count", "node_months", "subsidy_cap", "co_payment")}
    rows.append({"category": "total", "label": str(_("All categories")), **total})
    return rows


def rates_by_sector() -> dict:
    """The subsidy rates awarded to non-profits and to the others (seed 000 fn 6: non-profits
    such as universities and R&D institutions are expected to get higher rates): ``rows``, one
    per group (``group`` ``non_profit`` or ``other``, ``label``, ``count`` and ``min``,
    ``average``, ``max`` in per cent to one decimal place, ``None`` without awards), and
    ``expectation_met`` (:func:`~tungban.subsidy.rules.non_profits_rated_higher`: ``True``,
    ``False`` or ``None``)."""
    rates: dict[bool, list[Decimal]] = {True: [], False: []}
    for non_profit, rate in standing_awards().values_list("application__non_profit", "rate"):
        rates[bool(non_profit)].append(rate)
    rows = []
    for group, label, values in (
        ("non_profit", _("Non-profit organisations"), rates[True]),
        ("other", _("Other organisations"), rates[False]),
    ):
        stats = _stats([v * 100 for v in values])
        rows.append({"group": group, "label": str(label), **stats})
    return {"rows": rows, "expectation_met": rules.non_profits_rated_higher(rates[True], rates[False])}


def allocation_by_month(start: dt.date, end: dt.date) -> list[dict]:
    """Scheduled nodes and subsidy by month from ``start`` to ``end``: ``month``, ``nodes``
    (sum of the awards' nodes), ``by_category: {category: nodes}``, ``subsidy`` (HK$),
    ``used_gpu_minutes`` (``None`` until usage can be read)."""
    months = months_of(start, end)
    rows = {m: {"month": m, "nodes": 0, "subsidy": Decimal("0.00"), "by_category": defaultdict(int)} for m in months}
    scheduled = standing_months().filter(month__gte=start.replace(day=1), month__lte=end)
    for month, nodes, subsidy, category in scheduled.values_list(
        "month", "nodes", "subsidy", "award__application__category"
    ):
        row = rows[month]
        row["nodes"] += nodes
        row["subsidy"] += subsidy
        row["by_category"][category] += nodes
    used = usage_by_category(months)
    for m, row in rows.items():
        row["by_category"] = dict(row["by_category"])
        row["used_gpu_minutes"] = None if used is None else sum(used["by_month"].get(m, {}).values())
    return list(rows.values())


def usage_by_category(months: list[dt.date]) -> dict | None:
    """GPU-minutes used by applicant category (seed 002 ITIB229 Q3721: 「按機構類別…劃分…使用量」)
    in ``months``: ``{"by_category": {category: minutes}, "by_month": {month: {category:
    minutes}}}`` summed over the awards' scheduler accounts, or ``None`` when usage cannot be read
    yet (no compute app)."""
    usage_by_month = _usage_by_month()
    if usage_by_month is None:
        return None
    accounts = dict(Award.objects.exclude(account="").values_list("account", "application__category"))
    by_category: dict[str, int] = {c.value: 0 for c in ApplicantCategory}
    by_month: dict[dt.date, dict[str, int]] = {m: defaultdict(int) for m in months}
    for account, per_month in usage_by_month(list(accounts), months).items():
        category = accounts.get(account)
        if category is None:
            continue
        for month, minutes in per_month.items():
            by_category[category] += minutes
            if month in by_month:
                by_month[month][category] += minutes
    return {"by_category": by_category, "by_month": {m: dict(v) for m, v in by_month.items()}}


# --- tgaps: the centre's utilisation (seed 000 §21) --------------------------------------------


def _share(used: int, of: int) -> Decimal | None:
    """``used`` over ``of`` in per cent to one decimal place (half up), or ``None`` when ``of`` is 0."""
    if not of:
        return None
    return (Decimal(used) * 100 / Decimal(of)).quantize(TENTH, rounding=ROUND_HALF_UP)


def capacity_gpu_minutes(months: list[dt.date]) -> dict[dt.date, dict[str, int]]:
    """Per month (first day): ``capacity`` — the GPU-minutes of every class of service's nodes
    in service that month (nodes × GPUs per node × days × 1,440, :func:`rules.gpu_minutes`) —
    and ``subsidised`` — the same of the share that may be subsidised, the floor of 90% of the
    nodes (seed 000 §10, :func:`rules.subsidised_cap`). 0 where no capacity is recorded."""
    out = {m: {"capacity": 0, "subsidised": 0} for m in months}
    rows = CapacityMonth.objects.filter(month__in=months).select_related("service_class")
    for row in rows:
        gpus = row.service_class.gpus_per_node
        out[row.month]["capacity"] += rules.gpu_minutes({row.month: row.nodes}, gpus)
        out[row.month]["subsidised"] += rules.gpu_minutes({row.month: rules.subsidised_cap(row.nodes)}, gpus)
    return out


def utilisation_by_month(start: dt.date, end: dt.date) -> list[dict] | None:
    """The AISC's utilisation by month (seed 000 §21: the scheme's KPIs include 「超算中心服務使用率」;
    seed 002 ITIB050 reports it as a share of the compute in service) from ``start``'s month to
    ``end``'s: ``month``; ``used_by_category`` (GPU-minutes the awards' scheduler accounts used,
    by applicant category, seed 002 ITIB229) and ``used_subsidised`` (their sum);
    ``subsidised_gpu_minutes`` (the subsidised capacity: 90% of the nodes, seed 000 §10);
    ``share_of_subsidised`` (``used_subsidised`` over it, per cent, one decimal) and
    ``share_by_category`` (each category's part of that share); ``used_all`` (every account's
    use, market price included), ``capacity_gpu_minutes`` and ``share_of_capacity``. Shares are
    ``None`` in a month without recorded capacity. ``None`` when usage cannot be read. Usage is
    what ``compute.sync_usage`` imported (``compute.services.usage_by_month``)."""
    months = months_of(start, end)
    used = usage_by_category(months)
    if used is None:
        return None
    capacity = capacity_gpu_minutes(months)
    everyone = compute.total_usage_by_month(months)
    rows = []
    for m in months:
        by_category = {c.value: used["by_month"].get(m, {}).get(c.value, 0) for c in ApplicantCategory}
        subsidised = sum(by_category.values())
        cap = capacity[m]
        rows.append(
            {
                "month": m,
                "used_by_category": by_category,
                "used_subsidised": subsidised,
                "subsidised_gpu_minutes": cap["subsidised"],
                "share_of_subsidised": _share(subsidised, cap["subsidised"]),
                "share_by_category": {c: _share(v, cap["subsidised"]) for c, v in by_category.items()},
                "used_all": everyone[m],
                "capacity_gpu_minutes": cap["capacity"],
                "share_of_capacity": _share(everyone[m], cap["capacity"]),
            }
        )
    return rows


def utilisation_months(today: dt.date) -> tuple[dt.date, dt.date] | None:
    """The months the utilisation chart covers: the awards' first scheduled month to their last,
    but not past ``today``'s month (a month to come has no use yet, and 0% would mislead)."""
    span = scheme_months()
    if span is None or span[0] > today:
        return None
    return span[0], min(span[1], today.replace(day=1))


def scheme_months() -> tuple[dt.date, dt.date] | None:
    """The first and last scheduled month of any award, or ``None`` without awards."""
    span = standing_months().aggregate(first=Min("month"), last=Max("month"))
    return (span["first"], span["last"]) if span["first"] else None


# --- tables and CSV ----------------------------------------------------------------------------

STANDARD_REPORTS = ("applications", "rejections", "times", "projects", "amounts", "rates", "usage")


def _blank(value) -> object:
    return "" if value is None else value


def _pick(en: str, zh: str) -> str:
    """The Chinese text on a Chinese page when there is one, else the English."""
    return zh if zh and (get_language() or "").startswith("zh") else en


def _money(value) -> str:
    return "" if value is None else f"{value:.2f}"


def table(name: str) -> tuple[list[str], list[list]]:
    """A standard report as a header and rows (the page's table and the CSV file).

    :raises KeyError: an unknown report.
    """
    if name == "applications":
        states = list(ApplicationState)
        header = [str(_("Category")), str(_("Total")), *[str(s.label) for s in states]]
        body = [
            [r["label"], r["total"], *[r["states"].get(s.value, 0) for s in states]] for r in applications_by_category()
        ]
        return header, body
    if name == "rejections":
        header = [
            str(_("Reference")),
            str(_("Organisation")),
            str(_("Category")),
            str(_("State")),
            str(_("Decided on")),
            str(_("Reasons in English")),
            str(_("Reasons in Chinese")),
        ]
        body = [
            [
                r["reference"],
                _pick(r["organisation_en"], r["organisation_zh"]),
                category_label(r["category"]),
                str(ApplicationState(r["state"]).label),
                r["decided_at"].date().isoformat() if r["decided_at"] else "",
                r["reasons_en"],
                r["reasons_zh"],
            ]
            for r in rejections()
        ]
        return header, body
    if name == "times":
        header = [
            str(_("Measure")),
            str(_("Applications")),
            str(_("Shortest (days)")),
            str(_("Average (days)")),
            str(_("Longest (days)")),
        ]
        body = [
            [r["label"], r["count"], *[_blank(r[k]) for k in ("min", "average", "max")]] for r in processing_times()
        ]
        return header, body
    if name == "projects":
        header = [
            str(_("Reference")),
            str(_("Organisation")),
            str(_("Category")),
            str(_("Project")),
            str(_("Starts on")),
            str(_("Ends on")),
            str(_("Months")),
            str(_("Node-months")),
            str(_("Peak PFLOPS")),
            str(_("Subsidy rate")),
            str(_("Subsidy cap (HK$)")),
            str(_("Co-payment (HK$)")),
        ]
        body = [
            [
                r["reference"],
                _pick(r["organisation_en"], r["organisation_zh"]),
                category_label(r["category"]),
                _pick(r["title_en"], r["title_zh"]),
                r["starts_on"].isoformat(),
                r["ends_on"].isoformat(),
                r["months"],
                r["node_months"],
                r["peak_pflops"],
                f"{r['rate'] * 100:.1f}%",
                _money(r["subsidy_cap"]),
                _money(r["co_payment"]),
            ]
            for r in awards_by_project()
        ]
        return header, body
    if name == "amounts":
        header = [
            str(_("Category")),
            str(_("Awards")),
            str(_("Node-months")),
            str(_("Subsidy cap (HK$)")),
            str(_("Co-payment (HK$)")),
        ]
        body = [
            [r["label"], r["count"], r["node_months"], _money(r["subsidy_cap"]), _money(r["co_payment"])]
            for r in amounts_by_category()
        ]
        return header, body
    if name == "rates":
        header = [
            str(_("Organisations")),
            str(_("Awards")),
            str(_("Lowest rate (%)")),
            str(_("Average rate (%)")),
            str(_("Highest rate (%)")),
        ]
        data = rates_by_sector()
        body = [[r["label"], r["count"], *[_blank(r[k]) for k in ("min", "average", "max")]] for r in data["rows"]]
        met = {True: _("Yes"), False: _("No"), None: _("Not yet known")}[data["expectation_met"]]
        body.append([str(_("Non-profits' average rate at least the others' (seed 000 fn 6)")), str(met), "", "", ""])
        return header, body
    if name == "usage":
        span = scheme_months()
        header = [str(_("Category")), str(_("Scheduled node-months")), str(_("GPU-minutes used"))]
        scheduled: dict[str, int] = defaultdict(int)
        for category, nodes in standing_months().values_list("award__application__category", "nodes"):
            scheduled[category] += nodes
        used = usage_by_category(months_of(*span)) if span else None
        body = [
            [str(c.label), scheduled.get(c.value, 0), "" if used is None else used["by_category"][c.value]]
            for c in ApplicantCategory
        ]
        return header, body
    raise KeyError(name)


def to_csv(header: list[str], body: list[list]) -> str:
    """RFC 4180 CSV (UTF-8, CRLF, a header row)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(body)
    return buffer.getvalue()
