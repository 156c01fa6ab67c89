"""Lanes of the front (:func:`tungban.core.front.register_lane`, issue 15): a handler answered
at the WSGI level must give, header by header, what the full stack gives for the same answer on
a hot path; everything it declines or the front finds unusual goes to Django with the body
intact; an exception gets the hot path's JSON answer; Django's request signals are sent.

Each case registers a test lane and a hot-path view on one path, and calls the front and the
full stack (Django's ``WSGIHandler``) with the same WSGI environ."""

from __future__ import annotations

import json

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import OperationalError
from django.http import JsonResponse
from django.test import override_settings

from tungban.core import front, hotpaths
from tungban.testing import wsgi

PATH = "/oidc/userinfo"  # a path the URL conf knows; the test's hot view answers it first


@pytest.fixture(autouse=True)
def keep_connection():
    with wsgi.connection_kept():
        yield


@pytest.fixture
def lane():
    """``lane(handler, hot_view, **options)``: registers both on :data:`PATH` for the test."""
    saved_lanes, saved_routes = dict(front._lanes), dict(hotpaths._routes)

    def register(handler, hot_view, **options):
        front.register_lane(PATH, handler, **options)
        hotpaths.register(PATH, hot_view, methods=("GET", "POST"))

    yield register
    front._lanes.clear()
    front._lanes.update(saved_lanes)
    hotpaths._routes.clear()
    hotpaths._routes.update(saved_routes)


def environ(body=b"", method="POST", **kw):
    kw.setdefault("CONTENT_LENGTH", str(len(body)))
    return wsgi.environ(PATH, method, body=body, content_type="application/x-www-form-urlencoded", **kw)


call, Spy = wsgi.call, wsgi.Spy


def both(body=b"", **kw):
    """(the front's answer, the full stack's, whether the front answered by itself)."""
    spy = Spy()
    mine = call(front.Front(spy), environ(body, **kw))
    by_itself = spy.calls == 0
    return mine, call(spy.django, environ(body, **kw)), by_itself


PAYLOAD = {"sub": "abc", "name": "陳大文"}
NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


def replying(call_):
    return front.Reply(200, json.dumps(PAYLOAD).encode(), NO_STORE)


def hot_same(request):
    response = JsonResponse(PAYLOAD, json_dumps_params={"ensure_ascii": True})
    for name, value in NO_STORE:
        response[name] = value
    response["Content-Length"] = str(len(response.content))
    return response


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_lane_gives_the_full_stacks_answer(lane, scheme):
    lane(replying, hot_same)
    mine, full, by_itself = both(b"a=1", scheme=scheme)
    assert by_itself
    assert mine[0] == full[0] == "200 OK"
    assert json.loads(mine[2]) == json.loads(full[2]) == PAYLOAD
    assert sorted(mine[1]) == sorted((n, v) if n != "Content-Length" else (n, str(len(mine[2]))) for n, v in full[1])
    names = dict(mine[1])
    assert names["Cache-Control"] == "no-store" and names["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in names and names["Content-Length"] == str(len(mine[2]))


def echo(request):
    return JsonResponse({"body": request.body.decode(), "django": True})


def test_a_declined_request_reaches_django_with_its_body(lane):
    seen = []

    def declines(call_):
        seen.append(call_.body)
        return

    lane(declines, echo)
    status, _headers, body = call(front.Front(WSGIHandler()), environ(b"grant_type=x&y=%20z"))
    assert seen == [b"grant_type=x&y=%20z"]
    assert status == "200 OK" and json.loads(body) == {"body": "grant_type=x&y=%20z", "django": True}


@pytest.mark.parametrize(
    "case",
    [
        {"method": "GET"},
        {"host": "evil.example"},
        {"host": None},
        {"HTTP_TRANSFER_ENCODING": "chunked"},
        {"CONTENT_LENGTH": "12x"},
        {"CONTENT_LENGTH": "²"},
        {"big": True},
    ],
    ids=["method", "bad-host", "no-host", "chunked", "bad-length", "superscript-length", "too-big"],
)
def test_unusual_requests_go_to_django_unread_by_the_lane(lane, case):
    called = []
    lane(lambda call_: called.append(1) or replying(call_), echo, max_body=64)
    case = dict(case)
    body = b"x" * 65 if case.pop("big", False) else b"a=1"
    env = environ(body, **case)
    spy = Spy()
    status, _headers, _body = call(front.Front(spy), env)
    assert called == [] and spy.calls == 1
    if case.get("host") == "evil.example":
        assert status.startswith("400")


@override_settings(SECURE_SSL_REDIRECT=True)
def test_plain_http_is_left_to_djangos_redirect(lane):
    lane(replying, hot_same)
    status, headers, _body = call(front.Front(WSGIHandler()), environ(b""))
    assert status.startswith("301") and dict(headers)["Location"].startswith("https://")


def test_an_exception_gets_the_hot_paths_json_answer(lane):
    def fails(call_):
        raise OperationalError("server closed the connection unexpectedly")

    def hot_fails(request):
        raise OperationalError("server closed the connection unexpectedly")

    lane(fails, hot_fails)
    mine, full, by_itself = both(b"", HTTP_ACCEPT_LANGUAGE="zh-HK")
    assert by_itself
    assert mine[0] == full[0] and mine[0].startswith("503")
    assert json.loads(mine[2]) == json.loads(full[2])
    assert json.loads(mine[2])["error"] == "service_unavailable"
    assert dict(mine[1]).get("Retry-After") == dict(full[1]).get("Retry-After")


def test_djangos_request_signals_are_sent_around_the_handler(lane):
    events = []

    def started(**kw):
        events.append("started")

    def finished(**kw):
        events.append("finished")

    request_started.connect(started)
    request_finished.connect(finished)
    try:
        lane(lambda call_: events.append("handler") or replying(call_), hot_same)
        call(front.Front(WSGIHandler()), environ(b""))
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
    assert events == ["started", "handler", "finished"]


def test_register_lane_refuses_a_relative_path():
    with pytest.raises(ValueError):
        front.register_lane("oidc/token", replying)
