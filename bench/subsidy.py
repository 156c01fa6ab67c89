#!/usr/bin/env python
"""Benchmark of the AI Subsidy Scheme (issue 20 acceptance 4): the award optimiser's time for
200 applications over 36 months, and the usage import rate (records/s).

Run from the checkout::

    .venv/bin/python bench/subsidy.py                 # 200 applications × 36 months, 5 runs; 50,000 sacct records
    .venv/bin/python bench/subsidy.py --quick         # 40 × 12, 3 runs; 2,000 records
    .venv/bin/python bench/subsidy.py --compare       # also OR-Tools CP-SAT on the same instances (if installed)
    .venv/bin/python bench/subsidy.py --database-url postgres://postgres@127.0.0.1:54329/empty_db

a. **optimiser** (``tungban.subsidy.optimiser.recommend``, pure: no database): a synthetic
   batch drawn with a fixed seed: ``--applications`` candidates over ``--months`` months from
   April 2025, each of 1–32 nodes for 2–12 months (seed 002 ITIB153: approved projects of
   1.5–12 months), a start window of 0–5 months, a score of 40–95 (minimum 50), a cost of 70 %
   of HK$320,000 per node-month (seed 002 ITIB229; seed 000 §13); the nodes free under the 90 %
   cap (seed 000 §10) of a centre of 160 nodes rising to 370 after a year, a third already
   committed; the compute money of each financial year (seed 000 §23: 857 / 857 / 1,142 HK$M),
   a third already committed. The same instance is solved ``--runs`` times (each with
   ``--time-limit``); printed: the median and each run's wall time, the solver's status, its
   proven relative gap, how many were chosen and why the others were not.
b. **usage import** (``compute.services.parse_sacct`` + ``import_usage``), when the compute app
   is installed: an isolated platform in a temporary directory (its own ``TUNGBAN_VAR_DIR``,
   SQLite unless ``--database-url``, which must name an empty database), migrated;
   ``--records`` synthetic ``sacct --parsable2`` lines (20 accounts, finished jobs with GPUs)
   parsed, then imported; then the same records again (nothing changes). Records/s.

Results go to ``bench/results/subsidy-<date>.json`` (not with ``--quick`` unless ``--output``).
The machine may be shared: the load average at start and end is printed with the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
for _path in (ROOT, ROOT / "src"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from machine import isolate, machine, print_table, scratch_dir, write_results  # noqa: E402  (bench/machine.py)

FULL = {"applications": 200, "months": 36, "runs": 5, "records": 50_000}
QUICK = {"applications": 40, "months": 12, "runs": 3, "records": 2_000}
FIRST_MONTH = dt.date(2025, 4, 1)
CASH_FLOW_M = (857, 857, 1142)  # seed 000 §23, compute subsidy by financial year (HK$M)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="40 applications × 12 months, 3 runs, 2,000 records")
    p.add_argument("--applications", type=int, help="candidates in the batch (default 200)")
    p.add_argument("--months", type=int, help="months of the capacity plan (default 36)")
    p.add_argument("--runs", type=int, help="optimiser runs on the same instance (default 5)")
    p.add_argument("--records", type=int, help="sacct records imported (default 50,000; 0 to skip)")
    p.add_argument("--time-limit", type=float, default=10.0, help="the optimiser's time limit per run (s)")
    p.add_argument("--seed", type=int, default=20, help="the instance's random seed")
    p.add_argument("--compare", action="store_true", help="also solve with OR-Tools CP-SAT (pip install ortools)")
    p.add_argument("--database-url", help="an empty database to use instead of a temporary SQLite file")
    p.add_argument("--output", type=Path, help="JSON results (default bench/results/subsidy-<date>.json)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = p.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for name in ("applications", "months", "runs", "records"):
        if getattr(args, name) is None:
            setattr(args, name, preset[name])
        if getattr(args, name) < (0 if name == "records" else 1):
            p.error(f"--{name} is too small")
    return args


def instance(n: int, months: int, seed: int):
    """A reproducible batch: (candidates, capacity, budget_by_fy, min_score)."""
    from tungban.subsidy.optimiser import Candidate, add_months, fiscal_year

    rng = random.Random(seed)
    plan = [add_months(FIRST_MONTH, i) for i in range(months)]
    capacity = {}
    for i, month in enumerate(plan):
        nodes = 160 if i < 12 else 370
        capacity[month] = int(nodes * 0.9) - nodes // 3  # free under the 90 % cap, a third committed
    budget = {}
    for month in plan:
        fy = fiscal_year(month)
        if fy not in budget:
            budget[fy] = Decimal(CASH_FLOW_M[min(len(budget), 2)] * 1_000_000 * 2 // 3)
    candidates = []
    for i in range(n):
        length = rng.randint(2, min(12, months))
        nodes = rng.choice([1, 2, 4, 8, 16, 32])
        first = rng.randrange(0, months - length + 1)
        last = min(months - length, first + rng.randint(0, 5))
        candidates.append(
            Candidate(
                ref=f"AISS-{i:04d}",
                score=round(rng.uniform(40, 95), 1),
                nodes=nodes,
                months=length,
                earliest_start=plan[first],
                latest_start=plan[last],
                cost_by_month=Decimal(nodes * 320_000 * 70 // 100),
            )
        )
    return candidates, capacity, budget, 50


def bench_optimiser(args) -> dict:
    from tungban.subsidy import optimiser

    candidates, capacity, budget, min_score = instance(args.applications, args.months, args.seed)
    runs = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        rec = optimiser.recommend(
            candidates, capacity=capacity, budget_by_fy=budget, min_score=min_score, time_limit_s=args.time_limit
        )
        runs.append({"seconds": round(time.perf_counter() - t0, 3), "status": rec.status, "gap": rec.gap})
    reasons: dict[str, int] = {}
    for left in rec.not_chosen:
        reasons[left.reason.value] = reasons.get(left.reason.value, 0) + 1
    return {
        "solver": rec.solver,
        "applications": args.applications,
        "months": args.months,
        "time_limit_s": args.time_limit,
        "median_seconds": round(statistics.median(r["seconds"] for r in runs), 3),
        "runs": runs,
        "chosen": len(rec.chosen),
        "objective": rec.objective,
        "not_chosen": reasons,
    }


def bench_cpsat(args) -> dict | None:
    """The same 0-1 programme with OR-Tools CP-SAT (one worker, as HiGHS has one thread), for
    the comparison in bench/README.md; None when ortools is not installed."""
    try:
        from ortools.sat.python import cp_model
    except ImportError:
        return None
    from tungban.subsidy.optimiser import _Instance

    candidates, capacity, budget, min_score = instance(args.applications, args.months, args.seed)
    runs = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        inst = _Instance(candidates, capacity, budget, None)
        model = cp_model.CpModel()
        var, load, spend, objective = {}, {}, {}, []
        for c in candidates:
            if c.score < min_score:
                continue
            options = [k for k in inst.options[c.ref] if inst.shortfall(c, k, {}, {}, {}) == ([], [])]
            for k in options:
                v = var[c.ref, k] = model.new_bool_var(f"{c.ref}-{k}")
                objective.append((round(c.score * 10) * c.node_months, v))
                for t in range(k, k + c.months):
                    load.setdefault((c.pool, t), []).append((c.nodes, v))
                for fy, cents in inst.cost(c, k).items():
                    spend.setdefault(fy, []).append((cents, v))
            model.add_at_most_one(var[c.ref, k] for k in options)
        for t, terms in load.items():
            model.add(sum(n * v for n, v in terms) <= inst.capacity.get(t, 0))
        for fy, terms in spend.items():
            model.add(sum(n * v for n, v in terms) <= inst.budget.get(fy, 0))
        model.maximize(sum(w * v for w, v in objective))
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = args.time_limit
        solver.parameters.num_workers = 1
        solver.parameters.relative_gap_limit = 0.001
        code = solver.solve(model)
        value, bound = solver.objective_value / 10, solver.best_objective_bound / 10
        runs.append(
            {
                "seconds": round(time.perf_counter() - t0, 3),
                "status": solver.status_name(code),
                "objective": value,
                "gap": round((bound - value) / bound, 5) if bound else None,
            }
        )
    return {
        "solver": "OR-Tools CP-SAT",
        "median_seconds": round(statistics.median(r["seconds"] for r in runs), 3),
        "runs": runs,
    }


def sacct_text(n: int, seed: int) -> str:
    """``n`` lines of ``sacct --parsable2 --noheader`` output in the compute app's field order
    (Cluster|JobID|Account|User|State|Submit|Start|End|ElapsedRaw|AllocTRES): finished jobs of
    20 accounts, 1–8 GPUs, up to a day each, in January 2026 (UTC)."""
    rng = random.Random(seed)
    base = dt.datetime(2026, 1, 1)
    lines = []
    for i in range(n):
        start = base + dt.timedelta(seconds=rng.randrange(0, 30 * 86400))
        elapsed = rng.randrange(60, 86400)
        gpus = rng.choice([1, 2, 4, 8])
        lines.append(
            "|".join(
                (
                    "aisc",
                    str(100_000 + i),
                    f"aisc-{i % 20:012x}",
                    f"user{i % 50}",
                    "COMPLETED",
                    (start - dt.timedelta(minutes=5)).isoformat(timespec="seconds"),
                    start.isoformat(timespec="seconds"),
                    (start + dt.timedelta(seconds=elapsed)).isoformat(timespec="seconds"),
                    str(elapsed),
                    f"billing={gpus * 4},cpu={gpus * 4},gres/gpu={gpus},mem={gpus * 64}G,node=1",
                )
            )
        )
    return "\n".join(lines) + "\n"


def bench_import(args, tmp: Path) -> dict:
    import importlib.util

    if importlib.util.find_spec("tungban.compute") is None:
        return {"skipped": "the compute app (issue 20 part B) is not on this branch: the import figure waits for it"}
    isolate(tmp, "http://localhost:8000", args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}")
    import django

    django.setup()
    from django.db import connection

    from tungban.compute import services
    from tungban.compute.models import Job
    from tungban.testing.migrated import migrate_database

    migrate_database()  # from a copy when TUNGBAN_MIGRATED_CACHE is set (the tiny runs)
    if Job.objects.exists():
        raise SystemExit("The database already holds jobs: give --database-url an empty database.")
    text = sacct_text(args.records, args.seed)
    t0 = time.perf_counter()
    records = services.parse_sacct(text)
    parse_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    changed = services.import_usage(records)
    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = services.import_usage(services.parse_sacct(text))
    again_s = time.perf_counter() - t0
    if changed != args.records or again != 0 or Job.objects.count() != args.records:
        raise SystemExit(f"unexpected import: {changed} changed, then {again}; {Job.objects.count()} jobs")
    return {
        "database": connection.vendor,
        "records": args.records,
        "parse_per_second": round(args.records / parse_s, 1),
        "import_seconds": round(import_s, 3),
        "import_per_second": round(args.records / import_s, 1),
        "reimport_per_second": round(args.records / again_s, 1),
    }


def print_results(result: dict) -> None:
    print()
    opt = result["optimiser"]
    print(f"Award optimiser ({opt['solver']}): {opt['applications']} applications × {opt['months']} months")
    rows = [("median", f"{opt['median_seconds']} s", "", "")]
    rows += [
        (f"run {i + 1}", f"{r['seconds']} s", r["status"], f"{r['gap']:.2%}" if r["gap"] is not None else "")
        for i, r in enumerate(opt["runs"])
    ]
    print_table(("", "wall", "status", "gap"), rows)
    print(f"chosen {opt['chosen']}, objective {opt['objective']:,.1f}; not chosen by reason {opt['not_chosen']}")
    other = result.get("cpsat")
    if other:
        print(f"{other['solver']} on the same instance: median {other['median_seconds']} s; runs {other['runs']}")
    imp = result["usage_import"]
    if "skipped" in imp:
        print(f"Usage import: {imp['skipped']}")
    else:
        print(
            f"Usage import on {imp['database']}: {imp['records']:,} sacct records — parse {imp['parse_per_second']:,}/s, "
            f"import {imp['import_per_second']:,} records/s ({imp['import_seconds']} s), again {imp['reimport_per_second']:,}/s"
        )
    print(
        f"load average at start / end: {result['machine_start']['loadavg_start']} / {result['machine_end']['loadavg_start']}"
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    result = {
        "benchmark": "subsidy",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine_start": machine(),
    }
    print(f"Optimiser: {args.applications} applications × {args.months} months, {args.runs} runs ...", flush=True)
    result["optimiser"] = bench_optimiser(args)
    if args.compare:
        result["cpsat"] = bench_cpsat(args) or {"skipped": "ortools is not installed"}
    if args.records:
        print(f"Usage import: {args.records} sacct records ...", flush=True)
        with scratch_dir("tungban-bench-subsidy-", args.keep) as tmp:
            result["usage_import"] = bench_import(args, tmp)
    else:
        result["usage_import"] = {"skipped": "--records 0"}
    result["machine_end"] = machine()
    print_results(result)
    out = args.output
    if out is None and not args.quick:
        out = ROOT / "bench" / "results" / f"subsidy-{dt.date.today().isoformat()}.json"
    if out:
        print(f"Results: {write_results(result, out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
