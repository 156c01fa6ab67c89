"""What every benchmark prints about the machine it ran on, how it prints its table, and the
process plumbing the HTTP benchmarks share (a listening socket for the server, CPU and
memory of process trees read from /proc, worker profiles)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tungban.testing.servers import (  # noqa: F401 - the benchmarks import these from here
    children_of,
    die_with_parent,
    listening_socket,
    start_gunicorn,
    start_server,
    wait_until_up,
)

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_versions(names: tuple[str, ...]) -> dict:
    """``{distribution name: version or None}`` of the installed packages ``names``."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


@contextlib.contextmanager
def scratch_dir(prefix: str, keep: bool):
    """A new temporary directory for one benchmark run (``prefix`` + random), removed
    afterwards, or kept and printed with ``keep``."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield tmp
    finally:
        if keep:
            print(f"Kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def write_results(result: dict, path: Path) -> Path:
    """Write ``result`` as indented JSON to ``path`` (parents created); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path


def print_table(head: tuple[str, ...], lines: list[tuple[str, ...]], *, first_left: bool = True) -> None:
    """Print ``lines`` under ``head`` in aligned columns (numbers right-aligned; the first
    column left-aligned when ``first_left``)."""
    widths = [max(len(x[i]) for x in [head, *lines]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 and first_left else f"{{:>{w}}}" for i, w in enumerate(widths))
    print(fmt.format(*head))
    print("  ".join("-" * w for w in widths))
    for line in lines:
        print(fmt.format(*line))


# --- processes ---------------------------------------------------------------------------------


def machine() -> dict:
    """CPU model and count, memory (MiB), platform, Python and the load average now."""
    try:
        mem = next(
            int(line.split()[1]) // 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration, ValueError):
        mem = None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "cpus_usable": usable,
        "memory_mib": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


def machine_busy_seconds() -> float:
    """CPU time all cores spent busy (not idle or waiting for I/O), from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (all their threads), from /proc/<pid>/stat."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat(5))
    return total / CLK_TCK


def tree_cpu_seconds(root: int) -> float:
    """CPU time of ``root`` and all its live descendants, including what their exited and
    reaped children used (``cutime``/``cstime``): PostgreSQL backends and restarted workers
    come and go during a run, and their time must not vanish with them."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime (stat(5) fields 14-17)
        todo.extend(children_of(pid))
    return total / CLK_TCK


def profile_report(tmp: Path, name: str) -> dict | None:
    """Print the merged cProfile of the workers' ``tmp/worker-*.prof`` files and save it as
    ``$TMPDIR/tungban-bench/<name>-workers-<date>.prof``."""
    files = sorted(tmp.glob("worker-*.prof"))
    if not files:
        print("No worker profile was written.")
        return None
    out = io.StringIO()
    stats = pstats.Stats(*[str(f) for f in files], stream=out)
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(25)
    prof_dir = Path(tempfile.gettempdir()) / "tungban-bench"
    prof_dir.mkdir(exist_ok=True)
    path = prof_dir / f"{name}-workers-{time.strftime('%Y-%m-%d')}.prof"
    stats.dump_stats(path)
    print(out.getvalue())
    print(f"cProfile data of the gunicorn workers: {path} (read with: .venv/bin/python -m pstats {path})")
    return {"workers": len(files), "prof_file": str(path)}


#: tungban.settings.TUNGBAN_RATELIMITS' groups (issue 13 items 2, 8, 12).
RATE_LIMIT_GROUPS = ("proofing", "proofing_hkid", "binding", "binding_hkid_client", "binding_hkid", "token", "verify")


def isolate(tmp: Path, issuer: str, database_url: str, extra: dict | None = None) -> dict:
    """Point the platform at ``tmp`` (``TUNGBAN_VAR_DIR``, a new secret key), ``database_url``
    and ``issuer``, DEBUG off, before Django reads its settings; ``extra`` adds settings.
    Returns the environment for child processes (gunicorn, management commands)."""
    import secrets

    root = Path(__file__).resolve().parent.parent
    env = {
        "TUNGBAN_VAR_DIR": str(tmp),
        "DATABASE_URL": database_url,
        "TUNGBAN_SECRET_KEY": secrets.token_urlsafe(50),
        "TUNGBAN_ISSUER": issuer,
        "TUNGBAN_DEBUG": "0",
        "TUNGBAN_KEYSTORE": "software",  # these benchmarks do not use the signing CA
        "TUNGBAN_LOG_LEVEL": os.environ.get("TUNGBAN_LOG_LEVEL", "WARNING"),
        "DJANGO_SETTINGS_MODULE": "tungban.settings",
        # One load generator on loopback is one client: lift the per-client rate limits so
        # they do not cut the run short (the counting still runs, and is measured).
        **{f"TUNGBAN_RATELIMIT_{group.upper()}": "1000000000/m" for group in RATE_LIMIT_GROUPS},
        **(extra or {}),
    }
    os.environ.update(env)
    for name in ("SOFTHSM2_CONF", "TUNGBAN_PKCS11_PIN"):
        os.environ.pop(name, None)
    for path in (root, root / "src"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    child = dict(os.environ)
    child["PYTHONPATH"] = os.pathsep.join([str(root / "src"), str(root), *filter(None, [os.environ.get("PYTHONPATH")])])
    return child
