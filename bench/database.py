#!/usr/bin/env python
"""PostgreSQL connection settings compared per query (issue 15 item 1): the client's CPU and
the PostgreSQL backend's CPU for the platform's typical hot statements, under each way of
connecting Django to PostgreSQL.

Run from the checkout (a PostgreSQL server reachable as a superuser; a database of its own is
created and dropped)::

    .venv/bin/python bench/database.py --server postgres://postgres@127.0.0.1:54329 --requests 5000

Each configuration runs in a fresh process with the platform's own settings, chosen by the
environment variables an operator would set (``docs/operations.md``):

- ``persistent``: ``CONN_MAX_AGE`` persistent connections, health-checked (``SELECT 1``) at
  each request's first query (the platform before issue 15);
- ``pool``: Django's psycopg pool (``TUNGBAN_DB_POOL=1``), no check on lending;
- ``pool+check``: the pool checking each connection it lends (``TUNGBAN_DB_POOL_CHECK=1``);
- ``persistent+prepared`` / ``pool+prepared``: server-side binding with psycopg's prepared
  statements (``TUNGBAN_DB_PREPARE_THRESHOLD=1``);
- ``pool+check+prepared``: the platform's default on PostgreSQL (pool checking each
  connection it lends, prepared after 5 executions).

A "request" is Django's request cycle around the statement (``request_started``, the work,
``request_finished``: what returns a pooled connection or checks a persistent one). Scenarios:

- ``token``: an access token looked up by digest with its client and resident
  (``select_related``: the userinfo / token introspection read);
- ``insert``: one row inserted and committed (``UsedDPoPProof``: a replay record);
- ``ratelimit``: one attempt counted by the rate limiter (:func:`tungban.core.ratelimit.count`).

Figures: client CPU (``time.process_time``) and PostgreSQL CPU (the backends' on-CPU time,
``/proc/<pid>/schedstat``, the server on this machine) per request, in microseconds, and the
statements Django sends per request (``connection.execute_wrapper``; a persistent connection's
health check, ``SELECT 1`` through psycopg directly, is not among them). Neither
depends much on the machine's load; wall time does and is not printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "tungban-bench-database"
CONFIGS = {
    "persistent": {"TUNGBAN_DB_POOL": "0", "TUNGBAN_DB_PREPARE_THRESHOLD": "off"},
    "pool": {"TUNGBAN_DB_POOL": "1", "TUNGBAN_DB_POOL_CHECK": "0", "TUNGBAN_DB_PREPARE_THRESHOLD": "off"},
    "pool+check": {"TUNGBAN_DB_POOL": "1", "TUNGBAN_DB_POOL_CHECK": "1", "TUNGBAN_DB_PREPARE_THRESHOLD": "off"},
    "persistent+prepared": {"TUNGBAN_DB_POOL": "0", "TUNGBAN_DB_PREPARE_THRESHOLD": "1"},
    "pool+prepared": {"TUNGBAN_DB_POOL": "1", "TUNGBAN_DB_POOL_CHECK": "0", "TUNGBAN_DB_PREPARE_THRESHOLD": "1"},
    "pool+check+prepared": {"TUNGBAN_DB_POOL": "1", "TUNGBAN_DB_POOL_CHECK": "1", "TUNGBAN_DB_PREPARE_THRESHOLD": "5"},
}
SCENARIOS = ("token", "insert", "ratelimit")
TOKENS = 200


def _backend_cpu_ns(monitor, pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def _our_backends(monitor) -> list[int]:
    return [
        row[0]
        for row in monitor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND pid <> pg_backend_pid()", [APP_NAME]
        )
    ]


def child(config: str, requests: int, monitor_url: str, scenarios: tuple[str, ...] = SCENARIOS) -> dict:
    """One configuration, in this process (settings from the environment)."""
    import django

    django.setup()
    import psycopg
    from django.conf import settings
    from django.core.signals import request_finished, request_started
    from django.db import connection, transaction
    from django.utils import timezone

    from tungban.core import ratelimit
    from tungban.oidc.models import Client, Token, UsedDPoPProof, access_token_digest
    from tungban.testing.factories import make_client

    client = Client.objects.filter(client_id="bench-db").first() or make_client("bench-db")[0]
    if not Token.objects.filter(client=client).exists():
        Token.objects.bulk_create(
            Token(
                access_token=access_token_digest(f"token-{i}"),
                client=client,
                scope="openid",
                issued_at=int(time.time()),
                expires_in=3600,
            )
            for i in range(TOKENS)
        )
    digests = [access_token_digest(f"token-{i}") for i in range(TOKENS)]
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "token": "1000000000/h"}
    counter = iter(range(10**9))

    def token():
        digest = digests[next(counter) % TOKENS]
        Token.objects.select_related("client", "resident").filter(access_token=digest).first()

    def insert():
        with transaction.atomic():
            UsedDPoPProof.objects.create(jti=uuid.uuid4().hex, expires_at=timezone.now())

    def count():
        ratelimit.count("token", f"198.51.100.{next(counter) % 200}")

    work = {"token": token, "insert": insert, "ratelimit": count}
    results = {}
    with psycopg.connect(monitor_url, autocommit=True) as monitor:
        for scenario in scenarios:
            run = work[scenario]
            for _ in range(max(200, requests // 10)):  # warm up: connections open, statements prepared
                request_started.send(sender=None)
                run()
                request_finished.send(sender=None)
            queries = []  # statements Django sends (request_started empties its query log)
            with connection.execute_wrapper(
                lambda execute, sql, *rest, log=queries: log.append(sql) or execute(sql, *rest)
            ):
                request_started.send(sender=None)
                run()
                request_finished.send(sender=None)
            pids = _our_backends(monitor)
            server0, client0 = _backend_cpu_ns(monitor, pids), time.process_time()
            for _ in range(requests):
                request_started.send(sender=None)
                run()
                request_finished.send(sender=None)
            client1, server1 = time.process_time(), _backend_cpu_ns(monitor, pids)
            if sorted(_our_backends(monitor)) != sorted(pids):
                results[scenario] = {"error": "backends changed during the run"}
                continue
            results[scenario] = {
                "client_us": round((client1 - client0) / requests * 1e6, 1),
                "server_us": round((server1 - server0) / requests / 1e3, 1),
                "queries": len(queries),
                "backends": len(pids),
            }
    return {"config": config, "requests": requests, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:54329", help="a superuser URL, no database")
    parser.add_argument("--requests", type=int, default=5000, help="requests per scenario and configuration")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated, of: " + ", ".join(CONFIGS))
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated, of: " + ", ".join(SCENARIOS))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    server = args.server.rstrip("/")
    if args.child:
        scenarios = tuple(args.scenarios.split(","))
        print(json.dumps(child(args.child, args.requests, os.environ["BENCH_MONITOR_URL"], scenarios)))
        return

    import psycopg

    name = f"tungban_bench_database_{os.getpid()}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory(prefix="tungban-bench-db-") as var:
            env = {
                **os.environ,
                "PYTHONPATH": str(ROOT / "src"),
                "DJANGO_SETTINGS_MODULE": "tungban.settings",
                "TUNGBAN_VAR_DIR": var,
                "DATABASE_URL": f"{server}/{name}?application_name={APP_NAME}",
                "BENCH_MONITOR_URL": f"{server}/{name}",
                "TUNGBAN_DB_CONN_MAX_AGE": "600",  # no reconnect during a run
            }
            subprocess.run(
                [sys.executable, "-m", "django", "migrate", "-v", "0"],
                env={**env, **CONFIGS["persistent"]},
                check=True,
                cwd=ROOT,
            )
            rows = []
            for config in args.configs.split(","):
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        config,
                        "--requests",
                        str(args.requests),
                        "--scenarios",
                        args.scenarios,
                    ],
                    env={**env, **CONFIGS[config]},
                    check=True,
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                )
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    scenarios = args.scenarios.split(",")
    print(f"{'configuration':<22}" + "".join(f"{s + ' client/server µs':>30}" for s in scenarios))
    for row in rows:
        cells = []
        for scenario in scenarios:
            r = row["results"][scenario]
            cell = r.get("error") or f"{r['client_us']:>8} / {r['server_us']:<7} ({r['queries']}q)"
            cells.append(f"{cell:>30}")
        print(f"{row['config']:<22}" + "".join(cells))
    print(f"({args.requests} requests per cell; CPU per request in microseconds: Python client / PostgreSQL backend)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
