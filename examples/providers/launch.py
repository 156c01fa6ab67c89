"""Start a demo CDEG data provider as a separate process (for tests, benchmarks and the demo).

::

    from examples.providers.launch import running_provider, start_provider, stop_provider

    with running_provider("wsd", "http://127.0.0.1:8000") as base_url:
        ...  # POST {base_url}/cdeg/v1/products/wsd.registered-address.v1

    proc, base_url = start_provider("ird", issuer, fault="slow", delay=2)
    ...
    stop_provider(proc)

The provider runs ``sys.executable -m examples.providers ...`` from the repository root
(with the root on ``PYTHONPATH``), so it is a real separate process talking HTTP, as a
department's system would be. Without ``port`` it binds port 0 and reports the port it
got on its first line of output (no race for a "free" port). Its standard output and error
go to a temporary log file (``proc.cdeg_log``), which is shown if it fails to start and
removed by :func:`stop_provider`. Only the standard library is used here.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 15.0
_LISTENING = re.compile(r"^cdeg-provider \S+ listening on (http://\S+)$", re.MULTILINE)


class ProviderStartError(RuntimeError):
    """The provider process died or did not answer ``/health`` in time."""


def _command(
    department: str,
    issuer: str,
    port: int,
    fault: str | None,
    delay: float | None,
    synthetic: bool,
    *,
    demo: bool = False,
) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "examples.providers",
        "--department",
        department,
        "--issuer",
        issuer,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if fault:
        cmd += ["--fault", fault]
    if delay is not None:
        cmd += ["--delay", str(delay)]
    if synthetic:
        cmd.append("--synthetic")
    if demo:
        cmd.append("--demo")
    return cmd


def _healthy(base_url: str) -> bool:
    # No proxies: a loopback URL must not go through an HTTP(S)_PROXY of the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{base_url}/health", timeout=1.0) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_provider(
    department: str,
    issuer: str,
    *,
    port: int | None = None,
    fault: str | None = None,
    delay: float | None = None,
    synthetic: bool = False,
    demo: bool = False,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen, str]:
    """Start a provider; return ``(process, base_url)`` once ``GET /health`` answers 200.

    ``port`` None picks a free loopback port. ``env`` adds to (or overrides) this process's
    environment. Raises :class:`ProviderStartError`, with the provider's output, if it exits
    or is not healthy within 15 s.
    """
    child_env = dict(os.environ)
    child_env.update(env or {})
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), child_env.get("PYTHONPATH", "")) if p)
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    log_fd, log_path = tempfile.mkstemp(prefix=f"cdeg-provider-{department}-", suffix=".log")
    with os.fdopen(log_fd, "wb") as log_file:
        proc = subprocess.Popen(
            _command(department, issuer, 0 if port is None else port, fault, delay, synthetic, demo=demo),
            cwd=ROOT,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    proc.cdeg_log = log_path  # type: ignore[attr-defined]

    def output() -> str:
        try:
            return Path(log_path).read_text(errors="replace")
        except OSError:
            return ""

    deadline = time.monotonic() + STARTUP_TIMEOUT
    base_url = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = output()
            _remove(log_path)
            raise ProviderStartError(f"provider {department} exited with status {proc.returncode}:\n{text}")
        if base_url is None:
            found = _LISTENING.search(output())
            base_url = found.group(1) if found else None
        if base_url is not None and _healthy(base_url):
            proc.cdeg_base_url = base_url  # type: ignore[attr-defined]
            return proc, base_url
        time.sleep(0.05)
    text = output()
    stop_provider(proc)
    raise ProviderStartError(f"provider {department} not healthy after {STARTUP_TIMEOUT:g} s:\n{text}")


def _remove(path: str | None) -> None:
    if path:
        with contextlib.suppress(OSError):
            os.unlink(path)


def stop_process(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """Stop a child process: SIGTERM, wait up to ``timeout`` seconds, then SIGKILL."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stop_provider(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """Stop a provider started by :func:`start_provider` and remove its log file."""
    stop_process(proc, timeout)
    _remove(getattr(proc, "cdeg_log", None))


def provider_output(proc: subprocess.Popen) -> str:
    """What the provider has written so far (its log), e.g. to show when a test fails."""
    path = getattr(proc, "cdeg_log", None)
    try:
        return Path(path).read_text(errors="replace") if path else ""
    except OSError:
        return ""


@contextlib.contextmanager
def running_provider(
    department: str,
    issuer: str,
    *,
    port: int | None = None,
    fault: str | None = None,
    delay: float | None = None,
    synthetic: bool = False,
    demo: bool = False,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """A provider running for the ``with`` block; yields its base URL."""
    proc, base_url = start_provider(
        department, issuer, port=port, fault=fault, delay=delay, synthetic=synthetic, demo=demo, env=env
    )
    try:
        yield base_url
    finally:
        stop_provider(proc)
