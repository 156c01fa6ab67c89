"""Smoke tests of ``bench/credentials.py``: its measuring functions at tiny sizes in the test
database, and one tiny run of the script end to end (its own temporary platform). They
check that the figures are positive and every verification is valid; no timing is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "credentials.py"


@pytest.fixture
def bench(db):
    from bench import credentials

    credentials.prepare_platform()
    return credentials


def test_measuring_functions_at_tiny_sizes(bench):
    from tungban.credentials import services
    from tungban.credentials.verify import BundleTrust, DatabaseTrust

    ctype = services.get_type(bench.TYPE_ID)
    holders = bench.seed_holders(7, prefix="XB", start=123)
    assert [h.resident.hkid for h in holders[:2]] == bench.hkids("XB", 123, 2)
    assert sum(1 for h in holders if h.key) == 4  # every second one has a device

    bulk, batch = bench.measure_bulk(ctype, holders[:5])
    assert bulk["count"] == 5 and bulk["per_second"] > 0 and bulk["seconds"] > 0 and bulk["checks_seconds"] > 0
    assert batch.rows_issued == 5
    issued = list(batch.credentials.all())
    keys = {h.resident.pk: h.key for h in holders[:5] if h.key}
    assert {c.holder_id for c in issued if c.holder_device_id} == set(keys)

    single, credentials = bench.measure_single(ctype, holders[5:], first_card=500)
    assert (
        single["count"] == 2
        and single["per_second"] > 0
        and single["p50_ms"] > 0
        and single["p99_ms"] >= single["p50_ms"]
    )
    assert len(credentials) == 2

    items = bench.presentations(issued, keys, 4)
    assert len(items) == 4 and all(p.count("~") == 7 for p, _nonce in items)  # JWT, 6 disclosures, KB-JWT

    online = bench.measure_verify("online", "", items, DatabaseTrust)
    assert online["count"] == 4 and online["valid"] == 4, online["invalid_examples"]
    assert online["per_second"] > 0 and online["p50_ms"] > 0

    bundle = BundleTrust(services.trust_bundle())
    offline = bench.measure_verify("offline", "", items, lambda: bundle)
    assert offline["valid"] == 4 and offline["per_second"] > 0

    # A presentation that does not verify is counted as invalid, not hidden.
    presentation, nonce = items[0]
    bad = bench.measure_verify("bad", "", [(presentation, "another nonce")], DatabaseTrust)
    assert bad["valid"] == 0 and bad["invalid_examples"]


def test_script_tiny_run(tmp_path):
    out = tmp_path / "credentials.json"
    cmd = [
        sys.executable,
        str(BENCH),
        "--quick",
        "--bulk",
        "6",
        "--single",
        "2",
        "--verify",
        "3",
        "--profile",
        "--http-seconds",
        "1",
        "--output",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "(a) bulk issuance, 6-row CSV" in output and "Where the time goes (issuance" in output, output

    result = json.loads(out.read_text())
    assert result["benchmark"] == "credentials" and result["database"].startswith("sqlite")
    rows = {r["name"].split(")")[0] + ")": r for r in result["rows"]}
    assert rows["(a)"]["count"] == 6 and rows["(b)"]["count"] == 2
    assert all(r["per_second"] > 0 for r in result["rows"])
    assert rows["(c)"]["valid"] == rows["(c)"]["count"] == 3
    assert rows["(d)"]["valid"] == rows["(d)"]["count"] == 3
    assert result["notes"]["queries_per_verification_offline"] == 0
    side = [r for r in result["rows"] if r["name"].startswith("(e)")]  # tungban and TypeScript, same presentations
    assert [r["valid"] for r in side] == [3, 3, 3] and side[0]["ratio_to_typescript"] > 0
    assert (
        rows["(g)"]["valid"] == 3 and rows["(g)"]["cpu_us_per_request"] > 0 and rows["(g)"]["queries_per_request"] > 0
    )
    assert rows["(f)"]["count"] > 0 and rows["(f)"]["valid"] == rows["(f)"]["count"]
    issuance = {b["part"].strip(): b for b in result["profile"]["issuance"]["breakdown"]}
    assert issuance["issue_bulk (everything)"]["calls"] == 1
    assert issuance["_sign: SD-JWT VC via the sd-jwt library"]["calls"] == 6
    assert len(result["profile"]["verification"]["top_cumulative"]) == 15
