"""The standard reports and the annual report against the seeded data (issue 20 acceptance 3):
each figure is computed here again from the seeded rows, without the report code, and
compared with the report's."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import translation

from tungban.core.errors import DomainError
from tungban.subsidy.constants import ApplicantCategory, ApplicationState
from tungban.subsidy.models import Application, Award, AwardMonth
from tungban.subsidy.models_progress import AnnualReport, ProgressReport, ProgressReportState
from tungban.subsidy.services import annual, reports
from tungban.subsidy.tests.rulebook import covers

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    out = io.StringIO()
    call_command("seed_subsidy", "--seed", "5", stdout=out)
    return out.getvalue()


def _days(start, end) -> float:
    return (end - start).total_seconds() / 86400


def _tenth(x: float) -> Decimal:
    return Decimal(repr(x)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def test_seed_makes_30_applications_and_20_awards_in_every_category_and_several_batches(seeded):
    """Acceptance 3: 30 applications across the five categories (seed 000 §11) and 20 awards."""
    assert "30 applications, 20 awards" in seeded
    apps = Application.objects.all()
    assert apps.count() == 30
    assert {a.category for a in apps} == set(ApplicantCategory.values)
    assert len({a.batch_id for a in apps}) >= 3
    states = Counter(a.state for a in apps)
    assert states[ApplicationState.APPROVED] == 20
    assert states[ApplicationState.REJECTED] == 4
    assert states[ApplicationState.INELIGIBLE] == 3
    assert sum(states.values()) - 27 == 3  # still in assessment
    assert Award.objects.count() == 20
    for award in Award.objects.all():
        months = list(award.months.all())
        assert months and award.node_months == sum(m.nodes for m in months)
        assert award.subsidy_cap == sum(m.subsidy for m in months)
        # seed 000 §13: at most 70%, 90% only in an exceptional case with reasons
        assert award.rate <= Decimal("0.70") or (award.exceptional and award.exceptional_reason_en)
        assert award.rate <= Decimal("0.90")


def test_seed_is_deterministic_for_a_seed():
    call_command("seed_subsidy", "--seed", "9", stdout=io.StringIO())
    first = sorted(Application.objects.values_list("reference", "category", "state", "submitted_at"))
    caps = sorted(Award.objects.values_list("application__reference", "subsidy_cap"))
    reports_ = sorted(
        ProgressReport.objects.values_list("award__application__reference", "sequence", "state", "talents")
    )
    call_command("seed_subsidy", "--seed", "9", stdout=io.StringIO())
    assert (
        sorted(ProgressReport.objects.values_list("award__application__reference", "sequence", "state", "talents"))
        == reports_
    )
    assert sorted(Application.objects.values_list("reference", "category", "state", "submitted_at")) == first
    assert sorted(Award.objects.values_list("application__reference", "subsidy_cap")) == caps
    assert Application.objects.count() == 30  # replaced, not added
    call_command("seed_subsidy", "--seed", "10", stdout=io.StringIO())
    assert sorted(Award.objects.values_list("application__reference", "subsidy_cap")) != caps


def test_applications_by_category_and_state(seeded):
    """seed 002 ITIB153 Q0642 (how many applications), ITIB229 (by the five categories)."""
    expected = Counter(Application.objects.values_list("category", "state"))
    rows = {r["category"]: r for r in reports.applications_by_category()}
    for category in ApplicantCategory.values:
        for state in ApplicationState.values:
            assert rows[category]["states"][state] == expected[(category, state)]
        assert rows[category]["total"] == sum(v for (c, _s), v in expected.items() if c == category)
    assert rows["total"]["total"] == 30
    header, body = reports.table("applications")
    assert len(body) == 6 and body[-1][1] == 30


@covers("R35")
def test_rejections_list_every_reason(seeded):
    """seed 002 ITIB153 Q0642: 「未能獲批的申請原因」 — every refused application with its reasons."""
    expected = {
        (ref, en, zh)
        for ref, en, zh in Application.objects.filter(
            state__in=[ApplicationState.REJECTED, ApplicationState.INELIGIBLE]
        ).values_list("reference", "decision_reasons_en", "decision_reasons_zh")
    }
    assert len(expected) == 7 and all(en and zh for _r, en, zh in expected)
    _header, body = reports.table("rejections")
    assert {(r[0], r[5], r[6]) for r in body} == expected


@covers("R36")
def test_processing_times_min_average_max(seeded):
    """seed 002 ITIB239 Q0211: longest, shortest and average time from application to approval;
    ITIB239: the secretariat's 2 months run from complete information."""
    approval = [_days(a.submitted_at, a.decided_at) for a in Application.objects.filter(state="approved")]
    decision = [
        _days(a.submitted_at, a.decided_at) for a in Application.objects.filter(state__in=["approved", "rejected"])
    ]
    recommendation = [
        _days(a.complete_at, a.recommended_at)
        for a in Application.objects.exclude(complete_at=None).exclude(recommended_at=None)
    ]
    rows = {r["measure"]: r for r in reports.processing_times()}
    for measure, values in (("approval", approval), ("decision", decision), ("recommendation", recommendation)):
        assert rows[measure]["count"] == len(values) > 0
        assert rows[measure]["min"] == _tenth(min(values))
        assert rows[measure]["max"] == _tenth(max(values))
        assert abs(rows[measure]["average"] - _tenth(sum(values) / len(values))) <= Decimal("0.1")


@covers("R37")
def test_amount_and_duration_per_project(seeded):
    """seed 002 ITIB179 Q1751 / ITIB227 Q3718: every project with its amount and duration."""
    rows = {r["reference"]: r for r in reports.awards_by_project()}
    assert len(rows) == 20
    for award in Award.objects.select_related("application__service_class"):
        nodes = list(AwardMonth.objects.filter(award=award).values_list("nodes", flat=True))
        row = rows[award.application.reference]
        assert row["months"] == len(nodes)
        assert row["node_months"] == sum(nodes)
        subsidy = sum(
            (Decimal(n) * award.price * award.rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) for n in nodes
        )
        assert row["subsidy_cap"] == subsidy
        assert row["co_payment"] == sum(nodes) * award.price - subsidy
        assert row["peak_pflops"] == max(nodes) * award.application.service_class.pflops_per_node
    _header, body = reports.table("projects")
    assert len(body) == 20


def test_amounts_and_scheduled_usage_by_category(seeded):
    """seed 002 ITIB229 Q3721: by applicant category. Used GPU-minutes wait for the compute app
    (blank, never invented) while it is not installed."""
    caps: dict[str, Decimal] = defaultdict(Decimal)
    node_months: dict[str, int] = defaultdict(int)
    for category, cap in Award.objects.values_list("application__category", "subsidy_cap"):
        caps[category] += cap
    for category, nodes in AwardMonth.objects.values_list("award__application__category", "nodes"):
        node_months[category] += nodes
    rows = {r["category"]: r for r in reports.amounts_by_category()}
    for category in ApplicantCategory.values:
        assert rows[category]["subsidy_cap"] == caps[category]
        assert rows[category]["node_months"] == node_months[category]
    assert rows["total"]["count"] == 20
    with translation.override("en"):
        _header, body = reports.table("usage")
    by_label = {r[0]: r for r in body}
    with translation.override("en"):
        for category in ApplicantCategory:
            assert by_label[str(category.label)][1] == node_months[category.value]
            if not reports.usage_available():
                assert by_label[str(category.label)][2] == ""


def test_standard_report_csv_is_the_table(seeded):
    header, body = reports.table("rejections")
    parsed = list(csv.reader(io.StringIO(reports.to_csv(header, body))))
    assert parsed[0] == header and len(parsed) == len(body) + 1


# --- the annual report (seed 000 §21; seed 002 ITIB153, ITIB197) -------------------------------


@pytest.fixture
def officer():
    return get_user_model().objects.create(username="cyberport-officer")


def _fy_bounds():
    start = dt.datetime(2025, 4, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return start, dt.datetime(2026, 4, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@covers("R32", "R34")
def test_annual_report_figures_match_the_seeded_rows(seeded):
    """seed 000 §21 (performance, KPIs), seed 002 ITIB153 (use of the subsidy)."""
    start, end = _fy_bounds()
    data = annual.figures("2025-26")
    received = [a for a in Application.objects.all() if start <= a.submitted_at < end]
    assert data["applications"]["received"] == len(received)
    approved = [a for a in Application.objects.filter(state="approved") if start <= a.decided_at < end]
    assert data["applications"]["approved"] == len(approved)
    made = [w for w in Award.objects.all() if start <= w.decided_at < end]
    assert data["awards"]["made"] == len(made)
    assert Decimal(data["awards"]["subsidy_committed"]) == sum((w.subsidy_cap for w in made), Decimal(0))
    months = [m for m in AwardMonth.objects.all() if dt.date(2025, 4, 1) <= m.month <= dt.date(2026, 3, 31)]
    assert data["usage"]["scheduled_node_months"] == sum(m.nodes for m in months)
    assert Decimal(data["usage"]["subsidy_scheduled"]) == sum((m.subsidy for m in months), Decimal(0))
    assert data["awards"]["active_projects"] == len({m.award_id for m in months})
    for category in ApplicantCategory.values:
        mine = [m for m in months if m.award.application.category == category]
        assert data["usage"]["by_category"][category] == sum(m.nodes for m in mine)
        assert Decimal(data["usage"]["subsidy_by_category"][category]) == sum((m.subsidy for m in mine), Decimal(0))
    accepted = ProgressReport.objects.filter(
        state=ProgressReportState.ACCEPTED, period_end__gte=dt.date(2025, 4, 1), period_end__lte=dt.date(2026, 3, 31)
    )
    assert accepted.exists()
    assert data["outcomes"]["talents"] == sum(r.talents for r in accepted)
    assert data["outcomes"]["papers"] == sum(r.papers for r in accepted)
    if annual._statement("2025-26") is None:
        assert data["finance"] is None  # waits for the ledger: no figure invented


@covers("R33")
def test_annual_report_is_frozen_once_submitted(seeded, officer):
    """seed 000 §21: the report to the funder; frozen once submitted — its bytes and digests
    never change, a second submission or an edit is refused (report_frozen)."""
    annual.save_texts(
        "2025-26",
        security_audit_en="Independent audit completed in February 2026; no high findings.",
        security_audit_zh="獨立審計已於2026年2月完成，並無高風險發現。",
        work_plan_en="Phase 2 capacity.",
        work_plan_zh="第二期算力。",
        next_year_budget=Decimal("1142000000.00"),
    )
    report = annual.submit("2025-26", actor=officer, now=dt.datetime(2026, 5, 2, 9, tzinfo=dt.UTC))
    pdf, csv_bytes = bytes(report.pdf), bytes(report.csv)
    assert pdf.startswith(b"%PDF-") and hashlib.sha256(pdf).hexdigest() == report.pdf_sha256
    assert hashlib.sha256(csv_bytes).hexdigest() == report.csv_sha256
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(csv_bytes.decode()))}
    assert rows["received"]["value"] == str(report.figures["applications"]["received"])
    assert rows["security_audit_zh"]["value"] == "獨立審計已於2026年2月完成，並無高風險發現。"
    assert rows["next_year_budget"]["value"] == "1142000000.00"
    assert rows["received"]["label_zh"] == "收到"

    # a new award after submission changes the live figures, never the stored report
    Award.objects.filter(pk=Award.objects.first().pk).update(subsidy_cap=Decimal("1.00"))
    with pytest.raises(DomainError) as refused:
        annual.submit("2025-26", actor=officer, now=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    assert refused.value.code == "report_frozen" and refused.value.status == 409
    with pytest.raises(DomainError) as refused:
        annual.save_texts("2025-26", work_plan_en="changed")
    assert refused.value.code == "report_frozen"
    stored = AnnualReport.objects.get(fiscal_year="2025-26")
    assert bytes(stored.pdf) == pdf and bytes(stored.csv) == csv_bytes
    assert stored.pdf_sha256 == report.pdf_sha256 and stored.work_plan_en == "Phase 2 capacity."


@covers("R32")
def test_annual_report_only_after_the_year_ends(seeded, officer):
    """seed 002 ITIB153: 「於財政年度完結後」 — after the financial year ends; nothing stored."""
    with pytest.raises(DomainError) as refused:
        annual.submit("2025-26", actor=officer, now=dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC))
    assert refused.value.code == "fiscal_year_not_ended"
    assert not AnnualReport.objects.get(fiscal_year="2025-26").frozen
    assert AnnualReport.objects.get(fiscal_year="2025-26").pdf is None


@pytest.mark.parametrize("label", ["2025", "2025-27", "25-26", "abcd-ef", ""])
def test_fiscal_year_format(label):
    with pytest.raises(DomainError) as refused:
        reports.fiscal_year_bounds(label)
    assert refused.value.code == "fiscal_year_format"


def test_fiscal_year_is_april_to_march():
    """Hong Kong's financial year (seed 000 §10's cash flow by FY)."""
    assert reports.fiscal_year(dt.date(2025, 3, 31)) == "2024-25"
    assert reports.fiscal_year(dt.date(2025, 4, 1)) == "2025-26"
    assert reports.fiscal_year_bounds("2099-00") == (dt.date(2099, 4, 1), dt.date(2100, 3, 31))


@covers("R38")
def test_usage_by_category_from_the_imported_jobs(seeded):
    """seed 002 ITIB229 Q3721 (「按機構類別…劃分…使用量」): GPU-minutes by applicant category,
    recomputed here from the jobs the seed imported through the compute app (each seeded job
    runs inside one month: its month's minutes are the GPU-seconds summed per account and
    month, divided by 60 and rounded down)."""
    from django.utils import timezone

    from tungban.compute.models import Job

    accounts = dict(Award.objects.exclude(account="").values_list("account", "application__category"))
    assert accounts and "jobs imported" in seeded
    seconds: dict[tuple[str, dt.date], int] = defaultdict(int)
    for job in Job.objects.filter(account__in=list(accounts)):
        assert timezone.localtime(job.started_at).month == timezone.localtime(job.ended_at).month
        seconds[(job.account, timezone.localtime(job.started_at).date().replace(day=1))] += (
            job.gpus * job.elapsed_seconds
        )
    expected: dict[str, int] = defaultdict(int)
    for (account, _month), s in seconds.items():
        expected[accounts[account]] += s // 60
    assert sum(expected.values()) > 0
    with translation.override("en"):
        _header, body = reports.table("usage")
        by_label = {r[0]: r for r in body}
        for category in ApplicantCategory:
            assert by_label[str(category.label)][2] == expected.get(category.value, 0)
    fy_minutes = sum(
        s // 60 for (account, month), s in seconds.items() if dt.date(2025, 4, 1) <= month <= dt.date(2026, 3, 31)
    )
    assert annual.figures("2025-26")["usage"]["used_gpu_minutes"] == fy_minutes


def test_seeded_awards_are_committed_in_the_ledger_and_held_in_the_capacity_plan(seeded):
    """The seed goes through ``awards.make_award`` (issue 20 acceptance 3 on real data): the
    ledger's compute commitments of each financial year (seed 000 §16, §23) equal the subsidy of
    the awards' months in that year — so ``funds.statement`` agrees with the awards — and the
    capacity plan holds every award's nodes in each month (seed 000 §10: at most 90% of it)."""
    from tungban.subsidy import rules
    from tungban.subsidy.constants import FundingLine
    from tungban.subsidy.models import EntryKind, LedgerEntry
    from tungban.subsidy.services import capacity, funds

    by_fy: dict[str, Decimal] = defaultdict(Decimal)
    nodes: dict[dt.date, int] = defaultdict(int)
    for month in AwardMonth.objects.all():
        by_fy[rules.fiscal_year(month.month)] += month.subsidy
        nodes[month.month] += month.nodes
    assert sum(by_fy.values()) == sum((a.subsidy_cap for a in Award.objects.all()), Decimal(0)) > 0
    committed = defaultdict(Decimal)
    for fy, amount in LedgerEntry.objects.filter(kind=EntryKind.COMMITMENT, line=FundingLine.COMPUTE).values_list(
        "fiscal_year", "amount"
    ):
        committed[fy] += amount
    assert dict(committed) == dict(by_fy)
    for fy, amount in by_fy.items():
        assert funds.statement(fy)[FundingLine.COMPUTE]["committed"] == amount
    service_class = Award.objects.first().application.service_class
    plan = capacity.remaining(service_class, list(nodes))
    for month, n in nodes.items():
        assert plan[month]["committed_subsidised"] == n <= plan[month]["subsidised_cap"]
    # seeding again replaces the seed's commitments, it does not add to them
    call_command("seed_subsidy", "--seed", "5", stdout=io.StringIO())
    again = LedgerEntry.objects.filter(kind=EntryKind.COMMITMENT).values_list("amount", flat=True)
    assert sum(again, Decimal(0)) == sum(by_fy.values())


def _pct(part: int, whole: int) -> Decimal:
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@covers("R34")
def test_seed000_s21_utilisation_by_month_is_usage_over_the_subsidised_and_the_whole_capacity(seeded):
    """seed 000 §21 (KPIs: 「超算中心服務使用率」, AISC utilisation), seed 000 §10 (the subsidy
    covers at most 90% of the capacity), seed 002 ITIB229 (use by applicant category): each
    month's GPU-minutes used by the awards' accounts, by category, over the GPU-minutes of 90%
    of the nodes in service, and every account's use over the whole capacity — recomputed here
    from the imported jobs and the capacity plan."""
    import calendar

    from django.utils import timezone

    from tungban.compute import services as compute
    from tungban.compute.models import Job
    from tungban.subsidy.models import CapacityMonth

    # a market-price account's use counts towards the whole capacity only
    start = dt.datetime(2025, 6, 3, 1, tzinfo=dt.UTC)
    compute.open_account(
        "market-1",
        gpu_minutes=10**6,
        starts_on=dt.date(2025, 6, 1),
        ends_on=dt.date(2025, 6, 30),
        owner="m",
        kind="market",
    )
    compute.import_usage(
        [compute.JobRecord("aisc-seed", "m-1", "market-1", "u", "COMPLETED", start, start, start, 7200, 16)]
    )

    span = reports.utilisation_months(dt.date(2026, 12, 6))
    rows = {r["month"]: r for r in reports.utilisation_by_month(*span)}
    assert span[0] == min(AwardMonth.objects.values_list("month", flat=True)) and span[1] <= dt.date(2026, 12, 1)
    accounts = dict(Award.objects.exclude(account="").values_list("account", "application__category"))
    seconds = defaultdict(int)
    for job in Job.objects.all():
        month = timezone.localtime(job.started_at).date().replace(day=1)
        seconds[(job.account, month)] += job.gpu_seconds
    capacity = {
        (c.month): (c.nodes, c.service_class.gpus_per_node)
        for c in CapacityMonth.objects.select_related("service_class")
    }
    checked = 0
    for month, row in rows.items():
        days = calendar.monthrange(month.year, month.month)[1]
        nodes, gpus = capacity[month]
        whole = nodes * gpus * days * 1440
        subsidised = (nodes * 9 // 10) * gpus * days * 1440
        by_category = Counter()
        for (account, m), s in seconds.items():
            if m == month and account in accounts:
                by_category[accounts[account]] += s // 60
        every = sum(s // 60 for (account, m), s in seconds.items() if m == month)
        assert row["used_by_category"] == {c: by_category[c] for c in ApplicantCategory.values}
        assert row["used_subsidised"] == sum(by_category.values())
        assert (row["subsidised_gpu_minutes"], row["capacity_gpu_minutes"]) == (subsidised, whole)
        assert row["used_all"] == every
        assert row["share_of_subsidised"] == _pct(sum(by_category.values()), subsidised)
        assert row["share_of_capacity"] == _pct(every, whole)
        checked += row["used_subsidised"] > 0
    assert checked >= 6  # months with seeded use
    june = rows[dt.date(2025, 6, 1)]
    assert june["used_all"] == june["used_subsidised"] + 16 * 7200 // 60


@covers("R26")
def test_seed000_fn6_rates_of_non_profits_and_others_against_the_expectation(seeded):
    """Seed 000 fn 6: non-profits (universities, R&D institutions) are expected to get higher
    rates. The standard report gives each group's lowest, average and highest rate, recomputed
    here from the seeded awards, and says whether the expectation holds; lowering every
    non-profit's rate below the others' turns it to "No" (an expectation: nothing is refused)."""
    groups: dict[bool, list[Decimal]] = defaultdict(list)
    for award in Award.objects.select_related("application"):
        groups[award.application.non_profit].append(award.rate * 100)
    assert groups[True] and groups[False], "the seed awards both groups"
    data = reports.rates_by_sector()
    by_group = {r["group"]: r for r in data["rows"]}
    for group, values in (("non_profit", groups[True]), ("other", groups[False])):
        row = by_group[group]
        assert row["count"] == len(values)
        assert row["min"] == min(values).quantize(Decimal("0.1")) and row["max"] == max(values).quantize(Decimal("0.1"))
        assert row["average"] == (sum(values) / len(values)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    expected = sum(groups[True]) / len(groups[True]) >= sum(groups[False]) / len(groups[False])
    assert data["expectation_met"] is expected
    Award.objects.filter(application__non_profit=True).update(rate=Decimal("0.100"))
    Award.objects.filter(application__non_profit=False).update(rate=Decimal("0.700"))
    assert reports.rates_by_sector()["expectation_met"] is False
    with translation.override("zh-hant"):
        _header, body = reports.table("rates")
    assert body[-1][:2] == ["非牟利機構的平均資助比率不低於其他機構（種子文件000註6）", "否"]
    Application.objects.update(non_profit=True)
    assert reports.rates_by_sector()["expectation_met"] is None
