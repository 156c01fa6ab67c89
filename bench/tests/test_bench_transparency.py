"""Smoke test of ``bench/transparency.py``: a tiny run (two small log sizes, a few proofs)
exits 0, prints the table with non-zero rates and writes its JSON.

Run with ``.venv/bin/python -m pytest bench/tests``. A few seconds.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "transparency.py"


def test_transparency_benchmark_tiny_run(tmp_path):
    out = tmp_path / "transparency.json"
    cmd = [
        sys.executable,
        str(BENCH),
        "--quick",
        "--sizes",
        "300,2000",
        "--proofs",
        "50",
        "--single",
        "10",
        "--batch",
        "700",
        "--output",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output

    assert re.search(r"Leaves\s+Bulk append/s\s+Single append/s\s+Incl\. median ms\s+Incl\. p99 ms", output), output
    row = re.search(r"^\s*2,000\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)\s+([\d.]+)", output, re.MULTILINE)
    assert row, output
    assert int(row.group(1).replace(",", "")) > 0 and int(row.group(2).replace(",", "")) > 0 and float(row.group(3)) > 0

    result = json.loads(out.read_text())
    assert [r["leaves"] for r in result["sizes"]] == [300, 2000]
    for r in result["sizes"]:
        assert r["inclusion"]["count"] == 50 and r["inclusion"]["p99_ms"] > 0
        assert (
            r["inclusion"]["verified_sample"] and r["consistency"]["verified_sample"] and r["root_matches_signed_head"]
        )
        assert r["verify"]["ok"], r["verify"]
        assert r["single"]["leaves"] == 10
    # Every perfect subtree of level >= 1 is stored: about one node per leaf.
    assert result["sizes"][-1]["nodes"] == sum(2000 >> level for level in range(1, 12))
