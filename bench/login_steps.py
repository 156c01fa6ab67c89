#!/usr/bin/env python
"""CPU time and SQL queries per step of a complete login, in-process (issue 15 acceptance 2).

Independent of the machine's load (unlike ``bench/oidc.py``'s logins per second): each step
of :mod:`tungban.testing.login_steps` (authorize page, the app's read of the request, its
signed approval, the browser's completion, token, userinfo) goes through Django's full
request handling in this process (``django.test.Client``: the WSGI handler, every
middleware, the hot paths), on PostgreSQL. The device proofs and decisions are signed before
each step is timed. Run from the checkout::

    DATABASE_URL=postgres://postgres@127.0.0.1:54329/NAME .venv/bin/python bench/login_steps.py --logins 200
    ... --residents 3300000    # seed up to that many residents first (COPY), then measure
    ... --explain              # EXPLAIN of each distinct query of a login, to check index use

The database is migrated and gets a relying party, residents and devices; it is not emptied.
Printed per step: CPU µs per call (mean and median over ``--logins``, after ``--warmup``
logins), queries per call, and the PostgreSQL backend's CPU µs per call (mean;
``/proc/<pid>/schedstat`` of the connection's server process: PostgreSQL on this machine,
readable by this user; 0 otherwise).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from inprocess import backend_cpu_ns, backend_pid  # bench/inprocess.py (the script's directory is on sys.path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--logins", type=int, default=100)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--residents", type=int, default=0, help="seed residents up to this many first")
    p.add_argument("--explain", action="store_true", help="EXPLAIN each distinct query of one login")
    p.add_argument("--profile", metavar="STEP", help="cProfile that step over the logins; print the top 40")
    p.add_argument("--sort", default="cumulative", help="cProfile order (cumulative, tottime, ...)")
    args = p.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL database")
    root = Path(__file__).resolve().parent.parent
    for path in (root / "src", root):
        sys.path.insert(0, str(path))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tungban.settings")
    os.environ.setdefault("TUNGBAN_DEBUG", "0")
    os.environ.setdefault("TUNGBAN_KEYSTORE", "software")
    os.environ.setdefault("TUNGBAN_LOG_LEVEL", "ERROR")
    os.environ.setdefault("TUNGBAN_RATELIMIT_TOKEN", "1000000000/m")
    import django

    django.setup()
    from django.db import connection

    from tungban.identity.models import Resident
    from tungban.identity.seeding import seed_residents
    from tungban.testing.login_steps import STEPS, LoginSteps, StepMeter, setup_login
    from tungban.testing.migrated import migrate_database

    migrate_database()  # from a copy when TUNGBAN_MIGRATED_CACHE is set (the tiny runs)
    client_id = f"steps-{os.getpid()}"
    cid, secret, devices = setup_login(client_id, residents=8)
    have = Resident.objects.count()
    if args.residents > have:
        t0 = time.perf_counter()
        seeded = seed_residents(args.residents - have)
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
        print(f"seeded {seeded.count:,} residents in {time.perf_counter() - t0:.1f} s ({seeded.rate:,.0f}/s)")
    print(f"{Resident.objects.count():,} residents")

    meter = StepMeter()
    drivers = [LoginSteps(cid, secret, d, measure=meter) for d in devices]
    for i in range(args.warmup):
        drivers[i % len(drivers)].login()
    drivers[0].login()  # one login's queries
    queries = {s: meter.queries[s][-1] for s in STEPS}
    if args.explain:
        explain(queries)

    cpu: dict[str, list[float]] = {s: [] for s in STEPS}

    from contextlib import contextmanager

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU time: waits on the database do not count

    pg: dict[str, list[float]] = {s: [] for s in STEPS}

    @contextmanager
    def timed(step):
        pid = backend_pid(connection)
        before = backend_cpu_ns(pid)  # read outside the step's own CPU time
        if profiler and step == args.profile:
            profiler.enable()
        t0 = time.process_time()
        yield
        cpu[step].append(time.process_time() - t0)
        if profiler and step == args.profile:
            profiler.disable()
        if pid is not None and pid == backend_pid(connection):
            pg[step].append((backend_cpu_ns(pid) - before) / 1e9)

    for d in drivers:
        d.measure = timed
    for i in range(args.logins):
        drivers[i % len(drivers)].login()
    print(f"{'step':<12} {'CPU µs mean':>12} {'median':>8} {'queries':>8} {'PG µs mean':>11}")
    total = pg_total = 0.0
    for s in STEPS:
        mean = statistics.fmean(cpu[s]) * 1e6
        pg_mean = statistics.fmean(pg[s]) * 1e6 if pg[s] else 0.0
        total += mean
        pg_total += pg_mean
        print(f"{s:<12} {mean:>12,.0f} {statistics.median(cpu[s]) * 1e6:>8,.0f} {len(queries[s]):>8} {pg_mean:>11,.0f}")
    print(f"{'login':<12} {total:>12,.0f} {'':>8} {sum(len(q) for q in queries.values()):>8} {pg_total:>11,.0f}")
    if profiler:
        import pstats

        pstats.Stats(profiler).sort_stats(args.sort).print_stats(40)


def explain(queries: dict[str, list[str]]) -> None:
    """EXPLAIN each query (with its literal parameters, as Django logged it) of one login."""
    from django.db import connection

    seen = set()
    for step, sqls in queries.items():
        for sql in sqls:
            head = sql.split()[0].upper()
            if head not in ("SELECT", "UPDATE", "DELETE", "INSERT") or sql in seen:
                continue
            seen.add(sql)
            with connection.cursor() as cur:
                cur.execute("EXPLAIN " + sql)
                plan = [r[0] for r in cur.fetchall()]
            print(f"[{step}] {sql[:160]}")
            for line in plan:
                print("      " + line)


if __name__ == "__main__":
    main()
