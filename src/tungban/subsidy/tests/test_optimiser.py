"""The award optimiser (issue 20 part C; anchor study §7.4) on instances whose answer is
provable by hand, on bad input, and a property test: whatever the instance, the recommendation
respects every constraint (seed 000 §10 capacity, seed 000 §16 budget by financial year, seed
000 §13 minimum score, start windows) and gives each candidate left out a reason.

Pure: no database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tungban.subsidy.optimiser import (
    Candidate,
    InvalidInput,
    Reason,
    add_months,
    fiscal_year,
    recommend,
)
from tungban.subsidy.tests.rulebook import covers

APR = date(2025, 4, 1)
YEAR = [add_months(APR, i) for i in range(12)]  # FY 2025-26
FY = "2025-26"


def plan(nodes, months=YEAR):
    return dict.fromkeys(months, nodes)


def cand(ref, score, nodes=1, months=1, start=APR, latest=None, cost=Decimal(100), subsidised=True):
    return Candidate(ref, score, nodes, months, start, latest or start, cost, subsidised)


def test_fiscal_year_runs_from_april_seed_000_para_16():
    assert fiscal_year(date(2025, 3, 31)) == "2024-25"
    assert fiscal_year(date(2025, 4, 1)) == "2025-26"
    assert fiscal_year(date(2099, 12, 1)) == "2099-00"


def test_budget_binds_seed_000_para_16():
    # 250 available: A (score 90, cost 200) and B (score 80, cost 100) cannot both be
    # chosen; A alone is worth 90, B + C (70, cost 100) 150, so B and C are chosen and A is left
    # out for the budget of 2025-26.
    rec = recommend(
        [cand("A", 90, cost=Decimal(200)), cand("B", 80), cand("C", 70)],
        capacity=plan(10),
        budget_by_fy={FY: Decimal(250)},
    )
    assert {c.ref for c in rec.chosen} == {"B", "C"}
    assert rec.reason("A").reason == Reason.BUDGET
    assert rec.reason("A").fiscal_years == (FY,)
    assert not rec.reason("A").alone
    assert rec.cost_by_fy == {FY: Decimal("200.00")}
    assert rec.status == "optimal" and rec.objective == 150


@covers("R08")
def test_capacity_binds_in_one_month_seed_000_para_10():
    # The plan covers April–June: 4 nodes free, except June (2). A: 3 nodes April–June; B: 2
    # nodes in June only. A (90 × 9 node-months = 810) would beat B (95 × 2 = 190), but the
    # June shortage alone refuses A: it needs 3 of 2. So B is chosen and A left out for
    # capacity in June, even on its own.
    """Seed 000 §10: the subsidised capacity binds month by month."""
    cap = plan(4, YEAR[:3]) | {date(2025, 6, 1): 2}
    rec = recommend(
        [cand("A", 90, nodes=3, months=3), cand("B", 95, nodes=2, start=date(2025, 6, 1))],
        capacity=cap,
        budget_by_fy={FY: Decimal(10_000)},
    )
    assert [c.ref for c in rec.chosen] == ["B"]
    reason = rec.reason("A")
    assert reason.reason == Reason.CAPACITY and reason.alone
    assert reason.months == (date(2025, 6, 1),)


def test_capacity_binds_between_candidates():
    # 4 nodes each month of April–June; A (3 nodes, score 50, 3 months: 450) vs B (2 nodes, score
    # 60, 3 months: 360): they overlap, A wins, B is left out for capacity in its three months.
    rec = recommend(
        [cand("A", 50, nodes=3, months=3), cand("B", 60, nodes=2, months=3)],
        capacity=plan(4, YEAR[:3]),
        budget_by_fy={FY: Decimal(10_000)},
    )
    assert [c.ref for c in rec.chosen] == ["A"]
    reason = rec.reason("B")
    assert reason.reason == Reason.CAPACITY and not reason.alone
    assert reason.months == tuple(YEAR[:3])
    assert rec.nodes_by_month == dict.fromkeys(YEAR[:3], 3)


def test_start_window_shift_makes_two_fit():
    # 2 nodes free. A needs 2 nodes April–June (fixed); B needs 2 nodes for 3 months and may
    # start April–July: only July makes both fit.
    rec = recommend(
        [cand("A", 80, nodes=2, months=3), cand("B", 70, nodes=2, months=3, latest=date(2025, 7, 1))],
        capacity=plan(2),
        budget_by_fy={FY: Decimal(10_000)},
    )
    assert {c.ref: c.start for c in rec.chosen} == {"A": APR, "B": date(2025, 7, 1)}
    assert rec.choice("B").end == date(2025, 9, 1)
    assert rec.not_chosen == ()


def test_start_window_is_the_binding_reason_when_a_later_start_would_fit():
    # Same, but B may start only April–June: it would fit from July, outside its window.
    rec = recommend(
        [cand("A", 80, nodes=2, months=3), cand("B", 70, nodes=2, months=3, latest=date(2025, 6, 1))],
        capacity=plan(2),
        budget_by_fy={FY: Decimal(10_000)},
    )
    assert [c.ref for c in rec.chosen] == ["A"]
    reason = rec.reason("B")
    assert reason.reason == Reason.START_WINDOW and reason.earliest_fit == date(2025, 7, 1)


def test_minimum_score_is_never_chosen_seed_000_para_13():
    # Plenty of room, but C scores below the minimum.
    rec = recommend(
        [cand("A", 80), cand("B", 60), cand("C", 59.9)],
        capacity=plan(10),
        budget_by_fy={FY: Decimal(10_000)},
        min_score=60,
    )
    assert {c.ref for c in rec.chosen} == {"A", "B"}
    assert rec.reason("C").reason == Reason.SCORE


def test_a_year_without_money_refuses_the_months_in_it():
    # The award's second month is in 2026-27, for which nothing is available.
    rec = recommend(
        [cand("A", 80, months=2, start=date(2026, 3, 1))],
        capacity=plan(5, [date(2026, 3, 1), date(2026, 4, 1)]),
        budget_by_fy={"2025-26": Decimal(1_000)},
    )
    assert rec.chosen == ()
    assert rec.reason("A").reason == Reason.BUDGET and rec.reason("A").fiscal_years == ("2026-27",)
    assert rec.reason("A").alone


def test_cost_by_month_is_charged_to_each_month_s_financial_year():
    rec = recommend(
        [cand("A", 80, months=3, start=date(2026, 2, 1), cost=[Decimal(10), Decimal(20), Decimal("30.50")])],
        capacity=plan(5, [add_months(date(2026, 2, 1), i) for i in range(3)]),
        budget_by_fy={"2025-26": Decimal(30), "2026-27": Decimal(31)},
    )
    assert rec.choice("A").cost_by_fy == {"2025-26": Decimal("30.00"), "2026-27": Decimal("30.50")}


def test_market_price_candidates_use_all_free_nodes_and_no_money():
    # 2 nodes free under the 90 % cap, 3 free in all: the market user takes the third node.
    rec = recommend(
        [cand("S", 80, nodes=2), cand("M", 50, nodes=1, subsidised=False)],
        capacity=plan(2),
        market_capacity=plan(3),
        budget_by_fy={FY: Decimal(100)},
    )
    assert {c.ref for c in rec.chosen} == {"S", "M"}
    assert rec.choice("M").cost_by_fy == {}


def test_nothing_fits_everything_has_a_reason():
    rec = recommend(
        [cand("A", 80, nodes=5), cand("B", 70, cost=Decimal(500))],
        capacity=plan(4),
        budget_by_fy={FY: Decimal(100)},
    )
    assert rec.chosen == () and rec.status == "empty" and rec.objective == 0
    assert rec.reason("A").reason == Reason.CAPACITY and rec.reason("B").reason == Reason.BUDGET


def test_no_candidates():
    rec = recommend([], capacity={}, budget_by_fy={})
    assert rec.chosen == () and rec.not_chosen == () and rec.status == "empty"


@pytest.mark.parametrize(
    "candidates,kwargs,message",
    [
        ([cand("A", 1), cand("A", 2)], {}, "unique"),
        ([cand("", 1)], {}, "unique"),
        ([cand("A", float("nan"))], {}, "finite"),
        ([cand("A", -1)], {}, "finite"),
        ([cand("A", 1, nodes=0)], {}, "at least 1"),
        ([cand("A", 1, months=0, cost=[])], {}, "at least 1"),
        ([cand("A", 1, start=date(2025, 4, 2))], {}, "first day"),
        ([cand("A", 1, start=date(2025, 5, 1), latest=APR)], {}, "before the earliest"),
        ([cand("A", 1, months=2, cost=[Decimal(1)])], {}, "1 monthly costs for 2 months"),
        ([cand("A", 1, cost=Decimal(-1))], {}, "negative"),
        ([cand("A", 1, subsidised=False)], {}, "market_capacity"),
        ([], {"capacity": {date(2025, 4, 2): 1}}, "capacity"),
        ([], {"capacity": {APR: -1}}, "capacity"),
        ([], {"budget_by_fy": {FY: Decimal(-1)}}, "negative"),
    ],
)
def test_bad_input_is_refused_with_a_message(candidates, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        recommend(candidates, **({"capacity": plan(1), "budget_by_fy": {FY: Decimal(1)}} | kwargs))


HORIZON = [add_months(date(2025, 1, 1), i) for i in range(18)]


@st.composite
def instances(draw):
    n = draw(st.integers(0, 8))
    candidates = []
    for i in range(n):
        months = draw(st.integers(1, 6))
        first = draw(st.integers(0, len(HORIZON) - 1))
        width = draw(st.integers(0, 4))
        costs = draw(st.lists(st.integers(0, 500), min_size=months, max_size=months))
        candidates.append(
            Candidate(
                ref=f"R{i}",
                score=draw(st.integers(0, 100)),
                nodes=draw(st.integers(1, 6)),
                months=months,
                earliest_start=HORIZON[first],
                latest_start=add_months(HORIZON[first], width),
                cost_by_month=[Decimal(c) for c in costs],
                subsidised=draw(st.booleans()),
            )
        )
    capacity = {m: draw(st.integers(0, 10)) for m in HORIZON}
    market = {m: capacity[m] + draw(st.integers(0, 4)) for m in HORIZON}
    budget = {fy: Decimal(draw(st.integers(0, 2000))) for fy in ("2024-25", "2025-26", "2026-27")}
    return candidates, capacity, market, budget, draw(st.integers(0, 60))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_every_recommendation_respects_the_constraints(instance):
    candidates, capacity, market, budget, min_score = instance
    rec = recommend(candidates, capacity=capacity, market_capacity=market, budget_by_fy=budget, min_score=min_score)
    by_ref = {c.ref: c for c in candidates}
    assert {c.ref for c in rec.chosen} | {n.ref for n in rec.not_chosen} == set(by_ref)
    assert not {c.ref for c in rec.chosen} & {n.ref for n in rec.not_chosen}
    subsidised, everyone, spent = {}, {}, {}
    for choice in rec.chosen:
        c = by_ref[choice.ref]
        assert c.score >= min_score
        assert c.earliest_start <= choice.start <= c.latest_start
        for k, cost in enumerate(c.costs()):
            month = add_months(choice.start, k)
            everyone[month] = everyone.get(month, 0) + c.nodes
            if c.subsidised:
                subsidised[month] = subsidised.get(month, 0) + c.nodes
                spent[fiscal_year(month)] = spent.get(fiscal_year(month), 0) + cost
    assert all(n <= capacity.get(m, 0) for m, n in subsidised.items())
    assert all(n <= market.get(m, 0) for m, n in everyone.items())
    assert all(v <= budget.get(fy, 0) for fy, v in spent.items() if v)
    for left in rec.not_chosen:
        assert (left.reason == Reason.SCORE) == (by_ref[left.ref].score < min_score)


def test_capacity_per_pool_budget_shared():
    # Two classes of service with 2 nodes each; the money (300) is shared: A and B run on
    # different pools at once, C (pool h100, score 10) would fit the nodes from May but not
    # the money.
    rec = recommend(
        [
            Candidate("A", 80, 2, 1, APR, APR, Decimal(100), pool="h800"),
            Candidate("B", 70, 2, 1, APR, APR, Decimal(100), pool="h100"),
            Candidate("C", 10, 2, 1, APR, add_months(APR, 1), Decimal(200), pool="h100"),
        ],
        capacity={"h800": plan(2), "h100": plan(2)},
        budget_by_fy={FY: Decimal(300)},
    )
    assert {c.ref for c in rec.chosen} == {"A", "B"}
    assert rec.reason("C").reason == Reason.BUDGET
    assert rec.nodes_by_month == {APR: 4}
