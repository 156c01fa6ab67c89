"""Smoke test of ``bench/bulkhead.py``: a tiny run end to end (a temporary platform
as ``tungban serve`` runs it, a healthy, a hanging and a slow provider, logins and
exchanges) exits 0 and prints a row of figures per phase and the ratios. No timing is
asserted: figures from a shared test machine mean nothing.

Not under the default ``testpaths`` (src, examples); run it with
``.venv/bin/python -m pytest bench/tests``. About 30-60 s.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bulkhead.py"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the benchmark reads /proc")
def test_bulkhead_benchmark_tiny_run(tmp_path):
    out = tmp_path / "bulkhead.json"
    cmd = [
        sys.executable,
        str(BENCH),
        "--seconds",
        "2",
        "--warmup",
        "0.5",
        "--devices",
        "20",
        "--residents",
        "3",
        "--login-concurrency",
        "2",
        "--output",
        str(out),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the benchmark stops the platform and the providers
        output, _ = proc.communicate(timeout=30)
        pytest.fail(f"bench/bulkhead.py took over 240 s:\n{output}")
    assert proc.returncode == 0, output

    assert re.search(r"Phase\s+Logins\s+Login errors\s+Login p50 ms\s+Login p99 ms\s+Exchanges", output), output
    for phase in ("healthy", "hang", "slow"):
        assert re.search(rf"^{phase}\s+\d+\s+\d+\s+[\d-]+\s+[\d-]+\s+\d+\s+", output, re.MULTILINE), output
    assert re.search(r"Login p99 hang / healthy: [\d.]+x", output), output
    assert re.search(r"Login p99 slow / healthy: [\d.]+x", output), output

    result = json.loads(out.read_text())
    assert [p["phase"] for p in result["phases"]] == ["healthy", "hang", "slow"]
    healthy = result["phases"][0]
    assert healthy["logins"] > 0 and healthy["login_p99_ms"] > 0
    assert healthy["exchange_outcomes"] == {"delivered": healthy["exchanges"]}
    # The platform ran as `tungban serve` runs it (tungban.core.serving's default server).
    assert result["server_command"].startswith("-m granian --interface wsgi tungban.wsgi:application")
