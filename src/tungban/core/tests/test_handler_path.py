"""Django's handler in front of a hot view (issue 15, lane): what every hot request pays
between the WSGI call and the view. Counted, not timed: work a hot request need not do is
not done, and what it must do still happens."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.cache import close_caches
from django.core.cache.backends.base import BaseCache
from django.core.signals import request_finished
from django.http import HttpResponse
from django.http.request import HttpHeaders
from django.utils import translation

from tungban.core import hotpaths, signals_trim
from tungban.testing import wsgi

PATH = "/oidc/jwks"


@pytest.fixture
def route():
    saved = dict(hotpaths._routes)
    yield lambda view, **kw: hotpaths.register(PATH, view, **kw)
    hotpaths._routes.clear()
    hotpaths._routes.update(saved)


@pytest.fixture
def wsgi_get(db):
    """``_wsgi_get`` inside the test's transaction (:func:`tungban.testing.wsgi.connection_kept`)."""
    with wsgi.connection_kept():
        yield _wsgi_get


def _wsgi_get(environ_extra=None):
    """``(status line, body)`` of one GET through ``tungban.wsgi.application``, as a WSGI
    server calls it (the response closed: ``request_finished``)."""
    from tungban.wsgi import application

    status, _headers, body = wsgi.call(application, wsgi.environ(PATH, host="localhost", **(environ_extra or {})))
    return status, body


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
