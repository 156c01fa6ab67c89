"""Acceptance 1: the README's demo command serves the platform and the sample service."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[4]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, seconds: float = 60) -> requests.Response:
    deadline = time.time() + seconds
    while True:
        try:
            return requests.get(url, timeout=10)
        except (requests.ConnectionError, requests.Timeout):
            if time.time() > deadline:
                raise
            time.sleep(0.3)


def test_demo_serves_platform_and_sample_service(tmp_path):
    port, service_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(TUNGBAN_VAR_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    env.pop("TUNGBAN_ISSUER", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tungban.cli",
            "demo",
            "--port",
            str(port),
            "--service-port",
            str(service_port),
            "--workers",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        home = _wait(f"http://127.0.0.1:{port}/")
        assert home.status_code == 200 and "tungban" in home.text
        meta = _wait(f"http://127.0.0.1:{port}/.well-known/openid-configuration").json()
        assert meta["issuer"] == f"http://localhost:{port}"
        service = _wait(f"http://127.0.0.1:{service_port}/")
        assert service.status_code == 200
        login = requests.get(f"http://127.0.0.1:{service_port}/login", allow_redirects=False)
        assert login.status_code == 302 and login.headers["Location"].startswith(
            f"http://localhost:{port}/oidc/authorize?"
        )
        page = requests.get(login.headers["Location"])
        assert page.status_code == 200 and "/app/approve/" in page.text  # the registered redirect URI matched
        assert (tmp_path / "demo-credentials.json").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # never leave servers behind
            raise
    assert f"http://localhost:{port}/staff/" in out and f"http://127.0.0.1:{service_port}/" in out
    assert "activation code" in out
    assert "Starting worker" in out  # background tasks run next to the web server
