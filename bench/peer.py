"""The peer OpenID provider that the benchmarks compare tungban's endpoints with (issue 6).

The peer is the npm package ``oidc-provider`` (panva's, OpenID Certified), pinned in
``bench/peer/package.json`` and installed from ``package-lock.json`` with ``npm ci`` into
``bench/peer/node_modules`` (not committed). ``bench/peer/server.mjs`` runs it; its store is
PostgreSQL through our adapter ``bench/peer/adapter.mjs`` (one ``oidc_payload`` table with a
jsonb payload per model and id; not oidc-provider's in-memory development store), so each token
is a database row as in tungban.

Configured as close to tungban as oidc-provider allows:

* issuer ``http://127.0.0.1:PORT`` without TLS or proxy; ``PEER_WORKERS`` Node processes
  (``node:cluster``, one per core like our gunicorn workers; the cluster primary accepts the
  connections and hands them round-robin to the workers), ``NODE_ENV=production``, nothing
  logged per request; each worker has its own pool of ``PEER_POOL_SIZE`` (default 5) connections;
* ES256 ID tokens, the only key in the JWKS being a P-256 key generated at set-up and kept in
  the database (``peer_config``), never in the checkout;
* PKCE required, S256 only; response type ``code`` only; the client authentication methods and
  signing algorithms of tungban's discovery; no DPoP, PAR or introspection; no development
  interactions;
* pairwise subjects only. The peer computes them (HMAC-SHA256 of sector and account with a
  secret from set-up); tungban reads (or creates) a random identifier per resident and sector
  in the database;
* tungban's lifetimes: access token and client-credentials token 600 s, authorization code 60 s,
  ID token 600 s, refresh token 30 days; refresh tokens rotate on every use (a second use is
  ``invalid_grant`` and, as oidc-provider does, revokes the whole grant);
* access tokens are opaque (rows in ``oidc_payload``); userinfo reads the account from
  ``peer_account`` (one query) and returns the claims of the token's scopes;
* one confidential client with ``client_secret_basic`` (grant types ``authorization_code``,
  ``refresh_token``, ``client_credentials``; scope ``api`` allowed for client credentials).
  oidc-provider compares the client secret with the stored one; tungban compares SHA-256
  digests (until issue #6 it verified a PBKDF2 password hash, which dominated its token
  endpoint: see the issue's closing note).

``setup`` creates (and empties) the tables, makes the key, the client and the accounts, and
mints refresh and access tokens through oidc-provider's own models (one ``Grant`` per token,
scope ``openid profile offline_access`` by default, as after an authorization-code exchange).
The database must exist; the peer only needs its own tables in it.

Usage from a benchmark::

    import peer
    peer.ensure_installed()
    seeded = peer.setup(url, issuer, accounts=10_000, refresh_tokens=2_000, access_tokens=2_000)
    proc = peer.start(url, issuer, port, workers=os.cpu_count())
    try:
        ...  # seeded["client_id"], seeded["client_secret"], seeded["refresh_tokens"], ...
    finally:
        peer.stop(proc)

Endpoints (see the discovery document): ``/token``, ``/me`` (userinfo), ``/jwks``,
``/token/revocation``, ``/.well-known/openid-configuration``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PEER_DIR = Path(__file__).resolve().parent / "peer"
SERVER = "server.mjs"
DEFAULT_SCOPE = "openid profile offline_access"


def _tools() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if not path)
        raise RuntimeError(
            f"the peer OpenID provider needs Node.js and npm, but {missing} is not on PATH: "
            "install them (Debian/Ubuntu: apt-get install -y nodejs npm) and run again"
        )
    return node, npm


def _installed_at() -> float | None:
    """When ``npm ci`` last installed ``node_modules`` (npm's hidden lockfile), or None."""
    for marker in (
        PEER_DIR / "node_modules" / ".package-lock.json",
        PEER_DIR / "node_modules" / "oidc-provider" / "package.json",
    ):
        if marker.exists():
            return marker.stat().st_mtime
    return None


def ensure_installed() -> None:
    """Install the peer's npm packages (``npm ci``) unless ``node_modules`` is newer than
    ``package-lock.json``. Raises RuntimeError when Node.js or npm is missing or npm fails."""
    node, npm = _tools()
    major = (
        subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
        .stdout.strip()
        .lstrip("v")
        .split(".")[0]
    )
    if not major.isdigit() or int(major) < 20:
        raise RuntimeError(f"the peer needs Node.js 20 or later, this is {major}: install a newer nodejs")
    installed = _installed_at()
    if installed is not None and installed >= (PEER_DIR / "package-lock.json").stat().st_mtime:
        return
    print(f"peer: npm ci in {PEER_DIR}", file=sys.stderr, flush=True)
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=PEER_DIR,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"npm ci failed in {PEER_DIR} (status {done.returncode}):\n{done.stdout}{done.stderr}")


def _package_version(name: str) -> str | None:
    try:
        return json.loads((PEER_DIR / "node_modules" / name / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def versions() -> dict:
    """``{"node", "oidc-provider", "pg", "jose", "koa"}``: the versions the peer runs with."""
    node = shutil.which("node")
    node_version = (
        subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip().lstrip("v")
        if node
        else None
    )
    return {"node": node_version, **{name: _package_version(name) for name in ("oidc-provider", "pg", "jose", "koa")}}


def _env(database_url: str, issuer: str, **extra) -> dict:
    env = dict(os.environ)
    env.update({"PEER_DATABASE_URL": database_url, "PEER_ISSUER": issuer.rstrip("/"), "NODE_ENV": "production"})
    env.update({key: str(value) for key, value in extra.items() if value is not None})
    return env


def setup(
    database_url: str,
    issuer: str,
    accounts: int,
    refresh_tokens: int,
    access_tokens: int,
    *,
    access_token_ttl: int = 600,
    scope: str = DEFAULT_SCOPE,
    timeout: float = 900,
) -> dict:
    """Create and fill the peer's tables (emptied first) in the existing database
    ``database_url`` and mint tokens for random accounts.

    Returns ``{"client_id", "client_secret", "refresh_tokens": [...], "access_tokens": [...],
    "accounts": N}``. ``access_token_ttl`` is the lifetime of the minted access tokens only
    (default 600 s, as the server's; lengthen it when the run lasts longer). Each refresh token
    can be used once: the answer has the next one."""
    node, _ = _tools()
    env = _env(
        database_url,
        issuer,
        PEER_ACCOUNTS=accounts,
        PEER_REFRESH_TOKENS=refresh_tokens,
        PEER_ACCESS_TOKENS=access_tokens,
        PEER_MINTED_ACCESS_TOKEN_TTL=access_token_ttl,
        PEER_SCOPE=scope,
    )
    done = subprocess.run(
        [node, SERVER, "setup"],
        cwd=PEER_DIR,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"peer setup failed (status {done.returncode}):\n{done.stderr}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError(f"peer setup printed nothing:\n{done.stderr}")
    return json.loads(lines[-1])


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it if this process dies without stopping it (Linux).
    The workers exit with the cluster primary."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _log_text(proc: subprocess.Popen) -> str:
    log = getattr(proc, "peer_log", None)
    if log is None or log.closed:
        return ""
    log.flush()
    log.seek(0)
    return log.read().decode(errors="replace")


def start(
    database_url: str, issuer: str, port: int, workers: int, *, pool_size: int | None = None, timeout: float = 30
) -> subprocess.Popen:
    """Start ``node server.mjs serve`` (the cluster primary and ``workers`` workers on
    127.0.0.1:``port``) and wait until the discovery document answers 200.

    The returned Popen is the primary; the workers are its children. Its stdout and stderr go to
    an unnamed temporary file, ``proc.peer_log`` (read with ``peer_log_text(proc)``). Raises
    RuntimeError with that output when the peer exits or does not answer within ``timeout``."""
    node, _ = _tools()
    env = _env(database_url, issuer, PEER_PORT=port, PEER_WORKERS=workers, PEER_POOL_SIZE=pool_size)
    log = tempfile.TemporaryFile(prefix="tungban-peer-")  # noqa: SIM115 - lives as long as the process, closed by stop()
    proc = subprocess.Popen(
        [node, SERVER, "serve"],
        cwd=PEER_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,
    )  # noqa: PLW1509 - prctl only
    proc.peer_log = log
    url = f"{issuer.rstrip('/')}/.well-known/openid-configuration"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = _log_text(proc)
            log.close()
            raise RuntimeError(f"the peer exited with status {proc.returncode}:\n{text}")
        try:
            with opener.open(url, timeout=2) as resp:
                if resp.status == 200:
                    return proc
        except OSError:
            pass
        time.sleep(0.1)
    text = _log_text(proc)
    stop(proc)
    raise RuntimeError(f"the peer did not answer {url} within {timeout:g} s:\n{text}")


def peer_log_text(proc: subprocess.Popen) -> str:
    """What the peer started by ``start`` has printed so far (start-up notices, errors)."""
    return _log_text(proc)


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM the primary (it stops its workers and exits), SIGKILL after ``timeout``."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log = getattr(proc, "peer_log", None)
    if log is not None and not log.closed:
        log.close()
