#!/usr/bin/env python
"""Login latency while a data provider hangs or is slow (issue 14 item 1, acceptance 2).

Run from the checkout::

    .venv/bin/python bench/bulkhead.py --quick      # 3 phases of 2 + 12 s (under 3 minutes)
    .venv/bin/python bench/bulkhead.py              # 3 phases of 3 + 30 s
    .venv/bin/python bench/bulkhead.py --server gunicorn-sync  # one request per process (before issue 14)
    .venv/bin/python bench/bulkhead.py --database-url postgres://postgres@127.0.0.1:54329/empty_db

It builds an isolated platform in a temporary directory (its own ``TUNGBAN_VAR_DIR``, SQLite
database unless ``--database-url``, secret key) and runs it as in production, each part its
own process on loopback: the platform as ``tungban serve`` runs it
(:func:`tungban.core.serving.server_command`: granian, one process per core of
``TUNGBAN_WEB_THREADS`` threads; ``--server`` for another) and the demo data
provider ``wsd`` (``examples/providers``, ``--synthetic``).

Seeding: ``--devices`` residents with bound devices (``tungban.identity.seeding``,
``tungban.wallet.seeding``) and a relying party for the logins; ``--residents`` residents
registered at the counter with one active consent each for the exchanges, approved
in-process with a device signature (as ``bench/exchange.py`` seeds them).

Three phases, each ``--warmup`` + ``--seconds`` seconds, each starting with the provider's
circuit closed:

============  ==================================================================================
healthy       the provider answers at once
hang          the provider's address accepts connections and never answers (a TCP server in
              this process), so each call waits for the read timeout
              (``TUNGBAN_EXCHANGE_PROVIDER_TIMEOUT``, 5 s) until the circuit breaker opens
slow          the provider answers correctly, after 2 s (``--fault slow --delay 2``)
============  ==================================================================================

During each phase ``--login-concurrency`` threads log in back to back (the app-protocol
login of ``bench/oidc.py``: authorize page, the app reads and approves the request with its
device key, the browser completes, code, token, userinfo — six HTTP calls) while one
exchange a second is sent (each in its own thread, so a waiting exchange does not slow the
arrival rate). Printed per phase: logins, login errors, login p50/p99, exchanges by outcome
and their p50/p99; then the ratio of each phase's login p99 to the healthy one (the target:
within 2x under the hang). JSON in ``bench/results/bulkhead-<date>[-quick].json``.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import math
import os
import signal
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from exchange import PRODUCTS, make_data_user  # bench/exchange.py (this directory is on sys.path)
from exchange import seed as seed_consents
from machine import (
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
from oidc import REDIRECT_URI, LoginDriver, login_loop  # bench/oidc.py

from tungban.core.serving import SERVERS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
FULL = {"seconds": 30.0, "warmup": 3.0}
QUICK = {"seconds": 12.0, "warmup": 2.0}
PHASES = ("healthy", "hang", "slow")
HEADER = (
    "Phase",
    "Logins",
    "Login errors",
    "Login p50 ms",
    "Login p99 ms",
    "Exchanges",
    "Exchange outcomes",
    "Exch. p50 ms",
    "Exch. p99 ms",
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="phases of 2 + 12 s (under 3 minutes)")
    p.add_argument("--seconds", type=float, help="timed seconds per phase (default 30; 12 with --quick)")
    p.add_argument("--warmup", type=float, help="untimed seconds before each phase (default 3; 2 with --quick)")
    p.add_argument("--login-concurrency", type=int, default=4, help="threads logging in back to back (default 4)")
    p.add_argument("--exchange-rate", type=float, default=1.0, help="exchanges started per second (default 1)")
    p.add_argument("--devices", type=int, default=200, help="residents with a bound device, for logins (200)")
    p.add_argument("--residents", type=int, default=20, help="residents with a consent, for exchanges (20)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="web processes (one per core)")
    p.add_argument(
        "--server",
        choices=SERVERS,
        help="the platform's HTTP server (tungban.core.serving; default TUNGBAN_WEB_SERVER: granian)",
    )
    p.add_argument("--threads", type=int, help="threads per web process (default TUNGBAN_WEB_THREADS, 8)")
    p.add_argument("--slow-delay", type=float, default=2.0, help="seconds the slow provider takes (2)")
    p.add_argument("--only", help=f"comma-separated phases, of {','.join(PHASES)} (default all)")
    p.add_argument("--database-url", help="an empty database to use instead of a temporary SQLite file")
    p.add_argument("--output", type=Path, help="JSON results file (default bench/results/bulkhead-<date>[-quick].json)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (printed at the end)")
    args = p.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for name in ("seconds", "warmup"):
        if getattr(args, name) is None:
            setattr(args, name, preset[name])
    args.phases = [x.strip() for x in (args.only or ",".join(PHASES)).split(",") if x.strip()]
    if not args.phases or any(x not in PHASES for x in args.phases):
        p.error(f"--only must be some of {','.join(PHASES)}")
    if min(args.login_concurrency, args.devices, args.residents, args.workers) < 1 or args.seconds <= 0:
        p.error("--login-concurrency, --devices, --residents, --workers and --seconds must be positive")
    if args.exchange_rate <= 0 or args.warmup < 0:
        p.error("--exchange-rate must be positive, --warmup not negative")
    args.real, args.departments = 0, ["wsd"]  # for exchange.seed: consents in-process, one product
    return args


class HangingServer:
    """Accepts TCP connections and never answers (a hung provider)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held, self.stop = [], threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                self.held.append(self.sock.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    def close(self):
        self.stop.set()
        self.thread.join(5)
        for conn in self.held:
            conn.close()
        self.sock.close()


def percentile(ordered: list[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted seconds, in ms."""
    if not ordered:
        return None
    return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000, 1)


def run_phase(name: str, driver: LoginDriver, user, consents: list, args) -> dict:
    """Logins back to back on ``args.login_concurrency`` threads and exchanges at
    ``args.exchange_rate``/s for ``warmup + seconds``; what started in the timed window counts.
    Waits for every exchange to end before returning."""
    from examples.data_user import DataUserError

    start = time.perf_counter() + 0.2
    window_start, window_end = start + args.warmup, start + args.warmup + args.seconds
    exchanges: list[tuple[float, str]] = []
    lock = threading.Lock()

    def login_worker(_n):
        return login_loop(driver, start, window_start, window_end)

    def one_exchange(i: int, counted: bool):
        consent_id, product = consents[i % len(consents)]
        t0 = time.perf_counter()
        try:
            user.fetch(consent_id, product)
            outcome = "delivered"
        except DataUserError as exc:
            outcome = f"{exc.code} ({exc.status})"
        except Exception as exc:  # noqa: BLE001 - counted and shown
            outcome = type(exc).__name__
        if counted:
            with lock:
                exchanges.append((time.perf_counter() - t0, outcome))

    senders = []
    with ThreadPoolExecutor(max_workers=args.login_concurrency) as pool:
        futures = [pool.submit(login_worker, n) for n in range(args.login_concurrency)]
        i, interval = 0, 1.0 / args.exchange_rate
        while (now := time.perf_counter()) < window_end:
            due = start + i * interval
            if now < due:
                time.sleep(min(due - now, 0.05))
                continue
            t = threading.Thread(target=one_exchange, args=(i, due >= window_start), daemon=True)
            t.start()
            senders.append(t)
            i += 1
        results = [f.result() for f in futures]
    for t in senders:
        t.join(120)
    latencies = sorted(x for lat, _e in results for x in lat)
    errors = collections.Counter()
    for _lat, e in results:
        errors.update(e)
    exchange_lat = sorted(t for t, _o in exchanges)
    delivered_lat = sorted(t for t, o in exchanges if o == "delivered")
    return {
        "phase": name,
        "logins": len(latencies),
        "login_errors": dict(errors),
        "login_p50_ms": percentile(latencies, 50),
        "login_p99_ms": percentile(latencies, 99),
        "login_max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
        "exchanges": len(exchanges),
        "exchange_outcomes": dict(collections.Counter(o for _t, o in exchanges)),
        "exchange_p50_ms": percentile(exchange_lat, 50),
        "exchange_p99_ms": percentile(exchange_lat, 99),
        "delivered_p50_ms": percentile(delivered_lat, 50),
    }


def print_rows(rows: list[dict]) -> None:
    ms = lambda v: f"{v:.0f}" if v is not None else "-"  # noqa: E731
    lines = []
    for r in rows:
        errors = sum(r["login_errors"].values())
        outcomes = ", ".join(f"{k} x{n}" for k, n in sorted(r["exchange_outcomes"].items())) or "-"
        lines.append(
            (
                r["phase"],
                str(r["logins"]),
                str(errors),
                ms(r["login_p50_ms"]),
                ms(r["login_p99_ms"]),
                str(r["exchanges"]),
                outcomes,
                ms(r["exchange_p50_ms"]),
                ms(r["exchange_p99_ms"]),
            )
        )
    print_table(HEADER, lines)


def start_platform(sock, env: dict, args, tmp: Path):
    """The platform under ``args.server`` as ``tungban serve`` runs it (tungban.core.serving);
    returns the process and its command line."""
    from tungban.core.serving import server_command

    proc = start_server(
        sock,
        env,
        args.workers,
        tmp,
        threads=args.threads,
        server=args.server,
        log=tmp / "server.log",
        stdout=tmp / "server.out",  # the request log (e.g. each 504) stays out of the table
    )
    bind = f"{sock.getsockname()[0]}:{sock.getsockname()[1]}"
    cmd = server_command(
        bind, server=args.server, workers=args.workers, threads=args.threads, timeout=60, graceful_timeout=10
    )
    return proc, cmd


def run(args, tmp: Path, sock, issuer: str, env: dict) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, connections

    from examples.providers.launch import start_provider, stop_process, stop_provider
    from tungban.core.serving import default_server
    from tungban.exchange import catalogue
    from tungban.exchange.models import DataUserCircuit, Organisation, ProviderCircuit
    from tungban.identity.models import Resident
    from tungban.identity.seeding import seed_residents
    from tungban.keys import services as keys
    from tungban.oidc import services as oidc
    from tungban.testing.migrated import migrate_database
    from tungban.wallet.seeding import seed_devices

    args.server = args.server or default_server()
    args.threads = 1 if args.server == "gunicorn-sync" else args.threads or settings.TUNGBAN_WEB_THREADS
    result: dict = {
        "benchmark": "bulkhead",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "versions": package_versions(("Django", "granian", "gunicorn", "uvicorn", "requests", "pybreaker", "psycopg")),
        "database": connection.vendor + (" (temporary file)" if connection.vendor == "sqlite" else ""),
        "settings": {
            "workers": args.workers,
            "server": args.server,
            "threads": args.threads,
            "login_concurrency": args.login_concurrency,
            "exchange_rate_per_s": args.exchange_rate,
            "seconds": args.seconds,
            "warmup": args.warmup,
            "provider_read_timeout_s": settings.TUNGBAN_EXCHANGE_PROVIDER_TIMEOUT,
            "provider_connect_timeout_s": settings.TUNGBAN_PROVIDER_CONNECT_TIMEOUT,
            "breaker_failures": settings.TUNGBAN_PROVIDER_BREAKER_FAILURES,
            "breaker_reset_s": settings.TUNGBAN_PROVIDER_BREAKER_RESET,
            "provider_max_concurrent": settings.TUNGBAN_PROVIDER_MAX_CONCURRENT,
            "data_user_share": settings.TUNGBAN_PROVIDER_DATA_USER_SHARE,
            "slow_delay_s": args.slow_delay,
        },
    }
    m = result["machine"]
    print(
        f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['memory_mib']} MiB, load average at start "
        f"{' '.join(str(x) for x in m['loadavg_start'])}; database {result['database']}",
        flush=True,
    )
    notes: dict = {}
    t0 = time.perf_counter()
    migrate_database()  # from a copy when TUNGBAN_MIGRATED_CACHE is set (the tiny runs)
    keys.create_key()
    rp, rp_secret = oidc.register_client(
        client_id="bench-rp",
        name_en="Benchmark relying party",
        name_zh="基準測試服務",
        redirect_uris=[REDIRECT_URI],
        allowed_scopes=["openid", "profile"],
    )
    seed_residents(args.devices)
    devices = seed_devices(list(Resident.objects.order_by("pk")[: args.devices]))
    notes["seed_logins_s"] = round(time.perf_counter() - t0, 2)

    processes, hanging = [], HangingServer()
    gunicorn = None
    try:
        t0 = time.perf_counter()
        healthy_proc, healthy_url = start_provider("wsd", issuer, synthetic=True, env=env)
        processes.append(healthy_proc)
        slow_proc, slow_url = start_provider(
            "wsd", issuer, synthetic=True, fault="slow", delay=args.slow_delay, env=env
        )
        processes.append(slow_proc)
        catalogue.register_bundled({"wsd": healthy_url})
        org, client, user = make_data_user(issuer)
        _residents, consents = seed_consents(args, org, client)
        notes["seed_exchanges_s"] = round(time.perf_counter() - t0, 2)
        connections.close_all()

        gunicorn, cmd = start_platform(sock, env, args, tmp)
        wait_until_up(f"{issuer}/.well-known/openid-configuration", gunicorn, tmp / "server.log")
        sock.close()
        result["server_command"] = " ".join(cmd[1:])
        print(
            f"Platform: {args.server}, {args.workers} processes of {args.threads} threads at {issuer}; "
            f"{len(devices)} devices for logins, {len(consents)} consents for exchanges ({PRODUCTS['wsd']})",
            flush=True,
        )
        driver = LoginDriver(issuer, rp.client_id, rp_secret, devices)
        driver.login()  # untimed checks: a login and an exchange work
        user.token()
        user.fetch(*consents[0])

        urls = {"healthy": healthy_url, "hang": hanging.url, "slow": slow_url}
        rows = []
        for phase in args.phases:
            Organisation.objects.filter(pk="wsd").update(endpoint_url=urls[phase])
            ProviderCircuit.objects.all().delete()  # each phase starts with the circuits closed
            DataUserCircuit.objects.all().delete()
            connections.close_all()
            print(f"Phase {phase}: {args.warmup:g} s warm-up + {args.seconds:g} s ...", flush=True)
            rows.append(run_phase(phase, driver, user, consents, args))
            print_rows(rows[-1:])
        result["phases"] = rows
        base = next((r["login_p99_ms"] for r in rows if r["phase"] == "healthy"), None)
        result["ratios"] = {
            r["phase"]: round(r["login_p99_ms"] / base, 2) if base and r["login_p99_ms"] else None
            for r in rows
            if r["phase"] != "healthy"
        }
        result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        hanging.close()
        if gunicorn is not None:
            stop_process(gunicorn, 15)
        for proc in processes:
            stop_provider(proc)
    result["notes"] = notes
    return result


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)  # unwinds like Ctrl-C: the platform and providers are stopped
    started = time.perf_counter()
    with scratch_dir("tungban-bench-bulkhead-", args.keep) as tmp:
        sock = listening_socket()
        issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
        env = isolate(
            tmp,
            issuer,
            args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}",
            {"TUNGBAN_ACCESS_TOKEN_TTL": "3600"},
        )
        if args.threads:
            env["TUNGBAN_WEB_THREADS"] = os.environ["TUNGBAN_WEB_THREADS"] = str(args.threads)
        try:
            result = run(args, tmp, sock, issuer, env)
        finally:
            sock.close()
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    s = result["settings"]
    print()
    print(
        f"tungban bulkhead benchmark — {result['date']} — load average "
        f"{' '.join(str(x) for x in result['machine']['loadavg_start'])} at start, "
        f"{' '.join(str(x) for x in result['loadavg_end'])} at end — {result['database']} — {s.get('server', 'gunicorn')} {s['workers']} processes "
        f"of {s['threads']} threads — {s['login_concurrency']} "
        f"login threads, {s['exchange_rate_per_s']:g} exchange/s — provider timeouts {s['provider_connect_timeout_s']:g} s "
        f"connect, {s['provider_read_timeout_s']:g} s read; breaker {s['breaker_failures']} failures, "
        f"{s['breaker_reset_s']:g} s; bulkhead {s['provider_max_concurrent']} per process"
        f" ({s.get('data_user_share', 1):g} of it per data user)"
        f"{' — quick' if args.quick else ''}"
    )
    print()
    print_rows(result["phases"])
    print()
    for phase, ratio in result["ratios"].items():
        print(f"Login p99 {phase} / healthy: {ratio if ratio is not None else '-'}x")
    print("Latency: of successful logins (six HTTP calls each) and of all exchanges, in the client.")
    print(f"Wall time {result['wall_seconds']} s")
    out = args.output or RESULTS / f"bulkhead-{dt.date.today().isoformat()}{'-quick' if args.quick else ''}.json"
    print(f"Results: {write_results(result, out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
