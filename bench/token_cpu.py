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

On PostgreSQL it also prints the database server's CPU per request (``PostgreSQL µs``: the
on-CPU time of this connection's backend process, ``/proc/<pid>/schedstat``, over the timed
loop; the server must run on this machine), as ``bench/userinfo_cpu.py`` does.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=300, help="requests per grant (default 300)")
    parser.add_argument("--grants", default="refresh_token,client_credentials,authorization_code")
    parser.add_argument("--profile", help="write a cProfile of the timed loops to this file")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tungban.settings")
    os.environ.setdefault("TUNGBAN_RATELIMIT_TOKEN", "100000000/m")  # counted as in production, never hit
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from inprocess import backend_cpu_ns  # bench/inprocess.py
    from oidc import REDIRECT_URI, basic_auth, mint_tungban_tokens  # bench/oidc.py

    from tungban.identity.models import Resident
    from tungban.identity.seeding import seed_residents
    from tungban.keys import services as keys
    from tungban.oidc import services as oidc
    from tungban.oidc.models import OFFLINE_ACCESS_SCOPE, AuthorizationCode, Client
    from tungban.wsgi import application

    call_command("migrate", interactive=False, verbosity=0)
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
        body_out = b"".join(application(environ, lambda s, h, *a: status.append(s)))
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

    def bodies(grant: str) -> list[dict]:
        """Fresh request bodies (codes live only TUNGBAN_CODE_TTL seconds)."""
        if grant == "refresh_token":
            refresh, _ = mint_tungban_tokens(client, n + 5, 0)
            return [{"grant_type": "refresh_token", "refresh_token": r} for r in refresh]
        if grant == "client_credentials":
            return [{"grant_type": "client_credentials"}] * (n + 5)
        if grant == "authorization_code":
            return [
                {"grant_type": "authorization_code", "code": c, "code_verifier": v, "redirect_uri": REDIRECT_URI}
                for c, v in codes(n + 5)
            ]
        raise SystemExit(f"unknown grant {grant}")

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU time, not waiting
    print(f"{'grant':<20} {'CPU µs/req':>11} {'PostgreSQL µs':>14} {'queries/req':>12}")
    for grant in grants:
        items = bodies(grant)
        for body in items[:5]:  # warm-up: imports, caches of immutable things
            post(body)
        with CaptureQueriesContext(connection) as ctx:
            post(items[5])
        queries = len(ctx.captured_queries)
        if os.environ.get("TOKEN_CPU_SQL"):
            for q in ctx.captured_queries:
                print("   ", q["sql"][:200])
        rest = items[6 : n + 5]
        if profiler:
            profiler.enable()
        pid, pg0 = backend_cpu_ns(connection)
        t0 = time.process_time()
        for body in rest:
            post(body)
        cpu = time.process_time() - t0
        pid_after, pg1 = backend_cpu_ns(connection)
        if profiler:
            profiler.disable()
        pg = f"{(pg1 - pg0) / len(rest) / 1e3:.0f}" if pid is not None and pid == pid_after else "-"
        print(f"{grant:<20} {cpu / len(rest) * 1e6:>11.0f} {pg:>14} {queries:>12}")
    if profiler:
        profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()
