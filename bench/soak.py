#!/usr/bin/env python
"""Soak benchmark: the platform as production runs it, under steady mixed traffic for an
hour (issue 14 acceptance 4 and 5).

Run from the checkout::

    .venv/bin/python bench/soak.py                 # 60 minutes
    .venv/bin/python bench/soak.py --minutes 10    # acceptance 4: expired rows purged within the run
    .venv/bin/python bench/soak.py --quick         # 2 minutes
    .venv/bin/python bench/soak.py --minutes 10 --tracemalloc   # where the workers' memory goes

What it starts, each its own process on loopback, as in production:

* PostgreSQL: a cluster of its own in a temporary directory (``bench/oidc.py``'s
  :class:`Postgres`: ``initdb``, default durability, ``fsync`` and ``synchronous_commit`` on);
* the platform as ``tungban serve`` runs it (``tungban.core.serving``: granian, one process
  per core; ``--server`` for another), DEBUG off, and the background worker ``tungban worker``, which runs the scheduled purge of
  expired protocol state (:mod:`tungban.core.retention`);
* the demo data providers ``wsd`` and ``ird`` (``examples/providers``, ``--synthetic``).

Retention is shortened so that an hour — or ten minutes — shows expired rows purged:
``TUNGBAN_PURGE_INTERVAL`` 60 s, ``TUNGBAN_EXPIRED_RETENTION`` 60 s, access tokens 120 s,
``TUNGBAN_TASK_RESULT_RETENTION`` 120 s (``--purge-interval``, ``--retention``,
``--token-ttl``). Production keeps the defaults of ``docs/operations.md``.

Traffic: four kinds, each paced at its own rate (``--rates``; open loop: a kind's next
operation starts on schedule, on one of ``--threads`` threads, whatever the others do):

=========  ==================================================================================
login      a login through the app protocol, as ``bench/oidc.py``'s login scenario: authorize
           page → the app reads the request and approves it with its device key → the browser
           completes → code → token → userinfo (six HTTP calls; a new browser each time)
exchange   ``DataUser.fetch`` of ``examples/data_user.py`` over an active consent, as
           ``bench/exchange.py`` (the data user's ``cdeg`` token renewed as it expires)
issue      ``POST /api/v1/credentials/issue``: a Senior Citizen Card from the SWD's department
           system (``client_credentials`` with ``private_key_jwt``) to a holder with a bound
           device
verify     ``POST /api/v1/credentials/verify`` of a presentation of an issued card with a KB-JWT
           signed by the holder's device key (the caller's nonce)
=========  ==================================================================================

Printed every minute: per kind the operations, errors, p50 and p99 latency; the resident
memory (RSS) of the gunicorn master, each gunicorn worker and the background worker; the row
counts of the tables that grow per operation; and what the purge deleted so far (read from
the background worker's log). At the end: the totals, total errors (must be 0), the memory
slope of each process over the last half of the run (MB/min, least squares over samples
every 10 s), the row counts with the rows the purge should already have deleted (must be 0:
every registered purge function run in a rolled-back transaction with the time one purge
interval and a margin ago) and the load average. JSON in ``bench/results/soak-<date>[-quick].json``.

``--tracemalloc`` starts ``tracemalloc`` in each gunicorn worker once the application is
loaded (``--tracemalloc-frames`` frames; slower) and dumps a snapshot every
``--tracemalloc-every`` seconds with a line of figures (RSS, traced memory, objects, malloc's
heap); at the end the growth between each worker's second and last snapshot is printed, by
line and by traceback.
"""

from __future__ import annotations

import argparse
import ast
import collections
import datetime as dt
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from machine import (  # bench/machine.py (this directory is on sys.path)
    children_of,
    die_with_parent,
    isolate,
    listening_socket,
    machine,
    package_versions,
    print_table,
    scratch_dir,
    start_server,
    wait_until_up,
    write_results,
)

from tungban.core.serving import SERVERS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

KINDS = ("login", "exchange", "issue", "verify")
DEFAULT_RATES = "login=1,exchange=2,issue=1,verify=2"
SAMPLE_SECONDS = 10.0

#: (short name, model label, filter): the tables that grow per operation. ``None``: all rows.
TABLES = (
    ("codes", "oidc.AuthorizationCode", None),
    ("tokens", "oidc.Token", None),
    ("assertion_jtis", "oidc.UsedClientAssertion", None),
    ("login_sessions", "oidc.LoginSession", None),
    ("approvals", "wallet.ApprovalRequest", None),
    ("approvals_pending", "wallet.ApprovalRequest", {"status": "pending"}),
    ("proof_jtis", "wallet.UsedProof", None),
    ("exchange_nonces", "exchange.RequestNonce", None),
    ("verifier_nonces", "credentials.VerifierNonce", None),
    ("task_results", "django_tasks_database.DBTaskResult", None),
    ("web_sessions", "sessions.Session", None),
)
#: Tables that are kept by design (history, logs, issued credentials): shown for scale.
KEPT = (
    ("releases", "wallet.ReleaseRecord"),
    ("exchange_records", "exchange.ExchangeRecord"),
    ("credentials", "credentials.Credential"),
    ("log_leaves", "ledger.LogLeaf"),
    ("audit_events", "identity.AuditEvent"),
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=None, help="minutes of traffic (default 60; 2 with --quick)")
    p.add_argument("--quick", action="store_true", help="2 minutes")
    p.add_argument(
        "--rates",
        default=DEFAULT_RATES,
        help=f"operations per second of each kind, of {','.join(KINDS)} (default {DEFAULT_RATES}; 0 turns a kind off)",
    )
    p.add_argument("--threads", type=int, default=4, help="load-generator threads per kind (default 4)")
    p.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers (default one per core: %(default)s)"
    )
    p.add_argument("--residents", type=int, default=2000, help="residents seeded for logins (default 2,000)")
    p.add_argument("--devices", type=int, default=500, help="of them, with a bound device that logs in (default 500)")
    p.add_argument("--holders", type=int, default=200, help="card holders (aged 65+, bound device; default 200)")
    p.add_argument("--consents", type=int, default=20, help="residents with an exchange consent per product (20)")
    p.add_argument("--purge-interval", type=int, default=60, help="TUNGBAN_PURGE_INTERVAL for the run (s, 60)")
    p.add_argument("--retention", type=int, default=60, help="TUNGBAN_EXPIRED_RETENTION for the run (s, 60)")
    p.add_argument("--token-ttl", type=int, default=120, help="TUNGBAN_ACCESS_TOKEN_TTL for the run (s, 120)")
    p.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="TUNGBAN_GC_FREEZE=0: the workers' start-up objects not frozen (to compare with the memory before)",
    )
    p.add_argument(
        "--gc-stats",
        type=float,
        metavar="SECONDS",
        help="every SECONDS each gunicorn worker records its RSS, the collector's generations and full collections",
    )
    p.add_argument(
        "--tracemalloc", action="store_true", help="tracemalloc in each gunicorn worker, growth written to files"
    )
    p.add_argument("--tracemalloc-every", type=float, default=120.0, help="seconds between snapshots (120)")
    p.add_argument("--tracemalloc-frames", type=int, default=6, help="frames kept per allocation (6)")
    p.add_argument(
        "--tracemalloc-collect",
        action="store_true",
        help="also run gc.collect() after each snapshot and record what it freed (changes what is measured)",
    )
    p.add_argument(
        "--server",
        choices=SERVERS,
        help="the platform's HTTP server (tungban.core.serving; default TUNGBAN_WEB_SERVER: granian; "
        "gunicorn-gthread with --gc-stats or --tracemalloc, which use gunicorn's hooks)",
    )
    p.add_argument("--output", type=Path, help="JSON results file (default bench/results/soak-<date>[-quick].json)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (printed at the end)")
    args = p.parse_args(argv)
    if args.minutes is None:
        args.minutes = 2.0 if args.quick else 60.0
    try:
        args.rate = {k: 0.0 for k in KINDS}
        for part in args.rates.split(","):
            if part.strip():
                name, value = part.split("=")
                if name.strip() not in KINDS:
                    raise ValueError(name)
                args.rate[name.strip()] = float(value)
    except ValueError:
        p.error(f"--rates must look like {DEFAULT_RATES}")
    if args.gc_stats and args.tracemalloc:
        p.error("--gc-stats or --tracemalloc, not both")
    if args.gc_stats or args.tracemalloc:
        args.server = args.server or "gunicorn-gthread"
        if not args.server.startswith("gunicorn"):
            p.error("--gc-stats and --tracemalloc need a gunicorn server (its hooks)")
    if args.minutes <= 0 or not any(args.rate.values()) or min(args.rate.values()) < 0:
        p.error("--minutes must be positive and some rate above 0")
    if args.threads < 1 or args.workers < 1 or args.devices > args.residents or min(args.holders, args.consents) < 1:
        p.error("--threads, --workers, --holders and --consents at least 1; --devices at most --residents")
    return args


# --- processes and memory ------------------------------------------------------------------------


def rss_mb(pid: int) -> float | None:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE / 2**20
    except (OSError, IndexError, ValueError):
        return None


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``(x, y)`` points (None with fewer than 3)."""
    if len(points) < 3:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else None


def start_worker(env: dict, tmp: Path) -> subprocess.Popen:
    """``tungban worker`` with INFO logging (the purge logs what it deleted)."""
    tungban = Path(sys.executable).with_name("tungban")
    cmd = [str(tungban)] if tungban.exists() else [sys.executable, "-m", "tungban.cli"]
    log = open(tmp / "worker.log", "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [*cmd, "worker"],
        cwd=tmp,
        env={**env, "TUNGBAN_LOG_LEVEL": "INFO"},
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )


def stop(proc: subprocess.Popen | None, timeout: float = 15) -> None:
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


PURGED = re.compile(r"Purged expired rows: (\{.*\})")


def purged_so_far(log: Path) -> tuple[int, dict]:
    """``(purge runs, {table: rows})`` summed over the worker log's purge lines."""
    runs, total = 0, collections.Counter()
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return 0, {}
    for match in PURGED.finditer(text):
        runs += 1
        try:
            total.update(ast.literal_eval(match.group(1)))
        except (ValueError, SyntaxError):
            pass
    return runs, dict(total)


TRACEMALLOC_CONF = """
# tracemalloc in each worker, started once the application is loaded. Every {every} s a
# snapshot is dumped (comparing is left to the benchmark's process: it is too slow for a
# worker under load) and a line of figures appended to tracemalloc-<pid>.txt.
import ctypes, gc, os, sys, time, tracemalloc

_state = {{}}


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _malloc():
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
        info = libc.mallinfo2()
        return "malloc in use %.2f MB, free in heap %.2f MB, mmapped %.2f MB" % (
            info.uordblks / 2**20, info.fordblks / 2**20, info.hblkhd / 2**20)
    except (OSError, AttributeError):
        return "malloc ?"


def post_worker_init(worker):
    tracemalloc.start({frames})
    _state["t0"] = time.monotonic()
    _state["n"] = 0


def post_request(worker, req, environ, resp):
    now = time.monotonic()
    if "t0" not in _state or now - _state.get("last", _state["t0"]) < {every}:
        return
    _state["last"] = now
    _state["n"] += 1
    base = os.path.join({dir!r}, "tracemalloc-%d" % os.getpid())
    tracemalloc.take_snapshot().dump("%s-%03d.snap" % (base, _state["n"]))
    rss = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    current, peak = tracemalloc.get_traced_memory()
    line = "%.0f s: RSS %.2f MB, traced %.2f MB (peak %.2f), %d objects (gc counts %s), %d blocks, %s" % (
        now - _state["t0"], rss, current / 2**20, peak / 2**20, len(gc.get_objects()), gc.get_count(),
        sys.getallocatedblocks(), _malloc())
    if {collect}:  # how much of it was garbage in reference cycles, waiting for a full collection
        gc.set_debug(gc.DEBUG_SAVEALL)
        found = gc.collect()
        gc.set_debug(0)
        kinds = {{}}
        for obj in gc.garbage:
            name = type(obj).__module__ + "." + type(obj).__qualname__
            kinds[name] = kinds.get(name, 0) + 1
        gc.garbage.clear()
        gc.collect()  # now free them
        line += "; gc.collect() found %d unreachable (%s), traced now %.2f MB, %d objects" % (
            found, ", ".join("%s %d" % kv for kv in sorted(kinds.items(), key=lambda kv: -kv[1])[:25]),
            tracemalloc.get_traced_memory()[0] / 2**20, len(gc.get_objects()))
    with open(base + ".txt", "a") as f:
        f.write(line + "\\n")
"""


GC_STATS_CONF = """
# Every {every} s, a line per worker: RSS, the collector's generations and full collections.
import gc, os, time

_state = {{}}


def post_worker_init(worker):
    _state["t0"] = _state["last"] = time.monotonic()
    _state["requests"] = 0


def post_request(worker, req, environ, resp):
    _state["requests"] = _state.get("requests", 0) + 1
    now = time.monotonic()
    if "t0" not in _state or now - _state["last"] < {every}:
        return
    _state["last"] = now
    statm = open("/proc/self/statm").read().split()
    rss = int(statm[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    stats = gc.get_stats()
    with open(os.path.join({dir!r}, "gc-%d.txt" % os.getpid()), "a") as f:
        f.write(
            "%.0f s, %d requests: RSS %.2f MB; frozen %d, generations %s objects, counts %s, full collections %d (%d collected)\\n"
            % (now - _state["t0"], _state["requests"], rss, gc.get_freeze_count(),
               [len(gc.get_objects(g)) for g in range(3)], gc.get_count(), stats[2]["collections"], stats[2]["collected"])
        )
"""


def tracemalloc_report(tmp: Path, top: int = 20) -> dict:
    """Per worker: its figures over time and the biggest growths between its second snapshot
    (the first is taken after ``--tracemalloc-every`` seconds, while still warming up) and its
    last, by line and by traceback. ``{pid: text}``."""
    import tracemalloc

    out = {}
    ignore = (
        tracemalloc.Filter(False, tracemalloc.__file__, all_frames=True),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap*>"),
    )
    for figures in sorted(tmp.glob("tracemalloc-*.txt")):
        pid = figures.stem.split("-")[1]
        snaps = sorted(tmp.glob(f"tracemalloc-{pid}-*.snap"))
        lines = figures.read_text().splitlines()
        if len(snaps) >= 3:
            first = tracemalloc.Snapshot.load(str(snaps[1])).filter_traces(ignore)
            last = tracemalloc.Snapshot.load(str(snaps[-1])).filter_traces(ignore)
            for key in ("lineno", "traceback"):
                lines.append(f"--- growth from {snaps[1].name} to {snaps[-1].name}, by {key}")
                for stat in last.compare_to(first, key)[:top]:
                    lines.append(f"{stat.size_diff / 1024:+.1f} KiB in {stat.count_diff:+d} blocks")
                    lines.extend("    " + line for line in stat.traceback.format(most_recent_first=True))
        out[pid] = "\n".join(lines)
    return out


# --- seeding ---------------------------------------------------------------------------------------


def seed(args, issuer: str, env: dict, tmp: Path, notes: dict) -> dict:
    """Everything the four kinds need; returns the drivers and data."""
    import exchange as xbench  # bench/exchange.py
    import oidc as obench  # bench/oidc.py
    from credentials import seed_holders  # bench/credentials.py
    from joserfc.jwk import ECKey

    from examples.data_user import DataUser
    from examples.providers.launch import start_provider
    from tungban.credentials import catalogue as cred_catalogue
    from tungban.credentials import services as cred_services
    from tungban.credentials.models import Issuer
    from tungban.exchange import catalogue
    from tungban.oidc import services as oidc

    t0 = time.perf_counter()
    client, secret, devices = obench.seed_tungban(
        types.SimpleNamespace(residents=args.residents, devices=args.devices), notes
    )
    notes["seed_logins_s"] = round(time.perf_counter() - t0, 2)

    t0 = time.perf_counter()
    providers, urls = [], {}
    for dept in ("wsd", "ird"):
        proc, url = start_provider(dept, issuer, synthetic=True, env=env)
        providers.append(proc)
        urls[dept] = url
    catalogue.register_bundled(urls)
    org, dclient, user = xbench.make_data_user(issuer)
    _residents, consents = xbench.seed(
        types.SimpleNamespace(residents=args.consents, real=0, departments=["wsd", "ird"]), org, dclient
    )
    notes["seed_exchange_s"] = round(time.perf_counter() - t0, 2)

    t0 = time.perf_counter()
    cred_catalogue.register_bundled()
    holders = seed_holders(args.holders, prefix="ZY", device_every=1)
    key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    sclient, _ = oidc.register_client(
        client_id="swd-system",
        name_en="SWD system (soak)",
        name_zh="社署系統（浸泡測試）",
        redirect_uris=["https://swd.example/cb"],
        jwks={"keys": [key.as_dict(private=False)]},
    )
    cred_services.register_issuer_system(Issuer.objects.get(id="swd"), sclient)
    department = DataUser(issuer, sclient.client_id, key.as_dict(private=True), scope="credentials")
    notes["seed_credentials_s"] = round(time.perf_counter() - t0, 2)
    return {
        "login": obench.LoginDriver(issuer, client.client_id, secret, devices),
        "user": user,
        "consents": consents,
        "department": department,
        "holders": holders,
        "providers": providers,
    }


# --- the four kinds ----------------------------------------------------------------------------------


class Kinds:
    """One call per kind; each raises on any failure (the message is the error's name)."""

    def __init__(self, issuer: str, seeded: dict):
        import requests
        from requests.adapters import HTTPAdapter

        self.issuer = issuer
        self.driver, self.user, self.consents = seeded["login"], seeded["user"], seeded["consents"]
        self.department, self.holders = seeded["department"], seeded["holders"]
        self.user.http.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=16))
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=16))
        self.counter = collections.Counter()
        self.lock = threading.Lock()
        self.issued: collections.deque = collections.deque(maxlen=500)  # (credential id, holder index)

    def _next(self, name: str) -> int:
        with self.lock:
            self.counter[name] += 1
            return self.counter[name]

    def login(self) -> None:
        self.driver.login()

    def exchange(self) -> None:
        consent_id, product = self.consents[self._next("exchange") % len(self.consents)]
        self.user.fetch(consent_id, product)

    def issue(self) -> None:
        n = self._next("issue")
        i = n % len(self.holders)
        resp = self.http.post(
            f"{self.issuer}/api/v1/credentials/issue",
            json={
                "type": "senior-citizen-card",
                "hkid": self.holders[i].resident.hkid,
                "claims": {"card_number": f"SC{n % 10**8:08d}"},
            },
            headers={"Authorization": f"Bearer {self.department.token()}"},
            timeout=60,
        )
        if resp.status_code != 201:
            raise RuntimeError(f"issue: HTTP {resp.status_code} {error_code(resp)}")
        self.issued.append((resp.json()["id"], i))

    def verify(self) -> None:
        import credentials as cbench  # bench/credentials.py

        from tungban.credentials.models import Credential

        try:
            credential_id, i = self.issued[self._next("verify") % len(self.issued)]
        except (IndexError, ZeroDivisionError):
            raise RuntimeError("verify: nothing issued yet") from None
        credential = Credential.objects.get(id=credential_id)
        holder = self.holders[i]
        ((presentation, nonce),) = cbench.presentations([credential], {credential.holder_id: holder.key}, 1)
        resp = self.http.post(
            f"{self.issuer}/api/v1/credentials/verify",
            json={"presentation": presentation, "nonce": nonce},
            timeout=60,
        )
        body = resp.json() if resp.status_code == 200 else {}
        if not (body.get("valid") and body.get("holder_binding") == "verified"):
            raise RuntimeError(f"verify: HTTP {resp.status_code} {error_code(resp) or body.get('problems')}")


def error_code(resp) -> str:
    try:
        return str(resp.json().get("error", ""))
    except ValueError:
        return resp.text[:40]


class Stats:
    """Latencies and errors per kind, per minute and in total."""

    def __init__(self):
        self.lock = threading.Lock()
        self.minute = {k: ([], collections.Counter()) for k in KINDS}
        self.total = {k: ([], collections.Counter()) for k in KINDS}
        self.behind = collections.Counter()  # operations started over 1 s after their slot

    def add(self, kind: str, seconds: float | None, error: str | None) -> None:
        with self.lock:
            for bucket in (self.minute, self.total):
                lat, errors = bucket[kind]
                if error is None:
                    lat.append(seconds)
                else:
                    errors[error] += 1

    def take_minute(self) -> dict:
        with self.lock:
            out, self.minute = self.minute, {k: ([], collections.Counter()) for k in KINDS}
        return out


def percentile_ms(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000, 1)


def summary(bucket: dict) -> dict:
    return {
        k: {
            "requests": len(lat) + sum(errors.values()),
            "errors": sum(errors.values()),
            "error_detail": dict(errors),
            "p50_ms": percentile_ms(lat, 50),
            "p99_ms": percentile_ms(lat, 99),
        }
        for k, (lat, errors) in bucket.items()
    }


def drive(kinds: Kinds, kind: str, rate: float, threads: int, end: float, stats: Stats, stop_event) -> None:
    """Run ``kind`` at ``rate`` per second until ``end`` (perf_counter) on ``threads`` threads:
    slot n starts at ``start + n / rate``; a thread late for its slot starts at once."""
    fn = getattr(kinds, kind)
    slots = iter(range(10**12))
    slot_lock = threading.Lock()
    start = time.perf_counter()

    def loop():
        from django.db import connection

        try:
            while not stop_event.is_set():
                with slot_lock:
                    at = start + next(slots) / rate
                if at >= end:
                    return
                delay = at - time.perf_counter()
                if delay > 0:
                    if stop_event.wait(delay):
                        return
                elif delay < -1:
                    stats.behind[kind] += 1
                t0 = time.perf_counter()
                try:
                    fn()
                    stats.add(kind, time.perf_counter() - t0, None)
                except Exception as exc:  # noqa: BLE001 - counted and shown
                    code = getattr(exc, "code", None)
                    stats.add(kind, None, f"{code} ({exc.status})" if code else str(exc)[:80] or type(exc).__name__)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=kind) as pool:
        for f in [pool.submit(loop) for _ in range(threads)]:
            f.result()


# --- database figures ----------------------------------------------------------------------------------


def row_counts() -> dict:
    from django.apps import apps
    from django.db import connection

    out = {}
    for name, label, where in TABLES:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        qs = model.objects.all() if where is None else model.objects.filter(**where)
        out[name] = qs.count()
    for name, label in KEPT:
        try:
            out[name] = apps.get_model(label).objects.count()
        except LookupError:
            pass
    with connection.cursor() as cur:
        cur.execute("SELECT pg_database_size(current_database())")
        out["database_mb"] = round(cur.fetchone()[0] / 2**20, 1)
    connection.close()
    return out


#: Tables a login writes to (one row or more each): their live bytes per login are printed.
PER_LOGIN = ("codes", "tokens", "login_sessions", "approvals", "proof_jtis", "web_sessions", "releases")


def kept_bytes() -> dict:
    """``{name: {"rows", "bytes"}}``: the live rows of each table of :data:`TABLES` and
    :data:`KEPT` and the sum of their sizes (``pg_column_size`` of each row: what is kept,
    not the table's file, which holds dead rows until a vacuum)."""
    from django.apps import apps
    from django.db import connection

    out = {}
    names = {name: label for name, label, where in TABLES if where is None} | dict(KEPT)
    with connection.cursor() as cur:
        for name, label in names.items():
            try:
                table = connection.ops.quote_name(apps.get_model(label)._meta.db_table)
            except LookupError:
                continue
            cur.execute(f"SELECT count(*), coalesce(sum(pg_column_size(t.*)), 0) FROM {table} t")
            rows, size = cur.fetchone()
            out[name] = {"rows": rows, "bytes": int(size)}
    connection.close()
    return out


def overdue(interval: int) -> dict:
    """Rows that the purge should have deleted by now: every registered purge function run,
    in a transaction rolled back, as of ``2 * interval`` seconds ago (one interval between
    runs, one more for a run in progress). ``{table: rows}``; all should be 0."""
    from django.db import connection, transaction
    from django.utils import timezone

    from tungban.core import retention

    class Rollback(Exception):
        pass

    counts: dict = {}
    try:
        with transaction.atomic():
            counts = retention.purge_all(timezone.now() - dt.timedelta(seconds=2 * interval))
            raise Rollback
    except Rollback:
        pass
    connection.close()
    return counts


# --- the run ----------------------------------------------------------------------------------------------


def run(args, tmp: Path) -> dict:
    import oidc as obench  # bench/oidc.py

    pgbin = obench.postgres_bin()
    if pgbin is None:
        obench.apt_install("postgresql")
        pgbin = obench.postgres_bin()
    result: dict = {
        "benchmark": "soak",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "settings": {
            "minutes": args.minutes,
            "rates_per_s": args.rate,
            "threads_per_kind": args.threads,
            "gunicorn_workers": args.workers,
            "server": args.server,
            "residents": args.residents,
            "devices": args.devices,
            "holders": args.holders,
            "consents_per_product": args.consents,
            "TUNGBAN_PURGE_INTERVAL": args.purge_interval,
            "TUNGBAN_EXPIRED_RETENTION": args.retention,
            "TUNGBAN_ACCESS_TOKEN_TTL": args.token_ttl,
            "TUNGBAN_TASK_RESULT_RETENTION": 2 * args.purge_interval,
            "tracemalloc": args.tracemalloc,
            "TUNGBAN_GC_FREEZE": not args.no_gc_freeze,
        },
    }
    m = result["machine"]
    print(
        f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['memory_mib']} MiB, load average at start "
        f"{' '.join(str(x) for x in m['loadavg_start'])}",
        flush=True,
    )
    notes: dict = {}
    pg = obench.Postgres(pgbin)
    gunicorn = worker = None
    seeded: dict = {"providers": []}
    minutes: list[dict] = []
    samples: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
    try:
        db = pg.create_database("tungban")
        sock = listening_socket()
        issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
        env = isolate(
            tmp,
            issuer,
            db,
            {
                "TUNGBAN_PURGE_INTERVAL": str(args.purge_interval),
                "TUNGBAN_EXPIRED_RETENTION": str(args.retention),
                "TUNGBAN_ACCESS_TOKEN_TTL": str(args.token_ttl),
                "TUNGBAN_TASK_RESULT_RETENTION": str(2 * args.purge_interval),
                "TUNGBAN_GC_FREEZE": "0" if args.no_gc_freeze else "1",
            },
        )
        import django

        django.setup()
        from django.db import connections

        seeded = seed(args, issuer, env, tmp, notes)
        connections.close_all()

        extra: tuple[str, ...] = ()
        if args.gc_stats:
            conf = tmp / "gunicorn-gc-stats.py"
            conf.write_text(GC_STATS_CONF.format(every=args.gc_stats, dir=str(tmp)))
            extra = ("-c", str(conf))
        if args.tracemalloc:
            conf = tmp / "gunicorn-tracemalloc.py"
            conf.write_text(
                TRACEMALLOC_CONF.format(
                    every=args.tracemalloc_every,
                    frames=args.tracemalloc_frames,
                    collect=args.tracemalloc_collect,
                    dir=str(tmp),
                )
            )
            extra = ("-c", str(conf))
        gunicorn = start_server(sock, env, args.workers, tmp, False, extra, server=args.server, log=tmp / "server.log")
        wait_until_up(f"{issuer}/.well-known/openid-configuration", gunicorn, tmp / "server.log", timeout=180)
        sock.close()
        worker = start_worker(env, tmp)
        kinds = Kinds(issuer, seeded)
        # Untimed checks: one of each works (and the tokens are fetched).
        kinds.login()
        kinds.exchange()
        kinds.issue()
        kinds.verify()
        print(
            f"Platform: {args.server or 'tungban serve'}, {args.workers} processes at {issuer}, tungban worker (pid {worker.pid}), "
            f"PostgreSQL {pg.port} (fsync on); providers wsd, ird; {args.devices} devices, {args.holders} card holders, "
            f"{len(seeded['consents'])} consents",
            flush=True,
        )
        print(
            f"Traffic for {args.minutes:g} min: "
            + ", ".join(f"{k} {v:g}/s" for k, v in args.rate.items() if v)
            + f"; retention: purge every {args.purge_interval} s, margin {args.retention} s, access tokens {args.token_ttl} s",
            flush=True,
        )

        def processes() -> dict[str, int]:
            out = {"master": gunicorn.pid}
            for n, pid in enumerate(sorted(children_of(gunicorn.pid)), 1):
                out[f"web{n}:{pid}"] = pid
            out["worker"] = worker.pid
            return out

        stats, stop_event = Stats(), threading.Event()
        began = time.perf_counter()
        end = began + args.minutes * 60
        drivers = [
            threading.Thread(
                target=drive, args=(kinds, k, r, args.threads, end, stats, stop_event), name=f"drive-{k}", daemon=True
            )
            for k, r in args.rate.items()
            if r
        ]
        for t in drivers:
            t.start()
        next_sample, next_minute, minute_no = began, began + 60, 0
        try:
            while any(t.is_alive() for t in drivers):
                now = time.perf_counter()
                if now >= next_sample:
                    for name, pid in processes().items():
                        mb = rss_mb(pid)
                        if mb is not None:
                            samples[name].append(((now - began) / 60, mb))
                    next_sample += SAMPLE_SECONDS
                if now >= next_minute:
                    minute_no += 1
                    minutes.append(report_minute(minute_no, stats, processes(), tmp))
                    next_minute += 60
                if worker.poll() is not None:
                    raise RuntimeError(f"the background worker exited with status {worker.returncode}")
                if gunicorn.poll() is not None:
                    raise RuntimeError(f"gunicorn exited with status {gunicorn.returncode}")
                time.sleep(0.5)
        finally:
            stop_event.set()
            deadline = time.monotonic() + 90  # operations under way finish (HTTP timeouts 30-60 s)
            for t in drivers:
                t.join(max(0.1, deadline - time.monotonic()))
        if any(lat or errors for lat, errors in stats.minute.values()):  # the last part of a minute
            minutes.append(report_minute(minute_no + 1, stats, processes(), tmp))
        result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        totals = summary(stats.total)
        result["totals"] = totals
        result["behind_schedule"] = dict(stats.behind)
        result["minutes"] = minutes
        result["memory"] = memory_summary(samples, args.minutes)
        # Stop the traffic, let one more purge run, then look for overdue rows.
        result["rows_end"] = row_counts()
        result["kept_bytes"] = kept_bytes()
        result["overdue_rows"] = overdue(args.purge_interval)
        runs, purged = purged_so_far(tmp / "worker.log")
        result["purge"] = {"runs": runs, "deleted": purged}
        if args.tracemalloc:
            result["tracemalloc"] = tracemalloc_report(tmp)
        if args.gc_stats:
            result["gc_stats"] = {f.stem: f.read_text() for f in sorted(tmp.glob("gc-*.txt"))}
    finally:
        stop(gunicorn)
        stop(worker)
        from examples.providers.launch import stop_provider

        for proc in seeded.get("providers", []):
            stop_provider(proc)
        try:
            from django.db import connections as conns

            conns.close_all()
        except Exception:  # noqa: BLE001 - Django may not be set up yet
            pass
        pg.stop()
    result["notes"] = notes
    result["versions"] = package_versions(("Django", "Authlib", "joserfc", "gunicorn", "psycopg", "django-tasks-db"))
    return result


def report_minute(n: int, stats: Stats, procs: dict[str, int], tmp: Path) -> dict:
    figures = summary(stats.take_minute())
    rss = {name: rss_mb(pid) for name, pid in procs.items()}
    rows = row_counts()
    runs, purged = purged_so_far(tmp / "worker.log")
    load = [round(x, 2) for x in os.getloadavg()]
    ms = lambda v: "-" if v is None else f"{v:.0f}"  # noqa: E731
    print(
        f"[{n:3d} min] "
        + " | ".join(
            f"{k} {f['requests']} req {f['errors']} err p50 {ms(f['p50_ms'])} p99 {ms(f['p99_ms'])} ms"
            for k, f in figures.items()
            if f["requests"]
        ),
        flush=True,
    )
    print(
        "          RSS MB: "
        + ", ".join(f"{name.split(':')[0]} {v:.1f}" for name, v in rss.items() if v is not None)
        + f"; load {' '.join(str(x) for x in load)}",
        flush=True,
    )
    print("          rows: " + ", ".join(f"{k} {v}" for k, v in rows.items()), flush=True)
    print(
        f"          purged ({runs} runs): " + (", ".join(f"{k} {v}" for k, v in purged.items() if v) or "nothing yet"),
        flush=True,
    )
    for kind, f in figures.items():
        if f["errors"]:
            print(f"          errors {kind}: {f['error_detail']}", flush=True)
    return {"minute": n, "kinds": figures, "rss_mb": rss, "rows": rows, "purged": purged, "loadavg": load}


def memory_summary(samples: dict, minutes: float) -> dict:
    """Per process: RSS at start and end (MB) and the least-squares slope (MB/min) over the
    whole run and over its last half."""
    out = {}
    half = minutes / 2
    for name, points in samples.items():
        late = [p for p in points if p[0] >= half]
        whole, last = slope(points), slope(late)
        out[name] = {
            "rss_first_mb": round(points[0][1], 1),
            "rss_last_mb": round(points[-1][1], 1),
            "rss_max_mb": round(max(y for _, y in points), 1),
            "slope_mb_per_min": None if whole is None else round(whole, 4),
            "slope_last_half_mb_per_min": None if last is None else round(last, 4),
            "samples": len(points),
        }
    return out


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)  # unwind: stop the servers and PostgreSQL
    started = time.perf_counter()
    with scratch_dir("tungban-bench-soak-", args.keep) as tmp:
        result = run(args, tmp)
    result["wall_seconds"] = round(time.perf_counter() - started, 2)
    m = result["machine"]
    print()
    print(
        f"tungban soak — {result['date']} — {m['cpu']} ({m['cpus']} CPUs), load average "
        f"{' '.join(str(x) for x in m['loadavg_start'])} at start, {' '.join(str(x) for x in result['loadavg_end'])} at end — "
        f"{args.minutes:g} min — PostgreSQL (fsync on), {args.server or 'tungban serve'} {args.workers} processes (gc.freeze {'off' if args.no_gc_freeze else 'on'}), tungban worker"
    )
    print()
    fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
    totals = result["totals"]
    print_table(
        ("Kind", "Rate/s", "Requests", "Errors", "p50 ms", "p99 ms"),
        [
            (
                k,
                f"{args.rate[k]:g}",
                str(t["requests"]),
                str(t["errors"]),
                fmt(t["p50_ms"]),
                fmt(t["p99_ms"]),
            )
            for k, t in totals.items()
            if t["requests"]
        ],
    )
    errors = sum(t["errors"] for t in totals.values())
    print(f"Total errors: {errors}" + "".join(f"; {k}: {t['error_detail']}" for k, t in totals.items() if t["errors"]))
    if result["behind_schedule"]:
        print(f"Started over 1 s late (load generator behind): {result['behind_schedule']}")
    print()
    print_table(
        ("Process", "RSS first MB", "RSS last MB", "RSS max MB", "Slope MB/min", "Slope last half MB/min"),
        [
            (
                name.split(":")[0],
                fmt(v["rss_first_mb"]),
                fmt(v["rss_last_mb"]),
                fmt(v["rss_max_mb"]),
                "-" if v["slope_mb_per_min"] is None else f"{v['slope_mb_per_min']:.3f}",
                "-" if v["slope_last_half_mb_per_min"] is None else f"{v['slope_last_half_mb_per_min']:.3f}",
            )
            for name, v in result["memory"].items()
        ],
    )
    print()
    rows = result["rows_end"]
    print("Rows at the end: " + ", ".join(f"{k} {v}" for k, v in rows.items()))
    logins = totals["login"]["requests"] - totals["login"]["errors"] + 1  # + the untimed check
    kept = {k: v for k, v in result["kept_bytes"].items() if k in PER_LOGIN}
    result["kept_bytes_per_login"] = {k: round(v["bytes"] / logins, 1) for k, v in kept.items()}
    result["kept_bytes_per_login_total"] = round(sum(v["bytes"] for v in kept.values()) / logins, 1)
    print(
        f"Live bytes per login ({logins} logins) still kept at the end: "
        + ", ".join(f"{k} {v:g}" for k, v in result["kept_bytes_per_login"].items())
        + f"; total {result['kept_bytes_per_login_total']:g} B"
    )
    p = result["purge"]
    print(
        f"Purged by the worker ({p['runs']} runs): "
        + (", ".join(f"{k} {v}" for k, v in p["deleted"].items() if v) or "nothing")
    )
    over = {k: v for k, v in result["overdue_rows"].items() if v}
    print(
        f"Rows the purge should already have deleted (due over {2 * args.purge_interval} s ago): "
        + (", ".join(f"{k} {v}" for k, v in over.items()) if over else "none")
    )
    for name, text in result.get("gc_stats", {}).items():
        print()
        print(f"Garbage collector, gunicorn worker {name}:")
        print(text)
    for name, text in result.get("tracemalloc", {}).items():
        print()
        print(f"tracemalloc, gunicorn worker {name}:")
        print(text)
    n = result["notes"]
    print(
        "Set-up: "
        + ", ".join(f"{k} {v}" for k, v in n.items() if k.endswith("_s"))
        + f"; wall time {result['wall_seconds']} s"
    )
    out = args.output or RESULTS / f"soak-{dt.date.today().isoformat()}{'-quick' if args.quick else ''}.json"
    print(f"Results: {write_results(result, out)}")
    return 1 if errors or over else 0


if __name__ == "__main__":
    sys.exit(main())
