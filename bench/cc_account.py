#!/usr/bin/env python
"""Where the CPU and the time of a ``client_credentials`` request go, for tungban and the peer
(oidc-provider) on the same PostgreSQL server, in alternating runs (issue 15, sixth round).

``bench/oidc.py`` prints the CPU of each system's server and of PostgreSQL per request. This
accounts for *everything* on the machine over each wrk run, so that a difference in
throughput that those two figures do not explain can be found:

* ``/proc/stat``: the machine's user, system, softirq, irq, iowait, steal and idle time;
* every process, from ``/proc/<pid>/stat``: the system's server tree (granian's main process
  and workers; node's primary and workers), PostgreSQL by role (``bench/pgsplit.py``: the
  backends of each database, walwriter, checkpointer, postmaster and exited children), wrk
  (``RUSAGE_CHILDREN``), this script, and everything else (other users of the machine);
* context switches (voluntary / involuntary) of the server's threads and of PostgreSQL's
  processes (``/proc/<pid>/task/<tid>/status``);
* what PostgreSQL's backends of the system's database are doing, sampled from
  ``pg_stat_activity`` every ``--sample-ms`` (running, waiting for the client, waiting for
  the WAL flush of a commit, locks): how many requests are in the database at once;
* wrk's requests per second and latency.

With ``--variant``, every tungban server uses the one database ``tungban``: the backends'
states then include the idle connections of the servers not running (read the ``active``
ones). Reading ``/proc`` and sampling ``pg_stat_activity`` costs this script ~1–3 % of a core
(its own line, "this script").

Tungban's server may be started several times with different settings (``--variant``: each
its own granian on its own port, the same database), so that server settings are compared
A/B in alternation with the peer in between. Run from the checkout::

    .venv/bin/python bench/cc_account.py --connections 16 --seconds 10 --rounds 3
    .venv/bin/python bench/cc_account.py --variant base= --variant t4=threads:4 --no-peer
    .venv/bin/python bench/cc_account.py --variant rt2=extra:--runtime-threads,2

``--switch-stacks DIR`` records, for each timed run, the call stacks at which the server's
threads leave the CPU (``perf record -e sched:sched_switch -g``): which waits (the tokio
thread's ``epoll_wait``, psycopg's ``poll``, the GIL's ``futex``, the blocking pool's
channel) make its context switches (issue 15, seventh round)::

    .venv/bin/python bench/cc_account.py --no-peer --rounds 1 --switch-stacks /tmp/sw
    perf report -i /tmp/sw/tungban-0.data --stdio --no-children --sort sym -g caller,0.5,callee

A variant is ``NAME=`` followed by comma-separated ``threads:N``, ``workers:N``, ``env:K=V``
or ``extra:ARG`` items (``extra:--runtime-threads,2`` passes two arguments).

Printed: per system, the median over rounds of each figure in ms of CPU per request (and
req/s, p50/p99, context switches per request, the backends' states in % of samples);
``--output`` writes every round as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import oidc  # bench/oidc.py
import peer  # bench/peer.py
import pgsplit  # bench/pgsplit.py
from machine import CLK_TCK, isolate, listening_socket, scratch_dir, start_server, wait_until_up

SYSCALLS = (
    "futex",
    "epoll_wait",
    "poll",
    "ppoll",
    "sched_yield",
    "recvfrom",
    "sendto",
    "read",
    "write",
    "writev",
    "readv",
    "recvmsg",
    "sendmsg",
    "select",
    "pselect6",
    "epoll_ctl",
    "clock_gettime",
    "getrandom",
    "mmap",
    "munmap",
    "madvise",
    "brk",
    "getpid",
    "openat",
    "close",
    "newfstatat",
    "ioctl",
    "lseek",
    "accept4",
    "eventfd2",
)
STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def proc_stat() -> dict[str, int]:
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:9]
    return dict(zip(STAT_FIELDS, map(int, parts), strict=True))


def all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def cpu_of(pid: int) -> tuple[int, int] | None:
    """``(utime+stime, cutime+cstime)`` in ticks."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def connections_per_process(port: str) -> dict[int, int]:
    """The established connections to ``port`` held by each process (``ss -tnp``)."""
    out = subprocess.run(
        ["ss", "-Htnp", "state", "established", f"( sport = :{port} )"], capture_output=True, text=True, check=False
    ).stdout
    counts: dict[int, int] = {}
    for pid in re.findall(r"pid=(\d+)", out):
        counts[int(pid)] = counts.get(int(pid), 0) + 1
    return counts


def comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")[:80]
    except OSError:
        return "?"


def switches(pids: list[int]) -> dict[int, tuple[int, int]]:
    """``{pid: (voluntary, involuntary)}`` context switches of every thread of ``pids``."""
    out: dict[int, tuple[int, int]] = {}
    for pid in pids:
        vol = invol = 0
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    for line in f:
                        if line.startswith("voluntary_ctxt_switches"):
                            vol += int(line.split()[1])
                        elif line.startswith("nonvoluntary_ctxt_switches"):
                            invol += int(line.split()[1])
            except OSError:
                continue
        out[pid] = (vol, invol)
    return out


def switched(before: dict, after: dict) -> tuple[int, int]:
    """The switches between two :func:`switches` of the processes in both (a process that
    came or went in between, e.g. this script's own sampling backend, is left out)."""
    common = before.keys() & after.keys()
    return (
        sum(after[p][0] - before[p][0] for p in common),
        sum(after[p][1] - before[p][1] for p in common),
    )


class Activity:
    """Samples ``pg_stat_activity`` for one database every ``interval`` s in a thread:
    counts of ``(state, wait_event_type:wait_event)`` over the run."""

    SQL = (
        "SELECT state, coalesce(wait_event_type, '') || ':' || coalesce(wait_event, '') "
        "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
    )

    def __init__(self, url: str, database: str, interval: float):
        import psycopg

        self.conn = psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True)
        self.database, self.interval = database, interval
        self.counts: dict[str, int] = {}
        self.samples = 0
        self._stop = threading.Event()

    def _loop(self):
        with self.conn.cursor() as cur:
            while not self._stop.wait(self.interval):
                cur.execute(self.SQL, (self.database,))
                self.samples += 1
                for state, wait in cur.fetchall():
                    key = f"{state} {wait}".strip()
                    self.counts[key] = self.counts.get(key, 0) + 1

    def wal(self) -> dict[str, float]:
        """``pg_stat_wal`` (PostgreSQL 14+): records, full-page images, bytes, writes, syncs."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT wal_records, wal_fpi, wal_bytes, wal_write, wal_sync FROM pg_stat_wal")
            row = cur.fetchone()
        return dict(zip(("records", "fpi", "bytes", "writes", "syncs"), map(float, row), strict=True))

    def __enter__(self):
        self.wal0 = self.wal()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join()
        wal1 = self.wal()
        self.wal_delta = {k: wal1[k] - self.wal0[k] for k in wal1}

    def per_sample(self) -> dict[str, float]:
        """Mean number of backends in each state at a sample."""
        n = max(1, self.samples)
        return {k: round(v / n, 2) for k, v in sorted(self.counts.items(), key=lambda kv: -kv[1])}


def account(system: oidc.System, pg: oidc.Postgres, dbname: str, args, tmp: Path) -> dict:
    """One wrk run of ``client_credentials`` on ``system`` with everything accounted."""
    script, url, env = system.scenario("client_credentials", args.connections, tmp)
    oidc.run_wrk(script, url, args.connections, args.warmup, 2, env)  # warm-up
    system.drain()
    server = system.pids()
    pg_before = pgsplit.snapshot(pg.pid)
    mine = os.getpid()

    def snapshot():
        cpu = {pid: cpu_of(pid) for pid in all_pids()}
        return cpu, proc_stat(), switches(server), switches([pg.pid, *oidc.children_of(pg.pid)])

    cpu0, stat0, sw_server0, sw_pg0 = snapshot()
    rusage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    recorder = switch_recorder = None
    pg_pids = [pg.pid, *oidc.children_of(pg.pid)]
    if args.perf:
        args.perf.mkdir(parents=True, exist_ok=True)
        data = args.perf / f"{system.name}-{len(list(args.perf.glob(system.name + '-*.data')))}.data"
        recorder = subprocess.Popen(
            ["perf", "record", "-g", "-F", "999", "-o", str(data), "-p", ",".join(map(str, server + pg_pids))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    if args.switch_stacks:
        args.switch_stacks.mkdir(parents=True, exist_ok=True)
        data = args.switch_stacks / f"{system.name}-{len(list(args.switch_stacks.glob(system.name + '-*.data')))}.data"
        switch_recorder = subprocess.Popen(
            ["perf", "record", "-e", "sched:sched_switch", "-g", "-o", str(data), "-p", ",".join(map(str, server))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    tracer = None
    if args.syscalls:
        args.syscalls.mkdir(parents=True, exist_ok=True)
        where = args.syscalls / f"{system.name}-{len(list(args.syscalls.glob(system.name + '-*.txt')))}.txt"
        tracer = subprocess.Popen(
            ["perf", "stat", "-x", ",", "-o", str(where), "-e", "raw_syscalls:sys_enter,sched:sched_switch"]
            + [arg for name in SYSCALLS for arg in ("-e", "syscalls:sys_enter_" + name)]
            + ["-p", ",".join(map(str, server))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    spread: dict = {}
    port = url.split(":")[2].split("/")[0]
    timer = threading.Timer(args.seconds / 2, lambda: spread.update(connections_per_process(port)))
    with Activity(pg_url(pg), dbname, args.sample_ms / 1000) as activity:
        t0 = time.perf_counter()
        timer.start()
        out = oidc.run_wrk(script, url, args.connections, args.seconds, 2, env)
        wall = time.perf_counter() - t0
        timer.join()
    for running in (recorder, switch_recorder):
        if running is not None:
            running.send_signal(signal.SIGINT)
            running.wait(60)
    if tracer is not None:
        tracer.send_signal(signal.SIGINT)
        tracer.wait(60)
        counts = {}
        for line in where.read_text().splitlines():
            parts = line.split(",")
            if len(parts) > 2 and parts[0].strip().isdigit():
                counts[parts[2].split(":")[-1].removeprefix("sys_enter_")] = int(parts[0])
    rusage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu1, stat1, sw_server1, sw_pg1 = snapshot()
    pg_after = pgsplit.snapshot(pg.pid)
    requests = out["requests"]
    pg_tree = {pg.pid, *oidc.children_of(pg.pid)}
    groups = {"server": 0.0, "other processes": 0.0, "this script": 0.0}
    others: dict[str, int] = {}
    server_set = set(server)
    for pid, after in cpu1.items():
        if after is None or pid in pg_tree:
            continue
        before = cpu0.get(pid)
        used = after[0] - (before[0] if before else 0)
        if pid in server_set:
            groups["server"] += used
        elif pid == mine:
            groups["this script"] += used
        else:
            groups["other processes"] += used
            if used:
                others[comm(pid)] = others.get(comm(pid), 0) + used
    ms = {k: v / CLK_TCK * 1000 / requests for k, v in groups.items()}
    wrk_cpu = (rusage1.ru_utime - rusage0.ru_utime) + (rusage1.ru_stime - rusage0.ru_stime)
    ms["wrk"] = wrk_cpu * 1000 / requests
    ms["other processes"] -= ms["wrk"]  # wrk exited: its time is in RUSAGE_CHILDREN, not in /proc
    for role, seconds in pgsplit.split(pg_before, pg_after).items():
        if seconds:
            ms[f"pg {role}"] = seconds * 1000 / requests
    machine = {k: (stat1[k] - stat0[k]) / CLK_TCK * 1000 / requests for k in STAT_FIELDS}
    return {
        "system": system.name,
        "requests": requests,
        "errors": sum(out["errors"].values()),
        "rps": requests / (out["duration_us"] / 1e6),
        "p50_ms": out["p50_us"] / 1000,
        "p99_ms": out["p99_us"] / 1000,
        "wall_s": wall,
        "cpu_ms_per_request": {k: round(v, 4) for k, v in ms.items()},
        "machine_ms_per_request": {k: round(v, 4) for k, v in machine.items()},
        "machine_busy_percent": round(
            100 * (1 - (stat1["idle"] - stat0["idle"]) / max(1, sum(stat1[k] - stat0[k] for k in STAT_FIELDS))), 1
        ),
        "switches_per_request": {
            "server voluntary": round(switched(sw_server0, sw_server1)[0] / requests, 2),
            "server involuntary": round(switched(sw_server0, sw_server1)[1] / requests, 2),
            "pg voluntary": round(switched(sw_pg0, sw_pg1)[0] / requests, 2),
            "pg involuntary": round(switched(sw_pg0, sw_pg1)[1] / requests, 2),
        },
        "backends": activity.per_sample(),
        "wal_per_request": {k: round(v / requests, 3) for k, v in activity.wal_delta.items()},
        "other_processes_ms": {
            k: round(v / CLK_TCK * 1000 / requests, 4) for k, v in sorted(others.items(), key=lambda kv: -kv[1])[:8]
        },
        "loadavg": os.getloadavg()[0],
        "connections_per_server_process": sorted(spread.values(), reverse=True),
        "server_syscalls_per_request": {k: round(v / requests, 2) for k, v in counts.items()} if tracer else {},
    }


def pg_url(pg: oidc.Postgres) -> str:
    return f"postgres://{pg.user}@127.0.0.1:{pg.port}/postgres"


def parse_variant(text: str) -> tuple[str, dict]:
    """``NAME=ITEM,ITEM,...`` (module docstring); ``extra:`` takes the rest of the text."""
    name, _, spec = text.partition("=")
    out: dict = {"threads": None, "workers": None, "env": {}, "extra": []}
    spec, _, extra = spec.partition("extra:")
    out["extra"] = [a for a in extra.split(",") if a]
    for item in filter(None, spec.split(",")):
        key, _, value = item.partition(":")
        if key in ("threads", "workers"):
            out[key] = int(value)
        elif key == "env":
            k, _, v = value.partition("=")
            out["env"][k] = v
        else:
            raise SystemExit(f"bad variant item {item!r}")
    return name or "tungban", out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--warmup", type=float, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    p.add_argument("--variant", action="append", help="a tungban server variant (see the docstring)")
    p.add_argument("--no-peer", action="store_true")
    p.add_argument("--sample-ms", type=float, default=10)
    p.add_argument("--output", type=Path)
    p.add_argument(
        "--syscalls",
        type=Path,
        help="count the server's system calls of each timed run (perf stat) into this directory",
    )
    p.add_argument(
        "--perf",
        type=Path,
        help="record each timed run with `perf record -g` of the server and PostgreSQL into this directory",
    )
    p.add_argument(
        "--switch-stacks",
        type=Path,
        help="record where the server's threads leave the CPU (perf record -e sched:sched_switch -g) "
        "into this directory; read with perf report --no-children --sort sym -g caller",
    )
    args = p.parse_args(argv)
    variants = [parse_variant(v) for v in (args.variant or ["tungban="])]
    pgbin = oidc.ensure_tools(argparse.Namespace(no_peer=args.no_peer, scenarios=["client_credentials"]))
    results: list[dict] = []
    with scratch_dir("tungban-bench-cc-", False) as tmp:
        pg = oidc.Postgres(pgbin)
        servers, peer_proc = [], None
        try:
            tungban_db = pg.create_database("tungban")
            sock = listening_socket()
            issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
            base_env = isolate(tmp, issuer, tungban_db)
            import django

            django.setup()
            from django.db import connections

            notes: dict = {}
            client, secret, _ = oidc.seed_tungban(argparse.Namespace(residents=50, devices=1), notes)
            connections.close_all()
            systems = []
            for i, (name, spec) in enumerate(variants):
                if i:
                    sock = listening_socket()
                    issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
                env = {**base_env, "TUNGBAN_ISSUER": issuer, **spec["env"]}
                proc = start_server(
                    sock,
                    env,
                    spec["workers"] or args.workers,
                    tmp,
                    threads=spec["threads"],
                    extra=tuple(spec["extra"]),
                    log=tmp / f"server-{name}.log",
                )
                servers.append(proc)
                wait_until_up(f"{issuer}/.well-known/openid-configuration", proc, tmp / f"server-{name}.log")
                sock.close()
                meta = oidc.fetch_json(f"{issuer}/.well-known/openid-configuration")
                systems.append(
                    oidc.System(name, issuer, meta, oidc.basic_auth(client.client_id, secret), "", proc.pid, [], [])
                )
                systems[-1].dbname = "tungban"
            if not args.no_peer:
                peer_db = pg.create_database("peer")
                port = oidc.free_port()
                peer_issuer = f"http://127.0.0.1:{port}"
                seeded = peer.setup(peer_db, peer_issuer, 10, 0, 0)
                peer_proc = peer.start(peer_db, peer_issuer, port, args.workers)
                meta = oidc.fetch_json(f"{peer_issuer}/.well-known/openid-configuration")
                basic = oidc.basic_auth(seeded["client_id"], seeded["client_secret"])
                systems.append(oidc.System("oidc-provider", peer_issuer, meta, basic, "api", peer_proc.pid, [], []))
                systems[-1].dbname = "peer"
            for r in range(args.rounds):
                order = systems if r % 2 == 0 else list(reversed(systems))
                for system in order:
                    row = account(system, pg, system.dbname, args, tmp)
                    row["round"] = r
                    results.append(row)
                    print(
                        f"round {r} {row['system']}: {row['rps']:.0f} req/s, p50 {row['p50_ms']:.2f} ms, "
                        f"load {row['loadavg']:.1f}, errors {row['errors']}; "
                        + ", ".join(f"{k} {v:.3f}" for k, v in row["cpu_ms_per_request"].items() if v >= 0.001),
                        flush=True,
                    )
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait(15)
            if peer_proc is not None:
                peer.stop(peer_proc)
            try:
                from django.db import connections as conns

                conns.close_all()
            except Exception:  # noqa: BLE001
                pass
            pg.stop()
    summarise(results)
    if args.output:
        args.output.write_text(json.dumps(results, indent=1))
    return 0


def summarise(results: list[dict]) -> None:
    names = list(dict.fromkeys(r["system"] for r in results))
    print()
    for name in names:
        rows = [r for r in results if r["system"] == name]

        def med(get, rows=rows):
            values = [get(r) for r in rows]
            values = [v for v in values if v is not None]
            return statistics.median(values) if values else 0.0

        print(f"== {name}: {len(rows)} runs, medians")
        print(
            f"   req/s {med(lambda r: r['rps']):.0f}  p50 {med(lambda r: r['p50_ms']):.2f} ms  "
            f"p99 {med(lambda r: r['p99_ms']):.2f} ms  busy {med(lambda r: r['machine_busy_percent']):.0f}%"
        )
        keys = list(dict.fromkeys(k for r in rows for k in r["cpu_ms_per_request"]))
        print(
            "   CPU ms/request: "
            + ", ".join(f"{k} {med(lambda r, k=k: r['cpu_ms_per_request'].get(k, 0)):.3f}" for k in keys)
        )
        print(
            "   machine ms/request: "
            + ", ".join(f"{k} {med(lambda r, k=k: r['machine_ms_per_request'][k]):.3f}" for k in STAT_FIELDS)
        )
        print(
            "   switches/request: "
            + ", ".join(
                f"{k} {med(lambda r, k=k: r['switches_per_request'][k]):.2f}" for k in rows[0]["switches_per_request"]
            )
        )
        states = list(dict.fromkeys(k for r in rows for k in r["backends"]))
        print(
            "   backends (mean count per sample): "
            + ", ".join(f"{k} {med(lambda r, k=k: r['backends'].get(k, 0)):.2f}" for k in states)
        )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
