"""Smoke test of ``bench/userinfo_cpu.py`` (issue 15): a tiny in-process run on SQLite exits
0 and prints both modes of both endpoints with their SQL statements (the hot path's two). It
checks that the harness works, not how fast anything is."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "userinfo_cpu.py"


def test_userinfo_cpu_tiny_run():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--requests", "20", "--warmup", "2"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # path, mode, CPU µs, PostgreSQL µs ("-" on SQLite), SQL statements
    rows = re.findall(r"^(/oidc/\w+)\s+(reference|hot)\s+(\d+)\s+(?:\d+|-)\s+(\d+)$", proc.stdout, re.M)
    assert {(path, mode) for path, mode, _cpu, _n in rows} == {
        (path, mode) for path in ("/oidc/userinfo", "/oidc/formdata") for mode in ("reference", "hot")
    }, proc.stdout
    assert all(int(n) <= 2 for _path, mode, _cpu, n in rows if mode == "hot"), proc.stdout
