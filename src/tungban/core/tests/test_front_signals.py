"""Django's request signals around a lane (:func:`tungban.core.front.register_lane`, issue 15
acceptance 1 and 4): with exactly Django's own receivers connected (``reset_queries``,
``close_old_connections``; ``close_old_connections``, ``reset_urlconf``) the front does their
housekeeping itself, without :meth:`Signal.send`; with anything else connected (or one of
them missing) it sends the signals as Django does.

No database: the stock receivers would close a test transaction's connection (what
:func:`tungban.testing.wsgi.connection_kept` prevents in the other lane tests); the
connection's housekeeping is watched on the connection object itself."""

from __future__ import annotations

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connections
from django.urls import get_urlconf, set_urlconf

from tungban.core import front
from tungban.testing import wsgi

PATH = "/oidc/userinfo"
REPLY = front.Reply(200, b'{"ok":true}', (("Cache-Control", "no-store"),))


@pytest.fixture
def lane():
    saved = dict(front._lanes)
    seen = []
    front.register_lane(PATH, lambda call_: seen.append(call_.body) or REPLY)
    yield seen
    front._lanes.clear()
    front._lanes.update(saved)


@pytest.fixture
def sends(monkeypatch):
    """``{"started": n, "finished": n}``: calls of each signal's ``send``."""
    counts = {"started": 0, "finished": 0}
    for name, signal in (("started", request_started), ("finished", request_finished)):
        original = signal.send

        def counting(sender, _name=name, _original=original, **named):
            counts[_name] += 1
            return _original(sender, **named)

        monkeypatch.setattr(signal, "send", counting)
    return counts


@pytest.fixture
def housekeeping(monkeypatch):
    """Calls of the default connection's ``close_if_unusable_or_obsolete`` (the connection is
    made to look open, so Django's receivers act on it)."""
    calls = []
    conn = connections["default"]  # initialised for this thread: connections.all(initialized_only=True) has it
    monkeypatch.setattr(conn, "close_if_unusable_or_obsolete", lambda: calls.append("checked"))
    return calls


def post(app):
    return wsgi.call(app, wsgi.environ(PATH, "POST", body=b"a=1", content_type="application/x-www-form-urlencoded"))


def no_django(env, start_response):
    raise AssertionError("the lane answers")


def test_stock_receivers_get_the_cheaper_dispatch_with_the_same_housekeeping(lane, sends, housekeeping):
    conn = connections["default"]
    conn.queries_log.append({"sql": "SELECT 1", "time": "0.000"})
    set_urlconf("tungban.urls")
    status, headers, body = post(front.Front(no_django))
    assert status == "200 OK" and body == b'{"ok":true}' and lane == [b"a=1"]
    assert sends == {"started": 0, "finished": 0}  # the cheaper path: no Signal.send
    assert housekeeping == ["checked", "checked"]  # close_old_connections before and after
    assert len(conn.queries_log) == 0  # reset_queries
    assert get_urlconf() is None  # reset_urlconf


@pytest.mark.parametrize("signal", [request_started, request_finished], ids=["started", "finished"])
def test_another_receiver_gets_the_full_send(lane, sends, housekeeping, signal):
    got = []

    def receiver(sender, **named):
        got.append((sender, named.get("environ") is not None))

    signal.connect(receiver)
    try:
        status, _headers, _body = post(front.Front(no_django))
    finally:
        signal.disconnect(receiver)
    assert status == "200 OK"
    assert sends == {"started": 1, "finished": 1}
    assert got == [(front.Front, signal is request_started)]
    assert housekeeping == ["checked", "checked"]  # Django's receivers still ran


def test_a_receiver_for_one_sender_gets_the_full_send(lane, sends, housekeeping):
    got = []

    def receiver(sender, **named):
        got.append(sender)

    request_started.connect(receiver, sender=front.Front)
    try:
        post(front.Front(no_django))
    finally:
        request_started.disconnect(receiver, sender=front.Front)
    assert sends == {"started": 1, "finished": 1} and got == [front.Front]


def test_a_missing_stock_receiver_gets_the_full_send(lane, sends, housekeeping):
    with wsgi.connection_kept():  # close_old_connections disconnected from both signals
        post(front.Front(no_django))
    assert sends == {"started": 1, "finished": 1}
    assert housekeeping == []
    assert close_old_connections  # reconnected by connection_kept


def test_the_stock_receivers_are_back_after_the_other_one_leaves(lane, sends, housekeeping):
    def receiver(sender, **named):
        pass

    app = front.Front(no_django)
    request_finished.connect(receiver)
    post(app)
    request_finished.disconnect(receiver)
    post(app)
    assert sends == {"started": 1, "finished": 1}
    assert housekeeping == ["checked"] * 4


def test_a_handlers_exception_still_gets_the_finishing_housekeeping(sends, housekeeping):
    saved = dict(front._lanes)

    def fails(call_):
        raise RuntimeError("boom")

    front.register_lane(PATH, fails)
    try:
        status, _headers, _body = post(front.Front(no_django))
    finally:
        front._lanes.clear()
        front._lanes.update(saved)
    assert status.startswith("500") or status.startswith("503")
    assert sends == {"started": 0, "finished": 0}
    assert housekeeping == ["checked", "checked"]


def test_the_url_conf_check_follows_set_urlconf_and_falls_back_to_the_reset(monkeypatch):
    assert front._urlconf_may_be_set() is False
    set_urlconf("tungban.urls")
    try:
        assert front._urlconf_may_be_set() is True
    finally:
        set_urlconf(None)
    assert front._urlconf_may_be_set() is False
    monkeypatch.setattr(front, "_urlconfs", object())  # another asgiref's Local: reset_urlconf runs
    assert front._urlconf_may_be_set() is True


def test_djangos_close_caches_is_one_of_the_known_receivers(lane, sends, housekeeping, monkeypatch):
    from django.core.cache import caches, close_caches

    closed = []
    monkeypatch.setattr(caches["default"], "close", lambda **kw: closed.append("closed"))
    request_finished.connect(close_caches)  # what signals_trim keeps for a cache that needs closing
    try:
        status, _headers, _body = post(front.Front(no_django))
    finally:
        request_finished.disconnect(close_caches)
    assert status == "200 OK"
    assert sends == {"started": 0, "finished": 0}
    assert closed == ["closed"] and housekeeping == ["checked", "checked"]
