#!/usr/bin/env python
"""CPU time and SQL statements per request of ``/oidc/userinfo`` and ``/oidc/formdata``,
in-process (issue 15): the lane (``tungban.oidc.fastrelease`` answered by the front before
Django, ``tungban.core.front``: what a WSGI server runs), the hot path (the same answer behind
Django's handler, ``tungban.core.hotpaths``: what ASGI runs) and the reference path (the URL
conf's view: Authlib's resource protector and ``oidc.services.release``), on the
database of ``DATABASE_URL`` (SQLite by default), independent of the machine's load.

Run from the checkout::

    PYTHONPATH=src .venv/bin/python bench/userinfo_cpu.py                   # SQLite, 2,000 requests each
    DATABASE_URL=postgres://postgres@127.0.0.1:54329/bench PYTHONPATH=src \\
        .venv/bin/python bench/userinfo_cpu.py --requests 5000              # PostgreSQL

It creates a throw-away test database (``test_<name>``, or a temporary SQLite file), seeds one
resident with every e-ME field, one client and one access token as a login leaves them (its
code's approval, the pairwise ``sub``), then sends the same ``GET`` with ``Authorization:
Bearer`` through ``tungban.wsgi.application`` (the whole middleware stack, as a WSGI server
calls it) ``--requests`` times per mode and endpoint, and prints ``time.process_time()`` per
request (this process's CPU: Python, the driver; not the database server's) and the SQL
statements of one request on a connection opened by an earlier one: on PostgreSQL every round
trip on the wire (:mod:`tungban.testing.pgwire`, taken apart from the timed loops: the
``CONN_HEALTH_CHECKS`` ``SELECT 1``, BEGIN/COMMIT included); on SQLite the statements Django
executes (``connection.execute_wrapper``; not the connection's set-up, e.g. ``PRAGMA``).
``USERINFO_CPU_SQL=1`` prints them. On PostgreSQL also the backend's CPU per request
(``/proc/<pid>/schedstat`` of this connection's server process: PostgreSQL on this machine).
Every request records a release, as in production. ``--against JSON``: instead, the lane's
userinfo with this checkout's statement and with another checkout's (``bench/pg_writes.py
dump-userinfo``), alternated in this process (:func:`against`; issue 15, fifth round).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from inprocess import backend_cpu_ns, backend_pid, throwaway_database, wsgi_environ  # noqa: E402 - bench/inprocess.py

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tungban.settings")

SCOPE = "openid profile hkid address billing_address phone email"
CLAIMS = ["name", "name#zh-Hant", "hkid", "gender", "birthdate", "address", "billing_address", "phone_number", "email"]
PATHS = ("/oidc/userinfo", "/oidc/formdata")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=2000, help="requests per mode and endpoint (default 2000)")
    p.add_argument("--warmup", type=int, default=100, help="requests before measuring (default 100)")
    p.add_argument(
        "--against",
        metavar="JSON",
        help="instead: the lane's userinfo with this checkout's statement and, interleaved in this "
        "process, with the one in JSON (bench/pg_writes.py dump-userinfo of another checkout; PostgreSQL)",
    )
    return p


def against(path: str, n: int, warmup: int, rounds: int = 12) -> dict:
    """Whole lane userinfo requests (``tungban.wsgi.application``) with this checkout's
    statement (``oidc.fastrelease.statement``) and with another's (``path``: JSON of
    ``bench/pg_writes.py dump-userinfo``; it must run on this checkout's schema), alternated
    in ``rounds`` in this process: ``{side: (client CPU µs, PostgreSQL µs)}``, medians per
    request (issue 15, fifth round)."""
    import json
    import statistics

    from django.conf import settings
    from django.db import connection

    from tungban.oidc import fastrelease
    from tungban.wsgi import application

    dumped = json.loads(Path(path).read_text())
    token = _seed()
    host = settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS and settings.ALLOWED_HOSTS[0] != "*" else "localhost"
    environ = _environ("/oidc/userinfo", token, host)
    mine = fastrelease.statement
    sides = {"A": lambda *a: (dumped["sql"], dumped["params"]), "this": mine}
    found = {side: ([], []) for side in sides}
    try:
        for statement in sides.values():
            fastrelease.statement = statement
            for _ in range(warmup):
                _call(application, environ)
        per = max(1, n // rounds)
        for r in range(rounds):
            for side in sorted(sides, reverse=r % 2 == 1):
                fastrelease.statement = sides[side]
                _call(application, environ)
                pid = backend_pid(connection)
                backend, started = backend_cpu_ns(pid), time.process_time()
                for _ in range(per):
                    _call(application, environ)
                found[side][0].append((time.process_time() - started) / per * 1e6)
                found[side][1].append((backend_cpu_ns(pid) - backend) / per / 1e3)
    finally:
        fastrelease.statement = mine
    return {side: (statistics.median(c), statistics.median(b)) for side, (c, b) in found.items()}


def _seed():
    from django.utils import timezone

    from tungban.oidc.models import AuthorizationCode, Token, access_token_digest
    from tungban.oidc.services import pairwise_sub
    from tungban.testing.factories import make_client, make_officer, make_resident
    from tungban.wallet.models import ApprovalRequest

    resident = make_resident(make_officer())
    client = make_client(
        "bench-userinfo",
        "https://rp-bench.example/cb",
        allowed_scopes=["openid", "profile", "hkid", "address", "billing_address", "phone", "email"],
    )[0]
    approval = ApprovalRequest.objects.create(
        kind="login", nonce="bench", resident=resident, expires_at=timezone.now() + dt.timedelta(minutes=5)
    )
    code = AuthorizationCode.objects.create(
        code="bench-code",
        client=client,
        resident=resident,
        approval=approval,
        redirect_uri="https://rp-bench.example/cb",
        scope=SCOPE,
        claims=CLAIMS,
        auth_time=int(time.time()),
        acr="urn:tungban:acr:basic",
        code_challenge="x",
        code_challenge_method="S256",
    )
    pairwise_sub(resident, client)
    Token.objects.create(
        access_token=access_token_digest("bench-token"),
        client=client,
        resident=resident,
        authorization_code=code,
        scope=SCOPE,
        claims=CLAIMS,
        issued_at=int(time.time()),
        expires_in=3600,
    )
    return "bench-token"


def _environ(path: str, token: str, host: str) -> dict:
    return wsgi_environ("GET", path, host=host, HTTP_AUTHORIZATION=f"Bearer {token}")


def _call(application, environ) -> str:
    status = []
    result = application(dict(environ, **{"wsgi.input": io.BytesIO(b"")}), lambda s, h, e=None: status.append(s))
    try:
        body = b"".join(result)
    finally:
        # as a WSGI server does: Django's request_finished (close_old_connections); the front's
        # lanes send it themselves and answer a plain list
        getattr(result, "close", lambda: None)()
    if not status[0].startswith("200"):
        raise SystemExit(f"{environ['PATH_INFO']}: {status[0]} {body[:200]!r}")
    return status[0]


def measure(n: int, warmup: int, rounds: int = 10) -> list[dict]:
    from django.conf import settings
    from django.db import connection

    from tungban.core import front, hotpaths
    from tungban.wsgi import application

    token = _seed()
    host = settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS and settings.ALLOWED_HOSTS[0] != "*" else "localhost"
    saved = dict(hotpaths._routes)
    reference = {k: v for k, v in saved.items() if k[1] not in PATHS}
    saved_lanes = dict(front._lanes)
    no_lanes = {k: v for k, v in saved_lanes.items() if k not in PATHS}

    def use(mode):
        hotpaths._routes.clear()
        hotpaths._routes.update(reference if mode == "reference" else saved)
        front._lanes.clear()
        front._lanes.update(saved_lanes if mode == "lane" else no_lanes)

    cases = [(mode, path) for mode in ("reference", "hot", "lane") for path in PATHS]
    cpu = dict.fromkeys(cases, 0.0)
    backend_ns = dict.fromkeys(cases, 0)
    backend_n = dict.fromkeys(cases, 0)
    statements = {}
    try:
        for mode, path in cases:
            use(mode)
            environ = _environ(path, token, host)
            for _ in range(warmup):
                _call(application, environ)
            if connection.vendor == "postgresql":
                # on the wire: the health check's SELECT 1 and BEGIN/COMMIT too (tungban.testing.pgwire)
                from tungban.testing.pgwire import relayed

                with relayed(connection) as wire:
                    _call(application, environ)  # opens the connection
                    wire.clear()
                    _call(application, environ)
                    statements[mode, path] = list(wire.statements)
            else:
                seen = statements.setdefault((mode, path), []).append
                with connection.execute_wrapper(lambda execute, sql, *a, _seen=seen: (_seen(sql), execute(sql, *a))[1]):
                    _call(application, environ)
            if os.environ.get("USERINFO_CPU_SQL"):
                print(mode, path, *statements[mode, path], sep="\n  ", file=sys.stderr)
        # interleaved rounds, so that a change in the machine's load hits every case alike
        for _round in range(rounds):
            for mode, path in cases:
                use(mode)
                environ = _environ(path, token, host)
                _call(application, environ)  # (re)opens the connection if it was closed
                pid = backend_pid(connection)
                backend = backend_cpu_ns(pid)
                started = time.process_time()
                for _ in range(n // rounds):
                    _call(application, environ)
                cpu[mode, path] += time.process_time() - started
                if pid is not None and backend_pid(connection) == pid:
                    backend_ns[mode, path] += backend_cpu_ns(pid) - backend
                    backend_n[mode, path] += n // rounds
    finally:
        hotpaths._routes.clear()
        hotpaths._routes.update(saved)
        front._lanes.clear()
        front._lanes.update(saved_lanes)
    done = n // rounds * rounds
    return [
        {
            "mode": mode,
            "path": path,
            "cpu_us": cpu[mode, path] / done * 1e6,
            "pg_cpu_us": backend_ns[mode, path] / backend_n[mode, path] / 1e3 if backend_n[mode, path] else None,
            "statements": len(statements[mode, path]),
        }
        for mode, path in cases
    ]


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    import django

    django.setup()
    from django.db import connection

    if args.against:
        with throwaway_database("userinfo_cpu"):
            found = against(args.against, args.requests, args.warmup)
        for side, (cpu, pg) in found.items():
            print(f"{side:<5} lane /oidc/userinfo: CPU {cpu:.0f} µs/request, PostgreSQL {pg:.0f} µs/request")
        return 0
    with throwaway_database("userinfo_cpu"):
        rows = measure(args.requests, args.warmup)
    print(f"database: {connection.vendor}, {args.requests} requests per row, CPU of this process (time.process_time)")
    counted = "SQL round trips" if connection.vendor == "postgresql" else "SQL statements"
    print(f"{'path':<16} {'mode':<10} {'CPU µs/request':>15} {'PostgreSQL µs':>14} {counted:>16}")
    for row in rows:
        pg = "-" if row["pg_cpu_us"] is None else f"{row['pg_cpu_us']:.0f}"
        print(f"{row['path']:<16} {row['mode']:<10} {row['cpu_us']:>15.0f} {pg:>14} {row['statements']:>16}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
