"""In-process CPU and SQL queries per token-endpoint request, per grant (issue 15: token).

Runs requests through ``tungban.wsgi.application`` (the whole middleware stack, as a server
would call it) in this process and prints, per grant, CPU microseconds per request
(``time.process_time``, so independent of the machine's load) and SQL queries per request
(``CaptureQueriesContext``). The database is the one ``DATABASE_URL`` names: it is migrated
and seeded here, so give it a throw-away database, e.g.::

    createdb -h 127.0.0.1 -p 54329 -U postgres tokencpu
    DATABASE_URL=postgres://postgres@127.0.0.1:54329/tokencpu PYTHONPATH=src \\
        .venv/bin/python bench/token_cpu.py -n 300

Grants: ``refresh_token`` (rotating), ``client_credentials`` (client_secret_basic),
``authorization_code`` (PKCE S256, client_secret_basic, ``openid profile offline_access``).

Modes (``--modes``, all by default, interleaved in rounds so that the machine's load hits them
alike): ``reference`` — Authlib's token view on the hot path (:mod:`tungban.oidc.fasttoken`
switched off), ``hot`` — the fast path as a hot-path view (Django's handler in front; what
ASGI gets), ``lane`` — the fast path on the front's lane before Django (production under
WSGI). Each response is closed as a WSGI server closes it (Django's ``request_finished``). On
PostgreSQL it also prints the backend's CPU per request (``/proc/<pid>/schedstat`` of this
connection's server process) and the round trips of one request on the wire
(:mod:`tungban.testing.pgwire`, BEGIN/COMMIT and health checks included).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import os
import secrets
import sys
import time
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(__file__))

from inprocess import backend_cpu_ns  # noqa: E402 - bench/inprocess.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=300, help="requests per grant (default 300)")
    parser.add_argument("--grants", default="refresh_token,client_credentials,authorization_code")
    parser.add_argument("--modes", default="reference,hot,lane", help="reference, hot, lane (default: all)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per mode and grant (default 5)")
    parser.add_argument("--profile", help="write a cProfile of the timed loops to this file")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tungban.settings")
    os.environ.setdefault("TUNGBAN_RATELIMIT_TOKEN", "100000000/m")  # counted as in production, never hit
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from oidc import REDIRECT_URI, basic_auth, mint_tungban_tokens  # bench/oidc.py

    from tungban.identity.models import Resident
    from tungban.identity.seeding import seed_residents
    from tungban.keys import services as keys
    from tungban.oidc import services as oidc
    from tungban.oidc.models import OFFLINE_ACCESS_SCOPE, AuthorizationCode, Client
    from tungban.testing.migrated import migrate_database
    from tungban.wsgi import application

    migrate_database()  # from a copy when TUNGBAN_MIGRATED_CACHE is set (the tiny runs)
    keys.active_key()
    Client.objects.filter(client_id="cpu-rp").delete()
    client, secret = oidc.register_client(
        client_id="cpu-rp",
        name_en="CPU bench",
        name_zh="CPU bench",
        redirect_uris=[REDIRECT_URI],
        allowed_scopes=["openid", "profile", OFFLINE_ACCESS_SCOPE],
    )
    if Resident.objects.count() < 200:
        seed_residents(200)
    for resident in Resident.objects.all():
        oidc.pairwise_sub(resident, client)  # returning residents: created at their first login
    n = args.n
    auth = "Basic " + basic_auth("cpu-rp", secret)

    def post(body: dict, extra: dict | None = None):
        data = urlencode(body).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/oidc/token",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "HTTP_HOST": "127.0.0.1:8000",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(data)),
            "HTTP_AUTHORIZATION": auth,
            "wsgi.input": io.BytesIO(data),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "SERVER_PROTOCOL": "HTTP/1.1",
            **(extra or {}),
        }
        status = []
        result = application(environ, lambda s, h, *a: status.append(s))
        try:
            body_out = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()  # as a WSGI server: Django's request_finished
        if not status[0].startswith("200"):
            raise SystemExit(f"{body.get('grant_type')}: {status[0]} {body_out[:300]!r}")
        return body_out

    def codes(count: int) -> list[tuple[str, str]]:
        residents = list(Resident.objects.order_by("pk")[:count])
        out, rows = [], []
        for i in range(count):
            verifier = secrets.token_urlsafe(48)
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            resident = residents[i % len(residents)]
            code = secrets.token_urlsafe(36)
            rows.append(
                AuthorizationCode(
                    code=code,
                    client=client,
                    resident=resident,
                    redirect_uri=REDIRECT_URI,
                    scope=f"openid profile {OFFLINE_ACCESS_SCOPE}",
                    claims=["name"],
                    nonce="n-" + code[:8],
                    auth_time=int(time.time()),
                    acr=oidc.acr_for(resident),
                    amr=["swk"],
                    code_challenge=challenge,
                    code_challenge_method="S256",
                )
            )
            out.append((code, verifier))
        AuthorizationCode.objects.bulk_create(rows)
        return out

    grants = args.grants.split(",")
    modes = args.modes.split(",")

    def bodies(grant: str, count: int) -> list[dict]:
        """Fresh request bodies (codes live only TUNGBAN_CODE_TTL seconds)."""
        if grant == "refresh_token":
            refresh, _ = mint_tungban_tokens(client, count, 0)
            return [{"grant_type": "refresh_token", "refresh_token": r} for r in refresh]
        if grant == "client_credentials":
            return [{"grant_type": "client_credentials"}] * count
        if grant == "authorization_code":
            return [
                {"grant_type": "authorization_code", "code": c, "code_verifier": v, "redirect_uri": REDIRECT_URI}
                for c, v in codes(count)
            ]
        raise SystemExit(f"unknown grant {grant}")

    from tungban.core import front
    from tungban.oidc import fasttoken

    saved_lanes, hot_token, lane = dict(front._lanes), fasttoken.hot_token, fasttoken.lane

    def use(mode: str) -> None:
        """reference: no fast path; hot: the fast path behind Django's handler; lane: before it."""
        front._lanes.clear()
        front._lanes.update(saved_lanes if mode == "lane" else {})
        fasttoken.hot_token = hot_token if mode != "reference" else (lambda request: None)
        fasttoken.lane = lane

    per_round = max(1, n // args.rounds)
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU time, not waiting
    cases = [(grant, mode) for grant in grants for mode in modes]
    cpu = dict.fromkeys(cases, 0.0)
    done = dict.fromkeys(cases, 0)
    backend_ns = dict.fromkeys(cases, 0)
    backend_n = dict.fromkeys(cases, 0)
    trips: dict = {}
    try:
        for grant, mode in cases:  # warm-up and the statements of one request
            use(mode)
            for body in bodies(grant, 5):
                post(body)
            body = bodies(grant, 2)
            if connection.vendor == "postgresql":
                from tungban.testing.pgwire import relayed

                with relayed(connection) as wire:
                    post(body[0])  # opens the connection
                    wire.clear()
                    post(body[1])
                    trips[grant, mode] = list(wire.statements)
            else:
                with CaptureQueriesContext(connection) as ctx:
                    post(body[1])
                trips[grant, mode] = [q["sql"] for q in ctx.captured_queries]
            if os.environ.get("TOKEN_CPU_SQL"):
                print(grant, mode, *(sql[:200] for sql in trips[grant, mode]), sep="\n    ")
        for _round in range(args.rounds):
            for grant, mode in cases:
                items = bodies(grant, per_round + 1)  # made outside the timed loop
                use(mode)
                post(items[0])  # (re)opens the connection if a request closed it
                pid = connection.connection.info.backend_pid if connection.vendor == "postgresql" else None
                before = backend_cpu_ns(pid)
                if profiler:
                    profiler.enable()
                t0 = time.process_time()
                for body in items[1:]:
                    post(body)
                cpu[grant, mode] += time.process_time() - t0
                if profiler:
                    profiler.disable()
                done[grant, mode] += per_round
                if (
                    pid is not None
                    and connection.connection is not None
                    and connection.connection.info.backend_pid == pid
                ):
                    backend_ns[grant, mode] += backend_cpu_ns(pid) - before
                    backend_n[grant, mode] += per_round
    finally:
        use("lane")
    counted = "round trips" if connection.vendor == "postgresql" else "statements"
    print(f"database: {connection.vendor}; {per_round * args.rounds} requests per row; CPU of this process")
    print(f"{'grant':<20} {'mode':<10} {'CPU µs/req':>11} {'PostgreSQL µs':>14} {counted:>12}")
    for grant, mode in cases:
        pg = f"{backend_ns[grant, mode] / backend_n[grant, mode] / 1e3:.0f}" if backend_n[grant, mode] else "-"
        us = cpu[grant, mode] / done[grant, mode] * 1e6
        print(f"{grant:<20} {mode:<10} {us:>11.0f} {pg:>14} {len(trips[grant, mode]):>12}")
    if profiler:
        profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()
