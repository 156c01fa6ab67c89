#!/usr/bin/env python
"""What each shape of the release record costs PostgreSQL per insert (issue 15, fourth round).

``wallet_releaserecord`` gets one row per UserInfo / form-data answer, in its own durable
commit. This script makes six tables in a scratch database ``ui4_shapes`` on the server of
``DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:54329``) — the shape main had (a
primary key, ``(resident_id, released_at DESC)``, ``approval_id``), without the ``approval_id``
index (this branch), a composite primary key ``(resident_id, released_at, id)`` with and
without ``approval_id``, the composite one with a narrower row (no requester names, an integer
requester), and a heap without any index — each with ``PRE`` rows (300,000; random residents,
a new random approval UUID each, as logins make them), then sends ``N`` single-row INSERTs
per table in interleaved rounds and prints the median PostgreSQL backend CPU per insert
(``/proc/<pid>/schedstat``: the server on this machine)::

    .venv/bin/python bench/release_shapes.py setup
    .venv/bin/python bench/release_shapes.py sync    # autocommit, durable commit per insert (production)
    .venv/bin/python bench/release_shapes.py tx      # one commit per round: the insert's own work
    .venv/bin/python bench/release_shapes.py async   # synchronous_commit = off (diagnosis only)
"""

import os
import random
import statistics
import sys
from pathlib import Path

import psycopg

SERVER = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:54329/postgres").rsplit("/", 1)[0]
URL = f"{SERVER}/ui4_shapes"
N = int(os.environ.get("N", "2000"))
ROUNDS = 8
PRE = int(os.environ.get("PRE", "300000"))
cols = "id bigserial, resident_id bigint not null, requester_id varchar(100) not null, requester_name_en varchar(200) not null, requester_name_zh varchar(200) not null, kind varchar(40) not null, claims jsonb not null, approval_id uuid, released_at timestamptz not null"
narrow = "id bigserial, resident_id bigint not null, requester int, kind varchar(40) not null, claims jsonb not null, approval_id uuid, released_at timestamptz not null"
SHAPES = {
    "A main (3 indexes)": (cols, ["primary key (id)"], ["(resident_id, released_at desc)", "(approval_id)"]),
    "B branch (2)": (cols, ["primary key (id)"], ["(resident_id, released_at desc)"]),
    "C cpk+approval (2)": (cols, ["primary key (resident_id, released_at, id)"], ["(approval_id)"]),
    "D cpk (1)": (cols, ["primary key (resident_id, released_at, id)"], []),
    "E cpk narrow (1)": (narrow, ["primary key (resident_id, released_at, id)"], []),
    "F heap (0)": (cols, [], []),
}


def setup():
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as c:
        c.execute("drop database if exists ui4_shapes")
        c.execute("create database ui4_shapes")
    with psycopg.connect(URL, autocommit=True) as c:
        for i, (name, (cs, cons, idx)) in enumerate(SHAPES.items()):
            t = f"t{i}"
            c.execute(f"create table {t} ({cs}{''.join(', ' + x for x in cons)})")
            for j, ix in enumerate(idx):
                c.execute(f"create index {t}_i{j} on {t} {ix}")
            if "narrow" in name:
                c.execute(
                    f'insert into {t} (resident_id, requester, kind, claims, approval_id, released_at) select (random()*100000)::int, 1, \'login\', \'["name","hkid","birthdate","gender","address"]\', gen_random_uuid(), now() - random()*interval \'300 days\' from generate_series(1,{PRE})'
                )
            else:
                c.execute(
                    f"insert into {t} (resident_id, requester_id, requester_name_en, requester_name_zh, kind, claims, approval_id, released_at) select (random()*100000)::int, 'bench-userinfo-client', 'Bench service of the government', '基準服務部門', 'login', '[\"name\",\"hkid\",\"birthdate\",\"gender\",\"address\"]', gen_random_uuid(), now() - random()*interval '300 days' from generate_series(1,{PRE})"
                )
            c.execute(f"vacuum analyze {t}")


def measure(mode):
    conns = {}
    for name in SHAPES:
        conns[name] = psycopg.connect(URL, autocommit=(mode != "tx"), prepare_threshold=0)
        if mode == "async":
            conns[name].execute("set synchronous_commit=off")

    def cpu(c):
        return int(Path(f"/proc/{c.info.backend_pid}/schedstat").read_text().split()[0])

    def one(i, name, c):
        r = random.randrange(100000)
        if "narrow" in name:
            c.execute(
                f"insert into t{i} (resident_id, requester, kind, claims, approval_id, released_at) values (%s,1,'login',%s,gen_random_uuid(),now()) returning id",
                (r, '["name","hkid","birthdate","gender","address"]'),
            ).fetchone()
        else:
            c.execute(
                f"insert into t{i} (resident_id, requester_id, requester_name_en, requester_name_zh, kind, claims, approval_id, released_at) values (%s,'bench-userinfo-client','Bench service of the government','基準服務部門','login',%s,gen_random_uuid(),now()) returning id",
                (r, '["name","hkid","birthdate","gender","address"]'),
            ).fetchone()

    res = {n: [] for n in SHAPES}
    per = N // ROUNDS
    for i, (name, c) in enumerate(conns.items()):
        for _ in range(20):
            one(i, name, c)
        if mode == "tx":
            c.commit()
    for r in range(ROUNDS):
        order = list(enumerate(conns.items()))
        if r % 2:
            order.reverse()
        for i, (name, c) in order:
            b = cpu(c)
            for _ in range(per):
                one(i, name, c)
            if mode == "tx":
                c.commit()
            res[name].append((cpu(c) - b) / per / 1e3)
    print(f"mode={mode} N={N}")
    for n in SHAPES:
        print(f"  {n:<20} {statistics.median(res[n]):7.1f} µs  (min {min(res[n]):.1f})")


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup()
    else:
        measure(sys.argv[1])
