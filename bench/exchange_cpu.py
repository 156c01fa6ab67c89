#!/usr/bin/env python
"""CPU time and SQL statements per delivered exchange (``POST /api/v1/exchange/requests``),
in-process (issue 15 acceptance 4), on the database of ``DATABASE_URL`` (SQLite by default),
independent of the machine's load.

Run from the checkout::

    PYTHONPATH=src .venv/bin/python bench/exchange_cpu.py                   # SQLite, 500 exchanges
    DATABASE_URL=postgres://postgres@127.0.0.1:54329/bench PYTHONPATH=src \\
        .venv/bin/python bench/exchange_cpu.py --exchanges 1000 --profile   # PostgreSQL, with cProfile

It creates a throw-away test database (``test_<name>_exchange_cpu``, or a temporary SQLite
file), registers the bundled catalogue, one data user with a ``cdeg`` token and ``--consents``
active consents to WSD's registered address, then sends ``POST /api/v1/exchange/requests``
(a new ``request_id`` each time, round-robin over the consents) through
``tungban.wsgi.application`` (the whole middleware stack, as a WSGI server calls it). The
provider's HTTP answer is given in-process (``adapter._post`` replaced: the outbound HTTP call
only); everything else runs as in production: the bulkhead and both circuit breakers, the
provider JWT, the schema check, the attempt, the record, both log leaves, the kept answer and
the signed answer. It prints ``time.process_time()`` per exchange (this process: Python and
the driver, not the database server) and the SQL statements of one exchange
(``connection.execute_wrapper``: the statements Django sends through its cursors, savepoints
included; not BEGIN/COMMIT on PostgreSQL, nor COPY), with ``--profile`` the top functions.
On PostgreSQL every exchange here runs alone, so its log leaves are integrated under a signed
head of their own (concurrent exchanges share one). With ``--provider`` the provider is WSD's
demo provider in its own process, asked over HTTP: this process's CPU then includes the
outbound HTTP client (issue 15, fifth round).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import secrets
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # examples.providers (--provider)

from inprocess import backend_cpu_ns, backend_pid, throwaway_database, wsgi_environ  # noqa: E402 - bench/inprocess.py

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tungban.settings")

WSD = "wsd.registered-address.v1"
ADDRESS = {
    "address": {"lines": ["Flat 12A, 8 Nathan Road"], "district": "Yau Tsim Mong", "region": "KLN"},
    "registered_since": "2019-04-01",
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--exchanges", type=int, default=500, help="exchanges measured (default 500)")
    p.add_argument("--warmup", type=int, default=20, help="exchanges before measuring (default 20)")
    p.add_argument("--consents", type=int, default=20, help="consents gone round (default 20)")
    p.add_argument("--profile", action="store_true", help="print the top functions (cProfile, cumulative)")
    p.add_argument("--statements", action="store_true", help="print the SQL of one exchange")
    p.add_argument(
        "--provider",
        action="store_true",
        help="ask a real demo provider over HTTP (examples.providers, wsd, --synthetic, its own process) instead "
        "of answering in-process: this process's CPU then includes the outbound HTTP client",
    )
    return p


def _seed(n_consents: int, provider_url: str = "http://127.0.0.1:9"):
    from django.utils import timezone
    from joserfc.jwk import ECKey

    from tungban.exchange import catalogue
    from tungban.exchange import services as exchange
    from tungban.exchange.models import Consent, ConsentStatus
    from tungban.oidc.models import Token, access_token_digest
    from tungban.testing.factories import make_client, make_officer, make_resident

    catalogue.register_bundled({"wsd": provider_url})
    key = ECKey.generate_key("P-256", auto_kid=True)
    client, _ = make_client("bench-exchange", jwks={"keys": [key.as_dict(private=False)]})
    org = exchange.register_organisation(id="bench", name_en="Bench", name_zh="測試", client=client)
    raw = secrets.token_urlsafe(32)
    Token.objects.create(
        access_token=access_token_digest(raw),
        client=client,
        scope="cdeg",
        issued_at=int(time.time()),
        expires_in=24 * 3600,
    )
    officer, now, ids = make_officer(), timezone.now(), []
    for _i in range(n_consents):
        consent = Consent.objects.create(
            consumer=org,
            product_id=WSD,
            resident=make_resident(officer),
            purpose="Pre-fill the vehicle licence renewal form",
            duration_seconds=24 * 3600,
            status=ConsentStatus.ACTIVE,
            granted_at=now,
            valid_until=now + dt.timedelta(days=1),
            consumer_sub="sub-at-bench",
            provider_sub="sub-at-wsd",
        )
        ids.append(str(consent.id))
    return raw, ids


def _environ(token: str, host: str, body: bytes) -> dict:
    return wsgi_environ(
        "POST",
        "/api/v1/exchange/requests",
        host=host,
        body=body,
        CONTENT_TYPE="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def measure(args) -> dict:
    from django.db import connection

    from tungban.exchange import adapter
    from tungban.wsgi import application

    if args.provider:
        token, consents = _seed(args.consents, _real_provider())
    else:
        answer = json.dumps({"data": ADDRESS}).encode()
        adapter._post = lambda url, token, timeout, limit: (200, answer)
        token, consents = _seed(args.consents)
    exchange_through = exchanger(token, consents)

    def one():
        exchange_through(application)

    for _ in range(args.warmup):
        one()
    statements = []
    with connection.execute_wrapper(lambda execute, sql, *a: (statements.append(sql), execute(sql, *a))[1]):
        one()
    profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not waits
    connection.settings_dict["CONN_MAX_AGE"] = None  # one backend for the whole run, to read its CPU
    connection.close_at = None
    backend = backend_pid(connection)
    backend_started = backend_cpu_ns(backend)
    started = time.process_time()
    if profiler:
        profiler.enable()
    for _ in range(args.exchanges):
        one()
    if profiler:
        profiler.disable()
    cpu = time.process_time() - started
    backend_ns = backend_cpu_ns(backend) - backend_started if backend else None
    result = {
        "cpu_us": cpu / args.exchanges * 1e6,
        "statements": statements,
        "backend_cpu_us": backend_ns / args.exchanges / 1e3 if backend_ns is not None else None,
    }
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        result["calls"] = stats.total_calls / args.exchanges
        profiler.dump_stats(os.environ.get("EXCHANGE_PROF", "/tmp/exchange.prof"))
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        result["profile"] = out.getvalue()
    return result


def _real_provider() -> str:
    """Start WSD's demo provider (``--synthetic``: a record for every resident) trusting this
    process as its issuer: ``TUNGBAN_ISSUER`` becomes a loopback server of this process's
    thread that serves the gateway's JWKS (``/oidc/jwks``; fetched once by the provider).
    Returns the provider's base URL; it is stopped when this process exits."""
    import atexit
    import http.server
    import threading

    from django.conf import settings

    from examples.providers.launch import start_provider, stop_provider
    from tungban.keys import services as keys

    keys.active_key()  # the signing key exists before its JWKS is served

    class JWKS(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = json.dumps(keys.public_jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), JWKS)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.TUNGBAN_ISSUER = f"http://127.0.0.1:{server.server_address[1]}"
    proc, url = start_provider("wsd", settings.TUNGBAN_ISSUER, synthetic=True)
    atexit.register(stop_provider, proc)
    return url


def exchanger(token: str, consents: list):
    """A function that sends one delivered exchange through a WSGI ``app`` (the next of
    ``consents`` round robin, a fresh request id, bearer ``token``) and exits on anything but 200."""
    from django.conf import settings

    host = settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS and settings.ALLOWED_HOSTS[0] != "*" else "localhost"
    counter = iter(range(10**9))

    def one(app) -> None:
        i = next(counter)
        body = json.dumps({"consent_id": consents[i % len(consents)], "product": WSD, "request_id": uuid.uuid4().hex})
        status = []
        out = b"".join(app(_environ(token, host, body.encode()), lambda s, h, e=None: status.append(s)))
        if not status[0].startswith("200"):
            raise SystemExit(f"exchange: {status[0]} {out[:300]!r}")

    return one


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    import django

    django.setup()
    from django.db import connection

    with throwaway_database("exchange_cpu"):
        result = measure(args)
    if args.profile:
        print(result["profile"])
        print(f"Python function calls per exchange: {result['calls']:.0f}")
    if args.statements:
        for sql in result["statements"]:
            print("  ", sql[:200])
    print(
        f"database: {connection.vendor}, {args.exchanges} exchanges, CPU of this process (time.process_time): "
        f"{result['cpu_us']:.0f} µs per exchange; SQL statements of one exchange: {len(result['statements'])}"
        + (
            f"; PostgreSQL backend CPU (/proc/<pid>/schedstat): {result['backend_cpu_us']:.0f} µs per exchange"
            if result["backend_cpu_us"] is not None
            else ""
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
