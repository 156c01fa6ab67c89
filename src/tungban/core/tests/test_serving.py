"""The web processes' command line, built in one place (issue 14 item 1: a request waiting on a
data provider holds a thread, not a whole worker; issue 15 first bullet: granian, keep-alive,
chosen by the figures of ``bench/README.md``, "Issue 15: the HTTP server")."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tungban.core.serving import SERVERS, UnsupportedBind, default_server, gunicorn_command, server_command


def _options(argv: list[str]) -> dict[str, str | bool]:
    """``--flag value`` pairs and bare ``--flag``s of an argv."""
    out: dict[str, str | bool] = {}
    for i, arg in enumerate(argv):
        if arg.startswith("--"):
            nxt = argv[i + 1] if i + 1 < len(argv) else None
            out[arg] = nxt if nxt is not None and not nxt.startswith("--") else True
    return out


def test_granian_is_the_default_server(settings):
    """Issue 15: the production server is granian (WSGI, keep-alive), the winner of the
    comparison; TUNGBAN_WEB_SERVER keeps the runner-up selectable."""
    assert SERVERS[0] == "granian"
    settings.TUNGBAN_WEB_SERVER = ""
    assert default_server() == "granian"
    settings.TUNGBAN_WEB_SERVER = "gunicorn-gthread"
    assert default_server() == "gunicorn-gthread"
    settings.TUNGBAN_WEB_SERVER = "waitress"
    with pytest.raises(ValueError, match="TUNGBAN_WEB_SERVER"):
        default_server()


def test_granian_command_workers_threads_keep_alive_respawn(settings):
    settings.TUNGBAN_WEB_SERVER = "granian"
    settings.TUNGBAN_WEB_WORKERS, settings.TUNGBAN_WEB_THREADS, settings.TUNGBAN_WEB_TIMEOUT = 3, 8, 45
    argv = server_command("127.0.0.1:8000", graceful_timeout=30)
    assert argv[1:3] == ["-m", "granian"]
    assert "tungban.wsgi:application" in argv
    opts = _options(argv)
    assert opts["--interface"] == "wsgi"
    assert (opts["--host"], opts["--port"]) == ("127.0.0.1", "8000")
    assert opts["--workers"] == "3"
    # A request waiting on a provider holds one of 8 threads (the bulkhead of issue 14 item 1) ...
    assert opts["--blocking-threads"] == "8"
    # granian's backpressure bounds connections, idle keep-alive ones included: not set to threads.
    assert "--backpressure" not in opts
    assert opts["--http1-keep-alive"] is True and opts["--http"] == "1"
    assert opts["--http1-header-read-timeout"] == "45000"  # TUNGBAN_WEB_TIMEOUT, in ms
    assert opts["--respawn-failed-workers"] is True  # a killed worker is replaced
    assert opts["--workers-kill-timeout"] == "30"  # graceful stop
    assert opts["--no-access-log"] is True
    # Arguments override the settings; unix sockets; granian cannot take an inherited socket.
    small = _options(server_command("unix:/run/tungban.sock", workers=1, threads=2, extra=("--log-level", "info")))
    assert (small["--uds"], small["--workers"], small["--blocking-threads"]) == ("/run/tungban.sock", "1", "2")
    assert small["--log-level"] == "info"  # extra comes last: it wins
    with pytest.raises(UnsupportedBind):
        server_command("fd://5")
    # The header read timeout stays within granian's bound (60 s) whatever the setting.
    assert _options(server_command("127.0.0.1:8000", timeout=300))["--http1-header-read-timeout"] == "60000"


def test_gunicorn_gthread_keeps_connections_alive(settings):
    settings.TUNGBAN_WEB_WORKERS, settings.TUNGBAN_WEB_THREADS, settings.TUNGBAN_WEB_TIMEOUT = 3, 8, 60
    argv = server_command("127.0.0.1:8000", server="gunicorn-gthread")
    assert argv[1:4] == ["-m", "gunicorn", "tungban.wsgi"]
    joined = " ".join(argv)
    assert "--bind 127.0.0.1:8000 --workers 3 --worker-class gthread --threads 8 --keep-alive 75 --timeout 60" in joined
    sync = " ".join(server_command("fd://5", server="gunicorn-sync", workers=1, extra=("--access-logfile", "-")))
    assert "--workers 1 --worker-class sync --timeout 60 --access-logfile -" in sync and "--threads" not in sync
    # The name before issue 15 still gives gunicorn.
    assert "--worker-class gthread --threads 4" in " ".join(gunicorn_command("fd://5", threads=4))


def test_uvicorn_runs_the_asgi_application_with_a_supervisor(settings):
    opts = _options(server_command("fd://7", server="uvicorn", workers=1, graceful_timeout=10))
    assert opts["--fd"] == "7" and opts["--workers"] == "2"  # one worker would have nobody to restart it
    assert opts["--timeout-keep-alive"] == "75" and opts["--lifespan"] == "off"
    with pytest.raises(ValueError, match="unknown server"):
        server_command("127.0.0.1:8000", server="waitress")


def test_asgi_application_answers(monkeypatch):
    """``tungban.asgi`` (uvicorn, only to compare) serves the same application, and starts
    the process's verifier children and freezes its start-up objects as ``tungban.wsgi`` does."""
    import asyncio
    import importlib
    import sys

    from tungban.core import memory
    from tungban.signing import isolation

    calls = []
    monkeypatch.setattr(isolation, "warm", lambda: calls.append("warm"))
    monkeypatch.setattr(memory, "freeze_startup_objects", lambda: calls.append("freeze"))
    monkeypatch.delitem(sys.modules, "tungban.asgi", raising=False)
    application = importlib.import_module("tungban.asgi").application
    assert calls == ["warm", "freeze"]

    sent, bodies = [], [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if not bodies:
            await asyncio.sleep(3600)  # the client stays connected
        return bodies.pop()

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/healthz",
        "raw_path": b"/healthz",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    asyncio.run(application(scope, receive, send))
    assert sent[0]["status"] == 200


def test_serve_command_prints_what_it_would_run(settings, capsys):
    settings.TUNGBAN_WEB_SERVER, settings.TUNGBAN_WEB_THREADS = "granian", 4
    call_command(
        "serve", "--bind", "unix:/run/tungban.sock", "--workers", "2", "--dry-run", "--", "--log-level", "info"
    )
    out = capsys.readouterr().out
    assert "-m granian --interface wsgi tungban.wsgi:application --uds /run/tungban.sock --workers 2" in out
    assert "--blocking-threads 4 --http 1" in out and "--workers-kill-timeout 30" in out
    assert out.strip().endswith("--log-level info")
    call_command("serve", "--server", "gunicorn-gthread", "--dry-run", "--graceful-timeout", "20")
    assert (
        "--worker-class gthread --threads 4 --keep-alive 75 --timeout 60 --graceful-timeout 20"
        in capsys.readouterr().out
    )


@pytest.mark.own_database  # the server serves /healthz from a SQLite file of its own
@pytest.mark.live_http
@pytest.mark.parametrize("server", ["granian", "gunicorn-gthread"])
def test_the_server_keeps_more_connections_alive_than_it_has_threads(server, tmp_path):
    """Keep-alive (issue 15): the server as ``tungban serve`` runs it answers on more open
    connections than it has threads, several requests on each connection. (Granian's
    ``--backpressure`` set to the threads held idle keep-alive connections and left the
    others unanswered: logins stalled in ``bench/oidc.py``.)"""
    import http.client
    import os
    import secrets
    import sys
    from pathlib import Path

    from tungban.testing.servers import listening_socket, start_server, wait_until_up

    src = Path(__file__).resolve().parents[3]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TUNGBAN_", "DJANGO_", "PYTEST_", "DATABASE_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="tungban.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",  # /healthz touches no database
        TUNGBAN_VAR_DIR=str(tmp_path),
        TUNGBAN_SECRET_KEY=secrets.token_urlsafe(50),
        TUNGBAN_DEBUG="0",
        TUNGBAN_VERIFY_WORKERS="1",
        PYTHONPATH=os.pathsep.join([str(src), *sys.path]),
    )
    sock = listening_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    proc = start_server(sock, env, 1, tmp_path, threads=2, server=server)
    try:
        wait_until_up(f"{url}/healthz", proc, tmp_path / "server.log", timeout=120)
        conns = [http.client.HTTPConnection("127.0.0.1", sock.getsockname()[1], timeout=30) for _ in range(6)]
        for _ in range(2):
            for conn in conns:
                conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
                resp = conn.getresponse()
                assert resp.status == 200, resp.read()
                resp.read()
                assert (resp.getheader("Connection") or "").lower() != "close"
        # Each connection served both requests on its one socket (http.client reopens a closed one).
        assert all(conn.sock is not None for conn in conns)
        for conn in conns:
            conn.close()
    finally:
        sock.close()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except Exception:  # noqa: BLE001 - a server that does not stop is killed
            proc.kill()
            proc.wait()
