"""The scheme's rules (subsidy/rules.py), each test naming the seed paragraph it checks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tungban.subsidy import rules
from tungban.subsidy.constants import FundingLine
from tungban.subsidy.tests.rulebook import covers


@covers("R01")
def test_seed000_s10_s19_s20_appropriation_is_three_billion_in_three_lines():
    """Seed 000 §8, §10, §19, §20: HK$3bn in three lines."""
    assert rules.APPROPRIATION[FundingLine.COMPUTE] == Decimal("2856000000")
    assert rules.APPROPRIATION[FundingLine.SECURITY] == Decimal("100000000")
    assert rules.APPROPRIATION[FundingLine.ECOSYSTEM] == Decimal("44000000")
    assert sum(rules.APPROPRIATION.values()) == Decimal("3000000000")  # seed 000 §8


@covers("R02")
def test_seed000_s23_cash_flow_adds_up_to_each_line_and_905_905_1190():
    """Seed 000 §23: the cash flow by financial year sums to each line's appropriation."""
    for line in FundingLine:
        assert sum(v for (_, ln), v in rules.CASH_FLOW.items() if ln == line) == rules.APPROPRIATION[line]
    by_year = {
        fy: sum(v for (y, _), v in rules.CASH_FLOW.items() if y == fy) for fy in ("2024-25", "2025-26", "2026-27")
    }
    assert by_year == {"2024-25": Decimal("905e6"), "2025-26": Decimal("905e6"), "2026-27": Decimal("1190e6")}


@covers("R03")
def test_seed000_s16_fiscal_year_runs_1_april_to_31_march():
    """Seed 000 §16: the financial year whose start releases the funds runs 1 April to 31 March."""
    assert rules.fiscal_year(dt.date(2025, 3, 31)) == "2024-25"
    assert rules.fiscal_year(dt.date(2025, 4, 1)) == "2025-26"
    assert rules.fiscal_year(dt.date(2099, 12, 1)) == "2099-00"
    assert rules.fiscal_year_bounds("2025-26") == (dt.date(2025, 4, 1), dt.date(2026, 3, 31))
    for bad in ("2025-27", "2025", "abcd-ef", "25-26"):
        with pytest.raises(ValueError):
            rules.fiscal_year_bounds(bad)


@given(st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2998, 12, 31)))
def test_seed000_s16_every_day_is_inside_its_fiscal_year(day):
    start, end = rules.fiscal_year_bounds(rules.fiscal_year(day))
    assert start <= day <= end


@covers("R24", "B04")
def test_seed000_s13_rate_up_to_70_percent_normally():
    """Seed 000 §13: at most 70% of the price in a normal case."""
    rules.check_rate(Decimal("0.70"), exceptional=False)
    with pytest.raises(rules.RuleError) as e:
        rules.check_rate(Decimal("0.701"), exceptional=False)
    assert e.value.code == "rate_needs_exceptional_decision"


@covers("R25", "B05")
def test_seed000_s13_exceptional_case_up_to_90_percent_with_reasons_in_both_languages():
    """Seed 000 §13: up to 90% in an exceptional case, with its reasons."""
    rules.check_rate(Decimal("0.90"), exceptional=True, reason_en="unique", reason_zh="獨特")
    with pytest.raises(rules.RuleError) as e:
        rules.check_rate(Decimal("0.85"), exceptional=True, reason_en="unique", reason_zh=" ")
    assert e.value.code == "exceptional_reasons_required"
    with pytest.raises(rules.RuleError) as e:
        rules.check_rate(Decimal("0.901"), exceptional=True, reason_en="unique", reason_zh="獨特")
    assert e.value.code == "rate_above_exceptional_ceiling"
    with pytest.raises(rules.RuleError) as e:
        rules.check_rate(Decimal("-0.01"), exceptional=False)
    assert e.value.code == "rate_invalid"


@covers("R08")
def test_seed000_s10_at_most_90_percent_of_capacity_subsidised_rounded_down():
    """Seed 000 §10: at most 90% of the capacity is subsidised."""
    assert rules.subsidised_cap(162) == 145  # 145.8
    assert rules.subsidised_cap(375) == 337  # 337.5
    assert rules.subsidised_cap(10) == 9
    assert rules.SUBSIDISED_CAPACITY_SHARE == Decimal("0.90")


@covers("R21")
def test_seed002_itib229_list_price_is_320000_per_node_month():
    """Seed 002 ITIB229: HK$320,000 per server node per month."""
    assert rules.LIST_PRICE_PER_NODE_MONTH == Decimal("320000")


def test_gpu_minutes_counts_the_days_of_each_month():
    schedule = {dt.date(2025, 2, 1): 1, dt.date(2024, 2, 1): 2}  # 28 days; 29 days (leap year)
    assert rules.gpu_minutes(schedule, 8) == 1 * 8 * 28 * 1440 + 2 * 8 * 29 * 1440


def test_months_between_includes_both_ends():
    assert rules.months_between(dt.date(2024, 11, 15), dt.date(2025, 2, 3)) == [
        dt.date(2024, 11, 1),
        dt.date(2024, 12, 1),
        dt.date(2025, 1, 1),
        dt.date(2025, 2, 1),
    ]
    assert rules.months_between(dt.date(2025, 2, 1), dt.date(2025, 1, 1)) == []


@given(
    nodes=st.integers(min_value=0, max_value=512),
    price=st.decimals(min_value=0, max_value=10_000_000, places=2),
    rate=st.decimals(min_value=0, max_value=Decimal("0.9"), places=3),
)
def test_seed000_s13_subsidy_and_co_payment_add_up_to_the_price(nodes, price, rate):
    subsidy, co = rules.month_money(nodes, price, rate)
    assert subsidy + co == nodes * price
    assert subsidy >= 0 and co >= 0
    assert abs(subsidy - nodes * price * rate) <= Decimal("0.005")
