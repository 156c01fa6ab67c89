"""Running the platform as in production, for the benchmarks (``bench/machine.py`` re-exports
these) and the fault-injection tests (:mod:`tungban.testing.faults`): a loopback socket
handed to gunicorn (``--bind fd://N``), gunicorn started as ``tungban serve`` starts it,
waiting for an URL to answer, and the processes under a master read from ``/proc`` (Linux).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def listening_socket() -> socket.socket:
    """A loopback socket bound to a free port, handed to gunicorn (``--bind fd://N``):
    the issuer URL is known before any process starts, and no other process can take the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.set_inheritable(True)
    return sock


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


GUNICORN_PROFILE_CONF = """
# Profile the handling of requests only (not the worker's start-up, imports or idle waits).
import cProfile, os
_prof = cProfile.Profile()

def pre_request(worker, req):
    _prof.enable()

def post_request(worker, req, environ, resp):
    _prof.disable()

def worker_exit(server, worker):
    _prof.dump_stats(os.path.join({dir!r}, "worker-%d.prof" % os.getpid()))
"""


def start_gunicorn(
    sock: socket.socket,
    env: dict,
    workers: int,
    tmp: Path,
    profile: bool,
    extra: tuple[str, ...] = (),
    threads: int = 1,
) -> subprocess.Popen:
    """The platform under gunicorn as ``tungban serve`` builds its command
    (:func:`tungban.core.serving.gunicorn_command`) with ``workers`` processes of ``threads``
    threads (1: sync workers, these benchmarks' recorded figures; more: gthread) on the
    already bound ``sock`` (``--bind fd://N``), logging errors to ``tmp/gunicorn.log``; with
    ``profile`` every worker runs its requests under cProfile and dumps
    ``tmp/worker-<pid>.prof`` on exit. ``extra`` arguments come last (they override)."""
    from tungban.core.serving import gunicorn_command

    cmd = gunicorn_command(
        f"fd://{sock.fileno()}",
        workers=workers,
        threads=threads,
        timeout=60,
        extra=("--graceful-timeout", "10", "--error-logfile", str(tmp / "gunicorn.log"), *extra),
    )
    if profile:
        conf = tmp / "gunicorn-profile.py"
        conf.write_text(GUNICORN_PROFILE_CONF.format(dir=str(tmp)))
        cmd += ["-c", str(conf)]
    return subprocess.Popen(
        cmd, cwd=tmp, env=env, pass_fds=(sock.fileno(),), stdin=subprocess.DEVNULL, preexec_fn=die_with_parent
    )


def die_with_parent() -> None:
    """In the child before exec: SIGTERM it if this process dies without stopping it (Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def wait_until_up(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Wait until ``url`` answers 200; :raises RuntimeError: when ``proc`` exits or time runs out."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"the server exited with status {proc.returncode}:\n{log.read_text(errors='replace') if log.exists() else ''}"
            )
        try:
            with opener.open(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer {url} within {timeout:g} s")


def live_children(pid: int) -> list[int]:
    """Direct children of ``pid`` that are running (not zombies waiting to be reaped)."""
    out = []
    for child in children_of(pid):
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X"):
            out.append(child)
    return out
