"""Django's handler in front of a hot view (issue 15, lane): what every hot request pays
between the WSGI call and the view. Counted, not timed: work a hot request need not do is
not done, and what it must do still happens."""

from __future__ import annotations

import io
import sys
from unittest import mock

import pytest
from django.core.cache import close_caches
from django.core.cache.backends.base import BaseCache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpResponse
from django.http.request import HttpHeaders
from django.utils import translation

from tungban.core import hotpaths, signals_trim

PATH = "/oidc/jwks"


@pytest.fixture
def route():
    saved = dict(hotpaths._routes)
    yield lambda view, **kw: hotpaths.register(PATH, view, **kw)
    hotpaths._routes.clear()
    hotpaths._routes.update(saved)


@pytest.fixture
def wsgi_get(db):
    """``_wsgi_get`` inside the test's transaction: the connection checks of the request
    signals are disconnected meanwhile, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield _wsgi_get
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _wsgi_get(environ_extra=None):
    """One GET through ``tungban.wsgi.application``, as a WSGI server calls it (the response
    closed: ``request_finished``)."""
    from tungban.wsgi import application

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": PATH,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        **(environ_extra or {}),
    }
    status = []
    result = application(environ, lambda s, h, e=None: status.append(s))
    try:
        body = b"".join(result)
    finally:
        result.close()
    return status[0], body


def test_hot_request_builds_no_header_mapping(route, wsgi_get):
    """The API language reads ``Accept-Language`` from ``META``: ``request.headers`` (a
    mapping of every ``HTTP_*`` key, built per request) is not needed."""
    seen = {}

    def view(request):
        seen["language"] = translation.get_language()
        return HttpResponse(b"{}", content_type="application/json")

    route(view)
    with mock.patch.object(HttpHeaders, "__init__", autospec=True, side_effect=HttpHeaders.__init__) as built:
        status, _body = wsgi_get({"HTTP_ACCEPT_LANGUAGE": "zh-HK,en;q=0.5"})
    assert status.startswith("200")
    assert seen["language"] == "zh-hant"  # still the caller's language
    assert built.call_count == 0


def test_hot_request_language_defaults_to_english(route, wsgi_get):
    seen = {}

    def view(request):
        seen["language"] = translation.get_language()
        return HttpResponse(b"{}", content_type="application/json")

    route(view)
    assert wsgi_get()[0].startswith("200")
    assert seen["language"] == "en"


def _connected(signal, receiver) -> bool:
    return any(r is receiver for r in signal._live_receivers(None)[0])


def test_close_caches_not_run_per_request_when_every_cache_close_is_a_no_op():
    """``settings.CACHES`` (a dummy cache, the rate limiter's DatabaseCache) has no backend
    whose ``close`` does anything, so Django's ``close_caches`` receiver of
    ``request_finished`` is disconnected at start-up."""
    assert signals_trim.caches_need_closing() is False
    assert not _connected(request_finished, close_caches)


def test_a_cache_that_closes_keeps_close_caches():
    """A backend that overrides ``close`` (memcached, redis) keeps the receiver."""
    memcached = {"default": {"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache"}}
    assert signals_trim.caches_need_closing(memcached) is True
    custom = {"default": {"BACKEND": "tungban.core.tests.test_handler_path.ClosingCache"}}
    assert signals_trim.caches_need_closing(custom) is True
    unknown = {"default": {"BACKEND": "no.such.Backend"}}
    assert signals_trim.caches_need_closing(unknown) is True  # when in doubt, keep Django's receiver
    plain = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert signals_trim.caches_need_closing(plain) is False


class ClosingCache(BaseCache):
    def close(self, **kwargs):  # pragma: no cover - only its presence matters
        pass
