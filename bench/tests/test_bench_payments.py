"""Smoke test of ``bench/payments.py``: a tiny run end to end (its own temporary SQLite
platform, a few orders created through the services, a small camt.053 reconciled by the import
job, then imported again) exits 0, passes its checks and prints positive rates. No timing is
asserted.

Not under the default ``testpaths`` (src, examples); run it with
``.venv/bin/python -m pytest bench/tests``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "payments.py"
SRC = Path(__file__).resolve().parents[2] / "src"


def test_payments_benchmark_tiny_run(tmp_path):
    out = tmp_path / "payments.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    env.pop("DATABASE_URL", None)
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--orders", "20", "--lines", "200", "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["order_creation"]["count"] == 20 and result["order_creation"]["per_second"] > 0
    assert result["reconciliation"]["count"] == 200 and result["reconciliation"]["per_second"] > 0
    assert result["reconciliation"]["outcome"]["paid"] == 180
    assert result["reimport"]["count"] == 200
    assert "(b) reconciliation (import job)" in proc.stdout
