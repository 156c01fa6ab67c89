"""Fault-injection harness (issue 14 acceptance 1): the platform as in production, killed at
a named point, then checked.

:class:`FaultPlatform` builds an isolated platform on a PostgreSQL server:

* a database of its own (``CREATE DATABASE tungban_faults_…``, dropped afterwards) and a
  temporary ``TUNGBAN_VAR_DIR`` (secret key, a SoftHSM2 token for residents' signing keys);
* the platform under the HTTP server ``tungban serve`` runs (``tungban.core.serving``;
  :func:`tungban.testing.servers.start_server`), 3 processes of 4 threads, whose master
  respawns a killed worker as in production (``TUNGBAN_WEB_SERVER`` in the environment of
  the tests chooses another server);
* ``tungban worker`` for background jobs (bulk issuance, signing), restarted whenever it dies
  (what ``Restart=always`` of ``docs/systemd/tungban-worker@.service`` does);
* the demo data provider ``wsd`` (``examples.providers.launch.start_provider``).

Every process runs with ``TUNGBAN_KILLPOINTS`` listing every point of
:mod:`tungban.core.killpoints` and ``TUNGBAN_KILLPOINT_DIR`` holding a marker for each, so
every point starts *disarmed* (a marker means "already fired"). :meth:`FaultPlatform.arm`
removes one marker: the next process to reach that point SIGKILLs itself (and recreates the
marker, so it fires once). A test arms a point, makes the call, sees the connection close,
waits for the kill and the recovery (:meth:`FaultPlatform.wait_recovered`: the master
respawned the worker, ``/readyz`` answers 200), then checks the outcome.

The test process itself never opens the platform's database: set-up and checks run as
``python -m tungban.testing.faults COMMAND JSON`` in the platform's environment
(:meth:`FaultPlatform.call`; the commands are in :data:`COMMANDS`), which prints its answer
as JSON. HTTP calls (the data user's client, the CLI app, ``requests``) go to
:attr:`FaultPlatform.url` over loopback.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tungban.core.killpoints import ENV_DIR, ENV_POINTS
from tungban.core.serving import CRASH_LOOP_SECONDS, default_server
from tungban.testing.migrated import CACHE_ENV as MIGRATED_CACHE
from tungban.testing.servers import listening_socket, live_children, process_age, start_server, wait_until_up

#: Every named point (:mod:`tungban.core.killpoints`).
POINTS = (
    "response.after_view",
    "exchange.provider_returned",
    "keys.generated",
    "credentials.bulk_chunk",
    "signing.signed",
    "payments.notification_recorded",
    "payments.notification_committed",
)
ROOT = Path(__file__).resolve().parents[3]
SRC = ROOT / "src"
#: Rate-limit groups lifted for the harness (one client on loopback makes every call).
_RATE_LIMIT_GROUPS = ("proofing", "proofing_hkid", "binding", "binding_hkid_client", "binding_hkid", "token", "verify")
#: Web server processes, and threads per process (production runs several threads per process).
WORKERS, THREADS = 3, 4
#: Residents made at start (one child process instead of one per test).
RESIDENTS = 16


class HarnessError(RuntimeError):
    """The harness could not start, or a condition it waited for never came."""


def postgres_server_url() -> str | None:
    """The PostgreSQL server of ``DATABASE_URL`` (``postgres://…``), or None: the harness
    needs PostgreSQL (several processes writing at once, as in production)."""
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql"):
        return None
    return url


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def _admin(url: str, sql: str) -> list[tuple]:
    """Run ``sql`` on the server's ``postgres`` database (outside a transaction); its rows."""
    import psycopg

    conninfo = _with_database(url, "postgres").replace("postgres://", "postgresql://", 1)
    with psycopg.connect(conninfo, autocommit=True) as c:
        cursor = c.execute(sql)
        return cursor.fetchall() if cursor.description else []


def _drop_stale_databases(url: str) -> None:
    """Drop the databases of earlier runs whose test process is gone (killed before its
    clean-up): ``tungban_faults_<pid>_…`` with no process ``<pid>`` on this machine."""
    for (name,) in _admin(url, r"SELECT datname FROM pg_database WHERE datname LIKE 'tungban\_faults\_%'"):
        try:
            pid = int(name.split("_")[2])
        except (IndexError, ValueError):
            continue
        if not Path(f"/proc/{pid}").exists():
            with contextlib.suppress(Exception):
                _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_for(condition, *, timeout: float, what: str, interval: float = 0.1):
    """Poll ``condition()`` until it returns a truthy value (returned).

    :raises HarnessError: after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise HarnessError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class _Supervised:
    """A child process started again whenever it exits (until :meth:`stop`)."""

    def __init__(self, start):
        self._start = start
        self.proc = start()
        self.restarts = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopping.is_set():
            if self.proc.poll() is not None and not self._stopping.is_set():
                self.proc = self._start()
                self.restarts += 1
            self._stopping.wait(0.1)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        _stop(self.proc)


def _stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


class FaultPlatform:
    """One isolated platform (see the module docstring). Use :func:`running_platform`.

    :param server_url: a PostgreSQL URL whose server the harness may create databases on.
    :param tmp: a fresh directory (the platform's ``TUNGBAN_VAR_DIR`` and logs).
    """

    def __init__(self, server_url: str, tmp: Path, *, workers: int = WORKERS):
        self.tmp = Path(tmp)
        self.workers = workers
        self.database = f"tungban_faults_{os.getpid()}_{secrets.token_hex(3)}"
        self.database_url = _with_database(server_url, self.database)
        self._server_url = server_url
        self.markers = self.tmp / "killpoints"
        self.log = self.tmp / "server.log"
        self.url = ""
        self.env: dict[str, str] = {}
        self.server: subprocess.Popen | None = None
        self.server_name = ""
        self.tasks: _Supervised | None = None
        self.providers: list[subprocess.Popen] = []
        self.setup: dict = {}
        self._residents: list[dict] = []
        self._created = False

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> FaultPlatform:
        """Create the database, migrate and seed it, start the provider, the web server and the task
        worker; returns self. :raises HarnessError: a part did not come up."""
        from examples.providers.launch import start_provider

        _drop_stale_databases(self._server_url)
        _admin(self._server_url, f'CREATE DATABASE "{self.database}"')
        self._created = True
        self.markers.mkdir(parents=True)
        for point in POINTS:
            (self.markers / point).touch()  # disarmed
        sock = listening_socket()
        try:
            self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            self.env = self._environment()
            proc, wsd_url = start_provider("wsd", self.url, synthetic=True, env=self.env)
            self.providers.append(proc)
            self.setup = self.call("prepare", providers={"wsd": wsd_url}, residents=RESIDENTS, timeout=600)
            self._residents = list(self.setup.pop("residents"))
            self.server = self._start_server(sock)
            wait_until_up(f"{self.url}/readyz", self.server, self.log, timeout=120)
        finally:
            sock.close()  # the server holds its own copy, or its own socket on the port
        self.tasks = _Supervised(self._start_task_worker)
        self.wait_recovered()
        return self

    def stop(self) -> None:
        """Stop every process and drop the database (idempotent)."""
        from examples.providers.launch import stop_provider

        if self.tasks is not None:
            self.tasks.stop()
            self.tasks = None
        if self.server is not None:
            _stop(self.server, 15)
            self.server = None
        for proc in self.providers:
            stop_provider(proc)
        self.providers = []
        if self._created:
            with contextlib.suppress(Exception):
                _admin(self._server_url, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            self._created = False

    def _environment(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TUNGBAN_", "SOFTHSM2_", "PYTEST_", "DJANGO_")) and k != "DATABASE_URL"
        }
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "DJANGO_SETTINGS_MODULE": "tungban.settings",
                "TUNGBAN_VAR_DIR": str(self.tmp),
                "TUNGBAN_SECRET_KEY": secrets.token_urlsafe(50),
                "TUNGBAN_ISSUER": self.url,
                "TUNGBAN_DEBUG": "0",
                "TUNGBAN_KEYSTORE": "pkcs11",  # SoftHSM2 under TUNGBAN_VAR_DIR: the token objects are counted
                "TUNGBAN_LOG_LEVEL": "WARNING",
                "TUNGBAN_TASK_RETRY_DELAY": "0.5",
                ENV_POINTS: ",".join(POINTS),
                ENV_DIR: str(self.markers),
                "PYTHONPATH": os.pathsep.join([str(SRC), str(ROOT)]),
                "PYTHONUNBUFFERED": "1",
                **{f"TUNGBAN_RATELIMIT_{group.upper()}": "1000000000/m" for group in _RATE_LIMIT_GROUPS},
            }
        )
        if os.environ.get(MIGRATED_CACHE):  # the session's migrated copy (tungban.testing.migrated)
            env[MIGRATED_CACHE] = os.environ[MIGRATED_CACHE]
        return env

    def _start_server(self, sock) -> subprocess.Popen:
        """The web server as ``tungban serve`` runs it, :attr:`workers` processes of
        :data:`THREADS` threads, on the port of ``sock``."""
        self.server_name = os.environ.get("TUNGBAN_WEB_SERVER") or default_server()
        return start_server(
            sock,
            self.env,
            self.workers,
            self.tmp,
            threads=THREADS,
            server=self.server_name,
            timeout=120,
            log=self.log,
        )

    def _start_task_worker(self) -> subprocess.Popen:
        log = open(self.tmp / "worker.log", "ab")  # noqa: SIM115 - inherited by the child, closed here
        try:
            return subprocess.Popen(
                [sys.executable, "-m", "tungban.cli", "worker", "--interval", "0.2", "--reclaim-every", "1"],
                cwd=self.tmp,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()

    # --- commands in the platform's environment ---------------------------------------------

    def call(self, command: str, *, timeout: float = 300, **kwargs) -> dict:
        """Run :data:`COMMANDS` ``[command](**kwargs)`` in a child process with the platform's
        environment (Django set up on its database); returns its JSON answer.

        :raises HarnessError: the child failed (its output is in the message)."""
        result = subprocess.run(
            [sys.executable, "-m", "tungban.testing.faults", command, json.dumps(kwargs)],
            cwd=self.tmp,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise HarnessError(
                f"{command} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
            )
        return json.loads(result.stdout.strip().splitlines()[-1])

    # --- kill points --------------------------------------------------------------------------

    def arm(self, point: str) -> None:
        """The next process to reach ``point`` kills itself (once)."""
        if point not in POINTS:
            raise ValueError(f"unknown kill point {point!r}")
        (self.markers / point).unlink(missing_ok=True)

    def fired(self, point: str) -> bool:
        return (self.markers / point).exists()

    def disarm(self, point: str) -> None:
        """``point`` no longer fires (it counts as fired)."""
        (self.markers / point).touch()

    def wait_fired(self, point: str, timeout: float = 60) -> None:
        """Wait until a process has killed itself at ``point``."""
        wait_for(lambda: self.fired(point), timeout=timeout, what=f"a process to reach the kill point {point}")

    def worker_pids(self) -> set[int]:
        """The web server's worker processes now running."""
        return set(live_children(self.server.pid)) if self.server else set()

    def wait_recovered(self, timeout: float = 120) -> None:
        """Wait until the server runs all its workers again (the master respawned a killed one),
        ``/readyz`` answers 200 and the task worker is running.

        :raises HarnessError: the master died, or recovery took longer than ``timeout``."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        def ready() -> bool:
            if self.server is None or self.server.poll() is not None:
                raise HarnessError(f"the web server's master exited:\n{self.log.read_text(errors='replace')[-3000:]}")
            pids = self.worker_pids()
            if len(pids) < self.workers:
                return False
            # Granian stops altogether when a worker it respawned dies again within its
            # crash-loop window (tungban.core.serving.CRASH_LOOP_SECONDS): the next kill
            # must not come sooner than production's workers would see one.
            if self.server_name == "granian" and min(process_age(pid) for pid in pids) <= CRASH_LOOP_SECONDS:
                return False
            if self.tasks is not None and self.tasks.proc.poll() is not None:
                return False
            try:
                with opener.open(f"{self.url}/readyz", timeout=5) as resp:
                    return resp.status == 200
            except OSError:
                return False

        wait_for(ready, timeout=timeout, what="the platform to recover (workers respawned, /readyz 200)", interval=0.2)

    def residents(self, count: int = 1) -> list[dict]:
        """``count`` new residents over 65 (``{"id", "hkid", "code"}``, ``code`` an activation
        code for the app), from those made at start while they last."""
        if len(self._residents) < count:
            self._residents += self.call("residents", count=count - len(self._residents))["residents"]
        taken, self._residents = self._residents[:count], self._residents[count:]
        return taken

    def state(self, **kwargs) -> dict:
        """What the database holds now, and whether the logs verify (:func:`_state`)."""
        return self.call("state", **kwargs)


@contextlib.contextmanager
def running_platform(server_url: str, tmp: Path, **options):
    """A started :class:`FaultPlatform`, stopped (database dropped) afterwards."""
    platform = FaultPlatform(server_url, tmp, **options)
    try:
        yield platform.start()
    finally:
        platform.stop()


_GUNICORN_LISTENING = re.compile(r"Listening at: (http://\S+)")


@contextlib.contextmanager
def gunicorn_killed_at(point: str, tmp: Path, *, env: dict[str, str] | None = None):
    """The platform under gunicorn (one sync worker, respawned by its master when killed) on
    the running test's database (:func:`tungban.testing.tasks.worker_environment`), with the
    kill point ``point`` armed once (:mod:`tungban.core.killpoints`; ``env``: more variables).
    Yields ``(base_url, marker)``: ``marker`` (in ``tmp``) exists once the point has fired.
    Stopped (SIGTERM, then SIGKILL) afterwards. For one kill in a test of the test process's own
    database; :class:`FaultPlatform` is the isolated harness.

    :raises AssertionError: gunicorn did not listen, or ``/healthz`` did not answer, in 60 s."""
    from tungban.testing.tasks import wait_for as wait_for_process
    from tungban.testing.tasks import worker_environment

    log = tmp / "gunicorn.log"
    environment = {**worker_environment(), **(env or {}), ENV_POINTS: point, ENV_DIR: str(tmp)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "tungban.wsgi:application", "--bind", "127.0.0.1:0"]
        + ["--workers", "1", "--timeout", "60", "--error-logfile", str(log)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        match = wait_for_process(
            lambda: _GUNICORN_LISTENING.search(log.read_text()) if log.exists() else None,
            timeout=60,
            what="gunicorn to listen",
            process=proc,
        )
        url = match.group(1)
        wait_for_process(lambda: _healthy(url), timeout=60, what="the platform under gunicorn", process=proc)
        yield url, tmp / point
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(f"{url}/healthz", timeout=5) as answer:
            return answer.status == 200
    except OSError:
        return False


# --- commands run in the platform's environment ------------------------------------------------


def _prepare(providers: dict, residents: int = 0) -> dict:
    """Migrate and seed: platform key, signing CA, SoftHSM2 token, bundled issuers and data
    products (with the providers' URLs), the clients the tests use and ``residents`` residents
    (:func:`_residents`). Returns the clients' keys and the residents."""
    from joserfc.jwk import ECKey

    from tungban.credentials import catalogue as credential_catalogue
    from tungban.credentials import services as credentials
    from tungban.credentials.models import Issuer
    from tungban.exchange import catalogue as exchange_catalogue
    from tungban.exchange import services as exchange
    from tungban.keys import services as keys
    from tungban.oidc.models import OFFLINE_ACCESS_SCOPE
    from tungban.signing import ca, keystore
    from tungban.testing.factories import make_client
    from tungban.testing.migrated import migrate_database

    migrate_database()  # from the session's copy when TUNGBAN_MIGRATED_CACHE is set
    keys.create_key()
    ca.ensure_hierarchy()
    store = keystore.get_keystore()
    assert store.kind == "pkcs11", store.kind
    credential_catalogue.register_bundled()
    exchange_catalogue.register_bundled(providers)

    def key_client(client_id: str, **kw):
        from tungban.oidc import services as oidc

        key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
        client, _secret = oidc.register_client(
            client_id=client_id,
            name_en=f"{client_id} (fault tests)",
            name_zh=f"{client_id}（故障測試）",
            redirect_uris=[f"https://{client_id}.example/cb"],
            jwks={"keys": [key.as_dict(private=False)]},
            **kw,
        )
        return client, key.as_dict(private=True)

    data_user, data_user_key = key_client("td-faults")
    exchange.register_organisation(
        id="td", name_en=data_user.name_en, name_zh=data_user.name_zh, kind="department", client=data_user
    )
    swd, swd_key = key_client("swd-faults")
    credentials.register_issuer_system(Issuer.objects.get(id="swd"), swd)
    _signer, signer_secret = make_client(
        "signer-faults", "https://signer.example/cb", allowed_scopes=["openid", "signing"]
    )
    _rp, rp_secret = make_client(
        "rp-faults", "https://rp.example/cb", allowed_scopes=["openid", "profile", OFFLINE_ACCESS_SCOPE]
    )
    return {
        "data_user": {"client_id": data_user.client_id, "key": data_user_key},
        "swd": {"client_id": swd.client_id, "key": swd_key},
        "signer": {"client_id": "signer-faults", "secret": signer_secret},
        "rp": {"client_id": "rp-faults", "secret": rp_secret, "redirect_uri": "https://rp.example/cb"},
        "residents": _residents(residents)["residents"],
    }


def _residents(count: int = 1) -> dict:
    """``count`` new residents aged over 65, each with an activation code for the app."""
    import datetime as dt

    from tungban.testing.factories import make_officer, make_resident
    from tungban.wallet import services as wallet

    officer = make_officer()
    out = []
    for i in range(count):
        resident = make_resident(
            officer, date_of_birth=dt.date(1950, 3, 2), email=f"faults{secrets.token_hex(4)}-{i}@example.hk"
        )
        out.append({"id": str(resident.id), "hkid": resident.hkid, "code": wallet.issue_activation_code(resident)})
    return {"residents": out}


def _hsm_private_key_labels() -> list[str]:
    """Labels of the private keys in the residents' PKCS#11 token."""
    from pkcs11 import Attribute, ObjectClass

    from tungban.signing import keystore

    session = keystore.get_keystore().session()
    return sorted(obj[Attribute.LABEL] for obj in session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))


def _verify(command: str) -> dict:
    """Run a log verification command: ``{"ok": bool, "output": text}``."""
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(command, stdout=out, stderr=err)
    except CommandError as exc:
        return {"ok": False, "output": f"{out.getvalue()}{err.getvalue()}{exc}"}
    return {"ok": True, "output": out.getvalue().strip()}


def _attempts() -> list[dict]:
    """Exchange attempts (issue 14 item 4), where the model exists."""
    from django.apps import apps

    try:
        model = apps.get_model("exchange", "ExchangeAttempt")
    except LookupError:
        return []
    return [
        {"id": str(a.id), "consent": str(a.consent_id), "request_id": a.request_id, "state": a.state}
        for a in model.objects.order_by("started_at")
    ]


def _state() -> dict:
    """Counts of what the fault tests create, and the verification of both logs."""
    from collections import Counter

    from django.apps import apps

    from tungban.credentials.models import Credential, IssuanceBatch, StatusList
    from tungban.exchange.models import Consent, ExchangeRecord
    from tungban.signing.models import SigningCredential, SigningDocument, SigningRequest

    labels = _hsm_private_key_labels()
    rows = set(SigningCredential.objects.filter(keystore="pkcs11").values_list("key_label", flat=True))
    try:  # the register of keys made outside the database (issue 14 item 3)
        known = rows | set(apps.get_model("keys", "TokenKey").objects.values_list("label", flat=True))
    except LookupError:
        known = rows
    state = {
        "exchanges": [
            {"id": str(r.id), "consent": str(r.consent_id), "request_id": r.request_id, "outcome": r.outcome}
            for r in ExchangeRecord.objects.order_by("at")
        ],
        "exchange_attempts": _attempts(),
        "consents": {str(c.id): {"status": c.status, "uses": c.uses} for c in Consent.objects.all()},
        "credentials": [
            {"id": str(c.id), "holder": str(c.holder_id), "batch": str(c.batch_id) if c.batch_id else None}
            for c in Credential.objects.order_by("issued_at")
        ],
        "batches": {
            str(b.id): {"state": b.state, "rows_issued": b.rows_issued, "rows_total": b.rows_total}
            for b in IssuanceBatch.objects.all()
        },
        "status_positions_allocated": sum(StatusList.objects.values_list("allocated", flat=True)),
        "signing_requests": {
            str(r.id): {"signed": r.signed_at is not None, "state": r.sign_state, "credential": str(r.credential_id)}
            for r in SigningRequest.objects.all()
        },
        "signed_documents": SigningDocument.objects.filter(result__isnull=False).count(),
        "signing_credentials": len(rows),
        "hsm_private_keys": len(labels),
        "hsm_keys_without_row": sorted(set(labels) - known),
        "audit": dict(Counter(apps.get_model("identity", "AuditEvent").objects.values_list("action", flat=True))),
        "exchange_log": _verify("verify_exchange_log"),
        "transparency_log": _verify("verify_transparency_log"),
    }
    return state


#: The commands :meth:`FaultPlatform.call` runs: name → function(**kwargs) → JSON-able dict.
COMMANDS = {"prepare": _prepare, "residents": _residents, "state": _state}


def main(argv: list[str]) -> int:
    """``python -m tungban.testing.faults COMMAND JSON``: print the command's JSON answer."""
    import django

    django.setup()
    command, kwargs = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    result = COMMANDS[command](**kwargs)
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
