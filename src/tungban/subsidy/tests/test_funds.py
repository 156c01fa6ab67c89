"""The fund (services/funds.py): releases, confirmation, virements and the statement."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tungban.core.errors import DomainError
from tungban.subsidy import rules
from tungban.subsidy.constants import FundingLine
from tungban.subsidy.models import AnnualReport, FundRelease, LedgerEntry, ReleaseState, Virement
from tungban.subsidy.services import funds, scheme
from tungban.subsidy.tests.rulebook import covers

C, S, E = FundingLine.COMPUTE, FundingLine.SECURITY, FundingLine.ECOSYSTEM


@covers("R02")
def test_seed000_s23_load_plans_the_cash_flow_once(db):
    """Seed 000 §23: the cash flow is planned by year and line, once."""
    first = scheme.load_scheme(today=dt.date(2024, 4, 1))
    assert first["releases_planned"] == 9 and first["released"] == 0
    again = scheme.load_scheme(release_started=False, today=dt.date(2024, 4, 1))
    assert again == {k: 0 for k in again}
    assert FundRelease.objects.count() == 9
    assert funds.statement("2025-26")[C]["planned"] == Decimal("857000000")
    assert funds.available("2025-26") == 0  # planned is not released


@covers("R03")
def test_seed000_s16_release_at_the_start_of_the_year_makes_it_available(loaded):
    """Seed 000 §16: released at the start of the financial year."""
    s = funds.statement("2024-25")
    assert s[C]["released"] == Decimal("857000000") == s[C]["available"]
    assert s[S]["released"] == Decimal("42000000")
    assert funds.available("2025-26") == 0
    with pytest.raises(DomainError) as e:
        funds.release("2024-25", C, actor="dpo")
    assert e.value.code == "release_state"
    assert LedgerEntry.objects.filter(kind="release", fiscal_year="2024-25").count() == 3


@covers("R04")
def test_seed002_itib197_confirmation_after_the_annual_report_adjusts_the_release(loaded):
    """Seed 002 ITIB197: the funder confirms the year's amount after the annual report."""
    with pytest.raises(DomainError) as e:
        funds.confirm("2024-25", C, Decimal("800000000"), actor="dpo", note_en="assessed", note_zh="")
    assert e.value.code == "decision_reasons_required"
    row = funds.confirm("2024-25", C, Decimal("800000000"), actor="dpo", note_en="assessed", note_zh="已評估")
    assert row.state == ReleaseState.CONFIRMED and row.confirmed == Decimal("800000000")
    s = funds.statement("2024-25")[C]
    assert s["released"] == Decimal("800000000") == s["available"] and s["confirmed"] == Decimal("800000000")
    with pytest.raises(DomainError) as e:
        funds.confirm("2024-25", C, Decimal("1"), actor="dpo", note_en="x", note_zh="甲")
    assert e.value.code == "release_state"
    with pytest.raises(DomainError) as e:
        funds.confirm("2025-26", C, Decimal("1"), actor="dpo", note_en="x", note_zh="甲")  # not released
    assert e.value.code == "release_state"


@covers("R05")
def test_seed002_itib197_a_year_is_confirmed_only_after_the_previous_years_annual_report(loaded):
    """Seed 002 ITIB197: the DPO confirms 2025-26's amount after receiving and assessing
    Cyberport's report on 2024-25. Before that report is submitted the confirmation is refused
    (in the reader's language) and nothing is stored; the scheme's first year needs none."""
    funds.release("2025-26", C, actor="dpo")
    before = (LedgerEntry.objects.count(), FundRelease.objects.get(fiscal_year="2025-26", line=C).state)
    with pytest.raises(DomainError) as e:
        funds.confirm("2025-26", C, Decimal("850000000"), actor="dpo", note_en="assessed", note_zh="已評估")
    assert e.value.code == "annual_report_not_submitted" and "2024-25" in str(e.value.message)
    with translation.override("zh-hant"), pytest.raises(DomainError) as e:
        funds.confirm("2025-26", C, Decimal("850000000"), actor="dpo", note_en="assessed", note_zh="已評估")
    assert "2024-25年度的年度報告" in str(e.value.message)
    assert (LedgerEntry.objects.count(), FundRelease.objects.get(fiscal_year="2025-26", line=C).state) == before
    AnnualReport.objects.create(fiscal_year="2024-25")  # drafted, not submitted: still refused
    with pytest.raises(DomainError) as e:
        funds.confirm("2025-26", C, Decimal("850000000"), actor="dpo", note_en="assessed", note_zh="已評估")
    assert e.value.code == "annual_report_not_submitted"
    AnnualReport.objects.filter(fiscal_year="2024-25").update(submitted_at=timezone.now())
    row = funds.confirm("2025-26", C, Decimal("850000000"), actor="dpo", note_en="assessed", note_zh="已評估")
    assert row.state == ReleaseState.CONFIRMED and funds.statement("2025-26")[C]["confirmed"] == Decimal("850000000")


def test_previous_fiscal_year():
    """Seed 000 §16 (the HK financial year, 1 April to 31 March)."""
    assert rules.previous_fiscal_year("2025-26") == "2024-25"
    assert rules.previous_fiscal_year("2000-01") == "1999-00"
    with pytest.raises(ValueError):
        rules.previous_fiscal_year("2025-27")


@covers("R06")
def test_seed000_s17_virement_moves_available_money_between_lines(loaded):
    """Seed 000 §17: unused compute money moves to the other lines at the government's request."""
    v = funds.vire(
        "2024-25",
        C,
        E,
        Decimal("5000000"),
        requested_by="DPO memo 2025/3",
        reason_en="compute over-supplied",
        reason_zh="算力供過於求",
        actor="dpo",
    )
    s = funds.statement("2024-25")
    assert s[C]["virements_out"] == Decimal("5000000") and s[E]["virements_in"] == Decimal("5000000")
    assert s[C]["available"] == Decimal("852000000") and s[E]["available"] == Decimal("11000000")
    assert v.entries.count() == 2


@pytest.mark.parametrize(
    ("amount", "kw", "code"),
    [
        (Decimal("0"), {}, "amount_invalid"),
        (Decimal("7000000"), {}, "virement_beyond_available"),  # ecosystem has 6M released
        (Decimal("1"), {"reason_zh": ""}, "decision_reasons_required"),
        (Decimal("1"), {"requested_by": ""}, "decision_reasons_required"),
    ],
)
@covers("R06")
def test_bad_virement_is_refused_and_nothing_stored(loaded, amount, kw, code):
    """Seed 000 §17: a virement never moves more than is available; nothing stored."""
    args = {"requested_by": "memo", "reason_en": "why", "reason_zh": "原因", "actor": "dpo", **kw}
    with pytest.raises(DomainError) as e:
        funds.vire("2024-25", E, C, amount, **args)
    assert e.value.code == code
    assert not Virement.objects.exists() and not LedgerEntry.objects.filter(kind="virement").exists()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    moves=st.lists(
        st.tuples(
            st.sampled_from(list(FundingLine)),
            st.sampled_from(list(FundingLine)),
            st.integers(min_value=1, max_value=60_000_000),
        ),
        max_size=6,
    )
)
def test_ledger_invariant_virements_never_create_money_nor_go_below_zero(loaded, moves):
    """Whatever virements are asked, the lines' available sum stays what was released, and no
    line is ever negative (a virement beyond what is available is refused)."""
    before = funds.statement("2024-25")
    total = sum(before[line]["available"] for line in FundingLine)
    try:
        for a, b, amount in moves:
            try:
                funds.vire("2024-25", a, b, Decimal(amount), requested_by="m", reason_en="r", reason_zh="理", actor="t")
            except DomainError as exc:
                assert exc.code in ("amount_invalid", "virement_beyond_available")
            s = funds.statement("2024-25")
            assert sum(s[line]["available"] for line in FundingLine) == total
            assert all(s[line]["available"] >= 0 for line in FundingLine)
    finally:
        LedgerEntry.objects.filter(kind="virement").delete()
        Virement.objects.all().delete()


@pytest.mark.parametrize("fy,released", [("2024-25", True), ("2025-26", False)])
@covers("R01")
def test_seed000_s10_no_year_is_confirmed_or_released_beyond_the_appropriation(loaded, fy, released):
    """Seed 000 §10: HK$2,856M for the compute subsidy over the three years. A confirmation or a
    release that would take the line's years above it is refused, and nothing is stored (review
    finding: the funder could confirm ten times the appropriation, and awards commit it)."""
    before = (LedgerEntry.objects.count(), funds.statement(fy)[FundingLine.COMPUTE]["available"])
    huge = rules.APPROPRIATION[FundingLine.COMPUTE] * 10
    with pytest.raises(DomainError) as refused:
        if released:  # the fixture released 2024-25 on 1 April 2024
            funds.confirm(fy, FundingLine.COMPUTE, huge, actor="dpo", note_en="n", note_zh="註")
        else:
            funds.release(fy, FundingLine.COMPUTE, actor="dpo", amount=huge)
    assert refused.value.code == "appropriation_exceeded"
    assert (LedgerEntry.objects.count(), funds.statement(fy)[FundingLine.COMPUTE]["available"]) == before


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "-1", "0", "12.345", "abc"])
def test_an_unreadable_amount_is_amount_invalid_and_nothing_is_stored(loaded, value):
    """Review finding: NaN, infinity or sub-cent amounts gave a server error or were stored."""
    before = LedgerEntry.objects.count()
    for call in (
        lambda: funds.confirm("2024-25", FundingLine.COMPUTE, value, actor="dpo", note_en="n", note_zh="註"),
        lambda: funds.release("2025-26", FundingLine.COMPUTE, actor="dpo", amount=value),
    ):
        with pytest.raises(DomainError) as refused:
            call()
        assert refused.value.code == "amount_invalid"
    assert LedgerEntry.objects.count() == before
