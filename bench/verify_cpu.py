#!/usr/bin/env python
"""CPU time, SQL round trips and PostgreSQL CPU per request of 認證易's online verification
(``POST /api/v1/credentials/verify``, issue 15 acceptance 3), in-process and independent of
the machine's load: row (g) of ``bench/credentials.py`` taken apart.

Run from the checkout::

    PYTHONPATH=src .venv/bin/python bench/verify_cpu.py                      # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:54329/bench PYTHONPATH=src \\
        .venv/bin/python bench/verify_cpu.py --requests 2000                 # PostgreSQL
    ... bench/verify_cpu.py --profile                                        # plus where the CPU goes
    ... bench/verify_cpu.py --cold        # each request a worker's first verification of its credential

It creates a throw-away test database, registers the bundled issuers and types, issues
``--credentials`` Senior Citizen Cards to residents with a bound device, and builds one
presentation per request (every claim disclosed, a KB-JWT for 認證易 with its own nonce: no
two requests alike, as from many verifiers). Each is sent once through
``tungban.wsgi.application`` (the whole stack, as a WSGI server calls it; the ``verify`` rate
limit raised so none is refused) and must come back 200 with ``valid`` true. Printed:
``time.process_time()`` per request (this process: Python, the driver), the PostgreSQL
backend's CPU per request (``/proc/<pid>/schedstat``) and the round trips of one request on
the wire (:mod:`tungban.testing.pgwire`; on SQLite the statements Django runs).
``VERIFY_CPU_SQL=1`` prints them. ``--profile`` prints the CPU per part (cProfile,
cumulative, so nested parts overlap); ``VERIFY_CPU_PROF=<file>`` keeps its data.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from inprocess import backend_cpu_ns, backend_pid, throwaway_database, wsgi_environ  # noqa: E402 - bench/inprocess.py

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tungban.settings")
os.environ.setdefault("TUNGBAN_RATELIMIT_VERIFY", "100000000/m")  # one client address sends them all

PATH = "/api/v1/credentials/verify"

#: (label, file path fragment, function name): cumulative CPU of these under the profiler.
PARTS = [
    ("front (everything)", "core/front.py", "__call__"),
    ("  Django's WSGI handler", "core/handlers/wsgi.py", "__call__"),
    ("  lane", "credentials/hot.py", "verify_lane"),
    ("  hot path view", "credentials/hot.py", "verify_view"),
    ("    JSON parse of the body", "json/__init__.py", "loads"),
    ("    rate limiter alone (count)", "core/ratelimit.py", "count"),
    ("    rate limiter's statement (hit_statement)", "core/ratelimit.py", "hit_statement"),
    ("    verify_presentation", "credentials/verify.py", "verify_presentation"),
    ("      DatabaseTrust.prefetch (the SQL read)", "credentials/verify.py", "prefetch"),
    ("      sd-jwt parse (SDJWTVerifier.__init__)", "sd_jwt/verifier.py", "__init__"),
    ("      sd-jwt verifier from our parse (of_parsed)", "credentials/services/sdjwt_check.py", "of_parsed"),
    ("      issuer signature", "credentials/services/sdjwt_check.py", "_verify_sd_jwt"),
    ("      KB-JWT", "credentials/services/sdjwt_check.py", "_verify_key_binding_jwt"),
    ("      ES256 verifies (joserfc deserialize_compact)", "joserfc/jws.py", "deserialize_compact"),
    ("      status list (_check_status)", "credentials/verify.py", "_check_status"),
    ("      transparency log (_check_log)", "credentials/verify.py", "_check_log"),
    ("    the answer's dict (_answer)", "credentials/hot.py", "_answer"),
    ("    the answer's bytes (_dumps)", "credentials/hot.py", "_dumps"),
    ("  SQL execute (Django cursor)", "db/backends/utils.py", "execute"),
]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=2000, help="requests measured (default 2000)")
    p.add_argument("--warmup", type=int, default=100, help="requests before measuring (default 100)")
    p.add_argument("--credentials", type=int, default=200, help="credentials presented, cycled (default 200)")
    p.add_argument("--profile", action="store_true", help="also print the CPU per part (cProfile)")
    p.add_argument(
        "--cold",
        action="store_true",
        help="every request a worker's first verification of its credential (nothing kept of its inclusion proof)",
    )
    return p


def _seed(credentials: int, presentations: int) -> list[bytes]:
    """The request bodies: one presentation per request, credentials cycled."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from joserfc.jwk import ECKey
    from jwcrypto.jwk import JWK
    from sd_jwt.holder import SDJWTHolder

    from tungban.credentials import catalogue, services
    from tungban.keys import services as keys
    from tungban.keys.models import SigningKey
    from tungban.testing.factories import make_resident
    from tungban.wallet.models import Device

    if not SigningKey.objects.filter(retired_at__isnull=True).exists():
        keys.create_key()
    catalogue.register_bundled()
    ctype = services.get_type("senior-citizen-card")
    cards = []
    for i in range(credentials):
        resident = make_resident(date_of_birth=__import__("datetime").date(1950, 1, 1))
        private = ec.generate_private_key(ec.SECP256R1())
        public = ECKey.import_key(private.public_key())
        Device.objects.create(
            resident=resident,
            platform="cli",
            name="bench",
            public_jwk=public.as_dict(private=False),
            jwk_thumbprint=public.thumbprint(),
        )
        card = services.issue(ctype, resident, {"card_number": f"SC{i:08d}"}, issued_by="bench:verify_cpu")
        cards.append((card.sd_jwt, JWK.from_pyca(private)))
    aud, bodies = services.verifier_audience(), []
    for i in range(presentations):
        sd_jwt, jwk = cards[i % len(cards)]
        holder = SDJWTHolder(sd_jwt)
        nonce = secrets.token_urlsafe(12)
        holder.create_presentation(
            {name: True for name in services.issued_claims_from(sd_jwt)}, nonce, aud, jwk, "ES256"
        )
        bodies.append(json.dumps({"presentation": holder.sd_jwt_presentation, "nonce": nonce}).encode())
    return bodies


def _call(application, body: bytes) -> None:
    environ = wsgi_environ("POST", PATH, body=body, CONTENT_TYPE="application/json")
    status = []
    result = application(environ, lambda s, h, e=None: status.append(s))
    try:
        out = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()  # as a WSGI server does: Django's request_finished (close_old_connections)
    if not status[0].startswith("200") or not json.loads(out).get("valid"):
        raise SystemExit(f"{status[0]} {out[:300]!r}")


def _forget_proofs() -> None:
    """As in a worker that has not verified this credential yet (``--cold``): nothing kept of
    its issuance leaf's inclusion proof, nor of that proof's check."""
    from tungban.credentials import verify

    verify._inclusions.clear()
    verify._included.cache_clear()


MODES = ("full stack", "hot path", "lane")


def _use(mode: str, saved: tuple[dict, dict]) -> None:
    """Route the verification as ``mode``: ``full stack`` (django-ninja's operation behind every
    middleware), ``hot path`` (:mod:`tungban.core.hotpaths`), ``lane`` (:mod:`tungban.core.front`,
    when registered; else as ``hot path``)."""
    from tungban.core import front, hotpaths

    routes, lanes = saved
    hotpaths._routes.clear()
    hotpaths._routes.update(routes if mode != "full stack" else {k: v for k, v in routes.items() if k[1] != PATH})
    lanes_now = getattr(front, "_lanes", None)
    if lanes_now is not None:
        lanes_now.clear()
        lanes_now.update(lanes if mode == "lane" else {k: v for k, v in lanes.items() if k != PATH})


def measure(args) -> list[dict]:
    from django.db import connection

    from tungban.core import front, hotpaths
    from tungban.wsgi import application

    n, rounds = args.requests, 10
    per_round = max(1, n // rounds)
    modes = [m for m in MODES if m != "lane" or PATH in getattr(front, "_lanes", {})]
    extra = args.warmup if args.profile else 0
    bodies = iter(_seed(args.credentials, args.warmup + extra + (per_round + 1) * rounds * len(modes) + 3 * len(modes)))
    saved = (dict(hotpaths._routes), dict(getattr(front, "_lanes", {})))
    cpu, backend_ns, backend_n, statements = (
        dict.fromkeys(modes, 0.0),
        dict.fromkeys(modes, 0),
        dict.fromkeys(modes, 0),
        {},
    )
    try:
        for _ in range(args.warmup):
            _call(application, next(bodies))
        for mode in modes:
            _use(mode, saved)
            if connection.vendor == "postgresql":
                from tungban.testing.pgwire import relayed

                with relayed(connection) as wire:
                    _call(application, next(bodies))  # opens the connection through the relay
                    if args.cold:
                        _forget_proofs()
                    wire.clear()
                    _call(application, next(bodies))
                    statements[mode] = list(wire.statements)
            else:
                seen = statements.setdefault(mode, []).append
                with connection.execute_wrapper(lambda execute, sql, *a, _seen=seen: (_seen(sql), execute(sql, *a))[1]):
                    _call(application, next(bodies))
            if os.environ.get("VERIFY_CPU_SQL"):
                print(mode, *statements[mode], sep="\n  ", file=sys.stderr)
        # interleaved rounds, so that a change in the machine's load hits every mode alike
        for _round in range(rounds):
            for mode in modes:
                _use(mode, saved)
                _call(application, next(bodies))  # (re)opens the connection if it was closed
                pid = backend_pid(connection)
                backend = backend_cpu_ns(pid)
                chunk = [next(bodies) for _ in range(per_round)]
                started = time.process_time()
                for body in chunk:
                    if args.cold:
                        _forget_proofs()
                    _call(application, body)
                cpu[mode] += time.process_time() - started
                if pid is not None and backend_pid(connection) == pid:
                    backend_ns[mode] += backend_cpu_ns(pid) - backend
                    backend_n[mode] += per_round
        rows = [
            {
                "mode": mode,
                "cpu_us": cpu[mode] / (per_round * rounds) * 1e6,
                "pg_cpu_us": backend_ns[mode] / backend_n[mode] / 1e3 if backend_n[mode] else None,
                "round_trips": len(statements[mode]),
            }
            for mode in modes
        ]
        if args.profile:
            _use(modes[-1], saved)
            replay = [next(bodies) for _ in range(args.warmup)]
            profiler = cProfile.Profile(time.process_time)  # CPU, not waiting for PostgreSQL
            profiler.enable()
            started = time.process_time()
            for body in replay:
                _call(application, body)
            total = time.process_time() - started
            profiler.disable()
            if os.environ.get("VERIFY_CPU_PROF"):
                profiler.dump_stats(os.environ["VERIFY_CPU_PROF"])  # for pstats / snakeviz
            rows[-1]["profile"] = _parts(profiler, len(replay), total)
    finally:
        _use("lane", saved)
    return rows


def _parts(profiler, count: int, total: float) -> list[tuple[str, float, int]]:
    stats = pstats.Stats(profiler, stream=io.StringIO()).stats
    out = []
    for label, path, name in PARTS:
        cum, calls = 0.0, 0
        for (filename, _line, func), (_cc, nc, _tt, ct, callers) in stats.items():
            if func == name and path in filename.replace(os.sep, "/"):
                # count only outermost calls (a recursive function once)
                if not any(c[2] == name and path in c[0] for c in callers):
                    cum += ct
                    calls += nc
        out.append((label, cum / count * 1e6, calls / count))
    out.append(("(total under the profiler)", total / count * 1e6, 1))
    return out


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    import django

    django.setup()
    from django.db import connection

    with throwaway_database("verify_cpu"):
        rows = measure(args)
    counted = "SQL round trips" if connection.vendor == "postgresql" else "SQL statements"
    print(f"database: {connection.vendor}, {args.requests} requests per mode, CPU of this process (time.process_time)")
    cold = ", each a worker's first of its credential (--cold)" if args.cold else ""
    print(f"{PATH} (one presentation per request, every claim, KB-JWT{cold})")
    print(f"{'mode':<12} {'CPU µs/request':>15} {'PostgreSQL µs':>14} {counted:>16}")
    for row in rows:
        pg = "-" if row["pg_cpu_us"] is None else f"{row['pg_cpu_us']:.0f}"
        print(f"{row['mode']:<12} {row['cpu_us']:>15.0f} {pg:>14} {row['round_trips']:>16}")
    profiled = [row for row in rows if "profile" in row]
    if profiled:
        print(
            f"\nWhere the CPU goes ({profiled[0]['mode']}; cProfile, µs per request, cumulative: nested parts overlap;"
            " inflated by the profiler):"
        )
        for label, us, calls in profiled[0]["profile"]:
            print(f"  {label:<52} {us:>8.0f} µs  {calls:>5.2f} calls")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
