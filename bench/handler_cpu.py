#!/usr/bin/env python
"""CPU per request of Django's handler in front of a hot view (issue 15: what a request
through :mod:`tungban.core.hotpaths` costs between the WSGI call and the view), in-process,
independent of the machine's load.

Run from the checkout::

    PYTHONPATH=src .venv/bin/python bench/handler_cpu.py                         # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:54329/postgres PYTHONPATH=src \\
        .venv/bin/python bench/handler_cpu.py                                   # PostgreSQL

Two probe views are registered as hot paths (``GET``): ``/bench/handler/bare`` answers a
small JSON body without touching the database; ``/bench/handler/db`` first runs
``SELECT 1`` on the default connection (so ``request_started``/``request_finished`` find an
open connection to check, as on every real hot request). Each is called ``--requests``
times through ``tungban.wsgi.application`` (a WSGI environ, the response closed as a server
closes it: ``request_finished``) and, interleaved, as the bare view function with one
request object made beforehand; the difference is the handler's CPU per request
(``time.process_time()``: the WSGI request, the signals and their connection checks,
ProbeMiddleware, ReceivedAtMiddleware, SecurityMiddleware, HotPathMiddleware, the response's
headers and closing). No table is needed: any database that accepts ``SELECT 1`` will do.
On SQLite (``CONN_MAX_AGE`` 0) the ``db`` row includes opening and closing the connection on
every request, as in production there.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from inprocess import wsgi_environ  # noqa: E402 - bench/inprocess.py

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tungban.settings")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=5000, help="requests per probe and mode (default 5000)")
    p.add_argument("--rounds", type=int, default=10, help="interleaved rounds (default 10)")
    args = p.parse_args()

    from django.db import connection
    from django.http import JsonResponse
    from django.test import RequestFactory

    from tungban.core import hotpaths
    from tungban.wsgi import application

    def bare(request):
        return JsonResponse({"ok": True})

    def db(request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return JsonResponse({"ok": True})

    probes = {"bare": bare, "db": db}
    for name, view in probes.items():
        hotpaths.register(f"/bench/handler/{name}", view, methods=("GET",))

    def environ(path: str) -> dict:
        return wsgi_environ("GET", path)

    def through_wsgi(env):
        status = []
        result = application(dict(env, **{"wsgi.input": io.BytesIO(b"")}), lambda s, h, e=None: status.append(s))
        try:
            body = b"".join(result)
        finally:
            result.close()
        if not status[0].startswith("200"):
            raise SystemExit(f"{env['PATH_INFO']}: {status[0]} {body[:200]!r}")

    calls = {}
    for name, view in probes.items():
        env = environ(f"/bench/handler/{name}")
        request = RequestFactory().get(env["PATH_INFO"])
        calls[name, "wsgi"] = lambda env=env: through_wsgi(env)
        calls[name, "view"] = lambda view=view, request=request: view(request)
    for call in calls.values():
        for _ in range(200):
            call()
    cpu = dict.fromkeys(calls, 0.0)
    per_round = max(1, args.requests // args.rounds)
    for _round in range(args.rounds):
        for key, call in calls.items():
            started = time.process_time()
            for _ in range(per_round):
                call()
            cpu[key] += time.process_time() - started
    n = per_round * args.rounds
    print(f"database: {connection.vendor}, {n} requests per row, CPU of this process (time.process_time)")
    print(f"{'probe':8} {'WSGI µs':>9} {'view µs':>9} {'handler µs':>11}")
    for name in probes:
        wsgi, view = cpu[name, "wsgi"] / n * 1e6, cpu[name, "view"] / n * 1e6
        print(f"{name:8} {wsgi:9.1f} {view:9.1f} {wsgi - view:11.1f}")


if __name__ == "__main__":
    main()
