"""The fault-injection hook: a listed point kills its process once per marker directory."""

import os
import subprocess
import sys

import pytest

CHILD = "from tungban.core.killpoints import killpoint; killpoint('a.b'); print('passed')"


def _run(env):
    return subprocess.run([sys.executable, "-c", CHILD], env={**os.environ, **env}, capture_output=True, text=True)


def test_unlisted_point_passes():
    result = _run({"TUNGBAN_KILLPOINTS": "other.point"})
    assert result.returncode == 0 and result.stdout.strip() == "passed"


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_listed_point_kills_once_per_marker_dir(tmp_path):
    env = {"TUNGBAN_KILLPOINTS": "x.y,a.b", "TUNGBAN_KILLPOINT_DIR": str(tmp_path)}
    first = _run(env)
    assert first.returncode == -9 and first.stdout == ""
    assert (tmp_path / "a.b").exists()
    second = _run(env)
    assert second.returncode == 0 and second.stdout.strip() == "passed"
