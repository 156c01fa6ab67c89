"""Smoke test of ``bench/oidc.py``: a tiny run of every scenario against both systems
(PostgreSQL, gunicorn, oidc-provider under Node.js, wrk) exits 0, prints the table and the
ratios, and writes the JSON. It checks that the harness works, not how fast anything is.

Needs wrk, PostgreSQL's server binaries and Node.js/npm (``.ci/run`` installs them; as root
the benchmark installs what is missing itself). About a minute.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "oidc.py"
SCENARIOS = {"userinfo", "refresh_token", "client_credentials", "discovery", "jwks"}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the benchmark reads CPU times from /proc")
def test_oidc_benchmark_tiny_run(tmp_path):
    out = tmp_path / "oidc.json"
    cmd = [
        sys.executable,
        str(BENCH),
        "--residents",
        "300",
        "--devices",
        "20",
        "--connections",
        "2",
        "--login-concurrency",
        "2",
        "--seconds",
        "1",
        "--warmup",
        "0",
        "--output",
        str(out),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the benchmark stops the servers and PostgreSQL
        output, _ = proc.communicate(timeout=60)
        pytest.fail(f"bench/oidc.py took over 600 s:\n{output}")
    assert proc.returncode == 0, output
    assert re.search(r"System\s+Scenario\s+Conns\s+Requests\s+Errors\s+Req/s\s+p50 ms\s+p99 ms\s+CPU s/1k", output), (
        output
    )
    assert re.search(r"Scenario\s+Conns\s+tungban req/s\s+peer req/s\s+tungban/peer", output), output

    result = json.loads(out.read_text())
    rows = {(r["system"], r["scenario"]): r for r in result["rows"]}
    assert {s for sys_, s in rows if sys_ == "oidc-provider"} == SCENARIOS
    assert {s for sys_, s in rows if sys_ == "tungban"} == SCENARIOS | {"login"}
    for row in result["rows"]:
        assert row["requests"] > 0 and row["errors"] == 0 and row["rps"] > 0, row
        assert row["p50_ms"] > 0 and row["p99_ms"] >= row["p50_ms"] and row["peak_rss_mib"] > 0, row
        assert row["server_cpu_s_per_1000"] > 0 and row["generator_cpu_percent"] >= 0, row
    assert rows[("tungban", "login")]["residents"] == 300
    assert {r["scenario"] for r in result["ratios"]} == SCENARIOS
    assert (
        result["peer"]["oidc-provider"]
        == json.loads((BENCH.parent / "peer" / "package.json").read_text())["dependencies"]["oidc-provider"]
    )
