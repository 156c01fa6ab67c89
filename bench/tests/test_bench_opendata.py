"""Smoke test of ``bench/opendata.py``: a tiny run end to end (a small synthetic catalogue
seeded in bulk, the platform under ``tungban serve``'s server, one short wrk run per
scenario) exits 0, passes its checks and reports positive rates with the expected statuses.
No timing is asserted.

Not under the default ``testpaths`` (src, examples); run it with
``.venv/bin/python -m pytest bench/tests/test_bench_opendata.py``. About a minute a run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "opendata.py"
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_opendata_benchmark_tiny_run(tmp_path):
    out = tmp_path / "opendata.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    args = ["--quick", "--datasets", "120", "--providers", "10", "--big-file-kib", "32", "--seconds", "1"]
    proc = subprocess.run(
        [sys.executable, str(BENCH), *args, "--warmup", "0", "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Seeded 120 datasets of 10 providers in 19 categories" in output, output

    result = json.loads(out.read_text())
    assert all(result["checks"].values()), result["checks"]
    assert result["catalogue"]["indexed"] == 120
    rows = {r["scenario"]: r for r in result["scenarios"]}
    assert len(rows) == 7
    for row in rows.values():
        assert row["ok"] and row["requests"] > 0 and row["per_second"] > 0, row
        assert row["p99_ms"] >= row["p50_ms"] > 0, row
    assert set(rows["current file, If-None-Match (304)"]["statuses"]) == {"304"}
    assert set(rows["package_show"]["statuses"]) == {"200"}
