#!/usr/bin/env python
"""The exchange lane's saving, A/B in one process (issue 15 acceptance 4, fourth round):
CPU time per delivered exchange (``POST /api/v1/exchange/requests``) answered by the front's
lane (:mod:`tungban.exchange.lane`) against the same request answered by the full Django stack
(every middleware, django-ninja, the idempotency decorator), interleaved in blocks so the
machine's load falls on both alike.

Run from the checkout::

    DATABASE_URL=postgres://postgres@127.0.0.1:54329/bench PYTHONPATH=src \\
        .venv/bin/python bench/exchange_lane_cpu.py --blocks 20 --per-block 20

Same set-up as ``bench/exchange_cpu.py`` (a throw-away database, the bundled catalogue, one
data user, the provider's HTTP answer given in-process). A: ``tungban.wsgi.application`` (the
front: the lane answers); B: the Django application behind it (the full stack). It prints, for
each, the median over blocks of this process's CPU (``time.process_time()``) per exchange and,
on PostgreSQL, of the connection's backend CPU (``/proc/<pid>/schedstat``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from exchange_cpu import ADDRESS, _seed, exchanger  # noqa: E402
from inprocess import backend_cpu_ns, backend_pid, throwaway_database  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tungban.settings")


def measure(blocks: int, per_block: int, consents: int) -> dict:
    from django.db import connection

    from tungban.exchange import adapter
    from tungban.wsgi import application

    answer = json.dumps({"data": ADDRESS}).encode()
    adapter._post = lambda url, token, timeout, limit: (200, answer)
    token, ids = _seed(consents)
    apps = {"lane": application, "full stack": application.application}
    one = exchanger(token, ids)

    for app in apps.values():
        for _ in range(10):
            one(app)
    connection.settings_dict["CONN_MAX_AGE"] = None  # one backend for the whole run, to read its CPU
    connection.close_at = None
    backend = backend_pid(connection)
    cpu = {name: [] for name in apps}
    pg = {name: [] for name in apps}
    for _ in range(blocks):
        for name, app in apps.items():
            started, backend_started = time.process_time(), backend_cpu_ns(backend)
            for _ in range(per_block):
                one(app)
            cpu[name].append((time.process_time() - started) / per_block * 1e6)
            pg[name].append((backend_cpu_ns(backend) - backend_started) / per_block / 1e3)
    return {
        name: {"cpu_us": statistics.median(cpu[name]), "pg_us": statistics.median(pg[name]) if backend else None}
        for name in apps
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--blocks", type=int, default=20, help="blocks of each (default 20)")
    p.add_argument("--per-block", type=int, default=20, help="exchanges per block (default 20)")
    p.add_argument("--consents", type=int, default=20, help="consents gone round (default 20)")
    args = p.parse_args(argv)
    import django

    django.setup()
    from django.db import connection

    with throwaway_database("exchange_lane_cpu"):
        result = measure(args.blocks, args.per_block, args.consents)
    print(f"database: {connection.vendor}, {args.blocks} blocks of {args.per_block} exchanges each, interleaved")
    for name, figures in result.items():
        line = f"  {name:>10}: {figures['cpu_us']:.0f} µs CPU per exchange (median of blocks)"
        if figures["pg_us"] is not None:
            line += f", PostgreSQL backend {figures['pg_us']:.0f} µs"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
