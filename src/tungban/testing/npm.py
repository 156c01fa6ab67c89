"""Independent JavaScript implementations for the tests: pinned npm packages installed once.

The tests that check tungban against a library the platform does not use (the OpenWallet
Foundation SD-JWT verifier, openid-client) keep a ``package.json`` and ``package-lock.json``
in a folder beside them, and a script. :func:`pinned_script` installs the locked packages
with ``npm ci`` into pytest's cache (keyed by the two files and the Node.js version, so a
change to either reinstalls; ``node_modules`` is never committed) and returns the script's
path there, where Node.js resolves the packages.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

FILES = ("package.json", "package-lock.json")
NPM_TIMEOUT = 180  # seconds for ``npm ci``
MIN_NODE = 20


def node_version(node: str) -> tuple[int, ...]:
    """``(major, minor, patch)`` of the Node.js at ``node``."""
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    return tuple(int(x) for x in re.findall(r"\d+", out)[:3])


def pinned_script(
    request, tmp_path_factory, source: Path, script: str, *, name: str, installed: str, purpose: str
) -> Path:
    """The path of ``source/script`` copied into a directory where ``source``'s locked
    packages are installed.

    :param source: the folder holding ``package.json``, ``package-lock.json`` and ``script``.
    :param name: the cache directory's name (``independent-<name>-<hash>``).
    :param installed: a path under ``node_modules`` that exists once the install worked.
    :param purpose: what needs it, for the failure message.
    Fails the test (not an error) when Node.js >= 20 or npm is missing, or ``npm ci`` fails.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.fail(f"{purpose} needs Node.js >= {MIN_NODE} and npm on PATH (node: {node}, npm: {npm}).", pytrace=False)
    version = node_version(node)
    if not version or version[0] < MIN_NODE:
        shown = ".".join(map(str, version)) or "unknown"
        pytest.fail(f"{purpose} needs Node.js >= {MIN_NODE}; {node} is {shown}.", pytrace=False)
    key = hashlib.sha256(b"".join((source / f).read_bytes() for f in FILES) + repr(version).encode()).hexdigest()[:16]
    cache = getattr(request.config, "cache", None)
    where = Path(
        cache.mkdir(f"independent-{name}-{key}")
        if cache is not None
        else tmp_path_factory.mktemp(f"independent-{name}")
    )
    marker = where / ".installed"
    with open(where / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel sessions share the cache directory
        if not marker.exists() or not (where / "node_modules" / installed).is_dir():
            shutil.rmtree(where / "node_modules", ignore_errors=True)
            for f in FILES:
                shutil.copyfile(source / f, where / f)
            cmd = [npm, "ci", "--prefix", str(where), "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"]
            try:
                proc = subprocess.run(cmd, cwd=where, capture_output=True, text=True, timeout=NPM_TIMEOUT)
            except subprocess.TimeoutExpired:
                pytest.fail(
                    f"`{' '.join(cmd)}` took over {NPM_TIMEOUT} s (is the npm registry reachable?)", pytrace=False
                )
            if proc.returncode != 0:
                errors = "\n".join(
                    line
                    for line in proc.stderr.splitlines()
                    if not line.startswith("npm error   ") and "Usage" not in line
                )
                pytest.fail(
                    f"`{' '.join(cmd)}` failed ({proc.returncode}); is the npm registry reachable?\n"
                    f"{proc.stdout[-2000:]}\n{errors[:4000]}",
                    pytrace=False,
                )
            marker.write_text(json.dumps({"node": version, "key": key}))
    # The script itself is copied every session (node resolves packages next to it).
    target = where / script
    shutil.copyfile(source / script, target)
    return target
