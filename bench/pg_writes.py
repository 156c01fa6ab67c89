#!/usr/bin/env python
"""PostgreSQL's CPU per hot write statement, two databases side by side (issue 15, pgdiet).

The writes of the hot requests, each in autocommit as the hot paths send them (the rate
limiter's upsert, a ``client_credentials`` token's INSERT, a release record's INSERT, a code's
redemption and a refresh token's rotation, each one statement: ``tungban.oidc.rows``,
``tungban.wallet.services``), sent in interleaved rounds to database A and database B, with
the CPU time of each connection's backend process (``/proc/<pid>/schedstat``: the server must
run on this machine) per statement. Give A and B the same rows and different schemas, e.g. A
migrated by main's code and B by a branch's, to see what an index or a constraint costs
without the machine's load in the way::

    createdb -h 127.0.0.1 -p 54329 -U postgres pgw_a; createdb ... pgw_b
    DATABASE_URL=postgres://postgres@127.0.0.1:54329/pgw_a PYTHONPATH=/path/to/main/src \
        .venv/bin/python -m django migrate --settings=tungban.settings
    DATABASE_URL=postgres://postgres@127.0.0.1:54329/pgw_b PYTHONPATH=src \
        .venv/bin/python -m django migrate --settings=tungban.settings
    for db in pgw_a pgw_b; do DATABASE_URL=postgres://postgres@127.0.0.1:54329/$db \
        PYTHONPATH=src .venv/bin/python bench/pg_writes.py seed; done
    DB_A=pgw_a DB_B=pgw_b N=800 DATABASE_URL=postgres://postgres@127.0.0.1:54329/pgw_b \
        PYTHONPATH=src .venv/bin/python bench/pg_writes.py measure

``seed`` adds 50 residents with a completed approval each, one client and ``4 × N + 50``
authorization codes; ``measure`` prints the median over 8 rounds of ``N / 8`` statements per
database and the heap-only share of the updates of ``oidc_token`` and
``oidc_authorizationcode``; ``concurrent`` (``C`` connections at once, default 16) the
``client_credentials`` statement of each side's schema (:func:`concurrent`; issue 15, fourth
round); ``userinfo`` UserInfo's one statement at ``C`` connections, this checkout's against
another's dumped by ``dump-userinfo`` (:func:`userinfo`; issue 15, fifth round). The
statements' text comes from this checkout; ``DATABASE_URL`` names the server (and a
database on it for Django's settings).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tungban.settings")

N = int(os.environ.get("N", "600"))
ROUNDS = 8
FAR = dt.datetime(2031, 1, 1, tzinfo=dt.UTC)
RATELIMIT_SQL = (
    "INSERT INTO tungban_ratelimit AS c (cache_key, value, expires) VALUES (%s, '1', %s) "
    "ON CONFLICT (cache_key) DO UPDATE SET "
    "value = CASE WHEN c.expires < %s THEN '1' ELSE CAST(CAST(c.value AS bigint) + 1 AS text) END, "
    "expires = CASE WHEN c.expires < %s THEN excluded.expires ELSE c.expires END RETURNING value"
)  # tungban.core.ratelimit.CounterCache.hit's statement


def seed() -> None:
    """Rows the statements need, in the database of ``DATABASE_URL`` (migrated)."""
    from django.utils import timezone

    from tungban.oidc.models import AuthorizationCode
    from tungban.testing.factories import make_client, make_officer, make_resident
    from tungban.wallet.models import ApprovalRequest

    officer = make_officer()
    residents = [make_resident(officer) for _ in range(50)]
    client = make_client("pgw", "https://rp.example/cb", allowed_scopes=["openid", "profile", "offline_access"])[0]
    soon = timezone.now() + dt.timedelta(minutes=5)
    approvals = {
        r.pk: ApprovalRequest.objects.create(kind="login", nonce="n", resident=r, status="completed", expires_at=soon)
        for r in residents
    }
    codes = []
    for i in range(4 * N + 50):
        resident = residents[i % len(residents)]
        codes.append(
            AuthorizationCode(
                code=secrets.token_urlsafe(30),
                client=client,
                resident=resident,
                approval=approvals[resident.pk],
                redirect_uri="https://rp.example/cb",
                scope="openid profile offline_access",
                claims=["name"],
                auth_time=1,
                acr="a",
                code_challenge="x",
                code_challenge_method="S256",
            )
        )
    AuthorizationCode.objects.bulk_create(codes)


class Side:
    """One database: its connection (autocommit, prepared statements) and rows to use."""

    def __init__(self, name: str):
        import psycopg

        base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]  # the same server, database ``name``
        self.conn = psycopg.connect(f"{base}/{name}", autocommit=True, prepare_threshold=0)
        self.client = self.conn.execute("SELECT id FROM oidc_client WHERE client_id = 'pgw'").fetchone()[0]
        self.codes = self.conn.execute(
            "SELECT id, resident_id, approval_id FROM oidc_authorizationcode ORDER BY id"
        ).fetchall()
        self.chain = self.chain_code = None
        self.lean = self.conn.execute("SELECT to_regclass('oidc_clienttoken') IS NOT NULL").fetchone()[0]

    def cpu_ns(self) -> int:
        return int(Path(f"/proc/{self.conn.info.backend_pid}/schedstat").read_text().split()[0])


def measure() -> None:
    import django

    django.setup()
    from django.utils import timezone

    from tungban.oidc import rows
    from tungban.wallet import services as wallet

    sides = {"main": Side(os.environ["DB_A"]), "branch": Side(os.environ["DB_B"])}
    insert, rotate_sql, redeem_sql = (f("postgresql") for f in (rows._insert_sql, rows._rotate_sql, rows._redeem_sql))
    release_sql = wallet._release_insert_sql()

    def values(side, code=None, **extra):
        v = {
            "access_token": secrets.token_hex(32),
            "client_id": side.client,
            "scope": "openid offline_access",
            "claims": ["name"],
            "issued_at": 1,
            "expires_in": 600,
        }
        if code:
            v.update(
                resident_id=code[1],
                authorization_code_id=code[0],
                refresh_token=secrets.token_hex(32),
                refresh_expires_at=2**30,
            )
        v.update(extra)
        return rows._token_params(v)

    def ratelimit(side):
        now = timezone.now().replace(microsecond=0)
        side.conn.execute(RATELIMIT_SQL, (":1:rl:n:pgw", FAR, now, now)).fetchone()

    def client_credentials(side):
        if side.lean:  # a client's own token in its lean table (issue 15, fourth round)
            side.conn.execute(rows.CLIENT_TOKEN_INSERT, [secrets.token_hex(32), side.client, "", 1, 600])
        else:
            side.conn.execute(insert, values(side, scope="")).fetchone()

    def release(side):
        code = side.codes[len(side.codes) // 2]
        side.conn.execute(release_sql, (code[1], "pgw", "P", "P", "login", '["name"]', code[2], timezone.now()))

    def redeem(side):
        code = side.codes.pop()
        assert side.conn.execute(redeem_sql, [timezone.now(), code[0], *values(side, code)]).fetchone()

    def rotate(side):
        if side.chain is None:
            side.chain_code = side.codes.pop()
            side.chain = side.conn.execute(insert, values(side, side.chain_code)).fetchone()[0]
        code, now = side.chain_code, timezone.now()
        params = [code[0], None, now, now, side.chain, *values(side, code, rotated_from_id=side.chain)]
        side.chain = side.conn.execute(rotate_sql, params).fetchone()[0]

    cases = [
        ("rate limiter's upsert", ratelimit),
        ("client_credentials INSERT", client_credentials),
        ("release record INSERT", release),
        ("code redemption", redeem),
        ("refresh rotation", rotate),
    ]
    for _name, fn in cases:  # warm-up: prepared statements, caches
        for side in sides.values():
            for _ in range(5):
                fn(side)
    per = N // ROUNDS
    found = {(name, s): [] for name, _ in cases for s in sides}
    for r in range(ROUNDS):
        for name, fn in cases:
            for s in sorted(sides, reverse=r % 2 == 1):  # alternate which goes first
                side = sides[s]
                before = side.cpu_ns()
                for _ in range(per):
                    fn(side)
                found[name, s].append((side.cpu_ns() - before) / per / 1e3)
    print(f"PostgreSQL backend CPU µs per statement (autocommit), median of {ROUNDS} rounds of {per}")
    print(f"{'statement':<28} {'A (' + os.environ['DB_A'] + ')':>16} {'B (' + os.environ['DB_B'] + ')':>16}")
    for name, _ in cases:
        a, b = (statistics.median(found[name, s]) for s in ("main", "branch"))
        print(f"{name:<28} {a:>16.0f} {b:>16.0f}")
    for s, side in sides.items():
        hot = side.conn.execute(
            "SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
            "WHERE relname IN ('oidc_token', 'oidc_authorizationcode') ORDER BY 1"
        ).fetchall()
        print(f"{'A' if s == 'main' else 'B'}: updates (heap-only) " + ", ".join(f"{t} {u} ({h})" for t, u, h in hot))


#: The ``client_credentials`` statement of main before issue 15's fourth round (f59da04,
#: ``oidc.fasttoken._cc_sql`` with ``ratelimit.embedded_count``): the counter's upsert and an
#: ``oidc_token`` row (four indexes, five foreign keys, the client's row locked at commit).
MAIN_CC_SQL = (
    "WITH c AS (SELECT c.id FROM oidc_client c WHERE c.client_id = %s AND c.client_secret_hash = %s), "
    "c_hits AS (INSERT INTO tungban_ratelimit AS h (cache_key, value, expires) SELECT %s, '1', %s FROM c "
    "ON CONFLICT (cache_key) DO UPDATE SET "
    "value = CASE WHEN h.expires < %s THEN '1' ELSE CAST(CAST(h.value AS bigint) + 1 AS text) END, "
    "expires = CASE WHEN h.expires < %s THEN excluded.expires ELSE h.expires END "
    "RETURNING CAST(h.value AS bigint) AS hits), "
    "t AS (INSERT INTO oidc_token (access_token, token_type, scope, claims, issued_at, expires_in, client_id, "
    "dpop_jkt) SELECT %s, 'Bearer', '', '[]', %s, 600, c.id, '' FROM c, c_hits WHERE c_hits.hits <= %s "
    "RETURNING id) SELECT (SELECT hits FROM c_hits), (SELECT id FROM t) FROM c"
)


def concurrent() -> None:
    """``client_credentials`` statements from ``C`` connections at once (threads; default
    16) on A and B alternately: each side's own statement — this checkout's
    (``oidc.fasttoken._cc_sql``, the limiter's read, ``oidc_clienttoken``) where that table
    exists, else main's (:data:`MAIN_CC_SQL`) — and the backends' CPU per statement. What the
    one-connection ``measure`` cannot show: the counter's row and the client's row that every
    concurrent request of one address and client updates or locks."""
    import threading
    import time

    import django

    django.setup()
    import psycopg
    from django.utils import timezone

    from tungban.core import ratelimit
    from tungban.oidc import client_secrets, fasttoken

    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    width = int(os.environ.get("C", "16"))
    per = max(1, N // width)
    digest = client_secrets.digest("pgw-secret")
    os.environ.setdefault("TUNGBAN_RATELIMIT_TOKEN", "100000000/m")
    check = ratelimit.embedded_check("token", "127.0.0.1", "c")
    branch_sql = fasttoken._cc_sql("postgresql", True).replace("{count}", check.sql)

    def statement(conn, lean: bool):
        now = timezone.now().replace(microsecond=0)
        token = secrets.token_hex(32)
        if lean:
            conn.execute(
                branch_sql,
                ["pgw", True, False, "client_secret_basic", digest, "[]", *check.params, token, "", 1, 600, 10**9],
            ).fetchone()
        else:
            conn.execute(MAIN_CC_SQL, ["pgw", digest, ":1:rl:n:cc", FAR, now, now, token, 1, 10**9]).fetchone()

    sides = {}
    for label, name in (("A", os.environ["DB_A"]), ("B", os.environ["DB_B"])):
        conns = [psycopg.connect(f"{base}/{name}", autocommit=True, prepare_threshold=0) for _ in range(width)]
        conns[0].execute(
            "UPDATE oidc_client SET client_secret_hash = %s, token_endpoint_auth_method = 'client_secret_basic' "
            "WHERE client_id = 'pgw'",
            [digest],
        )
        lean = conns[0].execute("SELECT to_regclass('oidc_clienttoken') IS NOT NULL").fetchone()[0]
        sides[label] = (name, conns, lean)
        for conn in conns:
            statement(conn, lean)  # warm-up, prepared

    def cpu(conns) -> int:
        return sum(int(Path(f"/proc/{c.info.backend_pid}/schedstat").read_text().split()[0]) for c in conns)

    found = {label: ([], []) for label in sides}
    for r in range(ROUNDS):
        for label in sorted(sides, reverse=r % 2 == 1):
            _name, conns, lean = sides[label]
            before, t0 = cpu(conns), time.monotonic()
            threads = [
                threading.Thread(target=lambda c=c, lean=lean: [statement(c, lean) for _ in range(per)]) for c in conns
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            found[label][0].append((cpu(conns) - before) / (per * width) / 1e3)
            found[label][1].append(per * width / (time.monotonic() - t0))
    print(f"client_credentials statement, {width} connections, median of {ROUNDS} rounds of {per * width}")
    for label, (name, _conns, lean) in sides.items():
        us, rate = (statistics.median(v) for v in found[label])
        kind = "oidc_clienttoken, limiter read" if lean else "oidc_token, limiter upsert"
        print(f"{label} ({name}, {kind}): {us:.0f} µs PostgreSQL CPU per statement, {rate:.0f} statements/s")


def dump_userinfo() -> None:
    """Print a checkout's UserInfo statement and its constant parameters as JSON (for
    :func:`userinfo`'s ``USERINFO_SQL_A`` and ``bench/userinfo_cpu.py --against``): this
    checkout's, or the one whose ``src`` the environment variable ``SRC`` names, e.g.
    ``SRC=/path/to/main/src .venv/bin/python bench/pg_writes.py dump-userinfo > /tmp/main-userinfo.json``."""
    import json

    if os.environ.get("SRC"):
        sys.path.insert(0, os.environ["SRC"])
    import django

    django.setup()
    from tungban.oidc import fastrelease, scopes

    sql, constants = fastrelease.statement(True, scopes.generation())
    print(json.dumps({"sql": sql, "params": constants}))


def userinfo() -> None:
    """UserInfo's one statement (read the token, insert the release, durable commit) from
    ``C`` connections at once (threads; default 16), PostgreSQL backends' CPU per statement:
    this checkout's (``oidc.fastrelease.statement``) and, alternately, the one in the JSON file
    ``USERINFO_SQL_A`` (:func:`dump_userinfo` of another checkout; it must run on this
    checkout's schema: main's five-table read does, its tables are still there). A throw-away
    test database beside ``DATABASE_URL``'s, ``R`` residents (default 64) each with a login's
    token (its code's approval, the pairwise ``sub``, the token's release copies); each
    connection cycles through the tokens. Issue 15, fifth round."""
    import json
    import threading
    import time

    import django

    django.setup()
    import psycopg
    from django.db import connection
    from django.utils import timezone

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from inprocess import throwaway_database

    from tungban.oidc import fastrelease, scopes
    from tungban.oidc.models import AuthorizationCode, Token, access_token_digest
    from tungban.oidc.services import pairwise_sub
    from tungban.testing.factories import make_client, make_officer, make_resident
    from tungban.wallet.models import ApprovalRequest

    width, residents = int(os.environ.get("C", "16")), int(os.environ.get("R", "64"))
    statements = {"branch": fastrelease.statement(True, scopes.generation())}
    if os.environ.get("USERINFO_SQL_A"):
        dumped = json.loads(Path(os.environ["USERINFO_SQL_A"]).read_text())
        statements = {"A": (dumped["sql"], dumped["params"]), **statements}
    per = max(1, N // width)
    claims = [
        "name",
        "name#zh-Hant",
        "hkid",
        "gender",
        "birthdate",
        "address",
        "billing_address",
        "phone_number",
        "email",
    ]
    with throwaway_database("pg_writes_userinfo"):
        officer = make_officer()
        client = make_client(
            "pgw-userinfo",
            "https://rp.example/cb",
            allowed_scopes=["openid", "profile", "hkid", "address", "billing_address", "phone", "email"],
        )[0]
        digests = []
        for i in range(residents):
            resident = make_resident(officer)
            approval = ApprovalRequest.objects.create(
                kind="login", nonce=f"n{i}", resident=resident, status="completed", expires_at=FAR
            )
            code = AuthorizationCode.objects.create(
                code=f"code-{i}",
                client=client,
                resident=resident,
                approval=approval,
                redirect_uri="https://rp.example/cb",
                scope="openid profile hkid address billing_address phone email",
                claims=claims,
                auth_time=int(time.time()),
                acr="x",
                code_challenge="x",
                code_challenge_method="S256",
            )
            pairwise_sub(resident, client)
            Token.objects.create(
                access_token=access_token_digest(f"tok-{i}"),
                client=client,
                resident=resident,
                authorization_code=code,
                scope=code.scope,
                claims=claims,
                issued_at=int(time.time()),
                expires_in=10**8,
            )
            digests.append(access_token_digest(f"tok-{i}"))
        s = connection.settings_dict
        dsn = f"host={s['HOST']} port={s['PORT']} user={s['USER']} dbname={s['NAME']}"
        conns = [psycopg.connect(dsn, autocommit=True, prepare_threshold=0) for _ in range(width)]

        def run(conn, label, start, count):
            sql, constants = statements[label]
            for k in range(count):
                now = timezone.now()
                token = digests[(start + k) % len(digests)]
                row = conn.execute(
                    sql, {**constants, "token": token, "now": now.timestamp(), "released_at": now}
                ).fetchone()
                if row is None or row[-1] is None:
                    raise SystemExit(f"{label}: the statement released nothing")

        def cpu() -> int:
            return sum(int(Path(f"/proc/{c.info.backend_pid}/schedstat").read_text().split()[0]) for c in conns)

        for label in statements:
            for i, conn in enumerate(conns):
                run(conn, label, i, 5)  # warm-up, prepared
        found = {label: ([], []) for label in statements}
        for r in range(ROUNDS):
            for label in sorted(statements, reverse=r % 2 == 1):
                before, t0 = cpu(), time.monotonic()
                threads = [threading.Thread(target=run, args=(c, label, i * 7, per)) for i, c in enumerate(conns)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                found[label][0].append((cpu() - before) / (per * width) / 1e3)
                found[label][1].append(per * width / (time.monotonic() - t0))
        for c in conns:
            c.close()
    print(f"UserInfo statement, {width} connections, {residents} residents, median of {ROUNDS} rounds of {per * width}")
    for label in statements:
        us, rate = (statistics.median(v) for v in found[label])
        print(f"{label}: {us:.0f} µs PostgreSQL CPU per statement, {rate:.0f} statements/s")


MODES = ("seed", "measure", "concurrent", "userinfo", "dump-userinfo")

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in MODES:
        raise SystemExit(f"usage: bench/pg_writes.py {'|'.join(MODES)} (see the docstring)")
    if sys.argv[1] == "userinfo":
        userinfo()
    elif sys.argv[1] == "dump-userinfo":
        dump_userinfo()
    elif sys.argv[1] == "seed":
        import django

        django.setup()
        seed()
    elif sys.argv[1] == "concurrent":
        concurrent()
    else:
        measure()
