"""A request body the application leaves unread must not cost the client its keep-alive
connection (issue 15, the demo providers' benchmark finding, fixed once for every endpoint in
:func:`tungban.core.front._drained`).

granian (hyper) closes a keep-alive connection when the answer is complete and the request's
body has not been read to its end, without ``Connection: close``: a client that sent the body
after its headers (urllib3 does) then fails its next request on the connection ("Remote end
closed connection without response"). Django leaves the body unread on 404, 405, 401, a CSRF
403, a 413 refused from ``Content-Length`` … The front reads what is left (bounded) before the
answer starts, or says ``Connection: close`` (RFC 9112 §9.6)."""

from __future__ import annotations

import http.client
import io
import os
import secrets
import select
from pathlib import Path

import pytest

from tungban.core import front
from tungban.testing import wsgi
from tungban.testing.servers import listening_socket, start_server, wait_until_up

SRC = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.own_database  # the server below runs on a SQLite file of its own
#: TUNGBAN_MAX_REQUEST_BYTES of the server: a body over it is refused (413) before it is read.
MAX_BYTES = 200_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The platform under granian as ``tungban serve`` runs it (one worker, two threads) on an
    empty SQLite database: the requests below touch no table. Yields the port."""
    tmp = tmp_path_factory.mktemp("keepalive")
    sock = listening_socket()
    port = sock.getsockname()[1]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TUNGBAN_", "DJANGO_", "PYTEST_", "SOFTHSM2_")) and k != "DATABASE_URL"
    }
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp}/db.sqlite3",
            "DJANGO_SETTINGS_MODULE": "tungban.settings",
            "TUNGBAN_VAR_DIR": str(tmp),
            "TUNGBAN_SECRET_KEY": secrets.token_urlsafe(50),
            "TUNGBAN_ISSUER": f"http://127.0.0.1:{port}",
            "TUNGBAN_DEBUG": "0",
            "TUNGBAN_KEYSTORE": "software",
            "TUNGBAN_LOG_LEVEL": "ERROR",
            "TUNGBAN_MAX_REQUEST_BYTES": str(MAX_BYTES),
            "PYTHONPATH": os.pathsep.join([str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])]),
        }
    )
    proc = start_server(sock, env, 1, tmp, threads=2, server="granian", graceful_timeout=5)
    try:
        wait_until_up(
            f"http://127.0.0.1:{port}/.well-known/openid-configuration", proc, tmp / "server.log", timeout=120
        )
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except Exception:  # noqa: BLE001
            proc.kill()
        sock.close()


def _discovery(conn: http.client.HTTPConnection) -> int:
    conn.request("GET", "/.well-known/openid-configuration")
    answer = conn.getresponse()
    answer.read()
    return answer.status


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/nowhere", 404),
        ("POST", "/.well-known/openid-configuration", 403),  # CSRF, before the view (a front path)
        ("GET", "/.well-known/openid-configuration", 200),  # a GET with a body: Django reads none
        ("POST", "/oidc/userinfo", 401),  # no token: refused before the body is read
        ("POST", "/api/v1/exchange/requests", 401),  # a lane reads the body, then declines
    ],
)
def test_an_unread_body_keeps_the_connection(server, method, path, status):
    """The body is sent after the head, once the answer is there (as urllib3 sends a body
    after its headers, late): the next request on the same connection is answered."""
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    try:
        assert _discovery(conn) == 200
        sock = conn.sock
        for _ in range(2):
            body = b"a=" + b"x" * 2000
            conn.putrequest(method, path)
            conn.putheader("Content-Type", "application/x-www-form-urlencoded")
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            # Unfixed, the answer comes before the body (it is not read); fixed, the server
            # waits for the body: wait up to 1 s for the answer, then send the body.
            select.select([sock], [], [], 1)
            conn.send(body)
            answer = conn.getresponse()
            answer.read()
            assert answer.status == status
            assert not answer.will_close  # no "Connection: close" either
            assert _discovery(conn) == 200
            assert conn.sock is sock  # the same connection, not a new one
    finally:
        conn.close()


@pytest.mark.parametrize(("path", "status"), [("/nowhere", 404), ("/oidc/token", 413)])
def test_a_large_unread_body_closes_the_connection_saying_so(server, path, status):
    """Over :data:`front.DRAIN_LIMIT` left unread (here: a 404, and a 413 from
    ``Content-Length`` over the server's limit, refused without reading a byte), the answer
    says ``Connection: close``: the client opens a new connection for its next request."""
    body = b"a=" + b"x" * (MAX_BYTES + 1000 if status == 413 else 150_000)  # DRAIN_LIMIT: 64 KiB
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        answer = conn.getresponse()
        answer.read()
        assert answer.status == status
        assert answer.getheader("Connection") == "close"
        assert _discovery(conn) == 200  # on a new connection
    finally:
        conn.close()


# --- the drain at the WSGI level ---------------------------------------------------------------


class _Input(io.BytesIO):
    """A server's ``wsgi.input`` that records the largest read asked for."""

    largest = 0

    def read(self, size=-1, /):
        self.largest = max(self.largest, size if size is not None else -1)
        return super().read(size)


def _app(reads: int):
    """A WSGI application that reads ``reads`` bytes of the body and answers 404."""

    def app(environ, start_response):
        environ["wsgi.input"].read(reads)
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"no"]

    return app


@pytest.mark.parametrize("reads", [0, 10, 2000])
def test_the_front_reads_what_the_application_left_of_the_body(reads):
    body = b"x" * 2000
    env = wsgi.environ("/nowhere", "POST", body=body)
    stream = env["wsgi.input"] = _Input(body)
    status, headers, answer = wsgi.call(front.Front(_app(reads)), env)
    assert (status, answer) == ("404 Not Found", b"no")
    assert stream.tell() == len(body)  # read to the end, never beyond CONTENT_LENGTH
    assert "Connection" not in dict(headers)


def test_the_front_never_reads_beyond_content_length():
    env = wsgi.environ("/nowhere", "POST", body=b"x" * 100)
    env["wsgi.input"] = stream = _Input(b"x" * 100 + b"GET / HTTP/1.1\r\n")  # the next request
    wsgi.call(front.Front(_app(0)), env)
    assert stream.tell() == 100


def test_the_front_closes_rather_than_read_a_large_body():
    body = b"x" * (front.DRAIN_LIMIT + 1)
    env = wsgi.environ("/nowhere", "POST", body=body)
    env["wsgi.input"] = stream = _Input(body)
    _status, headers, _answer = wsgi.call(front.Front(_app(0)), env)
    assert stream.tell() == 0
    assert dict(headers)["Connection"] == "close"
    # A chunked body (Django reads none) is not read either: the connection is closed.
    env = wsgi.environ("/nowhere", "POST", HTTP_TRANSFER_ENCODING="chunked")
    env["wsgi.input"] = stream = _Input(b"5\r\nhello\r\n0\r\n\r\n")
    _status, headers, _answer = wsgi.call(front.Front(_app(0)), env)
    assert stream.tell() == 0 and dict(headers)["Connection"] == "close"


@pytest.mark.parametrize("extra", [{}, {"CONTENT_LENGTH": ""}, {"CONTENT_LENGTH": "0"}])
def test_a_request_without_a_body_is_passed_untouched(extra):
    env = wsgi.environ("/nowhere", **extra)
    stream = env["wsgi.input"]
    seen = {}

    def app(environ, start_response):
        seen["input"] = environ["wsgi.input"]
        start_response("404 Not Found", [])
        return []

    wsgi.call(front.Front(app), env)
    assert seen["input"] is stream
