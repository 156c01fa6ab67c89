"""Smoke test of ``bench/soak.py``: a half-minute run (its own PostgreSQL, gunicorn, the
background worker, the demo providers, all four kinds of traffic) exits 0, prints the
per-minute figures and the summary, and writes the JSON. It checks that the harness works,
not how fast anything is or whether memory levels off (that needs the long run).

Needs PostgreSQL's server binaries (``.ci/run`` installs them; as root the benchmark installs
them itself). About a minute.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "soak.py"
KINDS = {"login", "exchange", "issue", "verify"}


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="the benchmark reads memory from /proc")
@pytest.mark.skipif(
    not (list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or shutil.which("apt-get")),
    reason="needs PostgreSQL's server binaries",
)
def test_soak_benchmark_tiny_run(tmp_path):
    out = tmp_path / "soak.json"
    cmd = [
        sys.executable,
        str(BENCH),
        "--minutes",
        "0.5",
        "--rates",
        "login=1,exchange=1,issue=1,verify=1",
        "--threads",
        "2",
        "--residents",
        "50",
        "--devices",
        "10",
        "--holders",
        "5",
        "--consents",
        "2",
        "--output",
        str(out),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the benchmark stops its processes and PostgreSQL
        output, _ = proc.communicate(timeout=60)
        pytest.fail(f"bench/soak.py took over 600 s:\n{output}")
    assert proc.returncode == 0, output

    # The per-minute line (here the last, partial minute) and the summary tables.
    assert re.search(r"^\[\s*1 min\] login \d+ req 0 err p50 \d+ p99 \d+ ms", output, re.MULTILINE), output
    assert re.search(r"RSS MB: master [\d.]+, web1 [\d.]+, web2 [\d.]+, worker [\d.]+", output), output
    assert re.search(r"rows: codes \d+, tokens \d+", output), output
    assert re.search(r"Kind\s+Rate/s\s+Requests\s+Errors\s+p50 ms\s+p99 ms", output), output
    assert "Total errors: 0" in output, output
    assert re.search(r"Process\s+RSS first MB\s+RSS last MB\s+RSS max MB\s+Slope MB/min", output), output
    assert "Rows the purge should already have deleted (due over 120 s ago): none" in output, output
    assert re.search(r"Live bytes per login \(\d+ logins\) still kept at the end: codes [\d.]+", output), output

    result = json.loads(out.read_text())
    assert set(result["totals"]) == KINDS
    for kind, figures in result["totals"].items():
        assert figures["requests"] > 0 and figures["errors"] == 0, (kind, figures)
        assert figures["p99_ms"] >= figures["p50_ms"] > 0, (kind, figures)
    assert {"master", "worker"} <= set(result["memory"]) and len(result["memory"]) >= 3
    for name, memory in result["memory"].items():
        assert memory["rss_last_mb"] > 0 and memory["samples"] >= 1, (name, memory)
    # One login left its code, token and approval; the exchange and issuance their rows.
    rows = result["rows_end"]
    assert rows["codes"] >= 1 and rows["tokens"] >= 1 and rows["exchange_records"] >= 1 and rows["credentials"] >= 1
    assert result["overdue_rows"] and not any(result["overdue_rows"].values())
    assert result["kept_bytes"]["approvals"]["rows"] >= 1 and result["kept_bytes_per_login_total"] > 0
    assert result["minutes"] and result["minutes"][0]["rss_mb"]["master"] > 0
