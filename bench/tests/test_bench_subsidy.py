"""Smoke test of ``bench/subsidy.py``: a tiny run (a small batch through the award optimiser,
and a few sacct records through the compute app's import when it is installed) exits 0 and
prints its figures. No timing is asserted.

Not under the default ``testpaths`` (src, examples); run it with
``.venv/bin/python -m pytest bench/tests``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "subsidy.py"
SRC = Path(__file__).resolve().parents[2] / "src"


def test_subsidy_benchmark_tiny_run(tmp_path):
    out = tmp_path / "subsidy.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    env.pop("DATABASE_URL", None)
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--quick",
            "--applications",
            "12",
            "--months",
            "6",
            "--runs",
            "2",
            "--records",
            "50",
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    opt = result["optimiser"]
    assert opt["applications"] == 12 and opt["months"] == 6 and len(opt["runs"]) == 2
    assert all(r["status"] in ("optimal", "feasible", "empty") for r in opt["runs"])
    # Every candidate is either chosen or has a reason.
    assert opt["chosen"] + sum(opt["not_chosen"].values()) == 12
    assert "Award optimiser" in proc.stdout and "median" in proc.stdout
    if importlib.util.find_spec("tungban.compute") is None:
        assert "waits for it" in proc.stdout
    else:
        assert result["usage_import"]["records"] == 50 and result["usage_import"]["import_per_second"] > 0
        assert "records/s" in proc.stdout
