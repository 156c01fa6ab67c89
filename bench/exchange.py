#!/usr/bin/env python
"""Benchmark of the Consented Data Exchange Gateway (CDEG, 授權數據交換閘) on this machine.

Run from the checkout::

    .venv/bin/python bench/exchange.py             # 200 residents, concurrency 1,4,16, 15 s each (about 1.5 min)
    .venv/bin/python bench/exchange.py --quick     # 50 residents, concurrency 1,4, 5 s each (under a minute)
    .venv/bin/python bench/exchange.py --database-url postgres://user:pw@127.0.0.1/empty_db

It builds an isolated platform in a temporary directory (its own ``TUNGBAN_VAR_DIR``,
SQLite database unless ``--database-url``, secret key; nothing under ``var/`` is touched)
and runs it as in production, each part its own process on loopback:

* the platform as ``tungban serve`` runs it (``tungban.core.serving``: granian, one process
  per core; ``--server`` for another), DEBUG off;
* the demo data providers (``examples/providers``, started with
  ``examples.providers.launch.start_provider(..., synthetic=True)``): wsd and ird.

Seeding: N residents (registered at the counter, ``identity.register_at_counter``), the
bundled catalogue with the providers' URLs (``catalogue.register_bundled``), one data user
(an OIDC client with its own P-256 key, ``private_key_jwt``) and, per resident and product,
one active consent. A few residents (``--real``) go through the whole flow over HTTP: the
CLI app is bound, the data user asks with ``DataUser.request_consent`` and the app approves.
The others get their consents in this process through the same service functions
(``exchange.services.request_consent``, then ``wallet.services.decide`` with an ES256
device signature, whose ``approval_decided`` signal runs ``on_approval_decided``: pairwise
subs and the signed artefact); only their device row is created directly (as
``bench/signing.py`` does), instead of the binding ceremony.

Load, by default (``--generator wrk``, when Debian's ``wrk`` is installed): for each
concurrency level, that many wrk connections (``--wrk-threads``, 2 by default) run
``bench/wrk/exchange.lua``: ``POST /api/v1/exchange/requests`` as ``DataUser.fetch`` sends it
(the one ``cdeg`` token fetched before timing; ``consent_id``, ``product``, a fresh
``request_id`` from a per-run nonce, the wrk thread and a counter, never reused; ``iat`` =
now) round-robin over all the consents: an untimed wrk run of ``--warmup`` seconds, then the
timed run of ``--seconds`` (wrk takes whole seconds), the server left to finish each run's
requests in flight in between. Latency percentiles are then wrk's, of all responses (200 or
not); errors are the non-200 responses by status and wrk's socket errors; the generator's
CPU is wrk's own. The delivered records each timed run adds to the ledger must be at least
its 200s and at most its 200s plus the requests wrk left unanswered when it stopped
(``ledger_matches``; the run fails otherwise). wrk costs a fraction of the Python
generator's CPU per exchange (below) and adds no GIL queue to the latency.

Load with ``--generator python`` (``bench/loadgen.py``): for each concurrency level, that many threads call
``DataUser.fetch`` (the data user's client of ``examples/data_user.py``; one ``cdeg`` token
fetched once before timing and shared by every thread, each thread with its own
``DataUser`` and keep-alive connection, a fresh ``request_id`` per exchange) round-robin
over all the consents for ``--warmup`` + ``--seconds`` seconds; only requests started in the
timed window count. The threads are spread over ``--generator-processes`` processes (default
one per 4 threads: 16 threads in one interpreter queue for its GIL, and the wait would be
counted as latency). Printed per level: requests, errors by code, exchanges/s (delivered),
p50/p90/p99 latency of delivered exchanges (measured around ``DataUser.fetch``), and the CPU
used in the window, read from ``/proc`` (100% = one core), by class of process: the web
server's process tree, the PostgreSQL backends of the benchmark's database (when PostgreSQL
runs on this machine), the providers' process trees, the load generator (its processes and
this one) and the rest of the machine; then the same as CPU ms per delivered exchange (where
the cores went). ``--access-log`` turns on granian's access log and prints the server's own
p50/p99 of the same window beside the client's (the difference is the loopback, the queue
before the server reads the request, and the generator's own scheduling).
``TUNGBAN_PROVIDER_MAX_CONCURRENT`` is ``--provider-slots`` (16 by default, printed with the
settings): the platform's default of 4 refuses some of the one data user's calls with
``provider_busy`` at concurrency 16 (see ``bench/README.md``). The providers run under
granian (``CDEG_PROVIDER_SERVER=werkzeug`` in the environment: Werkzeug's server, to compare).

Afterwards ``tungban verify_exchange_log`` runs in the same environment; its result and the
number of ledger entries are printed. Everything is written to
``bench/results/exchange-<date>.json`` (``-quick`` added for ``--quick``; ``--output``
overrides).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from machine import (  # bench/machine.py (this directory is on sys.path)
    children_of,
    cpu_seconds,
    isolate,
    listening_socket,
    machine,
    machine_busy_seconds,
    package_versions,
    profile_report,
    scratch_dir,
    start_server,
    wait_until_up,
    write_results,
)
from machine import (
    print_table as aligned_table,
)

from tungban.core.serving import SERVERS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

PRODUCTS = {"wsd": "wsd.registered-address.v1", "ird": "ird.tax-return-status.v1", "cr": "cr.company-particulars.v1"}
FULL = {"residents": 200, "concurrency": "1,4,16", "seconds": 15.0, "warmup": 2.0, "real": 5}
QUICK = {"residents": 50, "concurrency": "1,4", "seconds": 5.0, "warmup": 1.0, "real": 2}
PURPOSE = "Pre-fill the vehicle licence renewal form (benchmark)"
CONSENT_SECONDS = 86400
HEADER = (
    "Concurrency",
    "Requests",
    "Errors",
    "Exchanges/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "Bench CPU",
    "server CPU",
    "PG CPU",
    "Providers CPU",
    "Other CPU",
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="50 residents, concurrency 1,4, 5 s each (under a minute)")
    p.add_argument(
        "--provider-slots",
        type=int,
        default=16,
        help="TUNGBAN_PROVIDER_MAX_CONCURRENT for the platform (default 16: the bulkhead's share of the one "
        "data user covers concurrency 16 with two processes; the platform's default is 4, which refuses some "
        "calls with provider_busy at that load)",
    )
    p.add_argument(
        "--residents",
        type=int,
        help="residents seeded, each with one consent per product (default 200; 50 with --quick)",
    )
    p.add_argument(
        "--concurrency",
        help="comma-separated concurrency levels, threads of the load generator (default 1,4,16; 1,4 with --quick)",
    )
    p.add_argument("--seconds", type=float, help="timed seconds per level (default 15; 5 with --quick)")
    p.add_argument(
        "--warmup", type=float, help="untimed seconds at the start of each level (default 2; 1 with --quick)"
    )
    p.add_argument(
        "--products", default="wsd,ird", help="providers to start and consent to, of wsd,ird,cr (default wsd,ird)"
    )
    p.add_argument(
        "--real",
        type=int,
        help="residents whose app is bound and whose consents are approved over HTTP (default 5; 2 with --quick)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 2,
        help="web server processes (default: one per core, %(default)s here)",
    )
    p.add_argument(
        "--server",
        choices=SERVERS,
        help="the platform's HTTP server (tungban.core.serving; default TUNGBAN_WEB_SERVER: granian)",
    )
    p.add_argument(
        "--database-url",
        help="use this database instead of a temporary SQLite file; it must be empty (it is migrated and filled)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="run the web workers under cProfile (gunicorn servers only) and print where their time goes (slows them)",
    )
    p.add_argument(
        "--generator-processes",
        type=int,
        help="load generator processes sharing each level's threads (default: one per 4 threads, so that 16 "
        "threads do not queue for one interpreter's GIL; 0 = threads in this process, as before)",
    )
    p.add_argument(
        "--generator",
        choices=("wrk", "python"),
        help="the load generator: wrk (bench/wrk/exchange.lua; the default when wrk is installed) or python "
        "(threads calling DataUser.fetch in --generator-processes processes, bench/loadgen.py)",
    )
    p.add_argument(
        "--wrk-threads",
        type=int,
        default=2,
        help="wrk threads (default 2, one per core here; at most the concurrency)",
    )
    p.add_argument(
        "--access-log",
        action="store_true",
        help="turn on granian's access log and print the server's own latency percentiles beside the client's "
        "(costs the server some CPU)",
    )
    p.add_argument("--output", type=Path, help="JSON results file (default bench/results/exchange-<date>[-quick].json)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (printed at the end)")
    args = p.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for name in ("residents", "concurrency", "seconds", "warmup", "real"):
        if getattr(args, name) is None:
            setattr(args, name, preset[name])
    try:
        args.levels = [int(c) for c in str(args.concurrency).split(",") if c.strip()]
    except ValueError:
        p.error("--concurrency must be integers separated by commas, e.g. 1,4,16")
    if not args.levels or min(args.levels) < 1:
        p.error("--concurrency needs levels of 1 or more")
    args.departments = [d.strip() for d in args.products.split(",") if d.strip()]
    if not args.departments or any(d not in PRODUCTS for d in args.departments):
        p.error(f"--products must be some of {','.join(PRODUCTS)}")
    if args.residents < 1 or args.seconds <= 0 or args.warmup < 0 or args.workers < 1:
        p.error("--residents, --seconds and --workers must be positive, --warmup not negative")
    args.real = max(0, min(args.real, args.residents))
    if args.generator_processes is not None and args.generator_processes < 0:
        p.error("--generator-processes must not be negative")
    if args.generator is None:
        args.generator = "wrk" if shutil.which("wrk") else "python"
    elif args.generator == "wrk" and not shutil.which("wrk"):
        p.error("--generator wrk: wrk is not installed (apt-get install wrk)")
    if args.wrk_threads < 1:
        p.error("--wrk-threads must be 1 or more")
    if args.access_log and (args.server or "granian") != "granian":
        p.error("--access-log reads granian's access log: not with --server " + args.server)
    return args


def generator_processes(args, concurrency: int) -> int:
    """Generator processes for a level: ``--generator-processes`` (0: this process), else one
    per 4 threads (1 at concurrency 1-4, 4 at 16)."""
    if args.generator_processes is not None:
        return min(args.generator_processes, concurrency)
    return math.ceil(concurrency / 4)


def versions() -> dict:
    out = package_versions(
        (
            "Django",
            "django-ninja",
            "granian",
            "gunicorn",
            "requests",
            "joserfc",
            "Authlib",
            "jsonschema",
            "Flask",
            "Werkzeug",
            "psycopg",
        )
    )
    return out


# --- seeding ---------------------------------------------------------------------------------------


def bench_hkid(i: int) -> str:
    """Distinct valid HKIDs outside the providers' demo population (K7xxxxx(d))."""
    from tungban.identity.hkid import check_digit

    digits = f"{700000 + i:06d}"
    return f"K{digits}{check_digit('K', digits)}"


def make_data_user(issuer: str):
    """The data user: an OIDC client with its own P-256 key, registered as a participant
    (as ``make_data_user`` of the exchange tests does)."""
    from joserfc.jwk import ECKey

    from examples.data_user import DataUser
    from tungban.exchange import services as exchange
    from tungban.oidc import services as oidc

    key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    client, _secret = oidc.register_client(
        client_id="td-bench",
        name_en="Transport Department (benchmark)",
        name_zh="運輸署（基準測試）",
        redirect_uris=["https://td.example/cb"],
        jwks={"keys": [key.as_dict(private=False)]},
    )
    org = exchange.register_organisation(
        id="td", name_en=client.name_en, name_zh=client.name_zh, kind="department", client=client
    )
    return org, client, DataUser(issuer, client.client_id, key.as_dict(private=True))


def approve_in_process(consent, device, key) -> None:
    """The resident's approval as the app sends it: an ES256 JWS by the device over the
    request, with the terms digest, through ``wallet.services.decide``."""
    from joserfc import jws

    from tungban.wallet import services as wallet

    approval = consent.approval
    payload = {
        "request_id": str(approval.id),
        "requester": approval.requester_id,
        "nonce": approval.nonce,
        "decision": "approve",
        "claims": [],
        "terms": approval.context["terms_sha256"],
    }
    signature = jws.serialize_compact({"alg": "ES256", "kid": str(device.id)}, json.dumps(payload).encode(), key)
    wallet.decide(approval.id, device, signature)


def seed(args, org, client) -> tuple[list, list]:
    """Residents (all), devices and consents for those after the first ``args.real``.
    Returns ``(residents, consents)`` where consents are ``(consent_id, product_id)``."""
    from django.db import transaction
    from joserfc.jwk import ECKey

    from tungban.exchange import services as exchange
    from tungban.exchange.models import ConsentStatus
    from tungban.oidc import services as oidc
    from tungban.testing.factories import make_officer, make_resident
    from tungban.wallet.models import Device

    officer = make_officer()
    residents, consents = [], []
    with transaction.atomic():  # one transaction: SQLite commits are the slow part of seeding
        for i in range(args.residents):
            residents.append(make_resident(officer, hkid=bench_hkid(i), email=f"bench{i}@example.hk"))
        for resident in residents[args.real :]:
            key = ECKey.generate_key("P-256")
            device = Device.objects.create(
                resident=resident,
                platform="cli",
                name="bench",
                public_jwk=key.as_dict(private=False),
                jwk_thumbprint=key.thumbprint(),
            )
            sub = oidc.pairwise_sub(resident, client)
            for dept in args.departments:
                consent = exchange.request_consent(
                    org, product_id=PRODUCTS[dept], purpose=PURPOSE, duration_seconds=CONSENT_SECONDS, sub=sub
                )
                approve_in_process(consent, device, key)
                consent.refresh_from_db()
                assert consent.status == ConsentStatus.ACTIVE and consent.artefact, consent.status
                consents.append((str(consent.id), consent.product_id))
    return residents, consents


def seed_over_http(args, issuer: str, user, client, residents, tmp: Path) -> list:
    """The real flow for the first ``args.real`` residents: bind the CLI app over HTTP,
    the data user asks for consent, the app approves (device-signed)."""
    from tungban.oidc import services as oidc
    from tungban.testing.factories import PIN, bind_cli

    consents = []
    for i, resident in enumerate(residents[: args.real]):
        app = bind_cli(issuer, resident, tmp / f"app-{i}")
        sub = oidc.pairwise_sub(resident, client)
        for dept in args.departments:
            asked = user.request_consent(PRODUCTS[dept], PURPOSE, CONSENT_SECONDS, sub=sub)
            app.decide(asked["approval_uri"], PIN, "approve")
            consent = user.consent(asked["id"])
            assert consent["status"] == "active" and consent["artefact"], consent
            consents.append((consent["id"], consent["product"]))
    return consents


# --- load --------------------------------------------------------------------------------------------


def percentile(ordered: list[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted values, in ms."""
    if not ordered:
        return None
    return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000, 2)


CPU_CLASSES = ("server", "postgresql", "providers", "generator")
PER_EXCHANGE_HEADER = ("server", "PostgreSQL", "providers", "generator", "other")


class Totals:
    def __init__(self):
        self.delivered = 0
        self.unanswered = 0  # wrk: requests written but not answered when wrk stopped
        self.lock = threading.Lock()


def tree_pids(pids: list[int]) -> list[int]:
    """``pids`` and all their live descendants (granian's workers, the providers' workers),
    each once."""
    out, todo = set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid not in out:
            out.add(pid)
            todo.extend(children_of(pid))
    return sorted(out)


def pg_backend_pids() -> list[int] | None:
    """The PostgreSQL backends connected to the benchmark's database (``pg_stat_activity``),
    if PostgreSQL runs on this machine (their ``/proc`` readable); ``None`` otherwise."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            pids = [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()
    return pids if all(Path(f"/proc/{pid}/stat").exists() for pid in pids) else None


class BackendCPU:
    """CPU time of the PostgreSQL backends of the benchmark's database over a window, the
    backends that come and go during it included (issue 15, sixth round).

    Django closes a persistent connection ``TUNGBAN_DB_CONN_MAX_AGE`` (60) seconds after
    opening it, so in a run of a few minutes every server thread's backend is replaced, often
    inside a timed window. Reading the backends listed at the window's start and end counted
    nothing of those that exited in between (their CPU went to "other"), and a backend
    listed at the start but gone at the end counted negative (the fifth round's "the rest",
    1.44 ms per exchange at concurrency 16, and a PostgreSQL figure of -0.49 seen in a full
    run this round). Here a thread reads every backend of the database from ``/proc`` (its
    process title, ``postgres: <user> <database> …``) every ``interval`` seconds, keeping each
    one's last reading: a backend that exits loses at most its last ``interval``'s CPU; one
    that starts in the window counts from zero (its start-up included)."""

    def __init__(self, database: str, postmaster: int, interval: float = 0.2):
        self.database, self.postmaster, self.interval = database, postmaster, interval
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.own_cpu = 0.0  #: CPU seconds of the watching thread (this process's; not the generator's)

    def _read(self) -> dict[int, float]:
        found = {}
        for pid in children_of(self.postmaster):  # the server's processes only, not all of /proc
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].split()
            except OSError:
                continue
            if len(title) >= 3 and title[0] == b"postgres:" and title[2] == self.database.encode():
                found[pid] = cpu_seconds([pid])
        return found

    def start(self) -> None:
        self._first = self._read()
        self._last = dict(self._first)
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        started = time.thread_time()
        while not self._stop.wait(self.interval):
            self._last.update(self._read())
        self.own_cpu = time.thread_time() - started

    def stop(self) -> float:
        """Seconds of CPU the database's backends used since :meth:`start`."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._last.update(self._read())
        return sum(cpu - self._first.get(pid, 0.0) for pid, cpu in self._last.items())


def backend_cpu(pg: bool) -> BackendCPU | None:
    """A :class:`BackendCPU` for the benchmark's database when PostgreSQL runs on this
    machine (:func:`pg_backend_pids` finds its backends in ``/proc``), else ``None``."""
    pids = pg_backend_pids() if pg else None
    if not pids:
        return None
    from django.db import connection

    try:  # a backend's parent is the postmaster
        postmaster = int(Path(f"/proc/{pids[0]}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return BackendCPU(connection.settings_dict["NAME"], postmaster)


ACCESS_LINE = re.compile(r'"POST /api/v1/exchange/requests HTTP/[\d.]+" (\d{3}) ([\d.]+)$')


def server_latencies(access_log: Path | None, start: int, end: int) -> dict | None:
    """Percentiles (ms) of the delivered exchanges' times as granian's access log gives them
    (``dt_ms``: from the request's arrival to the response's end) between two offsets of the
    log; ``None`` without a log."""
    if access_log is None:
        return None
    with open(access_log, "rb") as f:
        f.seek(start)
        text = f.read(max(0, end - start)).decode(errors="replace")
    times = sorted(
        float(m.group(2)) / 1000
        for line in text.splitlines()
        if (m := ACCESS_LINE.search(line)) and m.group(1) == "200"
    )
    return {
        "requests": len(times),
        "p50_ms": percentile(times, 50),
        "p90_ms": percentile(times, 90),
        "p99_ms": percentile(times, 99),
    }


def _size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path else 0
    except OSError:
        return 0


def run_level(
    user,
    consents: list,
    concurrency: int,
    warmup: float,
    seconds: float,
    server_pids,
    provider_pids,
    totals: Totals,
    *,
    processes: int = 0,
    pg: bool = False,
    access_log: Path | None = None,
) -> dict:
    """``concurrency`` threads call ``DataUser.fetch`` over ``consents`` for ``warmup +
    seconds`` (``bench/loadgen.py``): in ``processes`` generator processes sharing the
    threads, or in this process with 0. Requests started in the timed window count. The CPU
    of each class of process in the window is read from ``/proc``: the web server's tree,
    the providers' trees, the PostgreSQL backends of the benchmark's database (``pg``), the
    generator (its processes and this one), and the rest of the machine."""
    import loadgen

    token = user.token()
    job = {
        "issuer": user.issuer,
        "client_id": user.client_id,
        "private_jwk": user.private_jwk,
        "token": token,
        "token_expires": user.token_expires_at(),
        "consents": consents,
    }
    procs = loadgen.start_processes(processes) if processes else []
    start = time.monotonic() + 0.2  # let every thread start first
    job.update(start=start, window_start=start + warmup, window_end=start + warmup + seconds)
    local: dict = {}
    if procs:
        loadgen.send_jobs(procs, job, concurrency)
        gen_pids = [p.pid for p in procs]
    else:
        thread = threading.Thread(
            target=lambda: local.update(result=loadgen.run_threads({**job, "threads": concurrency}))
        )
        thread.start()
        gen_pids = []

    def sample(backends: BackendCPU | None, end: bool = False):
        return {
            "generator": time.process_time() + cpu_seconds(gen_pids),
            "server": cpu_seconds(tree_pids(server_pids())),
            "providers": cpu_seconds(tree_pids(provider_pids)),
            "postgresql": None if backends is None else (backends.stop() if end else 0.0),
            "machine": machine_busy_seconds(),
            "wall": time.monotonic(),
            "log": _size(access_log),
        }

    try:
        time.sleep(max(0.0, job["window_start"] - 0.05 - time.monotonic()))
        backends = backend_cpu(pg)
        time.sleep(max(0.0, job["window_start"] - time.monotonic()))
        if backends is not None:
            backends.start()
        cpu0 = sample(backends)
        time.sleep(max(0.0, job["window_end"] - time.monotonic()))
        cpu1 = sample(backends, end=True)  # backends that came during the window count from zero
        if backends is not None:
            cpu1["generator"] -= backends.own_cpu  # the watch's reading is the benchmark's, not the generator's
        if procs:
            results = loadgen.collect(procs, timeout=60)
        else:
            thread.join()
            results = [local["result"]]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    latencies = sorted(x for r in results for x in r["latencies"])
    errors = collections.Counter()
    for r in results:
        errors.update(r["errors"])
    with totals.lock:
        totals.delivered += sum(r["delivered_all"] for r in results)
    wall = cpu1["wall"] - cpu0["wall"]
    delivered = len(latencies)
    used = {k: (cpu1[k] - cpu0[k]) if cpu1[k] is not None and cpu0[k] is not None else None for k in CPU_CLASSES}
    used["other"] = max(0.0, (cpu1["machine"] - cpu0["machine"]) - sum(v for v in used.values() if v))
    return {
        "concurrency": concurrency,
        "generator": "python",
        "generator_processes": len(procs),
        "seconds": round(seconds, 2),
        "requests": delivered + sum(errors.values()),
        "delivered": delivered,
        "errors": dict(errors),
        "exchanges_per_second": round(delivered / seconds, 1),
        "p50_ms": percentile(latencies, 50),
        "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99),
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
        "mean_ms": round(sum(latencies) / delivered * 1000, 2) if delivered else None,
        # CPU used during the timed window, in % of one core (the machine has os.cpu_count() cores).
        "bench_cpu_percent": round(used["generator"] / wall * 100, 1),
        "gunicorn_cpu_percent": round(used["server"] / wall * 100, 1),
        "providers_cpu_percent": round(used["providers"] / wall * 100, 1),
        "postgresql_cpu_percent": round(used["postgresql"] / wall * 100, 1) if used["postgresql"] is not None else None,
        # Everything else on the machine (other users' jobs; without pg figures also PostgreSQL).
        "other_cpu_percent": round(used["other"] / wall * 100, 1),
        # CPU ms per delivered exchange in the window, per class of process (where the cores went).
        "cpu_ms_per_exchange": {
            k: (round(v / delivered * 1000, 3) if delivered and v is not None else None) for k, v in used.items()
        },
        # The server's own view of the same exchanges (granian's access log; --access-log).
        "server_latency": server_latencies(access_log, cpu0["log"], cpu1["log"]),
        "token_refreshed": user.token() != token,
    }


# --- load with wrk ------------------------------------------------------------------------------------


def delivered_records() -> tuple[int, int]:
    """``(delivered, all)``: the exchange records of the benchmark's database (``delivered``
    outcome, and every outcome)."""
    from django.db import connection

    from tungban.exchange.models import ExchangeRecord

    try:
        return ExchangeRecord.objects.filter(outcome="delivered").count(), ExchangeRecord.objects.count()
    finally:
        connection.close()


def drain(timeout: float = 60.0, quiet: float = 0.5) -> tuple[int, int]:
    """Wait until the server has worked off what a finished wrk run left in flight (wrk stops
    at its duration without waiting for the answers of the requests it has written): until
    the number of exchange records has not changed for ``quiet`` seconds. Returns
    :func:`delivered_records`."""
    deadline = time.monotonic() + timeout
    last = delivered_records()
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = delivered_records()
        if now != last:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= quiet:
            break
    return last


def run_level_wrk(
    user,
    consents: list,
    concurrency: int,
    warmup: float,
    seconds: float,
    server_pids,
    provider_pids,
    totals: Totals,
    *,
    tmp: Path,
    threads: int = 2,
    pg: bool = False,
    access_log: Path | None = None,
) -> dict:
    """``concurrency`` connections of wrk (``bench/wrk/exchange.lua``, ``threads`` wrk
    threads) POST ``/api/v1/exchange/requests`` round-robin over ``consents`` with the data
    user's one token, a fresh ``request_id`` and ``iat`` each: an untimed run of ``warmup``
    seconds, then the timed run of ``seconds`` (wrk takes whole seconds, at least 1). The
    server works off each run's requests in flight (:func:`drain`) before the next step.

    Latency percentiles are wrk's, of **all** responses (200 or not), from the request's
    write to its response's end. The CPU of each class of process is read from ``/proc``
    around the timed run; the generator's is wrk's own (``RUSAGE_CHILDREN``) plus this
    process's. The ledger is checked: the delivered records the timed run added are at least
    its 200s and at most its 200s plus the requests wrk left unanswered at its stop.

    :raises RuntimeError: wrk failed (``oidc.run_wrk``)."""
    from oidc import run_wrk  # bench/oidc.py: wrk with its WRK_RESULT line and its own CPU

    threads = max(1, min(threads, concurrency))
    path = tmp / "wrk-consents.txt"
    path.write_text("".join(f"{cid} {product}\n" for cid, product in consents))
    url = f"{user.issuer}/api/v1/exchange/requests"

    def env():
        # one nonce per wrk run: request_id = nonce-thread-counter is never reused
        return {"WRK_TOKEN": user.token(), "WRK_CONSENTS": str(path), "WRK_NONCE": secrets.token_hex(8)}

    def account(out: dict) -> tuple[int, int]:
        ok = out["statuses"].get("200", 0)
        unanswered = max(0, out["sent"] - sum(out["statuses"].values()))
        with totals.lock:
            totals.delivered += ok
            totals.unanswered += unanswered
        return ok, unanswered

    if warmup > 0:
        account(run_wrk("exchange.lua", url, concurrency, warmup, threads, env()))
    before, _ = drain()
    backends = backend_cpu(pg)

    def sample(end: bool = False):
        return {
            "generator": time.process_time(),
            "server": cpu_seconds(tree_pids(server_pids())),
            "providers": cpu_seconds(tree_pids(provider_pids)),
            "postgresql": None if backends is None else (backends.stop() if end else 0.0),
            "machine": machine_busy_seconds(),
            "wall": time.monotonic(),
            "log": _size(access_log),
        }

    run_env = env()
    if backends is not None:
        backends.start()
    cpu0 = sample()
    out = run_wrk("exchange.lua", url, concurrency, seconds, threads, run_env)
    cpu1 = sample(end=True)  # backends that came or went during the run included (BackendCPU)
    if backends is not None:
        cpu1["generator"] -= backends.own_cpu  # the watch's reading is the benchmark's, not the generator's
    delivered, unanswered = account(out)
    after, _ = drain()
    wall = cpu1["wall"] - cpu0["wall"]
    duration = out["duration_us"] / 1e6  # wrk's own measured duration of the run
    used = {k: (cpu1[k] - cpu0[k]) if cpu1[k] is not None and cpu0[k] is not None else None for k in CPU_CLASSES}
    used["generator"] += out["cpu_s"]
    used["other"] = max(0.0, (cpu1["machine"] - cpu0["machine"]) - sum(v for v in used.values() if v))
    errors = collections.Counter({f"HTTP {s}": n for s, n in out["statuses"].items() if s != "200"})
    # socket errors (not responses); wrk's "status" errors are the non-2xx responses above
    errors.update({f"wrk {k}": n for k, n in out["errors"].items() if n and k != "status"})
    new = after - before
    ms = lambda us: round(us / 1000, 2)  # noqa: E731
    return {
        "concurrency": concurrency,
        "generator": "wrk",
        "generator_processes": 0,
        "wrk_threads": threads,
        "seconds": round(duration, 2),
        "requests": sum(out["statuses"].values()),
        "sent": out["sent"],
        "unanswered_at_stop": unanswered,
        "delivered": delivered,
        "statuses": out["statuses"],
        "errors": dict(errors),
        "exchanges_per_second": round(delivered / duration, 1),
        # wrk's percentiles: of all responses (200 or not)
        "latency_of": "all responses (wrk)",
        "p50_ms": ms(out["p50_us"]),
        "p90_ms": ms(out["p90_us"]),
        "p99_ms": ms(out["p99_us"]),
        "max_ms": ms(out["latency_max_us"]),
        "mean_ms": ms(out["latency_mean_us"]),
        "bench_cpu_percent": round(used["generator"] / wall * 100, 1),
        "gunicorn_cpu_percent": round(used["server"] / wall * 100, 1),
        "providers_cpu_percent": round(used["providers"] / wall * 100, 1),
        "postgresql_cpu_percent": round(used["postgresql"] / wall * 100, 1) if used["postgresql"] is not None else None,
        "other_cpu_percent": round(used["other"] / wall * 100, 1),
        "generator_cpu_ms": round(out["cpu_s"] * 1000, 1),
        "cpu_ms_per_exchange": {
            k: (round(v / delivered * 1000, 3) if delivered and v is not None else None) for k, v in used.items()
        },
        "server_latency": server_latencies(access_log, cpu0["log"], cpu1["log"]),
        # Every 200 is a real exchange: the delivered records the run added, between its 200s
        # and its 200s plus the requests unanswered when wrk stopped (the server finishes those).
        "ledger_new_delivered": new,
        "ledger_matches": delivered <= new <= delivered + unanswered,
    }


def print_table(levels: list[dict]) -> None:
    lines = []
    pct = lambda v: f"{v:.0f}%" if v is not None else "-"  # noqa: E731
    ms = lambda v: f"{v:.1f}" if v is not None else "-"  # noqa: E731
    for r in levels:
        errors = ", ".join(f"{code} x{n}" for code, n in sorted(r["errors"].items())) or "0"
        lines.append(
            (
                str(r["concurrency"]),
                str(r["requests"]),
                errors,
                f"{r['exchanges_per_second']:.1f}",
                ms(r["p50_ms"]),
                ms(r["p90_ms"]),
                ms(r["p99_ms"]),
                pct(r["bench_cpu_percent"]),
                pct(r["gunicorn_cpu_percent"]),
                pct(r.get("postgresql_cpu_percent")),
                pct(r["providers_cpu_percent"]),
                pct(r["other_cpu_percent"]),
            )
        )
    aligned_table(HEADER, lines, first_left=False)
    print(
        f"CPU: % of one core during the timed window (100% = one core, {os.cpu_count()} cores here); Bench = the load generator"
    )
    print(
        "(its processes and this one); PostgreSQL = the backends of the benchmark's database (- when not on this machine);"
    )
    print("Other = the rest of the machine (other jobs; PostgreSQL's own processes, or all of it when shown as -).")
    if any(r.get("generator") == "wrk" for r in levels):
        print(
            "Latency: wrk's, of ALL responses (200 or not), from the request's write to its response's end; Errors: non-200"
        )
        print("responses by HTTP status and wrk's socket errors; Exchanges/s: 200s over wrk's own duration.")
    else:
        print("Latency: delivered exchanges only, measured in the client around DataUser.fetch (HTTP + JSON included).")
    print()
    per = []
    for r in levels:
        c = r.get("cpu_ms_per_exchange") or {}
        total = sum(v for v in c.values() if v is not None)
        per.append(
            (
                str(r["concurrency"]),
                f"wrk/{r['wrk_threads']}" if r.get("generator") == "wrk" else str(r.get("generator_processes", 0)),
                *(f"{c[k]:.2f}" if c.get(k) is not None else "-" for k in (*CPU_CLASSES, "other")),
                f"{total:.2f}",
            )
        )
    aligned_table(("Concurrency", "Generator", *PER_EXCHANGE_HEADER, "All"), per, first_left=False)
    print("CPU ms per delivered exchange in the timed window, by class of process (where the 2 cores went).")
    served = [r for r in levels if r.get("server_latency")]
    if served:
        print()
        rows = [
            (
                str(r["concurrency"]),
                ms(r["p50_ms"]),
                ms(r["server_latency"]["p50_ms"]),
                ms(r["p99_ms"]),
                ms(r["server_latency"]["p99_ms"]),
                str(r["server_latency"]["requests"]),
            )
            for r in served
        ]
        aligned_table(
            ("Concurrency", "client p50", "server p50", "client p99", "server p99", "server lines"),
            rows,
            first_left=False,
        )
        print("Server: granian's access log (dt_ms, the request's arrival to its response's end) of the same window.")


# --- the benchmark ----------------------------------------------------------------------------------


def run(args, tmp: Path, sock: socket.socket, issuer: str, env: dict) -> dict:
    import django

    django.setup()
    from django.db import connection, connections

    from examples.providers.launch import start_provider, stop_process, stop_provider
    from tungban.exchange import catalogue
    from tungban.exchange.models import ExchangeRecord
    from tungban.exchange.services import LEDGER_KIND
    from tungban.keys import services as keys
    from tungban.keys.models import SigningKey
    from tungban.ledger import chain as ledger
    from tungban.ledger.models import LogLeaf
    from tungban.testing.migrated import migrate_database

    notes: dict = {}
    result: dict = {
        "benchmark": "exchange",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "versions": versions(),
        "database": connection.vendor + (" (temporary file)" if connection.vendor == "sqlite" else ""),
        "settings": {
            "residents": args.residents,
            "real_flow_residents": args.real,
            "products": [PRODUCTS[d] for d in args.departments],
            "concurrency": args.levels,
            "seconds": args.seconds,
            "warmup": args.warmup,
            "gunicorn_workers": args.workers,
            "server": args.server,
            "profile": args.profile,
            "provider_max_concurrent": args.provider_slots,
            "generator": args.generator,
            "wrk_threads": args.wrk_threads if args.generator == "wrk" else None,
            "generator_processes": args.generator_processes if args.generator == "python" else None,
            "access_log": args.access_log,
            "provider_server": os.environ.get("CDEG_PROVIDER_SERVER") or "granian",
        },
    }
    m = result["machine"]
    print(
        f"Machine: {m['cpu']}, {m['cpus']} CPUs ({m['cpus_usable']} usable), {m['memory_mib']} MiB, load average at start "
        f"{' '.join(str(x) for x in m['loadavg_start'])}; Python {m['python']}; database {result['database']}",
        flush=True,
    )

    t0 = time.perf_counter()
    migrate_database()  # from a copy when TUNGBAN_MIGRATED_CACHE is set (the tiny runs)
    if not SigningKey.objects.filter(retired_at__isnull=True).exists():
        keys.create_key()  # what `tungban setup` does besides the signing CA (not used by the gateway)
    if ExchangeRecord.objects.exists() or ledger.head()["size"]:
        raise SystemExit("The database already holds exchanges: give --database-url an empty database.")
    notes["migrate_s"] = round(time.perf_counter() - t0, 2)

    providers = []
    gunicorn = None
    try:
        t0 = time.perf_counter()
        urls = {}
        for dept in args.departments:
            proc, url = start_provider(dept, issuer, synthetic=True, env=env)
            providers.append(proc)
            urls[dept] = url
        notes["providers_start_s"] = round(time.perf_counter() - t0, 2)
        catalogue.register_bundled(urls)
        org, client, user = make_data_user(issuer)

        t0 = time.perf_counter()
        residents, consents = seed(args, org, client)
        notes["seed_in_process_s"] = round(time.perf_counter() - t0, 2)
        connections.close_all()

        t0 = time.perf_counter()
        access_log = tmp / "access.log" if args.access_log else None
        gunicorn = start_server(
            sock,
            env,
            args.workers,
            tmp,
            args.profile,
            extra=("--access-log",) if access_log else (),
            server=args.server,
            log=tmp / "server.log",
            stdout=access_log,
        )
        wait_until_up(f"{issuer}/api/v1/exchange/products", gunicorn, tmp / "server.log")
        sock.close()  # the server holds its own copy, or its own socket on the port
        notes["gunicorn_start_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        consents = seed_over_http(args, issuer, user, client, residents, tmp) + consents
        notes["seed_over_http_s"] = round(time.perf_counter() - t0, 2)
        connections.close_all()
        print(
            f"Seeded {len(residents)} residents and {len(consents)} active consents ({', '.join(PRODUCTS[d] for d in args.departments)}): "
            f"{args.real} resident(s) through the real flow over HTTP (CLI app bound, DataUser.request_consent, app approval), "
            f"{len(residents) - args.real} in-process through the same services (exchange.services.request_consent + "
            f"wallet.services.decide with a device JWS -> on_approval_decided), device rows created directly.",
            flush=True,
        )
        print(
            f"Platform: {args.server or 'tungban serve'}, {args.workers} processes at {issuer}; providers: "
            + ", ".join(f"{d} {u} (--synthetic)" for d, u in urls.items()),
            flush=True,
        )

        # One token for the whole run, fetched before timing; one untimed check per product.
        t0 = time.perf_counter()
        user.token()
        notes["token_s"] = round(time.perf_counter() - t0, 3)
        notes["checks"] = check_answers(user, issuer, consents, args.departments)
        totals = Totals()
        totals.delivered += len(args.departments)

        master = gunicorn.pid
        server_pids = lambda: [master, *children_of(master)]  # noqa: E731
        notes["gunicorn_processes"] = len(server_pids())
        provider_pids = [p.pid for p in providers]
        levels = []
        for c in args.levels:
            print(f"Concurrency {c}: {args.warmup:g} s warm-up + {args.seconds:g} s ({args.generator}) ...", flush=True)
            if args.generator == "wrk":
                levels.append(
                    run_level_wrk(
                        user,
                        consents,
                        c,
                        args.warmup,
                        args.seconds,
                        server_pids,
                        provider_pids,
                        totals,
                        tmp=tmp,
                        threads=args.wrk_threads,
                        pg=connection.vendor == "postgresql",
                        access_log=access_log,
                    )
                )
                continue
            levels.append(
                run_level(
                    user,
                    consents,
                    c,
                    args.warmup,
                    args.seconds,
                    server_pids,
                    provider_pids,
                    totals,
                    processes=generator_processes(args, c),
                    pg=connection.vendor == "postgresql",
                    access_log=access_log,
                )
            )
        result["levels"] = levels
        result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        if gunicorn is not None:
            stop_process(gunicorn, 15)
        for proc in providers:
            stop_provider(proc)

    if args.profile:
        result["profile"] = profile_report(tmp, "exchange")

    # The log, verified by the platform's own command in the same environment.
    t0 = time.perf_counter()
    tungban = Path(sys.executable).with_name("tungban")
    cmd = [str(tungban)] if tungban.exists() else [sys.executable, "-m", "tungban.cli"]
    verify = subprocess.run(
        [*cmd, "verify_exchange_log"], env=env, cwd=tmp, capture_output=True, text=True, timeout=600
    )
    verify_text = (verify.stdout + verify.stderr).strip()
    outcomes = dict(collections.Counter(ExchangeRecord.objects.values_list("outcome", flat=True)))
    result["log"] = {
        "verify_command": "tungban verify_exchange_log",
        "verify_exit_code": verify.returncode,
        "verify_output": verify_text[-2000:],
        "verify_s": round(time.perf_counter() - t0, 2),
        # Exchanges are leaves of the transparency log (issue 14 item 10), one per record;
        # each attempt adds one more leaf of its own kind.
        "ledger_entries": LogLeaf.objects.filter(kind=LEDGER_KIND).count(),
        "exchange_records": outcomes,
        "delivered_seen_by_client": totals.delivered,
        # wrk: requests written but unanswered when wrk stopped (the server may have delivered them)
        "unanswered_at_stop": totals.unanswered,
    }
    # Every 200 the client saw is a delivered record, and every delivered record was asked for.
    delivered_records = outcomes.get("delivered", 0)
    result["log"]["ledger_matches"] = (
        totals.delivered <= delivered_records <= totals.delivered + totals.unanswered
        and result["log"]["ledger_entries"] == sum(outcomes.values())
    )
    result["notes"] = notes
    return result


def check_answers(user, issuer: str, consents: list, departments: list) -> dict:
    """Untimed: one exchange per product; the data is present and the gateway's signature
    verifies with the published JWKS."""
    from joserfc import jwt
    from joserfc.jwk import KeySet

    jwks = KeySet.import_key_set(user.http.get(f"{issuer}/oidc/jwks", timeout=10).json())
    out = {}
    for dept in departments:
        consent_id, product = next(c for c in consents if c[1] == PRODUCTS[dept])
        answer = user.fetch(consent_id, product)
        signed = jwt.decode(answer["signed"], jwks, algorithms=["ES256"])
        out[product] = (
            bool(answer["data"])
            and signed.claims["data"] == answer["data"]
            and signed.header["typ"] == "cdeg-response+jwt"
        )
    return out


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    # A SIGTERM (e.g. a test's timeout) unwinds like Ctrl-C, so the finally blocks stop the
    # platform and the providers.
    signal.signal(signal.SIGTERM, _interrupted)
    started = time.perf_counter()
    with scratch_dir("tungban-bench-exchange-", args.keep) as tmp:
        sock = listening_socket()
        issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
        env = isolate(
            tmp,
            issuer,
            args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}",
            # one token for the whole run; the bulkhead sized for the load generator's one data
            # user (half the slots per data user: 8 per process, 16 in all at the default)
            {"TUNGBAN_ACCESS_TOKEN_TTL": "3600", "TUNGBAN_PROVIDER_MAX_CONCURRENT": str(args.provider_slots)},
        )
        try:
            result = run(args, tmp, sock, issuer, env)
        finally:
            sock.close()
    result["wall_seconds"] = round(time.perf_counter() - started, 2)
    m = result["machine"]
    print()
    print(
        f"tungban exchange gateway benchmark — {result['date']} — {m['cpu']} ({m['cpus']} CPUs), load average "
        f"{' '.join(str(x) for x in m['loadavg_start'])} at start, {' '.join(str(x) for x in result['loadavg_end'])} at end — "
        f"{result['database']} — {args.server or 'tungban serve'} {args.workers} processes — {', '.join(result['settings']['products'])}"
        f"{' — quick' if args.quick else ''}"
    )
    print(
        f"{args.residents} residents, {args.residents * len(args.departments)} consents; {args.warmup:g} s warm-up + {args.seconds:g} s per level"
    )
    print()
    print_table(result["levels"])
    log = result["log"]
    print()
    print(f"Checks (signed answers verify with /oidc/jwks): {result['notes']['checks']}")
    print(
        f"Log: {log['verify_command']} -> exit {log['verify_exit_code']}: {log['verify_output'].splitlines()[-1] if log['verify_output'] else ''}"
    )
    print(
        f"Ledger entries: {log['ledger_entries']}; exchange records by outcome: {log['exchange_records']}; "
        f"delivered as seen by the client: {log['delivered_seen_by_client']}"
        + (f" (+ {log['unanswered_at_stop']} unanswered when wrk stopped)" if log["unanswered_at_stop"] else "")
        + f"; ledger matches: {log['ledger_matches']}"
    )
    n = result["notes"]
    print(
        f"Set-up: migrate {n['migrate_s']} s, providers {n['providers_start_s']} s, seeding {n['seed_in_process_s']} s in-process + "
        f"{n['seed_over_http_s']} s over HTTP, gunicorn {n['gunicorn_start_s']} s; wall time {result['wall_seconds']} s"
    )
    out = args.output or RESULTS / f"exchange-{dt.date.today().isoformat()}{'-quick' if args.quick else ''}.json"
    print(f"Results: {write_results(result, out)}")
    ok = log["verify_exit_code"] == 0 and all(n["checks"].values()) and log["ledger_matches"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
