"""Rate limiting for anonymous and guessable endpoints (issue 13 items 2, 8 and 12).

The counting is django-ratelimit's (``django_ratelimit.core.get_usage``: fixed windows per
group and key). Its counters live in the cache alias ``settings.RATELIMIT_USE_CACHE``,
which is Django's ``DatabaseCache`` on the platform's own database (the table is created by
``createcachetable``, run after every ``migrate``: see :mod:`.apps`), so every web worker on
every host counts in the same place — "no state in process memory".

django-ratelimit's system check calls ``DatabaseCache`` not atomic: its ``incr`` is a read
then a write. :func:`count` therefore runs the increment in one transaction that first takes
a lock for the counter (SQLite: the ``BEGIN IMMEDIATE`` write lock the settings configure;
PostgreSQL: ``pg_advisory_xact_lock`` on the counter's key), so concurrent requests from
several workers cannot lose counts.

Use it with one line on a Django view (:func:`limit`) or under the route decorator of a
django-ninja operation (:func:`limit_operation`, through ninja's ``decorate_view``, which
keeps the operation's signature for ninja)::

    @ratelimit.limit("verify")                                    # per client IP
    @ratelimit.limit_operation("proofing_hkid", key=claimed_hkid) # per value taken from the request

Rates are strings ``"<count>/<period>"`` (``"10/h"``, ``"30/15m"``; django-ratelimit's
syntax) in ``settings.TUNGBAN_RATELIMITS[group]``, each overridable with the environment
variable ``TUNGBAN_RATELIMIT_<GROUP>``. A request past the limit gets **429** (RFC 6585 §4)
with ``Retry-After: <seconds>`` (RFC 9110 §10.2.3) and, unless it asks for HTML, the API's
error body ``{"error": "rate_limited", "message", "field": null, "details": {"retry_after"}}``;
a browser (``Accept: text/html``) gets a page in its language saying when to try again.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.db import connections, router, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django_ratelimit.core import _get_ip, get_usage  # _get_ip: the library's own "ip" key
from ninja.decorators import decorate_view

from .errors import DomainError

RateLimited = DomainError.define(
    "rate_limited",
    _("Too many attempts. Please try again in %(minutes)s minutes."),
    status=429,
)

KeyFunction = Callable[[HttpRequest], "str | None"]


def client_ip(request: HttpRequest) -> str:
    """The client's address as django-ratelimit sees it (``REMOTE_ADDR``, or the header
    named by ``RATELIMIT_IP_META_KEY`` behind a trusted proxy; IPv6 by /64)."""
    if "REMOTE_ADDR" not in request.META and not settings.RATELIMIT_IP_META_KEY:
        return "unknown"  # some WSGI harnesses leave it out; such clients share one budget
    return _get_ip(request)


def rate_for(group: str) -> str:
    """The configured rate of ``group`` (``settings.TUNGBAN_RATELIMITS``).

    :raises KeyError: for a group that has no configured rate (a programming error)."""
    return settings.TUNGBAN_RATELIMITS[group]


def _lock(group: str, value: str) -> None:
    connection = connections[_cache_database()]
    if connection.vendor == "postgresql":
        digest = hashlib.sha256(f"{group}\0{value}".encode()).digest()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)])


def _cache_database() -> str:
    """The database alias the counters' cache writes to (``DatabaseCache``), else ``default``."""
    cache = caches[settings.RATELIMIT_USE_CACHE]
    model = getattr(cache, "cache_model_class", None)
    return router.db_for_write(model) if model is not None else "default"


def count(group: str, value: str, *, rate: str | None = None) -> None:
    """Count one attempt of ``group`` for ``value`` (an IP address, an HKID number, …).

    :param rate: ``"<count>/<period>"``; default :func:`rate_for` ``(group)``.
    :raises RateLimited: (429, ``details = {"retry_after": seconds}``) when this attempt is
        past the limit of the current window; it is counted all the same.
    """
    if not getattr(settings, "RATELIMIT_ENABLE", True):
        return
    rate = rate or rate_for(group)
    with transaction.atomic(using=_cache_database()):
        _lock(group, value)
        usage = get_usage(None, group=group, key=lambda _group, _request: value, rate=rate, increment=True)
    if usage and usage["should_limit"]:
        retry_after = max(1, int(usage["time_left"]))
        raise RateLimited(details={"retry_after": retry_after}, minutes=max(1, -(-retry_after // 60)))


def too_many_response(request: HttpRequest, exc: DomainError) -> HttpResponse:
    """The 429 answer for ``exc`` (:data:`RateLimited`): a page for browsers, else the API's
    JSON error body; both with ``Retry-After``."""
    if "text/html" in request.headers.get("Accept", ""):
        response = render(
            request,
            "core/rate_limited.html",
            {"title": _("Too many attempts"), "message": exc.message},
            status=exc.status,
        )
    else:
        response = JsonResponse(exc.as_dict(), status=exc.status)
    response["Retry-After"] = str((exc.details or {}).get("retry_after", 60))
    return response


def limit(group: str, *, key: str | KeyFunction = "ip", methods: tuple[str, ...] = ("POST",)):
    """Decorate a view to count each request of ``methods`` against ``group``'s rate.

    :param key: ``"ip"`` (the client address, :func:`client_ip`) or a callable
        ``key(request) -> str | None`` (``None``: this request is not counted, e.g. no HKID given).
    :returns: the decorator; past the limit the view is not called and the client gets
        :func:`too_many_response` (429).
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method in methods:
                value = client_ip(request) if key == "ip" else key(request)
                if value:
                    try:
                        count(group, value)
                    except RateLimited as exc:
                        return too_many_response(request, exc)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def limit_operation(group: str, *, key: str | KeyFunction = "ip", methods: tuple[str, ...] = ("POST",)):
    """:func:`limit` for a django-ninja operation: put it under ``@router.post(...)``; the
    operation must declare ``429`` in its ``response`` (``error_responses(..., 429)``)."""
    return decorate_view(limit(group, key=key, methods=methods))
