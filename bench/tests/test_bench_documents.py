"""Smoke test of ``bench/documents.py``: a tiny run on a fresh SQLite database prints a CPU
figure for discovery and the JWKS through the front and through Django, their query counts
(0 and 1 on SQLite) and the 304 answers.

Run with ``.venv/bin/python -m pytest bench/tests``. A few seconds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "documents.py"


def test_documents_benchmark_tiny_run(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "DJANGO_SETTINGS_MODULE": "tungban.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "TUNGBAN_VAR_DIR": str(tmp_path),
    }
    migrate = [sys.executable, "-m", "tungban.testing.migrated"]  # from the session's copy
    subprocess.run(migrate, env=env, check=True, capture_output=True, timeout=300)
    run = subprocess.run([sys.executable, str(BENCH), "-n", "5"], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    rows = {
        (line.split()[0] + (" 304" if "If-None-Match" in line else ""), through): line
        for line in run.stdout.splitlines()
        for through in ("front", "django")
        if f" {through} " in line
    }
    for through in ("front", "django"):  # through the front, and through Django as before it
        assert re.search(r" 200 +\d+\.\d +0$", rows["/.well-known/openid-configuration", through])
        assert re.search(r" 200 +\d+\.\d +1$", rows["/oidc/jwks", through])  # SQLite: the version read
        assert " 304 " in rows["/oidc/jwks 304", through]
        assert " 304 " in rows["/.well-known/openid-configuration 304", through]
