"""Generated state follows ``TUNGBAN_VAR_DIR`` in every process (issue 16, ci16 item 2).

``tungban.settings`` derives SoftHSM2's configuration file from ``TUNGBAN_VAR_DIR`` and puts it
in the process's environment (``SOFTHSM2_CONF``: the PKCS#11 library reads it from there). A
child process started with another ``TUNGBAN_VAR_DIR`` (the demo under test, a test's server)
inherits that variable: it must derive its own, not write its SoftHSM2 configuration into its
parent's ``var/`` (where it pointed the suite's later HSM tests at a deleted token directory),
while a ``SOFTHSM2_CONF`` that the operator set stays as it is.
"""

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2])
SHOW = "import os, tungban.settings; print(os.environ.get('SOFTHSM2_CONF', ''))"


def _clean_env(var: Path, **env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TUNGBAN_", "SOFTHSM2_", "DJANGO_"))}
    base.update(PYTHONPATH=SRC, TUNGBAN_VAR_DIR=str(var), TUNGBAN_PKCS11_MODULE="/usr/lib/softhsm/libsofthsm2.so")
    return {**base, **env}


def _run(code: str, env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_child_with_another_var_dir_derives_its_own_softhsm2_conf(tmp_path):
    parent, child = tmp_path / "parent", tmp_path / "child"
    # A tungban process (the test suite, the demo command) starts a child with its own
    # environment and another TUNGBAN_VAR_DIR, as the demo test and the servers' tests do.
    parent_code = (
        "import os, subprocess, sys, tungban.settings\n"
        f"print(os.environ['SOFTHSM2_CONF'])\n"
        f"env = dict(os.environ, TUNGBAN_VAR_DIR={str(child)!r})\n"
        f"print(subprocess.run([sys.executable, '-c', {SHOW!r}], env=env, capture_output=True, text=True).stdout)"
    )
    own, childs = _run(parent_code, _clean_env(parent)).split()
    assert own == str(parent.resolve() / "softhsm2.conf")
    assert childs == str(child.resolve() / "softhsm2.conf")


def test_an_operators_softhsm2_conf_is_kept(tmp_path):
    chosen = tmp_path / "hsm" / "softhsm2.conf"
    assert _run(SHOW, _clean_env(tmp_path / "var", SOFTHSM2_CONF=str(chosen))) == str(chosen)
