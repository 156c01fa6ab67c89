"""Running the platform as in production, for the benchmarks (``bench/machine.py`` re-exports
these) and the fault-injection tests (:mod:`tungban.testing.faults`): a loopback socket that
holds a free port (handed to gunicorn and uvicorn as ``fd://N``; granian binds the same port
itself, ``SO_REUSEPORT``), the server started with the command ``tungban serve`` runs
(:func:`tungban.core.serving.server_command`), waiting for an URL to answer, and the processes
under a master read from ``/proc`` (Linux).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def listening_socket() -> socket.socket:
    """A loopback socket bound to a free port, handed to the server (:func:`start_server`):
    the issuer URL is known before any process starts, and no other user's process can take
    the port. ``SO_REUSEPORT``: granian's workers bind the port themselves while this socket
    (bound, never listening, so it takes no connection) still holds it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", 0))
    sock.set_inheritable(True)
    return sock


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid``, from ``/proc/<pid>/task/<tid>/children`` (proc(5), Linux
    3.5+: one small file per thread of ``pid``), or by scanning every ``/proc/<n>/stat`` where
    those files are missing. The benchmarks sample a server's process tree five times a second
    while they measure it: the scan read every process's ``stat`` each time, about a third of a
    core on a busy machine, taken from the server being measured."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []
    out: list[int] = []
    try:
        for task in tasks:
            try:
                out.extend(int(child) for child in (task / "children").read_text().split())
            except FileNotFoundError:
                if not (task / "stat").exists():
                    continue  # the thread ended meanwhile
                raise
    except FileNotFoundError:
        return _children_by_scan(pid)
    except OSError:
        return out
    return sorted(set(out))


def _children_by_scan(pid: int) -> list[int]:
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


def start_server(
    sock: socket.socket,
    env: dict,
    workers: int,
    tmp: Path,
    profile: bool = False,
    extra: tuple[str, ...] = (),
    threads: int | None = None,
    *,
    server: str | None = None,
    timeout: int = 60,
    graceful_timeout: int = 10,
    log: Path | None = None,
    stdout: Path | None = None,
) -> subprocess.Popen:
    """The platform under ``server`` (one of :data:`tungban.core.serving.SERVERS`; default
    ``TUNGBAN_WEB_SERVER`` of ``env``, else the settings' default) with the command
    ``tungban serve`` runs (:func:`tungban.core.serving.server_command`): ``workers`` processes
    of ``threads`` threads (default ``TUNGBAN_WEB_THREADS``) on the port of ``sock``, the
    server's own log (stderr) appended to ``log`` (default ``tmp/server.log``), its stdout
    (a request log, when on) to ``stdout`` (default: discarded). With ``profile`` (gunicorn
    only) every worker runs its requests under cProfile and dumps ``tmp/worker-<pid>.prof`` on exit. ``extra`` arguments
    go to the server, last. The server's processes are the children of the returned process
    (:func:`live_children`).

    :raises ValueError: ``profile`` with another server than gunicorn."""
    from tungban.core.serving import SERVERS, default_server, server_command

    server = server or env.get("TUNGBAN_WEB_SERVER") or default_server()
    if server not in SERVERS:
        raise ValueError(f"unknown server {server!r}: expected one of {', '.join(SERVERS)}")
    inherit = server != "granian"  # granian binds the port itself (SO_REUSEPORT)
    host, port = sock.getsockname()[:2]
    bind = f"fd://{sock.fileno()}" if inherit else f"{host}:{port}"
    cmd = server_command(
        bind,
        server=server,
        workers=workers,
        threads=threads,
        timeout=timeout,
        graceful_timeout=graceful_timeout,
        extra=extra,
    )
    if profile:
        if "gunicorn" not in cmd:
            raise ValueError("profiling the workers needs gunicorn (its pre_request/post_request hooks)")
        conf = tmp / "gunicorn-profile.py"
        conf.write_text(GUNICORN_PROFILE_CONF.format(dir=str(tmp)))
        cmd += ["-c", str(conf)]
    with open(log or tmp / "server.log", "ab") as err, open(stdout or os.devnull, "ab") as out:
        return subprocess.Popen(
            cmd,
            cwd=tmp,
            env=env,
            pass_fds=(sock.fileno(),) if inherit else (),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            preexec_fn=die_with_parent,
        )


def start_gunicorn(sock, env, workers, tmp, profile=False, extra=(), threads=None, **kwargs) -> subprocess.Popen:
    """:func:`start_server`, named as before issue 15 (the server is no longer always gunicorn)."""
    return start_server(sock, env, workers, tmp, profile, extra, threads, **kwargs)


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


def process_age(pid: int) -> float:
    """Seconds since process ``pid`` started (from /proc; 0 when it is gone)."""
    try:
        start_ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return 0.0
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
