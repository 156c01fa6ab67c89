#!/usr/bin/env python
"""Benchmark of the transparency log (RFC 9162 Merkle tree, ``tungban.ledger``) on this machine.

Run from the checkout::

    .venv/bin/python bench/transparency.py            # 10^4, 10^5, 10^6 leaves (about 2-3 minutes)
    .venv/bin/python bench/transparency.py --quick    # 10^3, 10^4 leaves (seconds)
    .venv/bin/python bench/transparency.py --sizes 1000,50000 --proofs 200

It builds an isolated platform in a temporary directory (its own ``TUNGBAN_VAR_DIR``,
SQLite database and secret key; nothing under ``var/`` is touched) and grows one log
through the sizes asked, in order: the leaves up to each size are appended with
``ledger.transparency.log_append_many`` in transactions of ``--batch`` (10,000) credential-like
entries (bulk append throughput is timed on that growth), then, at exactly that size:

* inclusion proofs: ``services.inclusion_proof(i, size)`` for ``--proofs`` (1000) random
  leaves (median, p99, max in ms);
* consistency proofs: ``services.consistency_proof(m, size)`` for ``--proofs / 5`` random
  earlier sizes m;
* the root of the whole tree (``services.tree_root``) and the signed tree head;
* single appends: ``--single`` (200) ``services.log_append`` calls, each in its own
  transaction and commit with a signed tree head, as one issuance does;
* ``services.verify_log`` over the whole log (every leaf rehashed from its body, every
  node, every signed head and its signature), unless ``--no-verify``.

Untimed, a sample of the proofs (50 of each) is checked with the independent verifier
``examples/log_verifier.py`` against the signed root. Printed as a table; with a full run
written to ``bench/results/transparency-<date>.json`` (``--output`` to choose; a ``--quick``
run writes only with ``--output``).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import platform
import random
import secrets
import statistics
import sys
import time
from pathlib import Path

from machine import (  # bench/machine.py (this directory is on sys.path)
    cpu_model,
    package_versions,
    scratch_dir,
    write_results,
)
from machine import print_table as aligned_table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

FULL = {"sizes": "10000,100000,1000000", "proofs": 1000, "single": 200}
QUICK = {"sizes": "1000,10000", "proofs": 200, "single": 50}
HEADER = (
    "Leaves",
    "Bulk append/s",
    "Single append/s",
    "Incl. median ms",
    "Incl. p99 ms",
    "Incl. max ms",
    "Cons. median ms",
    "Cons. p99 ms",
    "Root ms",
    "Verify s",
    "Nodes",
    "DB MiB",
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="10^3 and 10^4 leaves, 200 proofs (seconds)")
    p.add_argument(
        "--sizes", help="comma-separated log sizes, increasing (default 10000,100000,1000000; 1000,10000 with --quick)"
    )
    p.add_argument(
        "--proofs",
        type=int,
        help="inclusion proofs timed per size (default 1000; 200 with --quick); consistency proofs: a fifth of it",
    )
    p.add_argument("--single", type=int, help="single appends timed per size (default 200; 50 with --quick)")
    p.add_argument(
        "--batch",
        type=int,
        default=10000,
        help="entries per bulk append transaction while growing the log (default %(default)s)",
    )
    p.add_argument("--no-verify", action="store_true", help="skip services.verify_log at each size")
    p.add_argument("--seed", type=int, default=9162, help="random seed for the leaves proved (default %(default)s)")
    p.add_argument(
        "--output", type=Path, help="JSON results file (default bench/results/transparency-<date>.json for a full run)"
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (printed at the end)")
    args = p.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for name in ("sizes", "proofs", "single"):
        if getattr(args, name) is None:
            setattr(args, name, preset[name])
    try:
        args.size_list = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    except ValueError:
        p.error("--sizes must be integers separated by commas, e.g. 10000,100000")
    if not args.size_list or min(args.size_list) < 2 or args.size_list != sorted(set(args.size_list)):
        p.error("--sizes must be increasing, each at least 2")
    if args.proofs < 1 or args.single < 0 or args.batch < 1:
        p.error("--proofs and --batch must be positive, --single not negative")
    return args


def isolate(tmp: Path) -> None:
    """Point the platform at ``tmp`` before Django reads its settings."""
    os.environ["TUNGBAN_VAR_DIR"] = str(tmp)
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["TUNGBAN_SECRET_KEY"] = secrets.token_urlsafe(50)
    os.environ["TUNGBAN_KEYSTORE"] = "software"
    os.environ["TUNGBAN_ISSUER"] = "http://localhost:8000"
    os.environ.setdefault("TUNGBAN_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "tungban.settings"
    for path in (ROOT, ROOT / "src"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def machine() -> dict:
    try:
        mem = next(
            int(line.split()[1]) // 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration, ValueError):
        mem = None
    return {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "memory_mib": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


def versions() -> dict:
    out = package_versions(("Django", "pymerkle", "joserfc", "cryptography"))
    import sqlite3

    out["sqlite"] = sqlite3.sqlite_version
    return out


def stats_ms(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    n = len(ordered)
    return {
        "count": n,
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(n - 1, max(0, -(-99 * n // 100) - 1))] * 1000, 3),  # nearest rank
        "max_ms": round(ordered[-1] * 1000, 3),
        "mean_ms": round(sum(ordered) / n * 1000, 3),
    }


def entry(i: int) -> tuple[str, str, dict]:
    """A credential-issuance-like entry (what the credentials app logs), about 250 bytes."""
    return (
        "credential.issued",
        f"{i:064x}",
        {
            "issuer": "swd",
            "type": "hk.gov.swd.senior-citizen-card.v1",
            "status_list": f"http://localhost:8000/credentials/status/{i // 100000}",
            "status_index": i % 100000,
            "nbf": 1795000000,
            "exp": None,
        },
    )


def grow(target: int, batch: int) -> tuple[int, float]:
    """Append entries until the log has ``target`` leaves; returns (leaves added, seconds)."""
    from django.db import transaction

    from tungban.ledger import transparency as ledger

    size = ledger.signed_tree_head()["tree_size"]
    added, t0 = 0, time.perf_counter()
    while size < target:
        n = min(batch, target - size)
        with transaction.atomic():
            ledger.log_append_many([entry(i) for i in range(size, size + n)])
        size += n
        added += n
    return added, time.perf_counter() - t0


def measure(size: int, args, rng: random.Random, bulk: tuple[int, float]) -> dict:
    from django.db import transaction

    from examples import log_verifier as rfc
    from tungban.ledger import audit
    from tungban.ledger import transparency as ledger
    from tungban.ledger.models import LogNode

    head = ledger.signed_tree_head()
    assert head["tree_size"] == size, head
    root = base64.b64decode(head["root_hash"])
    out = {
        "leaves": size,
        "bulk": {
            "leaves": bulk[0],
            "seconds": round(bulk[1], 2),
            "per_second": round(bulk[0] / bulk[1]) if bulk[1] else None,
        },
    }

    leaves = [rng.randrange(size) for _ in range(args.proofs)]
    latencies, proofs = [], []
    for i in leaves:
        t0 = time.perf_counter()
        proofs.append(ledger.inclusion_proof(i, size))
        latencies.append(time.perf_counter() - t0)
    out["inclusion"] = stats_ms(latencies)
    out["inclusion"]["path_length_max"] = max(len(p["inclusion_path"]) for p in proofs)
    out["inclusion"]["verified_sample"] = all(
        rfc.verify_inclusion(
            base64.b64decode(p["leaf_hash"]),
            p["leaf_index"],
            size,
            [base64.b64decode(h) for h in p["inclusion_path"]],
            root,
        )
        for p in proofs[:50]
    )

    firsts = [rng.randrange(1, size) for _ in range(max(1, args.proofs // 5))]
    latencies, cproofs = [], []
    for m in firsts:
        t0 = time.perf_counter()
        cproofs.append(ledger.consistency_proof(m, size))
        latencies.append(time.perf_counter() - t0)
    out["consistency"] = stats_ms(latencies)
    out["consistency"]["verified_sample"] = all(
        rfc.verify_consistency(
            p["first"], size, ledger.tree_root(p["first"]), root, [base64.b64decode(h) for h in p["consistency_path"]]
        )
        for p in cproofs[:50]
    )

    t0 = time.perf_counter()
    recomputed = ledger.tree_root(size)
    out["root_ms"] = round((time.perf_counter() - t0) * 1000, 3)
    out["root_matches_signed_head"] = recomputed == root
    out["nodes"] = LogNode.objects.count()
    db = Path(os.environ["TUNGBAN_VAR_DIR"]) / "bench.sqlite3"
    out["db_mib"] = round(sum(p.stat().st_size for p in db.parent.glob(db.name + "*")) / 2**20, 1)

    if not args.no_verify:
        t0 = time.perf_counter()
        report = audit.verify_log(expect=(size, root))
        out["verify"] = {
            "seconds": round(time.perf_counter() - t0, 2),
            "ok": report.ok,
            "heads": report.heads,
            "problems": report.problems[:5],
        }

    if args.single:
        t0 = time.perf_counter()
        for i in range(size, size + args.single):
            with transaction.atomic():
                ledger.log_append(*entry(i))
        seconds = time.perf_counter() - t0
        out["single"] = {
            "leaves": args.single,
            "seconds": round(seconds, 3),
            "per_second": round(args.single / seconds, 1),
            "mean_ms": round(seconds / args.single * 1000, 2),
        }
    return out


def print_table(rows: list[dict]) -> None:
    lines = []
    for r in rows:
        v = r.get("verify")
        lines.append(
            (
                f"{r['leaves']:,}",
                f"{r['bulk']['per_second']:,}" if r["bulk"]["per_second"] else "-",
                f"{r['single']['per_second']:,.0f}" if r.get("single") else "-",
                f"{r['inclusion']['median_ms']:.2f}",
                f"{r['inclusion']['p99_ms']:.2f}",
                f"{r['inclusion']['max_ms']:.2f}",
                f"{r['consistency']['median_ms']:.2f}",
                f"{r['consistency']['p99_ms']:.2f}",
                f"{r['root_ms']:.2f}",
                f"{v['seconds']:.1f}{'' if v['ok'] else ' FAIL'}" if v else "-",
                f"{r['nodes']:,}",
                f"{r['db_mib']:.0f}",
            )
        )
    aligned_table(HEADER, lines, first_left=False)


def run(args) -> dict:
    import django

    django.setup()
    from tungban.testing.migrated import migrate_database

    t0 = time.perf_counter()
    migrate_database()  # from a copy when TUNGBAN_MIGRATED_CACHE is set (the tiny runs)
    migrate_s = round(time.perf_counter() - t0, 2)
    rng = random.Random(args.seed)
    result = {
        "benchmark": "transparency",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "versions": versions(),
        "database": "sqlite (temporary file)",
        "settings": {
            "sizes": args.size_list,
            "proofs": args.proofs,
            "consistency_proofs": max(1, args.proofs // 5),
            "single": args.single,
            "batch": args.batch,
            "seed": args.seed,
        },
        "notes": {"migrate_s": migrate_s},
        "sizes": [],
    }
    for size in args.size_list:
        print(f"Growing the log to {size:,} leaves ...", flush=True)
        bulk = grow(size, args.batch)
        print(f"  {bulk[0]:,} leaves in {bulk[1]:.1f} s; measuring ...", flush=True)
        result["sizes"].append(measure(size, args, rng, bulk))
    result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    with scratch_dir("tungban-bench-transparency-", args.keep) as tmp:
        isolate(tmp)
        result = run(args)
    result["wall_seconds"] = round(time.perf_counter() - started, 2)
    m = result["machine"]
    print()
    print(
        f"tungban transparency log benchmark — {result['date']} — {m['cpu']} ({m['cpus']} CPUs), Python {m['python']}, "
        f"SQLite {result['versions']['sqlite']}, pymerkle {result['versions']['pymerkle']} — load average "
        f"{' '.join(str(x) for x in m['loadavg_start'])} at start, {' '.join(str(x) for x in result['loadavg_end'])} at end"
        f"{' — quick' if args.quick else ''}"
    )
    print(
        f"{args.proofs} inclusion proofs (random leaves) and {max(1, args.proofs // 5)} consistency proofs (random first size) "
        f"against the whole tree per size; bulk appends in transactions of {args.batch:,}; {args.single} single appends, one transaction each"
    )
    print()
    print_table(result["sizes"])
    checks = {
        f"{r['leaves']}": {
            "inclusion": r["inclusion"]["verified_sample"],
            "consistency": r["consistency"]["verified_sample"],
            "root": r["root_matches_signed_head"],
            **({"verify_log": r["verify"]["ok"]} if r.get("verify") else {}),
        }
        for r in result["sizes"]
    }
    result["notes"]["checks"] = checks
    print()
    print(f"Checks (proof samples verified by examples/log_verifier.py against the signed root; verify_log): {checks}")
    print(f"Wall time {result['wall_seconds']} s (migrate {result['notes']['migrate_s']} s)")
    out = args.output or (None if args.quick else RESULTS / f"transparency-{dt.date.today().isoformat()}.json")
    if out:
        print(f"Results: {write_results(result, out)}")
    ok = all(all(c.values()) for c in checks.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
