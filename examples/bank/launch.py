"""Start the demo bank as a separate process (tests, the demo)::

    from examples.bank.launch import running_bank

    with running_bank(notify_url, secret=..., payee_proxy=...) as base_url:
        ...  # GET {base_url}/pay?qr=...

It runs ``python -m examples.bank`` from the repository root on a free loopback port with a
fresh ledger, waits until ``/health`` answers, and stops it afterwards (SIGTERM, then SIGKILL).
Only the standard library is used here.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from examples.providers.launch import _healthy, stop_process  # the same /health wait and stop

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 15.0
_LISTENING = re.compile(r"^demo-bank listening on (http://\S+)$", re.MULTILINE)


class BankStartError(RuntimeError):
    """The bank process died or did not answer ``/health`` in time."""


def start_bank(
    notify_url: str,
    *,
    secret: str,
    request_secret: str = "",
    payee_proxy: str = "",
    db: str | None = None,
    port: int = 0,
    notify_max_attempts: int = 0,
) -> tuple[subprocess.Popen, str]:
    """Start the bank; return ``(process, base_url)`` once ``/health`` answers. Its output and
    ledger live in a temporary folder (``proc.bank_dir``) removed by :func:`stop_bank`.

    ``secret`` signs the bank's notifications; ``request_secret`` checks the platform's statement
    requests (one key per direction; a random one when not given: no statement is fetched then).

    :raises BankStartError: with the bank's output, when it exits or is not healthy in 15 s."""
    folder = tempfile.mkdtemp(prefix="demo-bank-")
    log_path = Path(folder) / "bank.log"
    env = dict(
        os.environ,
        DEMO_BANK_SECRET=secret,
        DEMO_BANK_REQUEST_SECRET=request_secret or secrets.token_urlsafe(32),
        PYTHONUNBUFFERED="1",
    )
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "examples.bank", "--host", "127.0.0.1", "--port", str(port)]
    cmd += [
        "--db",
        db or str(Path(folder) / "ledger.sqlite3"),
        "--notify-url",
        notify_url,
        "--payee-proxy",
        payee_proxy,
        "--notify-max-attempts",
        str(notify_max_attempts),
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    proc.bank_dir = folder  # type: ignore[attr-defined]
    deadline = time.monotonic() + STARTUP_TIMEOUT
    base_url = None
    while time.monotonic() < deadline:
        output = log_path.read_text(errors="replace")
        if proc.poll() is not None:
            raise BankStartError(f"the demo bank exited with status {proc.returncode}:\n{output}")
        if base_url is None:
            match = _LISTENING.search(output)
            base_url = match.group(1) if match else None
        if base_url and _healthy(base_url):
            return proc, base_url
        time.sleep(0.05)
    stop_bank(proc)
    raise BankStartError(
        f"the demo bank was not healthy after {STARTUP_TIMEOUT:g} s:\n{log_path.read_text(errors='replace')}"
    )


def bank_output(proc: subprocess.Popen) -> str:
    with contextlib.suppress(OSError):
        return (Path(proc.bank_dir) / "bank.log").read_text(errors="replace")  # type: ignore[attr-defined]
    return ""


def stop_bank(proc: subprocess.Popen) -> None:
    import shutil

    stop_process(proc)
    shutil.rmtree(getattr(proc, "bank_dir", ""), ignore_errors=True)


@contextlib.contextmanager
def running_bank(notify_url: str, **kw) -> Iterator[str]:
    proc, base_url = start_bank(notify_url, **kw)
    try:
        yield base_url
    finally:
        stop_bank(proc)
