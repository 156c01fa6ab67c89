#!/usr/bin/env python
"""Login endpoints side by side: tungban against ``oidc-provider`` (npm, OpenID Certified),
on this machine, in one run (issue #6).

Run from the checkout::

    .venv/bin/python bench/oidc.py                 # 10^4 residents, 16 and 64 connections, 20 s each (about 10 min)
    .venv/bin/python bench/oidc.py --quick         # 32 connections, 8 s each (under 5 minutes)
    .venv/bin/python bench/oidc.py --scale 3300000 --only login   # login at 10^4, then at 3.3 million residents
    .venv/bin/python bench/oidc.py --quick --only login --profile # where a tungban worker's time goes
    .venv/bin/python bench/oidc.py --quick --no-peer --server gunicorn-gthread  # another HTTP server (issue 15)

What it starts, each its own process on loopback, as in production:

* PostgreSQL: its own cluster in a temporary directory (``initdb``; Debian's ``postgresql``,
  installed with apt-get when missing and run as root), default durability settings
  (``fsync`` and ``synchronous_commit`` on), one database per system;
* tungban: the command ``tungban serve`` runs (``tungban.core.serving``: granian, WSGI,
  keep-alive, one process per core of ``TUNGBAN_WEB_THREADS`` threads; ``--server`` for
  gunicorn-gthread, gunicorn-sync or uvicorn), DEBUG off, on PostgreSQL, with the platform's
  default token lifetimes;
* the peer: ``oidc-provider`` (``bench/peer``, see ``bench/peer.py``) under node:cluster with
  the same number of processes, a PostgreSQL adapter (the documented adapter interface) in
  the same PostgreSQL server, configured like tungban: ES256 ID tokens, PKCE S256 required,
  pairwise subjects, the same lifetimes, refresh tokens rotated on every use, opaque access
  tokens in the store;
* the load generator: Debian's ``wrk`` with the Lua scripts in ``bench/wrk`` (its own CPU
  time is printed), and for the login scenario this script's threads.

Scenarios, for each system and each number of connections (``--connections``):

=====================  ====================================================================
discovery              GET /.well-known/openid-configuration
jwks                   GET the ``jwks_uri``
client_credentials     POST the token endpoint, ``client_credentials``, ``client_secret_basic``
refresh_token          POST the token endpoint, ``refresh_token`` (rotating: the Lua script
                       sends each new refresh token back in a later request)
userinfo               GET the userinfo endpoint with a bearer access token (one of 1,000)
login (tungban only)   authorize page → the app reads the request and approves it with its
                       device key (ES256 proofs) → the browser completes → code → token →
                       userinfo: six HTTP calls per login, ``--login-concurrency`` threads,
                       each login with the next of ``--devices`` simulated devices
=====================  ====================================================================

Seeding: tungban's residents with ``tungban.identity.seeding`` (bulk inserts), devices with
``tungban.wallet.seeding``; the refresh and access tokens for the wrk scenarios are rows
created directly (an authorization code marked used plus its token row, as a login leaves
them); the peer mints its own through oidc-provider's models (``node server.mjs setup``).
``--scale N`` afterwards seeds residents up to N in all and runs the login scenario again.

Printed: one table (requests/s, p50/p99 latency, server CPU seconds per 1,000 requests,
PostgreSQL CPU seconds per 1,000 requests, peak RSS of the server's processes, errors) and
the tungban/peer ratio of requests per second per scenario; the same goes to
``bench/results/oidc-<date>[-quick].json`` (``--output`` to choose).
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime as dt
import getpass
import hashlib
import itertools
import json
import os
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, unquote, urlencode

import peer  # bench/peer.py (this directory is on sys.path)
import pgsplit  # bench/pgsplit.py
from machine import (  # bench/machine.py
    children_of,
    isolate,
    listening_socket,
    machine,
    package_versions,
    print_table,
    profile_report,
    scratch_dir,
    start_server,
    tree_cpu_seconds,
    wait_until_up,
    write_results,
)

from tungban.core.serving import SERVERS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
WRK_DIR = Path(__file__).resolve().parent / "wrk"

WRK_SCENARIOS = ("userinfo", "refresh_token", "client_credentials", "discovery", "jwks")
SCENARIOS = (*WRK_SCENARIOS, "login")
FULL = {
    "residents": 10_000,
    "connections": "16,64",
    "seconds": 20.0,
    "warmup": 3.0,
    "login_concurrency": "8,32",
    "devices": 2000,
}
QUICK = {
    "residents": 10_000,
    "connections": "32",
    "seconds": 8.0,
    "warmup": 2.0,
    "login_concurrency": "16",
    "devices": 500,
}
ACCESS_TOKENS = 1000
REDIRECT_URI = "https://rp.bench.example/cb"
LOGIN_SCOPE = "openid profile"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="one level of 32 connections, 8 s per run (under 5 minutes)")
    p.add_argument("--residents", type=int, help="residents seeded before the runs (default 10,000)")
    p.add_argument(
        "--scale",
        type=int,
        help="afterwards seed residents up to this many in all (e.g. 3300000) and run the login scenario again",
    )
    p.add_argument("--connections", help="comma-separated wrk connection counts (default 16,64; 32 with --quick)")
    p.add_argument("--seconds", type=float, help="timed seconds per run (default 20; 8 with --quick)")
    p.add_argument("--warmup", type=float, help="untimed seconds before each run (default 3; 2 with --quick)")
    p.add_argument(
        "--login-concurrency",
        help="comma-separated concurrent logins of the login scenario (default 8,32; 16 with --quick)",
    )
    p.add_argument(
        "--devices",
        type=int,
        help="simulated devices (bound residents) for the login scenario (default 2000; 500 with --quick)",
    )
    p.add_argument("--only", help=f"comma-separated scenarios to run, of {','.join(SCENARIOS)} (default all)")
    p.add_argument("--no-peer", action="store_true", help="tungban only (no Node.js needed)")
    p.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 2,
        help="server processes per system (default: one per core, %(default)s here)",
    )
    p.add_argument(
        "--server",
        choices=SERVERS,
        help="tungban's HTTP server (tungban.core.serving; default TUNGBAN_WEB_SERVER: granian)",
    )
    p.add_argument(
        "--threads",
        type=int,
        help="threads per tungban process (default TUNGBAN_WEB_THREADS, 8; gunicorn-sync: 1)",
    )
    p.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument(
        "--profile",
        action="store_true",
        help="run the tungban workers under cProfile and print where their time goes (slows them: figures not comparable)",
    )
    p.add_argument("--output", type=Path, help="JSON results file (default bench/results/oidc-<date>[-quick].json)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (printed at the end)")
    args = p.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for name in ("residents", "connections", "seconds", "warmup", "login_concurrency", "devices"):
        if getattr(args, name) is None:
            setattr(args, name, preset[name])
    try:
        args.levels = [int(c) for c in str(args.connections).split(",") if c.strip()]
        args.login_levels = [int(c) for c in str(args.login_concurrency).split(",") if c.strip()]
    except ValueError:
        p.error("--connections and --login-concurrency must be integers separated by commas, e.g. 16,64")
    if not args.levels or min(args.levels) < 1 or not args.login_levels or min(args.login_levels) < 1:
        p.error("--connections and --login-concurrency need levels of 1 or more")
    args.scenarios = [s.strip() for s in (args.only or ",".join(SCENARIOS)).split(",") if s.strip()]
    if not args.scenarios or any(s not in SCENARIOS for s in args.scenarios):
        p.error(f"--only must be some of {','.join(SCENARIOS)}")
    if (
        args.residents < 1
        or args.devices < 1
        or args.devices > args.residents
        or args.seconds <= 0
        or args.warmup < 0
        or args.workers < 1
    ):
        p.error(
            "--residents and --devices must be positive (devices <= residents), --seconds and --workers positive, --warmup not negative"
        )
    if args.scale is not None and args.scale <= args.residents:
        p.error("--scale must be more than --residents")
    if args.profile:
        # One cProfile.Profile per worker process, enabled around each request: two threads of
        # a process cannot have it enabled at once (Python 3.12+ refuses, and the request gets
        # a 500), so a profiled worker serves one request at a time.
        if args.threads not in (None, 1):
            p.error("--profile runs each worker with one thread (leave --threads out)")
        args.threads = 1
    args.wrk_threads = max(1, min(args.wrk_threads, min(args.levels)))
    return args


# --- tools -----------------------------------------------------------------------------------------


def apt_install(*packages: str) -> None:
    """Install Debian packages when running as root with apt-get; else explain what is missing."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(
            f"Missing: {' '.join(packages)}. Install them (e.g. apt-get install {' '.join(packages)}) and run again."
        )
    print(f"==> apt-get install {' '.join(packages)}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env, stdout=subprocess.DEVNULL)


def postgres_bin() -> Path | None:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


def ensure_tools(args) -> Path:
    """wrk, PostgreSQL's server binaries and (for the peer) Node.js with the peer's packages."""
    missing = [pkg for pkg, ok in (("wrk", shutil.which("wrk")), ("postgresql", postgres_bin())) if not ok]
    if not args.no_peer and not (shutil.which("node") and shutil.which("npm")):
        missing += ["nodejs", "npm"]
    if missing:
        apt_install(*missing)
    if not args.no_peer:
        peer.ensure_installed()
    return postgres_bin()


# --- PostgreSQL ------------------------------------------------------------------------------------


class Postgres:
    """A throwaway PostgreSQL cluster on loopback (as user ``postgres`` when run as root)."""

    def __init__(self, bindir: Path):
        self.bindir, self.data = bindir, Path(tempfile.mkdtemp(prefix="tungban-bench-pg-"))
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        self.user = "postgres" if self.as_postgres else getpass.getuser()
        if self.as_postgres:
            shutil.chown(self.data, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", self.user, "-E", "UTF8", "--locale=C.UTF-8")
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k /tmp -c max_connections=300 -c shared_buffers=1GB"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.data / "server.log"), "-w", "start")
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bindir / tool), *args]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/tmp")

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.data, ignore_errors=True)


def free_port() -> int:
    sock = listening_socket()
    port = sock.getsockname()[1]
    sock.close()
    return port


# --- measuring ---------------------------------------------------------------------------------------


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
        except (OSError, IndexError, ValueError):
            pass
    return total


class Sampler:
    """Peak of the summed resident memory of a process tree, sampled every 0.2 s."""

    def __init__(self, pids):
        self.pids, self.peak, self._stop = pids, 0, threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pids()))
            self._stop.wait(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes(self.pids()))


class Window:
    """CPU seconds of the server's and PostgreSQL's process trees and wall time over a run."""

    def __init__(self, server_root: int, pg: Postgres):
        self.server_root, self.pg = server_root, pg

    def __enter__(self):
        self.t0 = time.perf_counter()
        self.server0 = tree_cpu_seconds(self.server_root)
        self.pg0 = tree_cpu_seconds(self.pg.pid)
        self.pg_roles0 = pgsplit.snapshot(self.pg.pid)
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        self.server_cpu = tree_cpu_seconds(self.server_root) - self.server0
        self.pg_cpu = tree_cpu_seconds(self.pg.pid) - self.pg0
        self.pg_split = pgsplit.split(self.pg_roles0, pgsplit.snapshot(self.pg.pid))


def run_wrk(script: str, url: str, connections: int, seconds: float, threads: int, env: dict) -> dict:
    """One wrk run; returns its ``WRK_RESULT`` JSON plus ``cpu_s`` (wrk's own user+system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_DIR / script),
        url,
    ]
    proc = subprocess.run(
        cmd,
        env={**os.environ, **env, "WRK_LUA_DIR": str(WRK_DIR), "WRK_THREADS": str(threads)},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRK_RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    out = json.loads(line[len("WRK_RESULT ") :])
    out["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out


# --- the systems ---------------------------------------------------------------------------------------


class System:
    """What the wrk scenarios need of a system: URLs, credentials and tokens."""

    def __init__(self, name, issuer, meta, basic, cc_scope, root: int, refresh_tokens, access_tokens):
        self.name, self.issuer, self.meta = name, issuer, meta
        self.basic, self.cc_scope, self.root = basic, cc_scope, root
        self.refresh_tokens, self.access_tokens = list(refresh_tokens), list(access_tokens)

    def pids(self) -> list[int]:
        return [self.root, *descendants(self.root)]

    def drain(self) -> None:
        """Wait until the server has answered what a finished run left queued (wrk closes its
        connections at the end, but requests already accepted are still worked off)."""
        fetch_json(f"{self.issuer}/.well-known/openid-configuration", timeout=600)

    def take_refresh_tokens(self, n: int) -> list[str]:
        if len(self.refresh_tokens) < n:
            raise RuntimeError(f"{self.name}: not enough refresh tokens left ({len(self.refresh_tokens)} < {n})")
        taken, self.refresh_tokens = self.refresh_tokens[:n], self.refresh_tokens[n:]
        return taken

    def scenario(self, name: str, connections: int, tmp: Path) -> tuple[str, str, dict]:
        """``(lua script, url, environment)`` for one run of a wrk scenario."""
        basic = {"WRK_BASIC": self.basic}
        if name == "discovery":
            return "get.lua", f"{self.issuer}/.well-known/openid-configuration", {}
        if name == "jwks":
            return "get.lua", self.meta["jwks_uri"], {}
        if name == "client_credentials":
            return "client_credentials.lua", self.meta["token_endpoint"], {**basic, "WRK_SCOPE": self.cc_scope}
        if name == "refresh_token":
            path = tmp / f"{self.name}-refresh-{secrets.token_hex(4)}.txt"
            path.write_text("\n".join(self.take_refresh_tokens(refresh_pool(connections))) + "\n")
            return "refresh_token.lua", self.meta["token_endpoint"], {**basic, "WRK_TOKENS": str(path)}
        if name == "userinfo":
            path = tmp / f"{self.name}-access.txt"
            path.write_text("\n".join(self.access_tokens) + "\n")
            return "userinfo.lua", self.meta["userinfo_endpoint"], {"WRK_TOKENS": str(path)}
        raise ValueError(name)


def refresh_pool(connections: int) -> int:
    """Refresh tokens handed to one wrk run: three per connection (a failed refresh loses one)."""
    return 3 * connections


def basic_auth(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: form-urlencode id and secret, then Basic (RFC 7617)."""
    from urllib.parse import quote

    return base64.b64encode(f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()).decode()


def fetch_json(url: str, timeout: float = 10) -> dict:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as resp:
        return json.loads(resp.read())


# --- tungban ----------------------------------------------------------------------------------------------


def seed_tungban(args, notes: dict) -> tuple:
    """Migrate, the ID-token key, the relying party, residents and devices.
    Returns ``(client, secret, devices)``."""
    from tungban.identity.models import Resident
    from tungban.identity.seeding import seed_residents
    from tungban.keys import services as keys
    from tungban.oidc import services as oidc
    from tungban.oidc.models import OFFLINE_ACCESS_SCOPE
    from tungban.testing.migrated import migrate_database
    from tungban.wallet.seeding import seed_devices

    t0 = time.perf_counter()
    migrate_database()  # from a copy when TUNGBAN_MIGRATED_CACHE is set (the tiny runs)
    keys.create_key()
    notes["tungban_migrate_s"] = round(time.perf_counter() - t0, 2)
    client, secret = oidc.register_client(
        client_id="bench-rp",
        name_en="Benchmark relying party",
        name_zh="基準測試服務",
        redirect_uris=[REDIRECT_URI],
        allowed_scopes=["openid", "profile", OFFLINE_ACCESS_SCOPE],
    )
    t0 = time.perf_counter()
    seeded = seed_residents(args.residents)
    notes["tungban_seed_residents_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    residents = list(Resident.objects.order_by("pk")[: args.devices])
    devices = seed_devices(residents)
    notes["tungban_seed_devices_s"] = round(time.perf_counter() - t0, 2)
    notes["tungban_seeded"] = {
        "residents": Resident.objects.count(),
        "devices": len(devices),
        "seed_result": str(seeded),
    }
    return client, secret, devices


def mint_tungban_tokens(client, refresh: int, access: int) -> tuple[list[str], list[str]]:
    """Rows a completed login leaves behind, created directly: per token an authorization
    code (marked used) and a token row; ``refresh`` of them with a refresh token
    (``offline_access``), ``access`` with an access token for userinfo (claims of the
    ``profile`` scope), and each resident's pairwise ``sub`` at the client. Returns ``(refresh tokens, access tokens)``."""
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from tungban.identity import eme
    from tungban.identity.models import Resident
    from tungban.oidc import services as oidc
    from tungban.oidc.models import AuthorizationCode, PairwiseSubject, Token, access_token_digest, release_copies

    claims = eme.claims_for_scopes({"openid", "profile"})
    residents = (
        list(Resident.objects.order_by("?")[: refresh + access])
        if refresh + access <= 50_000
        else list(Resident.objects.all()[: refresh + access])
    )
    now, when = int(time.time()), timezone.now()
    refresh_values, access_values = [], []
    codes, tokens = [], []
    for i, resident in enumerate(itertools.islice(itertools.cycle(residents), refresh + access)):
        offline = i < refresh
        codes.append(
            AuthorizationCode(
                code=secrets.token_urlsafe(36),
                client=client,
                resident=resident,
                redirect_uri=REDIRECT_URI,
                scope=f"{LOGIN_SCOPE} offline_access" if offline else LOGIN_SCOPE,
                claims=claims,
                auth_time=now,
                acr=oidc.acr_for(resident),
                amr=["swk", "pin", "mfa"],
                code_challenge="x" * 43,
                code_challenge_method="S256",
                used_at=when,
            )
        )
        value = secrets.token_urlsafe(36)
        (refresh_values if offline else access_values).append(value)
        tokens.append(
            Token(
                access_token=secrets.token_urlsafe(32),
                client=client,
                resident=resident,
                scope=codes[-1].scope,
                claims=claims,
                issued_at=now,
                expires_in=settings.TUNGBAN_ACCESS_TOKEN_TTL,
                refresh_token=oidc.refresh_token_digest(value) if offline else None,
                refresh_expires_at=now + settings.TUNGBAN_REFRESH_TOKEN_TTL if offline else None,
            )
        )
        if not offline:
            tokens[-1].access_token = access_token_digest(value)  # stored as a digest (issue 13 item 10)
    with transaction.atomic():
        AuthorizationCode.objects.bulk_create(codes, batch_size=2000)
        # The residents' pairwise sub at the client, which their login's code exchange created.
        PairwiseSubject.objects.bulk_create(
            [PairwiseSubject(resident=r, sector=client.sector, sub=secrets.token_urlsafe(24)) for r in residents],
            batch_size=2000,
            ignore_conflicts=True,
        )
        subs = dict(PairwiseSubject.objects.filter(sector=client.sector).values_list("resident_id", "sub"))
        for code, token in zip(codes, tokens, strict=True):
            token.authorization_code = code
            # what the token endpoint copies onto a token for its releases (oidc.models.release_copies)
            for name, value in release_copies(client, token.resident, code, sub=subs[token.resident_id]).items():
                setattr(token, name, value)
        Token.objects.bulk_create(tokens, batch_size=2000)
    return refresh_values, access_values


# --- the login scenario ------------------------------------------------------------------------------------


class KeepAlive:
    """A minimal HTTP/1.1 client for the load generator: one persistent connection
    (``http.client``, reopened when the server closes it) and the cookies the server sets,
    sent back on the next requests. ``requests`` cost about a millisecond of this process's
    CPU per call; the generator shares the machine's two cores with the server."""

    def __init__(self, base: str, timeout: float = 30):
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(base)
        secure = parts.scheme == "https"
        self.host, self.port, self.timeout = parts.hostname, parts.port or (443 if secure else 80), timeout
        self.factory = http.client.HTTPSConnection if secure else http.client.HTTPConnection
        self.conn = None
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """``(status, headers (an email.message.Message), body bytes)``; one retry on a
        connection the server had closed (keep-alive timeout)."""
        import http.client

        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = self.factory(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (
                http.client.RemoteDisconnected,
                ConnectionResetError,
                BrokenPipeError,
                http.client.CannotSendRequest,
            ):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        if resp.will_close:
            self.conn.close()
            self.conn = None
        for cookie in resp.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        return resp.status, resp.headers, data


class LoginDriver:
    """Complete logins over HTTP as a browser, the app (a seeded device) and the relying
    party do them; the app's steps sign ES256 proofs and the decision with the device key
    (real signatures, fresh for each request).

    Each thread keeps three persistent connections (:class:`KeepAlive`): the browser's (its
    cookies cleared for each login: a new browser), the app's and the relying party's."""

    def __init__(self, issuer: str, client_id: str, secret: str, devices: list[dict]):
        from urllib.parse import urlsplit

        from joserfc.jwk import ECKey

        from tungban.wallet.cli import device_proof  # the app's own proof

        self.issuer, self.client_id, self.secret = issuer, client_id, secret
        self.prefix = urlsplit(issuer).path.rstrip("/")
        self.devices = [(d["device_id"], ECKey.import_key(d["private_jwk"])) for d in devices]
        self.next_device = itertools.count()
        self.local = threading.local()
        self.device_proof = device_proof
        self.basic = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        self.authorize_fixed = (
            f"{self.prefix}/oidc/authorize?response_type=code&client_id={quote(client_id)}"
            f"&redirect_uri={quote(REDIRECT_URI)}&scope={quote(LOGIN_SCOPE)}&code_challenge_method=S256"
        )

    def _clients(self) -> tuple[KeepAlive, KeepAlive, KeepAlive]:
        if not hasattr(self.local, "clients"):
            self.local.clients = tuple(KeepAlive(self.issuer) for _ in range(3))
        return self.local.clients

    def _proof(self, device_id, key, method: str, url: str) -> str:
        return "Device " + self.device_proof(key, device_id, method, url)

    def login(self) -> dict:
        """One login; returns the userinfo response. :raises RuntimeError: at the step that failed."""
        from joserfc import jws

        browser, app, rp = self._clients()
        browser.cookies.clear()  # a new browser
        device_id, key = self.devices[next(self.next_device) % len(self.devices)]
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        path = (
            f"{self.authorize_fixed}&state={secrets.token_urlsafe(8)}&nonce={secrets.token_urlsafe(8)}"
            f"&code_challenge={challenge}"
        )
        status, _h, page = browser.request("GET", path)
        text = page.decode() if status == 200 else ""
        match = re.search(r"/app/approve/([0-9a-f-]{36})", text)
        if not match:
            raise RuntimeError(f"authorize: HTTP {status}")
        rid = match.group(1)
        # The number the page shows for the resident to type in the app (issue 13 item 6).
        shown_code = re.search(r'id="user-code"[^>]*>\s*([0-9]+)\s*<', text)
        if not shown_code:
            raise RuntimeError("authorize: the page shows no number for the app")
        path = f"{self.prefix}/api/v1/wallet/requests/{rid}"
        url = self.issuer.rstrip("/").removesuffix(self.prefix) + path
        status, _h, body = app.request("GET", path, headers={"Authorization": self._proof(device_id, key, "GET", url)})
        if status != 200:
            raise RuntimeError(f"app request: HTTP {status}")
        req = json.loads(body)
        decision = {
            "request_id": rid,
            "requester": req["requester"]["id"],
            "nonce": req["nonce"],
            "decision": "approve",
            "claims": sorted(c["name"] for c in req["claims"]),
            "code": shown_code.group(1),
        }
        signature = jws.serialize_compact({"alg": "ES256", "kid": device_id}, json.dumps(decision).encode(), key)
        status, _h, body = app.request(
            "POST",
            path + "/decision",
            body=json.dumps({"signature": signature}).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": self._proof(device_id, key, "POST", url + "/decision"),
            },
        )
        if status != 200:
            raise RuntimeError(f"app decision: HTTP {status}")
        status, headers, _b = browser.request("GET", f"{self.prefix}/oidc/authorize/{rid}/complete")
        code = re.search(r"[?&]code=([^&]+)", headers.get("Location", "")) if status == 302 else None
        if not code:
            raise RuntimeError(f"complete: HTTP {status}")
        form = urlencode(
            {
                "grant_type": "authorization_code",
                "code": unquote(code.group(1)),
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            }
        )
        status, _h, body = rp.request(
            "POST",
            f"{self.prefix}/oidc/token",
            body=form.encode(),
            headers={"Authorization": self.basic, "Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 200:
            raise RuntimeError(f"token: HTTP {status}")
        access = json.loads(body)["access_token"]
        status, _h, body = rp.request(
            "GET", f"{self.prefix}/oidc/userinfo", headers={"Authorization": f"Bearer {access}"}
        )
        info = json.loads(body) if status == 200 else {}
        if "sub" not in info:
            raise RuntimeError(f"userinfo: HTTP {status}")
        return info


def login_loop(driver: LoginDriver, start: float, window_start: float, window_end: float):
    """One thread's logins back to back from ``start`` to ``window_end`` (``perf_counter``
    seconds): ``(latencies s, Counter of errors)`` of the logins started from ``window_start``."""
    lat, errors = [], collections.Counter()
    while time.perf_counter() < start:
        time.sleep(0.005)
    while (t0 := time.perf_counter()) < window_end:
        try:
            driver.login()
            ok, err = True, None
        except Exception as exc:  # noqa: BLE001 - counted and shown
            ok, err = False, str(exc)[:60]
        if t0 >= window_start:
            if ok:
                lat.append(time.perf_counter() - t0)
            else:
                errors[err] += 1
    return lat, errors


def run_logins(
    driver: LoginDriver, concurrency: int, warmup: float, seconds: float, window: Window, sampler: Sampler
) -> dict:
    """``concurrency`` threads log in back to back for ``warmup + seconds``; logins started
    in the timed window count. Returns the row of the table (``requests`` = logins)."""
    start = time.perf_counter() + 0.2
    window_start, window_end = start + warmup, start + warmup + seconds

    def worker(_n):
        return login_loop(driver, start, window_start, window_end)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(worker, n) for n in range(concurrency)]
        time.sleep(max(0.0, window_start - time.perf_counter()))
        cpu0 = time.process_time()
        with sampler, window:
            time.sleep(max(0.0, window_end - time.perf_counter()))
        generator_cpu = time.process_time() - cpu0
        results = [f.result() for f in futures]
    latencies = sorted(x for lat, _e in results for x in lat)
    errors = collections.Counter()
    for _lat, e in results:
        errors.update(e)
    result = row(
        "tungban",
        "login",
        concurrency,
        len(latencies),
        sum(errors.values()),
        window,
        sampler,
        [percentile_us(latencies, p) for p in (50, 90, 99)],
        generator_cpu,
        dict(errors),
    )
    # The load generator's own CPU per login (it shares the cores with the server).
    logins = len(latencies) + sum(errors.values())
    result["generator_cpu_ms_per_login"] = round(generator_cpu / logins * 1000, 2) if logins else None
    return result


def percentile_us(ordered: list[float], p: float) -> int | None:
    """Nearest-rank percentile of sorted seconds, in µs."""
    if not ordered:
        return None
    import math

    return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1e6)


# --- results -----------------------------------------------------------------------------------------------


def row(
    system,
    scenario,
    connections,
    ok,
    errors,
    window: Window,
    sampler: Sampler,
    pct_us,
    generator_cpu,
    error_detail=None,
) -> dict:
    total = ok + errors
    return {
        "system": system,
        "scenario": scenario,
        "connections": connections,
        "seconds": round(window.wall, 2),
        "requests": total,
        "errors": errors,
        "error_detail": error_detail or {},
        "rps": round(ok / window.wall, 1),
        "p50_ms": None if pct_us[0] is None else round(pct_us[0] / 1000, 2),
        "p90_ms": None if pct_us[1] is None else round(pct_us[1] / 1000, 2),
        "p99_ms": None if pct_us[2] is None else round(pct_us[2] / 1000, 2),
        "server_cpu_s": round(window.server_cpu, 2),
        "postgres_cpu_s": round(window.pg_cpu, 2),
        "server_cpu_s_per_1000": round(window.server_cpu / total * 1000, 3) if total else None,
        "postgres_cpu_s_per_1000": round(window.pg_cpu / total * 1000, 3) if total else None,
        "postgres_cpu_split_s": getattr(window, "pg_split", {}),  # bench/pgsplit.py: by process
        "peak_rss_mib": round(sampler.peak / 2**20, 1),
        "generator_cpu_s": round(generator_cpu, 2),
        "generator_cpu_percent": round(generator_cpu / window.wall * 100, 1),
    }


def wrk_row(system: System, scenario: str, connections: int, args, tmp: Path, pg: Postgres) -> dict:
    script, url, env = system.scenario(scenario, connections, tmp)
    if args.warmup > 0:
        run_wrk(script, url, connections, args.warmup, args.wrk_threads, env)
        system.drain()
        if scenario == "refresh_token":  # the warm-up used up its tokens: a fresh pool
            script, url, env = system.scenario(scenario, connections, tmp)
    with Sampler(system.pids) as sampler, Window(system.root, pg) as window:
        out = run_wrk(script, url, connections, args.seconds, args.wrk_threads, env)
    system.drain()
    errors = sum(out["errors"].values())
    # wrk counts a response slower than --timeout in "requests" and in errors.timeout, a
    # non-2xx one in "requests" and errors.status; connect/read/write errors are not requests.
    ok = max(0, out["requests"] - out["errors"]["status"] - out["errors"]["timeout"])
    window.wall = out["duration_us"] / 1e6  # wrk's own measured duration
    return row(
        system.name,
        scenario,
        connections,
        ok,
        errors,
        window,
        sampler,
        [out["p50_us"], out["p90_us"], out["p99_us"]],
        out["cpu_s"],
        {k: v for k, v in out["errors"].items() if v},
    )


def print_results(rows: list[dict]) -> None:
    head = (
        "System",
        "Scenario",
        "Conns",
        "Requests",
        "Errors",
        "Req/s",
        "p50 ms",
        "p99 ms",
        "CPU s/1k",
        "PG CPU s/1k",
        "Peak RSS MiB",
        "Load gen CPU",
    )
    fmt = lambda v, spec="{:.1f}": "-" if v is None else spec.format(v)  # noqa: E731
    lines = [
        (
            r["system"],
            r["scenario"] + (f" @{r['residents']:,}" if r.get("residents") else ""),
            str(r["connections"]),
            str(r["requests"]),
            str(r["errors"]),
            fmt(r["rps"]),
            fmt(r["p50_ms"], "{:.2f}"),
            fmt(r["p99_ms"], "{:.2f}"),
            fmt(r["server_cpu_s_per_1000"], "{:.3f}"),
            fmt(r["postgres_cpu_s_per_1000"], "{:.3f}"),
            fmt(r["peak_rss_mib"]),
            f"{r['generator_cpu_percent']:.0f}%",
        )
        for r in rows
    ]
    print_table(head, lines)
    print("PostgreSQL CPU by process, ms per request (bench/pgsplit.py):")
    for r in rows:
        parts = [f"{role} {s / r['requests'] * 1000:.3f}" for role, s in r.get("postgres_cpu_split_s", {}).items() if s]
        if parts and r["requests"]:
            print(f"  {r['system']} {r['scenario']} @{r['connections']}: " + ", ".join(parts))


def ratios(rows: list[dict]) -> list[dict]:
    """tungban/peer requests-per-second ratio per scenario and connections."""
    out = []
    peer_rows = {(r["scenario"], r["connections"]): r for r in rows if r["system"] == "oidc-provider"}
    for r in rows:
        other = peer_rows.get((r["scenario"], r["connections"]))
        if r["system"] == "tungban" and other and other["rps"]:
            out.append(
                {
                    "scenario": r["scenario"],
                    "connections": r["connections"],
                    "tungban_rps": r["rps"],
                    "peer_rps": other["rps"],
                    "ratio": round(r["rps"] / other["rps"], 3),
                    "p50_ratio": round(r["p50_ms"] / other["p50_ms"], 3) if r["p50_ms"] and other["p50_ms"] else None,
                }
            )
    return out


# --- the benchmark ----------------------------------------------------------------------------------------


def run(args, tmp: Path) -> dict:
    pgbin = ensure_tools(args)
    result: dict = {
        "benchmark": "oidc",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "settings": {
            k: getattr(args, k)
            for k in (
                "residents",
                "scale",
                "levels",
                "login_levels",
                "seconds",
                "warmup",
                "devices",
                "workers",
                "server",
                "threads",
                "wrk_threads",
                "scenarios",
                "profile",
                "no_peer",
            )
        },
    }
    m = result["machine"]
    print(
        f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['memory_mib']} MiB, load average at start {' '.join(str(x) for x in m['loadavg_start'])}",
        flush=True,
    )
    notes: dict = {}
    t0 = time.perf_counter()
    pg = Postgres(pgbin)
    notes["postgres_start_s"] = round(time.perf_counter() - t0, 2)
    gunicorn = peer_proc = None
    rows: list[dict] = []
    try:
        tungban_db = pg.create_database("tungban")
        sock = listening_socket()
        issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
        env = isolate(tmp, issuer, tungban_db)
        import django

        django.setup()
        from django.db import connections

        client, secret, devices = seed_tungban(args, notes)
        wrk_levels = args.levels if any(s in WRK_SCENARIOS for s in args.scenarios) else []
        refresh_needed = sum(2 * refresh_pool(c) for c in wrk_levels) if "refresh_token" in args.scenarios else 0
        t0 = time.perf_counter()
        refresh, access = mint_tungban_tokens(
            client, refresh_needed, ACCESS_TOKENS if "userinfo" in args.scenarios else 0
        )
        notes["tungban_mint_tokens_s"] = round(time.perf_counter() - t0, 2)
        connections.close_all()

        from django.conf import settings

        from tungban.core.serving import default_server, server_command

        args.server = args.server or default_server()
        args.threads = 1 if args.server == "gunicorn-sync" else args.threads or settings.TUNGBAN_WEB_THREADS
        result["settings"].update(server=args.server, threads=args.threads)
        gunicorn = start_server(
            sock, env, args.workers, tmp, args.profile, threads=args.threads, server=args.server, log=tmp / "server.log"
        )
        result["server_command"] = " ".join(
            server_command(
                "127.0.0.1:8000",
                server=args.server,
                workers=args.workers,
                threads=args.threads,
                timeout=60,
                graceful_timeout=10,
            )
        )
        wait_until_up(f"{issuer}/.well-known/openid-configuration", gunicorn, tmp / "server.log")
        sock.close()
        systems = [
            System(
                "tungban",
                issuer,
                fetch_json(f"{issuer}/.well-known/openid-configuration"),
                basic_auth(client.client_id, secret),
                "",
                gunicorn.pid,
                refresh,
                access,
            )
        ]
        print(
            f"tungban: {args.server}, {args.workers} processes of {args.threads} threads at {issuer}, PostgreSQL {pg.port}; "
            f"{notes['tungban_seeded']['residents']:,} residents, {len(devices)} devices",
            flush=True,
        )

        if not args.no_peer and any(s in WRK_SCENARIOS for s in args.scenarios):
            t0 = time.perf_counter()
            peer_db = pg.create_database("peer")
            port = free_port()
            peer_issuer = f"http://127.0.0.1:{port}"
            seeded = peer.setup(peer_db, peer_issuer, args.residents, refresh_needed, ACCESS_TOKENS)
            peer_proc = peer.start(peer_db, peer_issuer, port, args.workers)
            notes["peer_setup_s"] = round(time.perf_counter() - t0, 2)
            systems.append(
                System(
                    "oidc-provider",
                    peer_issuer,
                    fetch_json(f"{peer_issuer}/.well-known/openid-configuration"),
                    basic_auth(seeded["client_id"], seeded["client_secret"]),
                    "api",
                    peer_proc.pid,
                    seeded["refresh_tokens"],
                    seeded["access_tokens"],
                )
            )
            result["peer"] = peer.versions()
            print(
                f"oidc-provider {result['peer'].get('oidc-provider')}: node:cluster with {args.workers} workers at {peer_issuer}, "
                f"{seeded['accounts']:,} accounts",
                flush=True,
            )

        # Access tokens live 600 s on both systems: userinfo goes first.
        for scenario in [s for s in WRK_SCENARIOS if s in args.scenarios]:
            for connections_n in args.levels:
                for system in systems:
                    print(
                        f"{system.name} {scenario} @{connections_n}: {args.warmup:g} s warm-up + {args.seconds:g} s ...",
                        flush=True,
                    )
                    rows.append(wrk_row(system, scenario, connections_n, args, tmp, pg))
                    print_results(rows[-1:])

        if "login" in args.scenarios:
            driver = LoginDriver(issuer, client.client_id, secret, devices)
            driver.login()  # untimed check: a whole login works
            tungban = systems[0]
            for c in args.login_levels:
                print(f"tungban login @{c}: {args.warmup:g} s warm-up + {args.seconds:g} s ...", flush=True)
                r = run_logins(driver, c, args.warmup, args.seconds, Window(tungban.root, pg), Sampler(tungban.pids))
                r["residents"] = notes["tungban_seeded"]["residents"]
                rows.append(r)
                print_results(rows[-1:])
                print(f"load generator: {r['generator_cpu_ms_per_login']} ms CPU per login", flush=True)
            if args.scale:
                from tungban.identity.models import Resident
                from tungban.identity.seeding import seed_residents

                more = args.scale - Resident.objects.count()
                print(f"Seeding {more:,} more residents ...", flush=True)
                t0 = time.perf_counter()
                seed_residents(more)
                from django.db import connection

                with connection.cursor() as cur:
                    cur.execute("ANALYZE")
                notes["scale_seed_s"] = round(time.perf_counter() - t0, 2)
                count = Resident.objects.count()
                connections.close_all()
                notes["scale_residents"] = count
                print(f"{count:,} residents (seeded in {notes['scale_seed_s']} s)", flush=True)
                for c in args.login_levels:
                    print(f"tungban login @{c} with {count:,} residents ...", flush=True)
                    r = run_logins(
                        driver, c, args.warmup, args.seconds, Window(tungban.root, pg), Sampler(tungban.pids)
                    )
                    r["residents"] = count
                    rows.append(r)
                    print_results(rows[-1:])
                    print(f"load generator: {r['generator_cpu_ms_per_login']} ms CPU per login", flush=True)
        result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        if gunicorn is not None:
            gunicorn.send_signal(signal.SIGTERM)
            try:
                gunicorn.wait(15)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
        if peer_proc is not None:
            peer.stop(peer_proc)
        try:
            from django.db import connections as conns

            conns.close_all()
        except Exception:  # noqa: BLE001 - Django may not be set up yet
            pass
        pg.stop()
    if args.profile:
        result["profile"] = profile_report(tmp, "oidc")
    result["rows"], result["ratios"], result["notes"] = rows, ratios(rows), notes
    result["versions"] = package_versions(("Django", "Authlib", "joserfc", "granian", "gunicorn", "uvicorn", "psycopg"))
    return result


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        for child in children_of(todo.pop()):
            out.append(child)
            todo.append(child)
    return out


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)  # unwind: stop the servers and PostgreSQL
    started = time.perf_counter()
    with scratch_dir("tungban-bench-oidc-", args.keep) as tmp:
        result = run(args, tmp)
    result["wall_seconds"] = round(time.perf_counter() - started, 2)
    m = result["machine"]
    print()
    print(
        f"tungban vs oidc-provider — {result['date']} — {m['cpu']} ({m['cpus']} CPUs), load average "
        f"{' '.join(str(x) for x in m['loadavg_start'])} at start, {' '.join(str(x) for x in result['loadavg_end'])} at end — "
        f"PostgreSQL on loopback — {args.workers} server processes each (tungban: {args.server}, "
        f"{args.threads} threads) — wrk {args.wrk_threads} threads, "
        f"{args.warmup:g} s warm-up + {args.seconds:g} s per run{' — quick' if args.quick else ''}"
    )
    print()
    print_results(result["rows"])
    print(
        "CPU s/1k: CPU seconds of the server's processes per 1,000 requests (logins for 'login'). PG CPU s/1k: the same for"
    )
    print("PostgreSQL (shared by both systems; includes its background work during the run: autovacuum, checkpoints).")
    print("Peak RSS: resident memory of the server's processes, summed (pages the workers share are counted in each).")
    print(
        "Load gen CPU: wrk's (or, for login, this script's) CPU use in % of one core. Latency: wrk's, of every completed"
    )
    print("response (so check Errors); for login, of successful logins.")
    if result["ratios"]:
        print()
        print_table(
            ("Scenario", "Conns", "tungban req/s", "peer req/s", "tungban/peer", "p50 tungban/peer"),
            [
                (
                    r["scenario"],
                    str(r["connections"]),
                    f"{r['tungban_rps']:.1f}",
                    f"{r['peer_rps']:.1f}",
                    f"{r['ratio']:.2f}",
                    "-" if r["p50_ratio"] is None else f"{r['p50_ratio']:.2f}",
                )
                for r in result["ratios"]
            ],
        )
    n = result["notes"]
    print()
    print(
        "Set-up: "
        + ", ".join(f"{k} {v}" for k, v in n.items() if k.endswith("_s"))
        + f"; wall time {result['wall_seconds']} s"
    )
    out = args.output or RESULTS / f"oidc-{dt.date.today().isoformat()}{'-quick' if args.quick else ''}.json"
    print(f"Results: {write_results(result, out)}")
    failed = [r for r in result["rows"] if r["requests"] == 0 or r["errors"] > r["requests"] * 0.01]
    for r in failed:
        print(
            f"Errors: {r['system']} {r['scenario']} @{r['connections']}: {r['errors']} of {r['requests']} {r['error_detail']}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
