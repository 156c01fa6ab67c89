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

    from tungban.wsgi import application

    host = urlsplit(settings.TUNGBAN_ISSUER).netloc or "localhost"

    def call(path: str, **headers) -> tuple[str, dict, bytes]:
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

        body = b"".join(application(environ, start_response))
        return seen["status"], seen["headers"], body

    def cpu_us(path: str, **headers) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            for _ in range(args.n):
                call(path, **headers)
            best = min(best, (time.process_time() - start) / args.n * 1e6)
        return best

    print(f"{connection.vendor}, {args.n} requests per loop, best of 3")
    print(f"{'path':50s} {'status':>6s} {'CPU µs/req':>10s} {'queries':>7s}")
    for path in PATHS:
        status, headers, _body = call(path)
        if not status.startswith("200"):
            print(f"{path}: {status}", file=sys.stderr)
            return 1
        for _ in range(200):
            call(path)
        statements: list[str] = []

        def count(run, sql, *rest, statements=statements):
            statements.append(sql)
            return run(sql, *rest)

        with connection.execute_wrapper(count):
            call(path)
        print(f"{path:50s} {200:6d} {cpu_us(path):10.1f} {len(statements):7d}")
        if "ETag" in headers:
            conditional = {"HTTP_IF_NONE_MATCH": headers["ETag"]}
            status = call(path, **conditional)[0].split()[0]
            print(f"{path + ' (If-None-Match)':50s} {status:>6s} {cpu_us(path, **conditional):10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
