#!/usr/bin/env python
"""CPU time per request of a demo data provider (``examples/providers``), in-process and
independent of the machine's load (issue 15 acceptance 4: the providers share the two cores
with the platform in ``bench/exchange.py``).

Run from the checkout::

    .venv/bin/python bench/provider_cpu.py                    # wsd, 3000 requests
    .venv/bin/python bench/provider_cpu.py --department ird --requests 5000 --profile

It builds the provider's WSGI application (``examples.providers.app.create_app``, synthetic
records, as the benchmark runs it) trusting a gateway key made here (the JWKS is served from
memory: no HTTP), signs ``--requests`` request JWTs **before** timing (each with its own
``jti``, as the gateway sends them), then calls the application once per token as a WSGI
server would (a fresh environ, the body read, the answer joined) and prints
``time.process_time()`` per request: the application's own work (Flask, the token's checks
with joserfc, the record, the JSON answer), not the HTTP server's. ``--profile`` prints the
top functions.

``--http granian,werkzeug`` measures the whole provider process instead, server included:
each server in turn (``python -m examples.providers --server …`` through
``examples.providers.launch.start_provider``; the JWKS served by a Werkzeug thread here),
``--clients`` threads send the pre-signed tokens over keep-alive connections, and the CPU
the provider's processes used (``/proc/<pid>/stat``, granian's worker included) is divided
by the requests. ``--rounds`` alternates the servers (A/B on a shared machine).
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import json
import os
import pstats
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PRODUCTS = {"wsd": "wsd.registered-address.v1", "ird": "ird.tax-return-status.v1", "cr": "cr.company-particulars.v1"}
ISSUER = "http://gateway.bench"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--department", choices=sorted(PRODUCTS), default="wsd")
    p.add_argument("--requests", type=int, default=3000, help="requests measured (default 3000)")
    p.add_argument("--warmup", type=int, default=100, help="requests before measuring (default 100)")
    p.add_argument("--profile", action="store_true", help="run the measured requests under cProfile")
    p.add_argument("--http", help="servers to measure over HTTP, comma-separated (granian, werkzeug)")
    p.add_argument("--clients", type=int, default=4, help="client threads with --http (default 4)")
    p.add_argument("--rounds", type=int, default=2, help="rounds of the servers with --http (default 2)")
    return p


def _proc_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its live children (granian's worker), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        todo.extend(int(c) for c in children)
    return total / tick


def over_http(args) -> int:
    """Each server of ``args.http`` in turn, ``args.rounds`` times: CPU of the provider's
    processes per request, the HTTP server included."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests
    from joserfc.jwk import ECKey, KeySet
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    from examples.providers.launch import provider_output, start_provider, stop_provider

    key = ECKey.generate_key("P-256", {"kid": "gw-bench"}, private=True)
    body = json.dumps(KeySet([key]).as_dict(private=False))
    jwks_server = make_server("127.0.0.1", 0, lambda env, sr: Response(body, content_type="application/json")(env, sr))
    threading.Thread(target=jwks_server.serve_forever, daemon=True).start()
    issuer = f"http://127.0.0.1:{jwks_server.port}"
    servers = [s.strip() for s in args.http.split(",") if s.strip()]
    figures: dict[str, list[float]] = {s: [] for s in servers}
    for _round in range(args.rounds):
        for server in servers:
            proc, base = start_provider(args.department, issuer, synthetic=True, env={"CDEG_PROVIDER_SERVER": server})
            try:
                url = f"{base}/cdeg/v1/products/{PRODUCTS[args.department]}"
                signed = tokens(key, args.department, args.warmup + args.requests, issuer)
                local = threading.local()

                def send(token, url=url, local=local):
                    session = getattr(local, "session", None)
                    if session is None:
                        session = local.session = requests.Session()
                        session.trust_env = False
                    try:
                        r = session.post(url, headers={"Authorization": f"Bearer {token}"}, json={}, timeout=10)
                    except requests.ConnectionError as exc:
                        return type(exc.args[0]).__name__ if exc.args else "ConnectionError"
                    return r.status_code

                with ThreadPoolExecutor(args.clients) as pool:
                    assert set(pool.map(send, signed[: args.warmup])) == {200}
                    c0 = _proc_cpu(proc.pid)
                    statuses = list(pool.map(send, signed[args.warmup :]))
                    c1 = _proc_cpu(proc.pid)
                bad = collections.Counter(s for s in statuses if s != 200)
                per = (c1 - c0) / len(statuses) * 1e6
                figures[server].append(per)
                print(
                    f"{server}: {len(statuses)} requests over HTTP, {per:.0f} µs provider CPU per request, not 200: {dict(bad) or 0}"
                )
            except Exception:
                print(provider_output(proc), file=sys.stderr)
                raise
            finally:
                stop_provider(proc)
    jwks_server.shutdown()
    print("; ".join(f"{s}: median {sorted(v)[len(v) // 2]:.0f} µs" for s, v in figures.items()))
    return 0


def tokens(key, department: str, n: int, issuer: str = ISSUER) -> list[str]:
    """``n`` request JWTs as the gateway signs them (``exchange.services``): ES256,
    ``typ`` ``cdeg-request+jwt``, a fresh ``jti`` each, synthetic HKIDs."""
    from joserfc import jwt

    now = int(time.time())
    header = {"alg": "ES256", "kid": key.kid, "typ": "cdeg-request+jwt"}
    out = []
    for i in range(n):
        digits = f"{700000 + i % 5000:06d}"
        claims = {
            "iss": issuer,
            "aud": department,
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
            "product": PRODUCTS[department],
            "consent_id": str(uuid.uuid4()),
            "purpose": "benchmark",
            "sub": f"pairwise-{i}",
            "hkid": f"K{digits}{_check_digit('K', digits)}",
        }
        out.append(jwt.encode(header, claims, key, algorithms=["ES256"]))
    return out


def _check_digit(prefix: str, digits: str) -> str:
    # HKID check digit (mod 11), as tungban.identity.hkid computes it; not imported: the
    # providers and this script do not depend on the platform.
    letters = prefix.rjust(2)
    values = [36 if c == " " else ord(c) - 55 for c in letters] + [int(d) for d in digits]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True))
    remainder = (11 - total % 11) % 11
    return "A" if remainder == 10 else str(remainder)


def environ(department: str, token: str) -> dict:
    body = b"{}"
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/cdeg/v1/products/{PRODUCTS[department]}",
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8201",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8201",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_ACCEPT": "application/json",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def call(app, env: dict) -> int:
    status = []

    def start_response(s, headers, exc_info=None):
        status.append(s)

    body = app(env, start_response)
    try:
        b"".join(body)
    finally:
        if hasattr(body, "close"):
            body.close()
    return int(status[0].split()[0])


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.http:
        return over_http(args)
    from joserfc.jwk import ECKey, KeySet

    from examples.providers import app as provider

    key = ECKey.generate_key("P-256", {"kid": "gw-bench"}, private=True)
    jwks = json.dumps(KeySet([key]).as_dict(private=False)).encode()
    fetches = []

    def fetch_document(self):  # the JWKS from memory instead of over HTTP (counted)
        fetches.append(1)
        return jwks

    provider.JWKSCache._download = fetch_document  # type: ignore[attr-defined]
    application = provider.create_app(args.department, ISSUER, synthetic=True)
    signed = tokens(key, args.department, args.warmup + args.requests)
    environs = [environ(args.department, t) for t in signed]
    for env in environs[: args.warmup]:
        assert call(application, env) == 200
    todo = environs[args.warmup :]
    profiler = cProfile.Profile() if args.profile else None
    statuses = []
    c0, w0 = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for env in todo:
        statuses.append(call(application, env))
    if profiler:
        profiler.disable()
    c1, w1 = time.process_time(), time.perf_counter()
    bad = sum(s != 200 for s in statuses)
    per = (c1 - c0) / len(todo) * 1e6
    print(
        f"provider {args.department}: {len(todo)} requests, {per:.0f} µs CPU per request "
        f"({(w1 - w0) / len(todo) * 1e6:.0f} µs wall), {bad} not 200, JWKS fetched {len(fetches)} time(s)"
    )
    replay = call(application, environs[-1])
    print(f"the last token again: {replay} (a replay is refused)")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())
    return 0 if bad == 0 and replay == 401 else 1


if __name__ == "__main__":
    sys.exit(main())
