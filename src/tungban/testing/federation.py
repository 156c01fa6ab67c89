"""Cross-boundary login's multi-instance harness (issue 23): the trust anchor and the Guangdong
partner platform as child processes, each the platform's code with its own SQLite database,
``TUNGBAN_VAR_DIR`` and keys in a temporary directory and a free port; the Hong Kong platform is
the test's live server (``live_issuer``, ``http://localhost:<port>``). Everything is enrolled
through the operators' management commands, exactly as ``tungban demo`` does
(:func:`tungban.setup.federation_demo.build`), before the servers start.

SQLite for the children in both CI passes (the Hong Kong side uses the test database, SQLite
or PostgreSQL). The harness waits for conditions (a server answering ``/readyz``), never for a
fixed time, and stops every process it started.

The Guangdong platform is served as ``http://localhost:<port>`` (WebAuthn: a passkey's relying
party id must be a host name, and the web app on GD's origin makes one); the anchor, which no
browser visits, as ``http://127.0.0.1:<port>``.

Use::

    from tungban.testing.federation import federation_instances  # noqa: F401  (the fixture)

    def test_something(federation_instances):
        federation_instances.gd.url, federation_instances.info["gd_resident"]["activation_code"] ...
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tungban.setup import federation_demo
from tungban.testing.migrated import sqlite_copy
from tungban.testing.servers import listening_socket, start_server, wait_until_up


@dataclass
class RunningFederation:
    """The started instances: ``anchor`` and ``gd`` (:class:`~tungban.setup.federation_demo.Instance`),
    ``hk`` (the live server, :class:`~tungban.setup.federation_demo.LocalInstance`), and
    ``info`` (what :func:`~tungban.setup.federation_demo.build` returned: entity identifiers, the
    GD demo resident's number and activation code)."""

    anchor: federation_demo.Instance
    gd: federation_demo.Instance
    hk: federation_demo.LocalInstance
    info: dict
    processes: list = field(default_factory=list)


def _start(instance: federation_demo.Instance, sock) -> subprocess.Popen:
    log = instance.var / "server.log"
    proc = start_server(sock, instance.env, 1, instance.var, threads=4, timeout=120, log=log)
    wait_until_up(f"{instance.url}/readyz", proc, log, timeout=120)
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def running_federation(hk_url: str, tmp: Path, template_dir: Path | None = None):
    """Set up (management commands) and start the anchor and GD instances beside the Hong Kong
    platform at ``hk_url`` (this process, its database the test's); yields a
    :class:`RunningFederation`; stops the servers at the end. ``template_dir`` holds the migrated
    empty database the instances start from (made there once; default ``tmp``)."""
    tmp = Path(tmp)
    anchor_sock, gd_sock = listening_socket(), listening_socket()
    processes: list[subprocess.Popen] = []
    try:
        anchor = federation_demo.Instance.create(
            "anchor", f"http://127.0.0.1:{anchor_sock.getsockname()[1]}", tmp / "anchor"
        )
        gd = federation_demo.Instance.create(
            "gd",
            f"http://localhost:{gd_sock.getsockname()[1]}",
            tmp / "gd",
            extra_env={"TUNGBAN_WEBAUTHN_RP_ID": "localhost", "TUNGBAN_LOG_LEVEL": "WARNING"},
        )
        hk = federation_demo.LocalInstance("hk", hk_url, tmp / "hk")
        template = federation_demo.migrated_template(template_dir or tmp)
        for instance in (anchor, gd):
            instance.use_template(template)
        info = federation_demo.build(anchor, hk, gd, exchange=tmp / "exchange")
        for instance, sock in ((anchor, anchor_sock), (gd, gd_sock)):
            processes.append(_start(instance, sock))
        yield RunningFederation(anchor=anchor, gd=gd, hk=hk, info=info, processes=processes)
    finally:
        anchor_sock.close()
        gd_sock.close()
        for proc in processes:
            _stop(proc)


@pytest.fixture(scope="session")
def federation_template_dir(tmp_path_factory) -> Path:
    """Where the instances' migrated empty database is made, once per test process (migrating
    costs more than the rest of the set-up), or copied from the suite's migrated SQLite copy
    when there is one (:func:`tungban.testing.migrated.sqlite_copy`)."""
    directory = tmp_path_factory.mktemp("federation-template")
    copy = sqlite_copy()
    if copy is not None:
        shutil.copyfile(copy, directory / "migrated.sqlite3")  # federation_demo.migrated_template's name
    return directory


@pytest.fixture
def federation_instances(live_issuer, transactional_db, settings, tmp_path, federation_template_dir):
    """The anchor and GD instances running, everything enrolled, HK = ``live_issuer``
    (loopback partners allowed: ``TUNGBAN_FEDERATION_ALLOW_PRIVATE``)."""
    settings.TUNGBAN_FEDERATION_ALLOW_PRIVATE = True
    with running_federation(live_issuer, tmp_path, federation_template_dir) as running:
        yield running


#: The fixture's first name (part fcore's acceptance-2 test imports it as ``federation``).
federation = federation_instances
