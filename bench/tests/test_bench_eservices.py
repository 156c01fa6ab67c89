"""Smoke test of ``bench/eservices.py``: a tiny run end to end (its own PostgreSQL cluster, the
platform under ``tungban serve``'s server, a small synthetic catalogue, a few submissions over
HTTP, officer actions through the department API — or, second run, through ``services`` —
catalogue renders) exits 0, passes its checks and prints positive rates.
No timing is asserted.

Not under the default ``testpaths`` (src, examples); run it with
``.venv/bin/python -m pytest bench/tests``. About a minute a run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "eservices.py"
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.mark.skipif(not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")), reason="PostgreSQL is not installed")
@pytest.mark.parametrize("via", ["api", "services"])
def test_eservices_benchmark_tiny_run(tmp_path, via):
    out = tmp_path / "eservices.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    args = ["--quick", "--services", "60", "--forms", "80", "--applications", "4", "--renders", "2"]
    if via == "services":
        args += ["--officer-via", "services"]
    proc = subprocess.run(
        [sys.executable, str(BENCH), *args, "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output

    row = re.search(r"^submissions \(HTTP POST \.\.\./check\)\s+(\d+)\s+([\d.]+)\s+", output, re.MULTILINE)
    assert row and int(row.group(1)) == 4 and float(row.group(2)) > 0, output
    assert re.search(rf"^officer actions, all \({via}\)\s+8\s+[\d.]+", output, re.MULTILINE), output
    assert "Catalogue: 60 services, 80 forms" in output, output
    assert re.search(r"loaded in [\d.]+ s, loaded again unchanged in [\d.]+ s\)", output), output

    result = json.loads(out.read_text())
    assert all(result["checks"].values()), result["checks"]
    assert result["settings"]["officer_via"] == via
    assert result["submissions"]["errors"] == {} and result["officer_actions"]["errors"] == {}
    sub = result["submissions"]
    assert sub["p50_ms"] > 0 and sub["p99_ms"] >= sub["p50_ms"]
    renders = {r["what"]: r for r in result["renders"]}
    assert renders["api: the same, If-None-Match (304)"]["status"] == 304
    assert (
        renders["page: catalogue, first page"]["status"] == 200 and renders["page: catalogue, first page"]["bytes"] > 0
    )
    assert renders["page: catalogue, first page (zh)"]["bytes"] != renders["page: catalogue, first page"]["bytes"]
