"""Smoke test of ``bench/exchange.py``: a tiny run end to end (temporary platform under
gunicorn, demo providers, load, log verification) exits 0 and prints a non-zero rate.

Not under the default ``testpaths`` (src, examples); run it with
``.venv/bin/python -m pytest bench/tests``. About 15-30 s.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "exchange.py"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the benchmark reads CPU times from /proc")
def test_exchange_benchmark_tiny_run(tmp_path):
    out = tmp_path / "exchange.json"
    cmd = [
        sys.executable,
        str(BENCH),
        "--residents",
        "5",
        "--real",
        "1",
        "--products",
        "wsd",
        "--concurrency",
        "1",
        "--seconds",
        "1",
        "--warmup",
        "0.5",
        "--output",
        str(out),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the benchmark stops the platform and the providers
        output, _ = proc.communicate(timeout=30)
        pytest.fail(f"bench/exchange.py took over 120 s:\n{output}")
    assert proc.returncode == 0, output

    assert re.search(r"Concurrency\s+Requests\s+Errors\s+Exchanges/s\s+p50 ms\s+p90 ms\s+p99 ms", output), output
    row = re.search(r"^\s+1\s+(\d+)\s+(\S+)\s+([\d.]+)\s+", output, re.MULTILINE)
    assert row, output
    requests, errors, rate = int(row.group(1)), row.group(2), float(row.group(3))
    assert requests > 0 and rate > 0 and errors == "0", output
    assert "verify_exchange_log -> exit 0: OK:" in output, output

    result = json.loads(out.read_text())
    level = result["levels"][0]
    assert level["concurrency"] == 1 and level["exchanges_per_second"] > 0 and level["p99_ms"] > 0
    # The load ran in a generator process; CPU per exchange by class of process is kept
    # (PostgreSQL's is None on SQLite), the providers' including granian's worker.
    assert level["generator_processes"] == 1
    per = level["cpu_ms_per_exchange"]
    assert set(per) == {"server", "postgresql", "providers", "generator", "other"}
    assert per["server"] > 0 and per["providers"] > 0 and per["generator"] > 0 and per["postgresql"] is None
    assert result["log"]["verify_exit_code"] == 0
    # Every delivered exchange is in the log, and nothing else happened.
    assert result["log"]["exchange_records"] == {"delivered": result["log"]["delivered_seen_by_client"]}
    assert result["log"]["ledger_entries"] == result["log"]["delivered_seen_by_client"]
