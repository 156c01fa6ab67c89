"""The front (:mod:`tungban.core.front`, issue 15 acceptance 1): discovery and the JWKS answered
from bytes before Django must give, header by header, the answer the full stack gives
(:class:`django.core.handlers.wsgi.WSGIHandler` with every middleware), and leave everything
unusual to Django. Each case calls both with the same WSGI environ; a spy tells whether the
front answered by itself.

On PostgreSQL the JWKS's version comes from the key-ring listener, which does not run under the
test runner: here it is stood in for by the version read from the database (the listener itself
is tested in ``tungban/keys/tests/test_listener.py``)."""

from __future__ import annotations

import asyncio
import io
import sys

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings

from tungban.core import front
from tungban.keys import listener
from tungban.keys import services as keys

pytestmark = pytest.mark.django_db

DISCOVERY = "/.well-known/openid-configuration"
JWKS = "/oidc/jwks"


@pytest.fixture(autouse=True)
def keep_connection(monkeypatch):
    """Django's handler closes the connection after each request, which would end the test's
    transaction; Django's test client suspends that the same way. The JWKS's version as the
    listener would push it (the committed one, read here within the test's transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    monkeypatch.setattr(listener, "ensure_started", lambda: None)
    monkeypatch.setattr(listener, "generation", lambda name: keys.version(name))
    keys.active_key()
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


class Spy:
    """Django's application, counting the requests the front passed to it."""

    def __init__(self):
        self.django = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.django(environ, start_response)


def environ(path, method="GET", host="testserver", scheme="http", query="", **extra):
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "443" if scheme == "https" else "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        **({"HTTP_HOST": host} if host is not None else {}),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        **extra,
    }


def call(app, env) -> tuple[str, list, bytes]:
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, list(headers)

    result = app(dict(env, **{"wsgi.input": io.BytesIO(b"")}), start_response)
    try:
        body = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return seen["status"], seen["headers"], body


def both(env) -> tuple[tuple, tuple, bool]:
    """(the front's answer, the full stack's answer, whether the front answered by itself).
    Made after any settings override, as a worker makes them at start."""
    spy = Spy()
    app = front.Front(spy)
    call(spy.django, env)  # the full stack first: it builds the JWKS of this version
    before = spy.calls
    answer = call(app, env)
    return answer, call(spy.django, env), spy.calls == before


def etag_of(path) -> str:
    return dict(call(WSGIHandler(), environ(path))[1])["ETag"]


@pytest.mark.parametrize("path", [DISCOVERY, JWKS])
@pytest.mark.parametrize(
    "case",
    [
        {},
        {"query": "x=1&y"},
        {"HTTP_IF_MODIFIED_SINCE": "Wed, 21 Oct 2015 07:28:00 GMT"},
        {"HTTP_IF_NONE_MATCH": '"other"'},
        {"HTTP_IF_NONE_MATCH": "not an etag"},
        {"HTTP_IF_NONE_MATCH": "*"},
        {"HTTP_IF_NONE_MATCH": "ETAG"},
        {"HTTP_IF_NONE_MATCH": 'W/"other", W/ETAG'},
        {"host": "localhost:8000"},
        {"scheme": "https"},
    ],
    ids=["plain", "query", "ims", "inm-other", "inm-garbage", "inm-star", "inm", "inm-weak", "host-port", "https"],
)
def test_the_front_gives_the_full_stacks_answer(path, case):
    case = dict(case)
    if "ETAG" in case.get("HTTP_IF_NONE_MATCH", ""):
        case["HTTP_IF_NONE_MATCH"] = case["HTTP_IF_NONE_MATCH"].replace("ETAG", etag_of(path))
    mine, full, by_itself = both(environ(path, **case))
    assert by_itself
    assert mine == full
    names = [name for name, _value in mine[1]]
    for header in ("ETag", "Access-Control-Allow-Origin", "Content-Security-Policy", "X-Content-Type-Options"):
        assert header in names
    if mine[0].startswith("304"):
        assert mine[2] == b""
    else:
        assert mine[0] == "200 OK" and "Content-Type" in names and mine[2]


@pytest.mark.parametrize("path", [DISCOVERY, JWKS])
def test_head_has_the_headers_of_get_and_no_body(path):
    mine, full, by_itself = both(environ(path, method="HEAD"))
    assert by_itself
    assert mine[:2] == full[:2]
    get = call(WSGIHandler(), environ(path))
    assert mine[1] == get[1] and mine[2] == b""  # Content-Length is the GET body's


@pytest.mark.parametrize("path", [DISCOVERY, JWKS])
def test_https_headers_follow_the_settings(path):
    hsts = {"SECURE_HSTS_SECONDS": 3600, "SECURE_HSTS_INCLUDE_SUBDOMAINS": True, "SECURE_HSTS_PRELOAD": True}
    proxy = ("HTTP_X_FORWARDED_PROTO", "https")
    with override_settings(**hsts, SECURE_PROXY_SSL_HEADER=proxy, SECURE_CROSS_ORIGIN_OPENER_POLICY="same-origin"):
        for env in (
            environ(path, scheme="https"),
            environ(path, HTTP_X_FORWARDED_PROTO="https, http"),
            environ(path, scheme="https", HTTP_X_FORWARDED_PROTO="http"),
        ):
            mine, full, by_itself = both(env)
            assert by_itself and mine == full
        assert dict(mine[1]).get("Strict-Transport-Security") is None  # the proxy said http
        assert dict(both(environ(path, scheme="https"))[0][1])["Strict-Transport-Security"].startswith("max-age=3600")


@pytest.mark.parametrize("path", [DISCOVERY, JWKS])
@pytest.mark.parametrize(
    "case,status",
    [
        ({"host": "evil.example"}, "400"),
        ({"host": "bad host"}, "400"),
        ({"method": "POST"}, "403"),  # CSRF, before the view's 405
        ({"method": "OPTIONS"}, "405"),
        ({"HTTP_IF_MATCH": '"other"'}, "412"),
        ({"HTTP_IF_NONE_MATCH": '"x"', "HTTP_IF_UNMODIFIED_SINCE": "Wed, 21 Oct 2015 07:28:00 GMT"}, "412"),
        ({"CONTENT_LENGTH": str(10**9)}, "413"),
        ({"CONTENT_LENGTH": "2"}, "200"),
    ],
    ids=["bad-host", "invalid-host", "post", "options", "if-match", "if-unmodified-since", "huge-body", "body"],
)
def test_anything_unusual_goes_to_django(path, case, status):
    mine, full, by_itself = both(environ(path, **case))
    assert not by_itself
    if status == "413":  # a body too large to read: the front says it closes (core/front.py _drained)
        assert mine[1][-1] == ("Connection", "close")
        mine = (mine[0], mine[1][:-1], mine[2])
    assert mine[0].split()[0] == status and mine[:2] == full[:2]


def test_no_host_header_and_forwarded_hosts_go_to_django():
    assert not both(environ(DISCOVERY, host=None))[2]
    with override_settings(USE_X_FORWARDED_HOST=True):
        mine, full, by_itself = both(environ(DISCOVERY, HTTP_X_FORWARDED_HOST="evil.example"))
        assert not by_itself and mine[0].startswith("400")


def test_a_plain_request_under_ssl_redirect_gets_djangos_redirect():
    with override_settings(SECURE_SSL_REDIRECT=True):
        mine, full, by_itself = both(environ(DISCOVERY))
        assert not by_itself and mine[0].startswith("301") and mine[:2] == full[:2]
        assert both(environ(DISCOVERY, scheme="https"))[2]


def test_a_jwks_this_process_has_not_built_goes_to_django_which_builds_it():
    old = call(WSGIHandler(), environ(JWKS))
    keys.rotate()
    spy = Spy()
    app = front.Front(spy)
    first = call(app, environ(JWKS))
    assert spy.calls == 1 and first[2] != old[2]  # built by Django for the new version
    assert call(app, environ(JWKS)) == first and spy.calls == 1  # then answered by the front


def test_other_paths_and_a_missing_version_go_to_django(monkeypatch):
    spy = Spy()
    app = front.Front(spy)
    call(app, environ("/oidc/jwks/"))
    call(app, environ("/"))
    assert spy.calls == 2
    monkeypatch.setattr(listener, "generation", lambda name: None)  # listener not connected
    call(app, environ(JWKS))
    assert spy.calls == 3


def test_documents_are_registered_from_the_apps():
    assert front.registered(DISCOVERY) and front.registered(JWKS)
    from tungban.wsgi import application

    assert isinstance(application, front.Front)


def test_the_asgi_front_answers_as_the_wsgi_one():
    wsgi = call(front.Front(Spy()), environ(DISCOVERY, HTTP_ACCEPT="application/json"))
    sent = []

    async def django(scope, receive, send):
        raise AssertionError("the front should have answered")

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": DISCOVERY,
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"accept", b"application/json")],
    }
    asyncio.run(front.AsgiFront(django)(scope, None, send))
    assert sent[0]["status"] == int(wsgi[0].split()[0])
    assert [(n.decode(), v.decode()) for n, v in sent[0]["headers"]] == wsgi[1]
    assert sent[1]["body"] == wsgi[2]


def test_the_asgi_front_leaves_a_request_with_a_body_to_django():
    """A GET that announces a body goes to Django (its size limit answers it), under ASGI as
    under WSGI: ``content-length`` is ``CONTENT_LENGTH``, not ``HTTP_CONTENT_LENGTH`` (review
    of issue 15, F4)."""
    reached = []

    async def django(scope, receive, send):
        reached.append(scope["path"])

    async def send(message):
        raise AssertionError("the front should have left it to Django")

    scope = {
        "type": "http",
        "method": "GET",
        "path": DISCOVERY,
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-length", b"5")],
    }
    asyncio.run(front.AsgiFront(django)(scope, None, send))
    assert reached == [DISCOVERY]
