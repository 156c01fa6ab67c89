#!/usr/bin/env python
"""Benchmark of the one search (issue 22 acceptance 5) on this machine, in-process.

Run from the checkout::

    .venv/bin/python bench/search.py             # 20 rounds of the query set
    .venv/bin/python bench/search.py --quick     # 5 rounds
    .venv/bin/python bench/search.py --database-url postgres://user:pw@127.0.0.1/empty_db

It builds an isolated platform in a temporary directory (its own ``TUNGBAN_VAR_DIR``, an
SQLite database there unless ``--database-url``, a new secret key; nothing under ``var/`` is
touched), migrates, and seeds the relevance corpus of acceptance 1
(``tungban.search.tests.corpus.build``: the shipped e-services catalogue through
``load_catalogue``, the open-data demo seed's datasets and the synthetic distractors, ≥ 1,500
services, ≥ 3,800 forms, ≥ 5,500 datasets, all through ``index()``).

It then runs the fixed query set (``corpus.QUERIES``: English, Traditional and Simplified
Chinese, typos) round-robin, **in this process, one query at a time** (no HTTP server: the
figures are the search's own cost, not the web stack's), twice:

* ``service``: ``tungban.search.services.query(q, rows=10)``;
* ``api``: ``GET /api/v1/search/?q=…`` through Django's test client (the full middleware and
  django-ninja stack, JSON rendering; still in-process, no socket).

Reported per scenario: queries/s (sequential, one thread), p50/p90/p99 latency in
milliseconds, and the precision@3 of the set. The machine is shared (2 cores with other
helpers' work): the load average at start and end is printed and saved. Results go to
``bench/results/search-<date>-<sqlite|postgresql>.json`` (``-quick`` added; ``--output``
overrides).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "src"), str(Path(__file__).resolve().parent)]

from machine import isolate, machine, print_table, scratch_dir, write_results  # noqa: E402  bench/machine.py

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default="", help="an empty database to use (default: SQLite in a temp dir)")
    p.add_argument("--rounds", type=int, default=20, help="rounds of the query set per scenario (default 20)")
    p.add_argument("--quick", action="store_true", help="5 rounds")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument("--output", type=Path, help="where to write the JSON results")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds = 5
    return args


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def _scenario(name: str, call, queries: list[str], rounds: int) -> dict:
    for q in queries:  # warm-up: caches (OpenCC, the vocabulary, the database's pages)
        call(q)
    times = []
    by_query: dict[str, list[float]] = {}
    started = time.perf_counter()
    for _ in range(rounds):
        for q in queries:
            t0 = time.perf_counter()
            call(q)
            times.append(time.perf_counter() - t0)
            by_query.setdefault(q, []).append(times[-1])
    wall = time.perf_counter() - started
    slowest = sorted(by_query.items(), key=lambda kv: -statistics.median(kv[1]))[:5]
    return {
        "scenario": name,
        "queries": len(times),
        "queries_per_s": round(len(times) / wall, 1),
        "p50_ms": round(_percentile(times, 50) * 1000, 2),
        "p90_ms": round(_percentile(times, 90) * 1000, 2),
        "p99_ms": round(_percentile(times, 99) * 1000, 2),
        "mean_ms": round(statistics.fmean(times) * 1000, 2),
        "slowest_median_ms": {q: round(statistics.median(t) * 1000, 2) for q, t in slowest},
    }


def run(args, tmp: Path) -> dict:
    result = {"machine": machine(), "settings": {"rounds": args.rounds}, "notes": {}, "scenarios": []}
    m = result["machine"]
    print(
        f"Machine: {m['cpu']}, {m['cpus']} CPUs ({m['cpus_usable']} usable), {m['memory_mib']} MiB, load average at "
        f"start {' '.join(str(x) for x in m['loadavg_start'])} (a shared machine: other work may run meanwhile)",
        flush=True,
    )
    database_url = args.database_url or f"sqlite:///{tmp / 'search.sqlite3'}"
    result["settings"]["database"] = "postgresql" if database_url.startswith("postgres") else "sqlite"
    isolate(tmp, "http://127.0.0.1:9", database_url, {"TUNGBAN_ALLOWED_HOSTS": "testserver"})
    import django

    django.setup()
    from django.db import connection, transaction
    from django.test import Client

    from tungban.search import services
    from tungban.search.tests import corpus
    from tungban.testing.migrated import migrate_database

    t0 = time.perf_counter()
    migrate_database()  # from a copy when TUNGBAN_MIGRATED_CACHE is set (the tiny runs)
    result["notes"]["migrate_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    with transaction.atomic():
        counts = corpus.build()
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:  # statistics, or the planner may skip the GIN index
            cur.execute("ANALYZE search_searchdocument")
    result["notes"]["seed_s"] = round(time.perf_counter() - t0, 2)
    result["corpus"] = counts
    print(f"Corpus: {counts} (seeded in {result['notes']['seed_s']} s)", flush=True)

    queries = [q for q, _kind, _ref in corpus.QUERIES]
    found = 0
    for q, kind, ref in corpus.QUERIES:
        language = "zh" if any("\u3400" <= ch <= "\u9fff" for ch in q) else "en"
        found += (kind, ref) in [(h.kind, h.ref) for h in services.query(q, language=language, rows=3).hits]
    result["precision_at_3"] = round(found / len(corpus.QUERIES), 3)

    result["scenarios"].append(_scenario("service", lambda q: services.query(q, rows=10), queries, args.rounds))
    client = Client(HTTP_HOST="testserver")

    def api(q):
        resp = client.get("/api/v1/search/", {"q": q})
        if resp.status_code != 200:
            raise RuntimeError(f"{q!r}: {resp.status_code} {resp.content[:200]!r}")

    result["scenarios"].append(_scenario("api (test client)", api, queries, args.rounds))
    result["machine"]["loadavg_end"] = list(os.getloadavg())
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    with scratch_dir("tungban-bench-search-", args.keep) as tmp:
        result = run(args, tmp)
    result["wall_seconds"] = round(time.perf_counter() - started, 2)
    print_table(
        ("scenario", "queries", "queries/s", "p50 ms", "p90 ms", "p99 ms"),
        [
            (
                s["scenario"],
                str(s["queries"]),
                f"{s['queries_per_s']:.1f}",
                f"{s['p50_ms']:.2f}",
                f"{s['p90_ms']:.2f}",
                f"{s['p99_ms']:.2f}",
            )
            for s in result["scenarios"]
        ],
    )
    for s in result["scenarios"]:
        print(f"{s['scenario']}: slowest queries (median ms): {s['slowest_median_ms']}")
    print(f"precision@3 of the query set: {result['precision_at_3']}")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in result['machine']['loadavg_end'])}")
    name = f"search-{dt.date.today().isoformat()}-{result['settings']['database']}{'-quick' if args.quick else ''}"
    out = args.output or RESULTS / f"{name}.json"
    print(f"Results: {write_results(result, out)} (wall time {result['wall_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
