"""Where concurrent exchanges wait: runs ``bench/exchange.py`` against a fresh PostgreSQL
database and, during its concurrency-16 level, samples ``pg_stat_activity`` (wait event and
query of each active backend of that database) and ``pg_locks`` (locks not granted) every
~10 ms for 4 s, and reads the CPU of the database's backends (``/proc/<pid>/schedstat``).

    PYTHONPATH=src .venv/bin/python bench/exchange_waits.py DBNAME OUT.json --quick --concurrency 4,16

DBNAME is dropped and created on 127.0.0.1:54329 (user postgres; another port with
``BENCH_PG_PORT``, e.g. a cluster of default durability: fsync on); the remaining arguments go
to ``bench/exchange.py``. Prints the mean number of backends per sample by (wait type, wait
event, query): by Little's law, a row's mean divided by exchanges per second is the time an
exchange spends in that wait (issue 15 round 3)."""

import collections
import os
import subprocess
import sys
import threading
import time

import psycopg

db = sys.argv[1] if __name__ == "__main__" else ""
PORT = os.environ.get("BENCH_PG_PORT", "54329")
samples = collections.Counter()
n = [0]
stop = threading.Event()
locks = collections.Counter()
pgcpu = {}


def pids(c):
    return [
        r[0]
        for r in c.execute(
            "select pid from pg_stat_activity where datname=%s and pid<>pg_backend_pid()", [db]
        ).fetchall()
    ]


def sched(pid):
    try:
        return int(open(f"/proc/{pid}/schedstat").read().split()[0])
    except OSError:
        return None


def sample():
    c = psycopg.connect(f"postgres://postgres@127.0.0.1:{PORT}/postgres", autocommit=True)
    p0 = {p: sched(p) for p in pids(c)}
    t0 = time.time()
    while not stop.is_set():
        rows = c.execute(
            "select coalesce(wait_event_type,'CPU'), coalesce(wait_event,'-'), left(regexp_replace(query,'\\s+',' ','g'),70) from pg_stat_activity where datname=%s and state not in ('idle') and pid<>pg_backend_pid()",
            [db],
        ).fetchall()
        n[0] += 1
        for r in rows:
            samples[r] += 1
        for r in c.execute(
            "select l.locktype, l.mode, coalesce(c.relname,''), l.objid from pg_locks l left join pg_class c on c.oid=l.relation where not l.granted"
        ).fetchall():
            locks[r] += 1
        time.sleep(0.01)
    p1 = {p: sched(p) for p in pids(c)}
    t1 = time.time()
    pgcpu["ns"] = sum(p1[p] - p0[p] for p in p1 if p in p0 and p0[p] is not None and p1[p] is not None)
    pgcpu["wall"] = t1 - t0
    pgcpu["kept"] = len([p for p in p1 if p in p0])
    pgcpu["n"] = len(p1)


def main() -> None:
    out, extra = sys.argv[2], sys.argv[3:]
    url = f"postgres://postgres@127.0.0.1:{PORT}/{db}"
    for sql in (f"drop database if exists {db}", f"create database {db}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", PORT, "-U", "postgres", "-qc", sql], check=True)
    p = subprocess.Popen(
        [sys.executable, "bench/exchange.py", "--database-url", url, "--output", out, *extra],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": "src"},
    )
    t = None
    for line in p.stdout:
        print(line, end="", flush=True)
        if line.startswith("Concurrency 16"):
            time.sleep(1.5)
            t = threading.Thread(target=sample)
            t.start()
            threading.Timer(4.0, stop.set).start()
    p.wait()
    if t:
        t.join()
    print(f"\n{n[0]} samples; mean active backends per sample by wait:")
    for k, v in samples.most_common(25):
        print(f"{v / n[0]:6.2f}  {k}")
    print(
        "PostgreSQL backends of the db, CPU during the sampled window:",
        pgcpu,
        "-> % of a core:",
        round(pgcpu.get("ns", 0) / 1e9 / max(pgcpu.get("wall", 1), 1e-9) * 100, 1),
    )
    print("waiting locks:")
    for k, v in locks.most_common(10):
        print(f"{v / n[0]:6.2f}  {k}")


if __name__ == "__main__":
    main()
