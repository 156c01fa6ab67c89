"""Where PostgreSQL's CPU goes during a run, by process (issue 15, fourth round): the
backends of each database, the WAL writer, the checkpointer, the background writer,
autovacuum, and what exited children used (``cutime``/``cstime`` of the postmaster: short-lived
autovacuum workers, closed backends). Read from ``/proc`` (the server on this machine), its
role from each process's title (``postgres: walwriter``, ``postgres: USER DB HOST(PORT) …``).
A durable commit's WAL flush is done by the committing backend itself (``XLogFlush``), or by
one backend for every commit waiting at that moment (group commit), and the WAL writer flushes
in the background: the split tells which."""

from __future__ import annotations

import os
from pathlib import Path

from machine import CLK_TCK, children_of


def _role(pid: int) -> str:
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "gone"
    if not title.startswith("postgres: "):
        return "other"
    words = title[len("postgres: ") :].split()
    if words[:2] == ["autovacuum", "worker"]:
        return "autovacuum worker"
    if (
        words
        and words[0] in ("walwriter", "checkpointer", "logger")
        or words[:2]
        in (
            ["background", "writer"],
            ["autovacuum", "launcher"],
            ["logical", "replication"],
            ["archiver"],
            ["stats", "collector"],
        )
    ):
        return " ".join(words[:2]) if words[0] in ("background", "autovacuum", "logical") else words[0]
    return f"backends {words[1]}" if len(words) > 1 else "other"  # postgres: USER DB HOST(PORT) STATE


def _cpu(pid: int, children: bool = False) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11 : 15 if children else 13]) / CLK_TCK


def snapshot(postmaster: int) -> dict:
    """``{pid: (role, cpu seconds)}`` of the postmaster's live children, and the postmaster
    itself with what its exited children used (key ``postmaster``)."""
    out = {"postmaster": ("postmaster and exited children", _cpu(postmaster, children=True))}
    for pid in children_of(postmaster):
        try:
            out[pid] = (_role(pid), _cpu(pid))
        except OSError:
            continue
    return out


def split(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds per role between two :func:`snapshot` s (a process born in between counts
    from zero; one that died in between is in ``postmaster and exited children``)."""
    roles: dict[str, float] = {}
    for pid, (role, cpu) in after.items():
        roles[role] = roles.get(role, 0.0) + cpu - before.get(pid, (role, 0.0))[1]
    exited = "postmaster and exited children"
    for pid, (_role_before, cpu) in before.items():
        if pid not in after:  # its time until the first snapshot is not the run's
            roles[exited] = roles.get(exited, 0.0) - cpu
    return {role: round(seconds, 3) for role, seconds in sorted(roles.items())}


if __name__ == "__main__":  # e.g. python bench/pgsplit.py $(head -1 $PGDATA/postmaster.pid)
    import sys
    import time

    pid = int(sys.argv[1])
    first = snapshot(pid)
    time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 10)
    for role, seconds in split(first, snapshot(pid)).items():
        print(f"{role:<40} {seconds:8.3f} s")
    os._exit(0)
