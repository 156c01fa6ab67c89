"""The award optimiser: which of a batch's ranked applications fit the compute budget and the
centre's time-phased capacity, and from which month (issue 20; anchor study §7.4).

Pure: no Django, no database. :func:`recommend` takes the candidates, the nodes free for
subsidised use per month and the compute-subsidy money available per financial year, and
returns a :class:`Recommendation` — *a recommendation with reasons for the secretariat and the
committee, never a decision* (anchor §7.4; seed 000 §13: the committee decides amount,
duration and conditions).

The model (a 0-1 programme solved with HiGHS through PuLP; why HiGHS and not OR-Tools CP-SAT:
``bench/README.md``, "The award optimiser"):

* ``s[i,k] ∈ {0,1}``: candidate *i* is awarded and starts in month *k* of its start window
  ``earliest_start … latest_start``; ``Σ_k s[i,k] ≤ 1`` (awarded at most once).
* Capacity, every month *t*: ``Σ nodes_i · s[i,k]`` over the candidates running in *t*
  ``≤ capacity[t]`` — the nodes still free under the subsidy's cap of 90 % of the centre's
  capacity (seed 000 §10: the subsidy covers at most 90 % of the centre's compute; the caller
  passes what is left of it after the awards already made). A non-subsidised (market-price)
  candidate counts against ``market_capacity`` instead (all free nodes), and a subsidised one
  against both when it is given (anchor §7.2).
* Budget, every financial year *f* (1 April – 31 March): ``Σ cost of the months of i in f ·
  s[i,k] ≤ budget_by_fy[f]`` (seed 000 §16: the money is released at the start of each
  financial year; a commitment may not go beyond the year's release). A financial year absent
  from ``budget_by_fy`` has no money.
* Minimum score: a candidate scoring below ``min_score`` is never chosen (seed 000 §13: the
  committee assesses on criteria (a)–(d)).
* Objective: maximise ``Σ score_i × node-months_i`` over the chosen (score-weighted compute
  delivered); among equal values, earlier starts.

After the solve, any candidate that still fits what is left is added (so that what is not
chosen is left out for a reason), and each candidate not chosen gets the constraint that binds
it (:class:`Reason`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

import pulp

CENT = Decimal("0.01")
#: Scores are weighted in thousandths in the integer objective.
SCORE_SCALE = 1000


class InvalidInput(ValueError):
    """The candidates, capacity or budget cannot be optimised (a message says which and why)."""


class Reason(StrEnum):
    """Why a candidate is not in the recommendation: the constraint that binds it."""

    #: Its score is below the minimum (seed 000 §13).
    SCORE = "score"
    #: In some month of every start in its window, the nodes are not free (seed 000 §10).
    CAPACITY = "capacity"
    #: Capacity allows a start in its window, but a financial year's money does not (seed 000 §16).
    BUDGET = "budget"
    #: No start in its window fits, but a start outside it would (``earliest_fit`` says when):
    #: the window is what binds, and the most useful thing to tell the committee.
    START_WINDOW = "start_window"


@dataclass(frozen=True)
class Candidate:
    """An application the optimiser may recommend.

    ``ref``: the application's reference (unique in the batch). ``score``: the committee's
    weighted score (or the secretariat's), a finite number ≥ 0, higher is better. ``nodes``:
    server nodes every month of the award. ``months``: the award's length in months (≥ 1).
    ``earliest_start`` / ``latest_start``: the first days of the first and last months it may
    start in. ``cost_by_month``: the subsidy's cost in HK$ of each month of the award, in order
    (``months`` values), or one ``Decimal`` for every month. ``subsidised``: ``False`` for a
    market-price user, who costs the fund nothing and is not under the 90 % cap. ``pool``:
    the nodes it runs on (a class of service's code) when ``capacity`` is given per pool.
    """

    ref: str
    score: float
    nodes: int
    months: int
    earliest_start: date
    latest_start: date
    cost_by_month: Decimal | Sequence[Decimal] = Decimal(0)
    subsidised: bool = True
    pool: str = ""

    def costs(self) -> tuple[Decimal, ...]:
        """The cost of each month of the award (HK$), ``months`` values."""
        if isinstance(self.cost_by_month, Decimal | int):
            return (Decimal(self.cost_by_month),) * self.months
        return tuple(Decimal(c) for c in self.cost_by_month)

    @property
    def node_months(self) -> int:
        return self.nodes * self.months


@dataclass(frozen=True)
class Choice:
    """A candidate recommended: its first and last months, nodes and cost by financial year (HK$)."""

    ref: str
    start: date
    end: date
    nodes: int
    cost_by_fy: dict[str, Decimal]


@dataclass(frozen=True)
class NotChosen:
    """A candidate left out and why. ``months``: the months short of nodes (``capacity``) at
    its best start; ``fiscal_years``: the years short of money (``budget``); ``alone``: it does
    not fit even with nothing else recommended; ``earliest_fit``: for ``start_window``, the
    first month it could start in and fit."""

    ref: str
    reason: Reason
    months: tuple[date, ...] = ()
    fiscal_years: tuple[str, ...] = ()
    alone: bool = False
    earliest_fit: date | None = None


@dataclass(frozen=True)
class Recommendation:
    """The optimiser's answer. ``status``: ``optimal``, ``feasible`` (stopped at the time limit
    with a solution not proven best) or ``empty`` (nothing to optimise). ``objective``: Σ score ×
    node-months of the chosen. ``nodes_by_month`` / ``cost_by_fy``: what the chosen use (subsidised nodes, all pools)."""

    chosen: tuple[Choice, ...]
    not_chosen: tuple[NotChosen, ...]
    objective: float
    status: str
    solver: str
    gap: float | None
    wall_time_s: float
    nodes_by_month: dict[date, int] = field(default_factory=dict)
    cost_by_fy: dict[str, Decimal] = field(default_factory=dict)

    def choice(self, ref: str) -> Choice | None:
        return next((c for c in self.chosen if c.ref == ref), None)

    def reason(self, ref: str) -> NotChosen | None:
        return next((n for n in self.not_chosen if n.ref == ref), None)


def add_months(month: date, n: int) -> date:
    """The first day of the month ``n`` months after ``month``'s."""
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_index(month: date) -> int:
    return month.year * 12 + month.month - 1


def fiscal_year(day: date) -> str:
    """The Hong Kong Government's financial year of ``day`` (1 April – 31 March), as "2025-26"
    (seed 000 §16, §23: released and budgeted by financial year)."""
    first = day.year if day.month >= 4 else day.year - 1
    return f"{first}-{(first + 1) % 100:02d}"


def _validate(candidates: Sequence[Candidate], capacity, budget_by_fy, market_capacity) -> None:
    refs = set()
    for c in candidates:
        where = f"candidate {c.ref!r}"
        if not c.ref or c.ref in refs:
            raise InvalidInput(f"{where}: references must be present and unique")
        refs.add(c.ref)
        if not isinstance(c.score, int | float) or not math.isfinite(c.score) or c.score < 0:
            raise InvalidInput(f"{where}: the score must be a finite number, 0 or more")
        if c.nodes < 1 or c.months < 1:
            raise InvalidInput(f"{where}: nodes and months must be at least 1")
        if c.earliest_start.day != 1 or c.latest_start.day != 1:
            raise InvalidInput(f"{where}: start months are the first day of a month")
        if c.latest_start < c.earliest_start:
            raise InvalidInput(f"{where}: the latest start is before the earliest")
        costs = c.costs()
        if len(costs) != c.months:
            raise InvalidInput(f"{where}: {len(costs)} monthly costs for {c.months} months")
        if any(x < 0 for x in costs):
            raise InvalidInput(f"{where}: a cost is negative")
        if not c.subsidised and market_capacity is None:
            raise InvalidInput(f"{where}: a market-price candidate needs market_capacity")
    for name, plan in (("capacity", capacity), ("market_capacity", market_capacity or {})):
        for pool, months in _pools(plan).items():
            for month, nodes in months.items():
                if not isinstance(month, date) or month.day != 1 or nodes < 0:
                    raise InvalidInput(f"{name}: {pool} {month} must be a first day with nodes ≥ 0")
    for fy, amount in budget_by_fy.items():
        if Decimal(amount) < 0:
            raise InvalidInput(f"budget_by_fy: {fy} is negative")


def _pools(plan: Mapping) -> dict[str, Mapping[date, int]]:
    """A capacity plan by pool: ``{month: nodes}`` is the plan of pool ``""``."""
    if any(isinstance(key, str) for key in plan):
        return dict(plan)
    return {"": plan}


def _cents(amount: Decimal) -> int:
    return int((Decimal(amount) / CENT).to_integral_value())


SOLVER = "HiGHS (through PuLP)"


def _solve(inst, by_ref, viable, *, time_limit_s, threads, gap) -> tuple[dict[str, int], str, float | None]:
    """The 0-1 programme solved with HiGHS: ref → start month index of the chosen, the status
    (``optimal`` — within ``gap`` of the best —, ``feasible`` or ``empty``) and the relative gap
    proven between the solution and the bound."""
    problem = pulp.LpProblem("award_recommendation", pulp.LpMaximize)
    var = {}
    objective = []
    for ref, options in viable.items():
        c = by_ref[ref]
        for k in options:
            var[ref, k] = problem.add_variable(f"s_{len(var)}", cat="Binary")
            # Score-weighted node-months; a thousandth less for each month later (earlier starts win ties).
            objective.append((c.score * c.node_months - 0.001 * (k - options[0]), var[ref, k]))
        if len(options) > 1:
            problem += pulp.lpSum(var[ref, k] for k in options) <= 1
    if not var:
        return {}, "empty", None
    load: dict[int, list] = {}
    market_load: dict[int, list] = {}
    spend: dict[str, list] = {}
    for (ref, k), v in var.items():
        c = by_ref[ref]
        for t in range(k, k + c.months):
            if c.subsidised:
                load.setdefault((c.pool, t), []).append((c.nodes, v))
            if inst.market is not None:
                market_load.setdefault((c.pool, t), []).append((c.nodes, v))
        for fy, cents in inst.cost(c, k).items():
            if cents:
                spend.setdefault(fy, []).append((cents, v))
    for rows, limits in ((load, inst.capacity), (market_load, inst.market or {})):
        for t, terms in rows.items():
            if sum(n for n, _ in terms) > limits.get(t, 0):
                problem += pulp.lpSum(n * v for n, v in terms) <= limits.get(t, 0)
    for fy, terms in spend.items():
        budget = inst.budget.get(fy, 0)
        if sum(n for n, _ in terms) > budget:
            # In units of the year's budget: coefficients ≤ 1 for the floating-point solver.
            problem += pulp.lpSum((n / budget) * v for n, v in terms) <= 1
    problem += pulp.lpSum(w * v for w, v in objective)
    stats = problem.solve(pulp.HiGHS(msg=False, timeLimit=float(time_limit_s), gapRel=gap, threads=threads))
    if not stats.has_solution:
        # The model always has the empty solution; anything else is the solver's failure.
        raise RuntimeError(f"HiGHS ended with {stats.status}")
    status = "optimal" if stats.status == pulp.LpSolveStatus.Optimal else "feasible"
    chosen = {ref: k for (ref, k), v in var.items() if (v.value() or 0) > 0.5}
    return chosen, status, stats.gap_rel


class _Instance:
    """The candidates' start options, with each option's months and cost by financial year in cents."""

    def __init__(self, candidates, capacity, budget_by_fy, market_capacity):
        # (pool, month index) → nodes
        self.capacity = {(p, month_index(m)): int(n) for p, ms in _pools(capacity).items() for m, n in ms.items()}
        self.market = (
            None
            if market_capacity is None
            else {(p, month_index(m)): int(n) for p, ms in _pools(market_capacity).items() for m, n in ms.items()}
        )
        self.budget = {fy: _cents(a) for fy, a in budget_by_fy.items()}
        self.candidates = list(candidates)
        self.options: dict[str, list[int]] = {}
        self.fy_cost: dict[tuple[str, int], dict[str, int]] = {}
        for c in self.candidates:
            first = month_index(c.earliest_start)
            self.options[c.ref] = list(range(first, month_index(c.latest_start) + 1))

    def cost(self, c: Candidate, start: int) -> dict[str, int]:
        key = (c.ref, start)
        if key not in self.fy_cost:
            by_fy: dict[str, int] = {}
            if c.subsidised:
                for k, amount in enumerate(c.costs()):
                    fy = fiscal_year(_month(start + k))
                    by_fy[fy] = by_fy.get(fy, 0) + _cents(amount)
            self.fy_cost[key] = by_fy
        return self.fy_cost[key]

    def shortfall(self, c: Candidate, start: int, used: dict[int, int], used_market, spent: dict[str, int]):
        """The months short of nodes and the financial years short of money if ``c`` started at
        ``start`` on top of ``used`` / ``used_market`` nodes and ``spent`` cents."""
        months = []
        for t in range(start, start + c.months):
            short = False
            key = (c.pool, t)
            if c.subsidised and used.get(key, 0) + c.nodes > self.capacity.get(key, 0):
                short = True
            if self.market is not None and used_market.get(key, 0) + c.nodes > self.market.get(key, 0):
                short = True
            if short:
                months.append(t)
        years = [
            fy
            for fy, cents in self.cost(c, start).items()
            if cents and spent.get(fy, 0) + cents > self.budget.get(fy, 0)
        ]
        return months, sorted(years)


def _month(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def recommend(
    candidates: Iterable[Candidate],
    *,
    capacity: Mapping[date, int] | Mapping[str, Mapping[date, int]],
    budget_by_fy: Mapping[str, Decimal],
    min_score: float = 0,
    time_limit_s: float = 10,
    market_capacity: Mapping[date, int] | None = None,
    gap_limit: float = 0.001,
    threads: int = 1,
) -> Recommendation:
    """Recommend which ``candidates`` to award and when (the model: this module's docstring).

    ``capacity``: first day of month → nodes free for subsidised use (a month absent has none),
    or pool → such a plan (candidates use their ``pool``'s; the same for ``market_capacity``);
    ``budget_by_fy``: "2025-26" → HK$ available; ``market_capacity``: first day of month → all
    free nodes, needed only for market-price candidates. ``time_limit_s``: the solver's wall
    limit (the best solution found by then is returned with status ``feasible``);
    ``gap_limit``: the solver stops once its solution is within this share of the best possible
    value (0.001: 0.1 %); ``threads``: the solver's threads. Raises :class:`InvalidInput`.
    """
    started = time.perf_counter()
    candidates = list(candidates)
    _validate(candidates, capacity, budget_by_fy, market_capacity)
    inst = _Instance(candidates, capacity, budget_by_fy, market_capacity)
    eligible = [c for c in candidates if c.score >= min_score]

    # Options that cannot fit even alone are not variables (they only slow the solver).
    viable = {c.ref: [k for k in inst.options[c.ref] if inst.shortfall(c, k, {}, {}, {}) == ([], [])] for c in eligible}
    by_ref = {c.ref: c for c in candidates}
    solved, status, gap = _solve(inst, by_ref, viable, time_limit_s=time_limit_s, threads=threads, gap=gap_limit)

    used: dict[int, int] = {}
    used_market: dict[int, int] = {}
    spent: dict[str, int] = {}
    picked: dict[str, int] = {}

    def fits_then_take(c: Candidate, k: int) -> bool:
        # Exact integer arithmetic: the solver's floating point is never trusted with money.
        if inst.shortfall(c, k, used, used_market, spent) != ([], []):
            return False
        picked[c.ref] = k
        for t in range(k, k + c.months):
            if c.subsidised:
                used[c.pool, t] = used.get((c.pool, t), 0) + c.nodes
            if inst.market is not None:
                used_market[c.pool, t] = used_market.get((c.pool, t), 0) + c.nodes
        for fy, cents in inst.cost(c, k).items():
            spent[fy] = spent.get(fy, 0) + cents
        return True

    for ref, k in sorted(solved.items(), key=lambda item: -by_ref[item[0]].score):
        fits_then_take(by_ref[ref], k)
    # Anything that still fits what is left joins (a time-limited solve may leave some out).
    for c in sorted(eligible, key=lambda c: -c.score):
        if c.ref not in picked:
            any(fits_then_take(c, k) for k in viable[c.ref])

    not_chosen = []
    for c in candidates:
        if c.ref in picked:
            continue
        if c.score < min_score:
            not_chosen.append(NotChosen(c.ref, Reason.SCORE))
            continue
        alone = not viable[c.ref]
        base = ({}, {}, {}) if alone else (used, used_market, spent)
        checks = [(k, *inst.shortfall(c, k, *base)) for k in inst.options[c.ref]]
        horizon = sorted(t for p, t in inst.capacity if p == c.pool)
        # Outside the window, against what is recommended (an earlier or later start that fits now).
        residual = (used, used_market, spent)
        outside = [k for k in horizon if k not in inst.options[c.ref] and inst.shortfall(c, k, *residual) == ([], [])]
        if outside:
            not_chosen.append(NotChosen(c.ref, Reason.START_WINDOW, earliest_fit=_month(outside[0])))
        elif all(months for _, months, _ in checks):
            best = min(checks, key=lambda x: (len(x[1]), x[0]))
            not_chosen.append(NotChosen(c.ref, Reason.CAPACITY, months=tuple(_month(t) for t in best[1]), alone=alone))
        else:
            years = sorted({fy for _, months, ys in checks if not months for fy in ys})
            not_chosen.append(NotChosen(c.ref, Reason.BUDGET, fiscal_years=tuple(years), alone=alone))

    chosen = []
    for c in candidates:
        if c.ref in picked:
            k = picked[c.ref]
            chosen.append(
                Choice(
                    ref=c.ref,
                    start=_month(k),
                    end=_month(k + c.months - 1),
                    nodes=c.nodes,
                    cost_by_fy={fy: Decimal(cents) * CENT for fy, cents in inst.cost(c, k).items()},
                )
            )
    value = sum(by_ref[r].score * by_ref[r].node_months for r in picked)
    nodes_by_month: dict[int, int] = {}
    for (_pool, t), n in used.items():
        nodes_by_month[t] = nodes_by_month.get(t, 0) + n
    return Recommendation(
        chosen=tuple(chosen),
        not_chosen=tuple(not_chosen),
        objective=float(value),
        status=status,
        solver=SOLVER,
        gap=gap,
        wall_time_s=time.perf_counter() - started,
        nodes_by_month={_month(t): n for t, n in sorted(nodes_by_month.items())},
        cost_by_fy={fy: Decimal(cents) * CENT for fy, cents in sorted(spent.items())},
    )
