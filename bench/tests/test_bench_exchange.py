"""Smoke test of ``bench/exchange.py``: a tiny run end to end (temporary platform under
gunicorn, demo providers, load, log verification) exits 0 and prints a non-zero rate.

Not under the default ``testpaths`` (src, examples); run it with
``.venv/bin/python -m pytest bench/tests``. About 15-30 s.
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

BENCH = Path(__file__).resolve().parents[1] / "exchange.py"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the benchmark reads CPU times from /proc")
def test_exchange_benchmark_tiny_run(tmp_path):
    out = tmp_path / "exchange.json"
    output = run_bench(tmp_path, out, "--generator", "python")

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
    assert level["generator"] == "python" and level["generator_processes"] == 1
    per = level["cpu_ms_per_exchange"]
    assert set(per) == {"server", "postgresql", "providers", "generator", "other"}
    assert per["server"] > 0 and per["providers"] > 0 and per["generator"] > 0 and per["postgresql"] is None
    assert result["log"]["verify_exit_code"] == 0
    # Every delivered exchange is in the log, and nothing else happened.
    assert result["log"]["exchange_records"] == {"delivered": result["log"]["delivered_seen_by_client"]}
    assert result["log"]["ledger_entries"] == result["log"]["delivered_seen_by_client"]
    assert result["log"]["ledger_matches"] is True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the benchmark reads CPU times from /proc")
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")
def test_exchange_benchmark_tiny_run_with_wrk(tmp_path):
    out = tmp_path / "exchange.json"
    output = run_bench(tmp_path, out, "--generator", "wrk", "--concurrency", "2")

    row = re.search(r"^\s+2\s+(\d+)\s+(\S+)\s+([\d.]+)\s+", output, re.MULTILINE)
    assert row, output
    assert int(row.group(1)) > 0 and row.group(2) == "0" and float(row.group(3)) > 0, output
    assert "Latency: wrk's, of ALL responses" in output, output
    assert "verify_exchange_log -> exit 0: OK:" in output, output

    result = json.loads(out.read_text())
    level = result["levels"][0]
    assert level["generator"] == "wrk" and level["wrk_threads"] == 2 and level["concurrency"] == 2
    # Every response was a 200 (each request had its own request_id and a fresh iat).
    assert level["statuses"] == {"200": level["delivered"]} and level["delivered"] > 0 and level["errors"] == {}
    assert level["p50_ms"] > 0 and level["p99_ms"] >= level["p50_ms"]
    per = level["cpu_ms_per_exchange"]
    assert per["server"] > 0 and per["providers"] > 0 and per["generator"] > 0 and per["postgresql"] is None
    # The timed run's 200s are new delivered records; a request wrk left unanswered at its
    # stop may have been delivered too, nothing else.
    assert level["delivered"] <= level["ledger_new_delivered"] <= level["delivered"] + level["unanswered_at_stop"]
    log = result["log"]
    assert log["verify_exit_code"] == 0 and log["ledger_matches"] is True
    assert set(log["exchange_records"]) == {"delivered"}
    seen, extra = log["delivered_seen_by_client"], log["unanswered_at_stop"]
    assert seen <= log["exchange_records"]["delivered"] <= seen + extra
    assert log["ledger_entries"] == log["exchange_records"]["delivered"]


def run_bench(tmp_path, out: Path, *extra: str) -> str:
    """A tiny run of the benchmark (``extra`` arguments last); its output, after asserting exit 0."""
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
        *extra,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the benchmark stops the platform and the providers
        output, _ = proc.communicate(timeout=30)
        pytest.fail(f"bench/exchange.py took over 120 s:\n{output}")
    assert proc.returncode == 0, output
    return output


def test_backend_cpu_counts_a_backend_that_exits_during_the_window():
    """Issue 15, sixth round: the CPU of a PostgreSQL backend that does its work and exits
    inside the window (as Django's ``CONN_MAX_AGE`` replaces connections during a run) is
    counted — reading the backends listed at the window's start and end lost it (the fifth
    round's "the rest"). Needs a local PostgreSQL: ``DATABASE_URL=postgres://…``."""
    import os
    import time
    from urllib.parse import urlsplit

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("a local PostgreSQL in DATABASE_URL")
    psycopg = pytest.importorskip("psycopg")
    sys.path[:0] = [str(BENCH.parent), str(BENCH.parents[1] / "src")]
    try:
        from exchange import BackendCPU
        from machine import cpu_seconds
    finally:
        del sys.path[:2]
    conninfo = url.replace("postgres://", "postgresql://", 1)
    database = urlsplit(conninfo).path.lstrip("/")
    with psycopg.connect(conninfo, autocommit=True) as first:
        pid = first.execute("SELECT pg_backend_pid()").fetchone()[0]
        if not Path(f"/proc/{pid}/stat").exists():
            pytest.skip("PostgreSQL is not on this machine")
        postmaster = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        watch = BackendCPU(database, postmaster, interval=0.05)
        watch.start()
        with psycopg.connect(conninfo, autocommit=True) as busy:  # comes and goes inside the window
            busy_pid = busy.execute("SELECT pg_backend_pid()").fetchone()[0]
            busy.execute("SELECT count(*) FROM generate_series(1, 3000000)").fetchone()
            time.sleep(0.2)  # the watch reads it at least once more
            burned = cpu_seconds([busy_pid])
        deadline = time.monotonic() + 5
        while Path(f"/proc/{busy_pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        counted = watch.stop()
    assert burned > 0.05, burned
    assert counted >= 0.8 * burned, (counted, burned)
