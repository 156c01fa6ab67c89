#!/usr/bin/env python
"""In-process CPU per request of the precomputed public documents (issue 15): discovery
(``/.well-known/openid-configuration``) and the JWKS (``/oidc/jwks``), each as a plain GET and
as a conditional GET answered ``304``.

Run from the checkout against a migrated database (the one ``DATABASE_URL`` names; nothing is
written to it except, if none exists yet, the first signing key)::

    DATABASE_URL=postgres://postgres@127.0.0.1:54329/tungban PYTHONPATH=src .venv/bin/python bench/documents.py
    PYTHONPATH=src .venv/bin/python bench/documents.py -n 5000

Each request goes through ``tungban.wsgi.application`` with a WSGI environ (no HTTP server,
no socket): the figure is ``time.process_time()`` over ``-n`` requests (best of three loops),
i.e. this process's CPU, which a loaded machine disturbs far less than throughput. The SQL
statements of one request are counted with an execute wrapper on the connection.

Two rows per request: ``front``, the application as served (:mod:`tungban.core.front`
answers the documents before Django; on PostgreSQL the JWKS's key-ring version is pushed by
:mod:`tungban.keys.listener`, started and waited for here), and ``django``, Django's own
application behind it (the path before the front: ``HotPathMiddleware`` and the views).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from urllib.parse import urlsplit

PATHS = ("/.well-known/openid-configuration", "/oidc/jwks")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="requests per loop (default 2000)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tungban.settings")
    from django.conf import settings
    from django.db import connection

    from tungban.keys import listener
    from tungban.wsgi import application as front

    applications = {"front": front, "django": front.application}

    host = urlsplit(settings.TUNGBAN_ISSUER).netloc or "localhost"

    def call(path: str, through: str = "front", **headers) -> tuple[str, dict, bytes]:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": host.split(":")[0],
            "SERVER_PORT": "80",
            "HTTP_HOST": host,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            **headers,
        }
        seen = {}

        def start_response(status, response_headers, exc_info=None):
            seen["status"], seen["headers"] = status, dict(response_headers)

        body = b"".join(applications[through](environ, start_response))
        return seen["status"], seen["headers"], body

    def cpu_us(path: str, through: str, **headers) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            for _ in range(args.n):
                call(path, through, **headers)
            best = min(best, (time.process_time() - start) / args.n * 1e6)
        return best

    call(PATHS[1])  # the first JWKS request starts the listener (PostgreSQL)
    if connection.vendor == "postgresql" and not listener.wait_until(listener.live, 10):
        print("the key-ring listener did not connect: JWKS figures are per-request reads", file=sys.stderr)
    print(f"{connection.vendor}, {args.n} requests per loop, best of 3, listener live: {listener.live()}")
    print(f"{'path':50s} {'through':>7s} {'status':>6s} {'CPU µs/req':>10s} {'queries':>7s}")
    for path in PATHS:
        status, headers, _body = call(path)
        if not status.startswith("200"):
            print(f"{path}: {status}", file=sys.stderr)
            return 1
        for through in applications:
            for _ in range(200):
                call(path, through)
            statements: list[str] = []

            def count(run, sql, *rest, statements=statements):
                statements.append(sql)
                return run(sql, *rest)

            with connection.execute_wrapper(count):
                call(path, through)
            print(f"{path:50s} {through:>7s} {200:6d} {cpu_us(path, through):10.1f} {len(statements):7d}")
        if "ETag" in headers:
            conditional = {"HTTP_IF_NONE_MATCH": headers["ETag"]}
            for through in applications:
                status = call(path, through, **conditional)[0].split()[0]
                print(
                    f"{path + ' (If-None-Match)':50s} {through:>7s} {status:>6s} {cpu_us(path, through, **conditional):10.1f}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
