#!/usr/bin/env python
"""PostgreSQL's CPU per ``client_credentials`` statement, taken apart (issue 15, sixth round).

Runs shapes of the lane's one statement (:func:`tungban.oidc.fasttoken._cc_sql`) and the
peer's (oidc-provider's ``upsert`` in ``bench/peer/adapter.mjs``) on ``C`` connections at once,
each a prepared statement, in interleaved rounds, and prints the median PostgreSQL backend
CPU per statement (``/proc/<pid>/schedstat`` of the connections' server processes: this
machine's server) and statements per second::

    createdb -h 127.0.0.1 -p 54329 -U postgres ccstmt
    DATABASE_URL=postgres://postgres@127.0.0.1:54329/ccstmt N=4000 C=16 PYTHONPATH=src \\
        .venv/bin/python bench/cc_statement.py

Shapes: ``lane`` (the statement as the lane sends it: client authenticated with the limiter's
read in its row, the insert), ``lane_fourth`` (the fourth round's statement: the read a ``WITH``
member of its own, joined), ``lane_uncounted`` (without the limiter's read), ``insert`` (the
insert alone, no client), ``peer`` (the peer's upsert of a JSON payload into its one table,
created here as ``bench_oidc_payload``), ``insert_c`` on a copy of the token table whose
digest column has the ``"C"`` collation, ``insert_bytea`` on one with a ``bytea`` digest.
``SHAPES=a,b`` runs only those; ``PERF=file`` records the backends with ``perf record -g``. The
database is migrated and a client registered here: give it a throw-away database."""

from __future__ import annotations

import hashlib
import os
import secrets
import statistics
import sys
import threading
import time

import django

N = int(os.environ.get("N", "4000"))
C = int(os.environ.get("C", "16"))
ROUNDS = int(os.environ.get("ROUNDS", "6"))

PEER_TABLE = """
CREATE TABLE IF NOT EXISTS bench_oidc_payload (
  model text NOT NULL, id text NOT NULL, payload jsonb NOT NULL, grant_id text, user_code text, uid text,
  expires_at timestamptz, consumed_at timestamptz, PRIMARY KEY (model, id));
CREATE INDEX IF NOT EXISTS bench_oidc_payload_grant_id ON bench_oidc_payload (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS bench_oidc_payload_user_code ON bench_oidc_payload (user_code) WHERE user_code IS NOT NULL;
CREATE INDEX IF NOT EXISTS bench_oidc_payload_uid ON bench_oidc_payload (uid) WHERE uid IS NOT NULL;
CREATE TABLE IF NOT EXISTS bench_clienttoken_c (LIKE oidc_clienttoken INCLUDING ALL);
ALTER TABLE bench_clienttoken_c ALTER COLUMN access_token TYPE varchar(64) COLLATE "C";
CREATE TABLE IF NOT EXISTS bench_clienttoken_bytea (access_token bytea PRIMARY KEY, client_id integer NOT NULL,
  scope text NOT NULL, issued_at integer NOT NULL, expires_in integer NOT NULL, revoked_at timestamptz);
"""
PEER_SQL = """INSERT INTO bench_oidc_payload (model, id, payload, grant_id, user_code, uid, expires_at)
 VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::int IS NULL THEN NULL ELSE now() + make_interval(secs => $7::int) END)
 ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
 user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at, consumed_at = NULL"""


def cpu_ns(pid: int) -> int:
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def main() -> int:
    sys.path.insert(0, os.path.dirname(__file__))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tungban.settings")
    os.environ.setdefault("TUNGBAN_RATELIMIT_TOKEN", "100000000/m")
    django.setup()
    import psycopg
    from django.db import connection

    from tungban.core import ratelimit
    from tungban.oidc import client_secrets, fasttoken
    from tungban.oidc import services as oidc
    from tungban.testing.migrated import migrate_database

    migrate_database()  # from a copy when TUNGBAN_MIGRATED_CACHE is set (the tiny runs)
    from tungban.oidc.models import Client

    client = Client.objects.filter(client_id="ccstmt").first()
    if client is None:
        client, secret = oidc.register_client(
            client_id="ccstmt", name_en="cc statement", name_zh="測試", redirect_uris=["https://rp.example/cb"]
        )
    Client.objects.filter(pk=client.pk).update(client_secret_hash=client_secrets.digest("ccstmt-secret"))
    client.refresh_from_db()
    with connection.cursor() as cur:
        cur.execute(PEER_TABLE)
    check = ratelimit.embedded_check("token", "127.0.0.1", "c")
    counted = fasttoken._cc_sql("postgresql", True).replace("{count}", check.hits)
    uncounted = fasttoken._cc_sql("postgresql", False)
    # The fourth round's shape: the limiter's read a WITH member of its own, joined to ``c``.
    fourth = (
        f"WITH c AS (SELECT c.id FROM oidc_client c WHERE {fasttoken._CLIENT_WHERE} "
        f"AND c.allowed_scopes @> CAST(%s AS jsonb)), {check.sql}, t AS (INSERT INTO oidc_clienttoken "
        "(access_token, client_id, scope, issued_at, expires_in) SELECT CAST(%s AS varchar), c.id, "
        "CAST(%s AS text), CAST(%s AS integer), CAST(%s AS integer) FROM c, c_hits WHERE c_hits.hits <= %s) "
        "SELECT c_hits.hits FROM c, c_hits"
    )
    auth = [client.client_id, True, False, client.token_endpoint_auth_method, client_secrets.digest("ccstmt-secret")]
    ttl = 600

    def values(digest):
        return [digest, "", int(time.time()), ttl]

    insert = "INSERT INTO {t} (access_token, client_id, scope, issued_at, expires_in) VALUES (%s, %s, %s, %s, %s)"

    def hexdigest():
        return hashlib.sha256(secrets.token_bytes(32)).hexdigest()

    shapes = {
        "lane": lambda: (counted, [*check.params, *auth, "[]", *values(hexdigest()), check.limit]),
        "lane_fourth": lambda: (fourth, [*auth, "[]", *check.params, *values(hexdigest()), check.limit]),
        "lane_uncounted": lambda: (uncounted, [*auth, "[]", *values(hexdigest())]),
        "insert": lambda: (insert.format(t="oidc_clienttoken"), [hexdigest(), client.pk, "", int(time.time()), ttl]),
        "insert_c": lambda: (
            insert.format(t="bench_clienttoken_c"),
            [hexdigest(), client.pk, "", int(time.time()), ttl],
        ),
        "insert_bytea": lambda: (
            insert.format(t="bench_clienttoken_bytea"),
            [hashlib.sha256(secrets.token_bytes(32)).digest(), client.pk, "", int(time.time()), ttl],
        ),
    }
    url = os.environ["DATABASE_URL"]
    conns = [psycopg.connect(url, autocommit=True, prepare_threshold=0) for _ in range(C)]
    pids = [c.execute("SELECT pg_backend_pid()").fetchone()[0] for c in conns]

    errors: list[BaseException] = []

    def run(conn, name, count):
        try:
            _run(conn, name, count)
        except BaseException as exc:  # noqa: BLE001 - reported after the threads join
            errors.append(exc)

    def _run(conn, name, count):
        if name == "peer":
            token_sql = PEER_SQL
            for i in range(7, 0, -1):
                token_sql = token_sql.replace(f"${i}", "%s")
            for _ in range(count):
                token = secrets.token_urlsafe(32)
                now = int(time.time())
                payload = {
                    "iat": now,
                    "exp": now + 600,
                    "clientId": "bench-rp",
                    "kind": "ClientCredentials",
                    "jti": token,
                    "scope": "api",
                    "extra": {},
                    "format": "opaque",
                }
                conn.execute(
                    token_sql,
                    ["ClientCredentials", token, psycopg.types.json.Jsonb(payload), None, None, None, 600, 600],
                    prepare=True,
                )
            return
        make = shapes[name]
        for _ in range(count):
            sql, params = make()
            cursor = conn.execute(sql, params, prepare=True)
            if cursor.description is not None:
                cursor.fetchall()

    names = [*shapes, "peer"]
    if os.environ.get("SHAPES"):
        names = os.environ["SHAPES"].split(",")
    found: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    per = max(1, N // C)
    for name in names:  # warm: prepare on every connection
        threads = [threading.Thread(target=run, args=(c, name, 6)) for c in conns]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    recorder = None
    if os.environ.get("PERF"):
        import subprocess

        recorder = subprocess.Popen(
            ["perf", "record", "-g", "-o", os.environ["PERF"], "-p", ",".join(map(str, pids))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    for r in range(ROUNDS):
        for name in names if r % 2 == 0 else list(reversed(names)):
            before = sum(cpu_ns(p) for p in pids)
            t0 = time.perf_counter()
            threads = [threading.Thread(target=run, args=(c, name, per)) for c in conns]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            used = sum(cpu_ns(p) for p in pids) - before
            if errors:
                raise errors[0]
            found[name].append((used / 1000 / (per * C), per * C / wall))
    if recorder is not None:
        import signal

        recorder.send_signal(signal.SIGINT)
        recorder.wait()
    print(f"PostgreSQL backend CPU per statement, {C} connections, {per * C} statements per round, {ROUNDS} rounds")
    print(f"{'shape':<16} {'µs median':>10} {'(min-max)':>16} {'stmts/s':>9}")
    for name in names:
        us = [u for u, _ in found[name]]
        rate = statistics.median(r for _, r in found[name])
        print(
            f"{name:<16} {statistics.median(us):>10.1f} {f'({min(us):.0f}-{max(us):.0f})':>16} {rate:>9.0f}  "
            + " ".join(f"{u:.0f}" for u in us)
        )
    for c in conns:
        c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
