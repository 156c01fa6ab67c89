"""Rate limiting for anonymous and guessable endpoints (issue 13 items 2, 8 and 12).

The counting is django-ratelimit's (``django_ratelimit.core.get_usage``: fixed windows per
group and key). Its counters live in the cache alias ``settings.RATELIMIT_USE_CACHE``,
which is Django's ``DatabaseCache`` on the platform's own database (the table is created by
``createcachetable``, run after every ``migrate``: see :mod:`.apps`), so every web worker on
every host counts in the same place — "no state in process memory".

django-ratelimit's system check calls ``DatabaseCache`` not atomic: its ``add`` and ``incr``
are a read then a write. The counters' cache is therefore :class:`CounterCache`, a
``DatabaseCache`` that keeps integers as decimal text and changes them with one atomic
statement each (issue 15): :func:`count` adds an attempt with **one** upsert
(``INSERT … ON CONFLICT (cache_key) DO UPDATE SET value = value + 1 … RETURNING value``,
PostgreSQL 15 §INSERT and SQLite ≥ 3.35), which starts the counter again at 1 when its window
has ended. The window, the key and the rate syntax stay django-ratelimit's
(``_split_rate``, ``_get_window``, ``_make_cache_key``: the same row ``get_usage`` reads), and
so does the decision (``count > limit``; ``time_left = window - now``). Concurrent requests
from several workers cannot lose counts: the row lock of the upsert serialises them. With
another cache backend (none configured), :func:`count` falls back to ``get_usage`` in a
transaction that first takes a lock for the counter (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: ``pg_advisory_xact_lock``).

An endpoint that reads the database on every request anyway can count in its own statement
(issue 15, third round): :func:`hit_statement` gives the counter's upsert as SQL for a
data-modifying ``WITH`` of that statement (PostgreSQL; one round trip instead of two) and
:meth:`Hit.settle` decides as :func:`count` does — same row, same window, same answer.

An endpoint whose limit is against guessing can count only its failed requests
(:func:`limit_failures`; the token endpoint, issue 15 fourth round): every request reads the
counter (:func:`exceeded`, or :func:`embedded_check` inside its own statement) and is
refused once the limit's number of failures is counted; a failure adds one
(:func:`count_failure`).

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

import base64
import functools
import hashlib
import logging
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache
from django.db import DatabaseError, connections, models, router, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.timezone import now as tz_now
from django.utils.translation import gettext_lazy as _
from django_ratelimit import ALL

# _get_ip: the library's own "ip" key; the window, key and rate functions: its own counting.
from django_ratelimit.core import EXPIRATION_FUDGE, _get_ip, _get_window, _make_cache_key, _split_rate, get_usage
from ninja.decorators import decorate_view

from .errors import DomainError

logger = logging.getLogger(__name__)

RateLimited = DomainError.define(
    "rate_limited",
    _("Too many attempts. Please try again in %(minutes)s minutes."),
    status=429,
)

KeyFunction = Callable[[HttpRequest], "str | None"]


def client_ip(request: HttpRequest) -> str:
    """The client's address as django-ratelimit sees it (``REMOTE_ADDR``, or the header
    named by ``RATELIMIT_IP_META_KEY`` behind a trusted proxy; IPv6 by /64)."""
    ip = client_ip_from_environ(request.META)
    return ip if ip is not None else _get_ip(request)


def client_ip_from_environ(environ: dict) -> str | None:
    """:func:`client_ip` from a WSGI environ (``request.META``), before Django builds a request
    (a lane of :mod:`tungban.core.front`), or ``None`` when ``RATELIMIT_IP_META_KEY`` names a
    function (which needs the request). The masked network of an address is computed once
    per address and setting (issue 15: ``ipaddress`` cost tens of µs per request).

    :raises ImproperlyConfigured: as django-ratelimit does for an empty ``REMOTE_ADDR`` or a
        missing ``RATELIMIT_IP_META_KEY`` header."""
    ip_meta = settings.RATELIMIT_IP_META_KEY
    if ip_meta and (callable(ip_meta) or "." in ip_meta):
        return None
    if not ip_meta and "REMOTE_ADDR" not in environ:
        return "unknown"  # some WSGI harnesses leave it out; such clients share one budget
    name = ip_meta or "REMOTE_ADDR"
    ip = environ.get(name)
    if not ip:
        return _get_ip(_MetaOnly(environ))  # django-ratelimit's ImproperlyConfigured
    return _masked(name, ip, getattr(settings, "RATELIMIT_IPV4_MASK", 32), getattr(settings, "RATELIMIT_IPV6_MASK", 64))


@functools.lru_cache(maxsize=4096)
def _masked(name: str, ip: str, _v4_mask, _v6_mask) -> str:
    """django-ratelimit's ``_get_ip`` of the address ``ip`` in the header ``name`` (a pure
    function of them and the masks, which are part of the cache key)."""
    return _get_ip(_MetaOnly({name: ip}))


class _MetaOnly:
    """What django-ratelimit's ``_get_ip`` reads of a request when the address is a header."""

    __slots__ = ("META",)

    def __init__(self, meta: dict):
        self.META = meta


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


def _postgres_counters():
    """``(cache, connection, quoted table)`` of the counters when they are a
    :class:`CounterCache` on PostgreSQL (what a count inside another statement needs), else None."""
    cache = caches[settings.RATELIMIT_USE_CACHE]
    if not isinstance(cache, CounterCache):
        return None
    connection, table = cache._sql()
    return (cache, connection, table) if connection.vendor == "postgresql" else None


def count(group: str, value: str, *, rate: str | None = None) -> None:
    """Count one attempt of ``group`` for ``value`` (an IP address, an HKID number, …): one
    SQL statement with :class:`CounterCache` (:meth:`CounterCache.hit`).

    :param rate: ``"<count>/<period>"``; default :func:`rate_for` ``(group)``.
    :raises RateLimited: (429, ``details = {"retry_after": seconds}``) when this attempt is
        past the limit of the current window; it is counted all the same.
    """
    if not getattr(settings, "RATELIMIT_ENABLE", True):
        return
    rate = rate or rate_for(group)
    cache = caches[settings.RATELIMIT_USE_CACHE]
    if isinstance(cache, CounterCache):
        limit, period = parsed = _parsed_rate(rate)
        window = _get_window(value, period)  # django-ratelimit's fixed window (with its jitter)
        # The same key as from the rate's text: django-ratelimit keys the parsed (count, seconds).
        attempts = cache.hit(_make_cache_key(group, window, parsed, value, ALL), period + EXPIRATION_FUDGE)
        usage = {"should_limit": attempts > limit, "time_left": window - int(time.time())}
    else:
        with transaction.atomic(using=_cache_database()):
            _lock(group, value)
            usage = get_usage(None, group=group, key=lambda _group, _request: value, rate=rate, increment=True)
    if usage and usage["should_limit"]:
        _refuse(usage["time_left"])


def _refuse(time_left) -> None:
    retry_after = max(1, int(time_left))
    raise RateLimited(details={"retry_after": retry_after}, minutes=max(1, -(-retry_after // 60)))


@dataclass(frozen=True, slots=True)
class Hit:
    """One attempt to count inside another SQL statement (:func:`hit_statement`): ``sql`` is
    the counter's upsert ``INSERT … RETURNING value`` (:meth:`CounterCache.hit_sql`) with its
    ``params``, for a ``WITH hit AS (…)`` of the caller's statement; :meth:`settle` takes the
    ``value`` it returned."""

    sql: str
    params: list
    limit: int
    window: int

    def settle(self, value) -> None:
        """Decide as :func:`count` does for the counter's new value (decimal text or int).

        :raises RateLimited: (429, ``details = {"retry_after": seconds}``) past the limit."""
        if int(value) > self.limit:
            _refuse(self.window - int(time.time()))


def hit_statement(group: str, value: str, *, using: str = "default", rate: str | None = None) -> Hit | None:
    """The attempt :func:`count` would count, as SQL to run inside the caller's own statement
    on the database ``using`` (issue 15, third round: one round trip instead of two for an
    endpoint that reads the database anyway), or ``None`` when it cannot be: rate limiting
    off, counters not in a :class:`CounterCache` on ``using``, or a database without
    data-modifying ``WITH`` (SQLite) — then call :func:`count` (a no-op when off). The counter
    is the same row :func:`count` and django-ratelimit's ``get_usage`` use, so workers that
    count one way or the other agree. The caller must run the statement before anything that
    the limit should prevent, and call :meth:`Hit.settle` with the value it returns.

    When the statement is a transaction of its own (autocommit, no atomic block), its commit
    is asynchronous (``synchronous_commit = off`` for that transaction only): the new count is
    visible to every worker at once, as always, and the client does not sleep until the WAL
    is on disk (about 3 ms of waiting and 0.2 ms of client CPU per request on the benchmark
    machine, issue 15). A crash of PostgreSQL may forget the last fraction of a second of
    counts (at most three ``wal_writer_delay``), i.e. give a client a few more attempts in the
    window it was in; a counter is no record. The caller's statement must therefore write
    nothing else that must survive a crash.

    :param rate: ``"<count>/<period>"``; default :func:`rate_for` ``(group)``."""
    if not getattr(settings, "RATELIMIT_ENABLE", True):
        return None
    cache = caches[settings.RATELIMIT_USE_CACHE]
    if not isinstance(cache, CounterCache) or _cache_database() != using or connections[using].vendor != "postgresql":
        return None
    limit, period = parsed = _parsed_rate(rate or rate_for(group))
    window = _get_window(value, period)
    sql, params = cache.hit_sql(_make_cache_key(group, window, parsed, value, ALL), period + EXPIRATION_FUDGE)
    connection = connections[using]
    if connection.get_autocommit() and not connection.in_atomic_block:
        # The statement is its own transaction: its commit need not wait for the WAL flush
        # (PostgreSQL 15 §30.4, asynchronous commit; set_config(..., true) lasts to its end).
        sql += ", set_config('synchronous_commit', 'off', true)"
    return Hit(sql, params, limit, window)


def apply_counters_persistence(using: str = "default") -> None:
    """Make the counters' table (:class:`CounterCache`'s, ``settings.RATELIMIT_USE_CACHE``)
    ``UNLOGGED`` on PostgreSQL when ``settings.TUNGBAN_RATELIMIT_UNLOGGED`` (the default),
    logged otherwise; run after ``createcachetable`` on every ``migrate`` (:mod:`.apps`).
    Nothing when the table already is as asked, on another database alias, or on SQLite.

    Why (issue 15, pgdiet): each counted attempt is an upsert in its own transaction, on every
    token request and online verification. A transaction that wrote only to unlogged tables
    writes no WAL of its own and so commits without waiting for a WAL flush (PostgreSQL's
    ``RecordTransactionCommit``): the counter's commit no longer costs an ``fsync``, about half
    the statement's database CPU and most of its latency (``bench/README.md``). What it gives
    up: after a crash of the database server (not a clean restart) the counters start again
    from zero, and a standby does not copy them — the same as Django's other cache backends,
    for counts of attempts in windows of seconds to a day. ``ALTER TABLE … SET [UN]LOGGED``
    rewrites the table (bounded by ``TUNGBAN_RATELIMIT_MAX_ENTRIES`` rows)."""
    cache = caches[settings.RATELIMIT_USE_CACHE]
    if not isinstance(cache, CounterCache) or router.db_for_write(cache.cache_model_class) != using:
        return
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    wanted = "u" if getattr(settings, "TUNGBAN_RATELIMIT_UNLOGGED", True) else "p"
    with connection.cursor() as cursor:
        cursor.execute("SELECT relpersistence FROM pg_class WHERE oid = to_regclass(%s)", [cache._table])
        row = cursor.fetchone()
        if row is None or row[0] == wanted:
            return
        table = connection.ops.quote_name(cache._table)
        try:
            with transaction.atomic(using=using):
                cursor.execute(f"ALTER TABLE {table} SET {'UNLOGGED' if wanted == 'u' else 'LOGGED'}")
        except DatabaseError as exc:
            # e.g. a publication names the table (logical replication), which PostgreSQL
            # refuses to make unlogged: leave it as it is, migrate goes on.
            logger.warning("rate limiter counters' table %s left as it was: %s", cache._table, exc)


def enabled() -> bool:
    """Whether rate limits are counted at all (``RATELIMIT_ENABLE``; off only in tests and
    benchmarks that measure something else)."""
    return getattr(settings, "RATELIMIT_ENABLE", True)


@dataclass(frozen=True, slots=True)
class EmbeddedCount:
    """One attempt of a group, counted by the caller's own statement (issue 15: token).

    ``sql`` is a data-modifying ``WITH`` member (PostgreSQL) that adds one to the counter of
    :func:`count` — the same row, key, window and expiry, the same upsert as
    :meth:`CounterCache.hit` — once for each row of the caller's ``WITH`` member named
    ``source`` (one row: one attempt; none: nothing counted), and returns ``hits`` (bigint,
    the count with this attempt); ``params`` are its bound values in order. The attempt is past
    the limit when ``hits > limit``; then answer :func:`limited_response` (``retry_after``
    seconds), as :func:`count` would have raised."""

    sql: str
    params: tuple
    limit: int
    retry_after: int
    #: The database alias the counter lives on: embed it only in a statement on that one.
    alias: str
    #: :func:`embedded_check` only: the same ``hits`` as a scalar SQL expression (with the
    #: same ``params``), to read in the ``SELECT`` list of the caller's own ``WITH`` member
    #: instead of a member of its own (issue 15, sixth round: at 16 concurrent statements
    #: the separate member and its join cost the token endpoint's statement ~27 µs more of
    #: PostgreSQL's CPU, the inline read 4–8 µs in all; ``bench/cc_statement.py``).
    hits: str | None = None


def embedded_count(group: str, value: str, source: str) -> EmbeddedCount | None:
    """:class:`EmbeddedCount` of one attempt of ``group`` for ``value`` (e.g. a client
    address, :func:`client_ip`), for each row of the ``WITH`` member ``source`` (an SQL
    identifier the caller wrote, never user input); ``None`` when the counters are not a
    :class:`CounterCache` on PostgreSQL (then count with :func:`count`). Call only when
    :func:`enabled`.

    :raises KeyError: for a group that has no configured rate (a programming error)."""
    found = _postgres_counters()
    if found is None:
        return None
    cache, connection, _table = found
    limit, period = parsed = _parsed_rate(rate_for(group))
    window = _get_window(value, period)
    sql, params = cache.hit_sql(
        _make_cache_key(group, window, parsed, value, ALL),
        period + EXPIRATION_FUDGE,
        source=source,
        returning="CAST(c.value AS bigint) AS hits",
    )
    return EmbeddedCount(
        f"{source}_hits AS ({sql})", tuple(params), limit, max(1, window - int(time.time())), connection.alias
    )


def _counter(group: str, value: str) -> tuple[str, int, int]:
    """``(cache key before the cache's own prefix, limit, window end)`` of ``group``'s
    counter for ``value`` now: django-ratelimit's key, window and rate, as :func:`count`."""
    limit, period = parsed = _parsed_rate(rate_for(group))
    window = _get_window(value, period)
    return _cache_key(group, window, parsed, value), limit, window


@functools.lru_cache(maxsize=1024)
def _cache_key(group: str, window: int, parsed: tuple[int, int], value: str) -> str:
    """django-ratelimit's ``_make_cache_key`` (a pure function of its arguments: a prefix
    and an MD5 of them), computed once per window and value (issue 15, fourth round: the
    token endpoint reads it on every request)."""
    return _make_cache_key(group, window, parsed, value, ALL)


def embedded_check(group: str, value: str, source: str) -> EmbeddedCount | None:
    """:class:`EmbeddedCount` that **reads** ``group``'s counter for ``value`` instead of
    adding to it (:func:`limit_failures`: only failures are counted): ``sql`` is a ``WITH``
    member ``<source>_hits`` of one row whose ``hits`` is the count so far **plus one** (this
    attempt, were it counted), so the caller's ``hits <= limit`` / ``hits > limit`` decide as
    for :func:`embedded_count`: refused once ``limit`` failures are counted in the window;
    ``hits`` is the same value as a scalar expression, for the caller's own ``SELECT`` list.
    A plain index read of the counter's row (no upsert, no row lock, no new tuple version
    per request). ``None`` when the counters are not a :class:`CounterCache` on PostgreSQL
    (then :func:`exceeded`). Call only when :func:`enabled`.

    :raises KeyError: for a group that has no configured rate (a programming error)."""
    found = _postgres_counters()
    if found is None:
        return None
    cache, connection, table = found
    key, limit, window = _counter(group, value)
    now = connection.ops.adapt_datetimefield_value(tz_now().replace(microsecond=0))  # as CounterCache._expiry
    hits = (
        f"(COALESCE((SELECT CAST(h.value AS bigint) FROM {table} h WHERE h.cache_key = %s AND h.expires >= %s), 0) + 1)"
    )
    return EmbeddedCount(
        f"{source}_hits AS (SELECT {hits} AS hits)",
        (cache.make_key(key), now),
        limit,
        max(1, window - int(time.time())),
        connection.alias,
        hits,
    )


def exceeded(group: str, value: str) -> int | None:
    """The ``Retry-After`` seconds when ``group``'s counter for ``value`` has reached its
    limit in the current window (``limit`` failures counted: :func:`limit_failures`), else
    ``None``; reads, never counts. ``None`` when rate limits are off.

    :raises KeyError: for a group that has no configured rate (a programming error)."""
    if not enabled():
        return None
    key, limit, window = _counter(group, value)
    found = caches[settings.RATELIMIT_USE_CACHE].get(key)
    if found is not None and int(found) >= limit:
        return max(1, window - int(time.time()))
    return None


def count_failure(group: str, value: str) -> None:
    """Count one failed attempt of ``group`` for ``value`` (:func:`count`, the same row and
    window); past the limit nothing is raised: the failure's own answer stands, and the next
    request is refused by :func:`exceeded`. A no-op when rate limits are off."""
    try:
        count(group, value)
    except RateLimited:
        pass


def limit_failures(group: str, *, key: str | KeyFunction = "ip", methods: tuple[str, ...] = ("POST",)):
    """Decorate a view so that only its **failed** requests of ``methods`` count against
    ``group``'s rate, and every request is refused (:func:`too_many_response`, 429) once
    ``limit`` failures are counted in the window — the token endpoint's rule (issue 15,
    fourth round; argued in :mod:`tungban.oidc.fasttoken`). A failure is an answer with a
    4xx status other than the 429 itself (RFC 6749 §5.2: ``invalid_client`` 401, every other
    error 400). Reading before and counting after is not one atomic step: concurrent failures
    arriving together at the limit each get their own answer (each is counted, by one atomic
    upsert), so at most the number of concurrent requests can pass the limit once.

    :param key: as for :func:`limit`."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method not in methods or not enabled():
                return view(request, *args, **kwargs)
            value = client_ip(request) if key == "ip" else key(request)
            if not value:
                return view(request, *args, **kwargs)
            retry_after = exceeded(group, value)
            if retry_after is not None:
                exc = RateLimited(details={"retry_after": retry_after}, minutes=max(1, -(-retry_after // 60)))
                return too_many_response(request, exc)
            response = view(request, *args, **kwargs)
            if 400 <= response.status_code < 500 and response.status_code != 429:
                count_failure(group, value)
            return response

        return wrapped

    return decorator


def limited_response(retry_after: int) -> HttpResponse:
    """The JSON 429 of :func:`too_many_response` for a client that does not ask for HTML
    (:data:`RateLimited`'s body in the active language, ``Retry-After``)."""
    exc = RateLimited(details={"retry_after": retry_after}, minutes=max(1, -(-retry_after // 60)))
    response = JsonResponse(exc.as_dict(), status=exc.status)
    response["Retry-After"] = str(retry_after)
    return response


@functools.lru_cache(maxsize=64)
def _parsed_rate(rate: str) -> tuple[int, int]:
    """``(count, seconds)`` of a rate string (django-ratelimit's ``_split_rate``), parsed once
    per distinct string (issue 15: it ran on every counted request)."""
    return _split_rate(rate)


class CounterCache(DatabaseCache):
    """Django's ``DatabaseCache`` (same table, ``createcachetable``) whose integer values are
    stored as decimal text and changed atomically in one statement each, for django-ratelimit's
    counters (``settings.CACHES["ratelimit"]``):

    * :meth:`hit` — add one to a counter, or start it at 1 when absent or expired; returns the
      count (one upsert);
    * ``add``/``set`` of an ``int`` — one upsert (``add`` replaces only an expired row);
    * ``incr``/``decr`` — one ``UPDATE … RETURNING`` (``ValueError`` for a missing or expired key,
      as Django's caches);
    * other values are pickled as by ``DatabaseCache``; ``get`` reads both.

    Writing never culls (no ``SELECT COUNT(*)`` per write): ended windows are deleted by the
    scheduled purge (:func:`tungban.core.retention.purge_ratelimit_cache`).
    """

    def _sql(self):
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        return connection, connection.ops.quote_name(self._table)

    def _expiry(self, connection, timeout) -> tuple:
        timeout = self.get_backend_timeout(timeout)
        tz = UTC if settings.USE_TZ else None
        exp = datetime.max if timeout is None else datetime.fromtimestamp(timeout, tz=tz)
        now = tz_now().replace(microsecond=0)
        adapt = connection.ops.adapt_datetimefield_value
        return adapt(exp.replace(microsecond=0)), adapt(now)

    def hit(self, key: str, timeout: int, version=None) -> int:
        """Add 1 to the counter ``key`` (a new or expired one starts at 1, expiring in
        ``timeout`` seconds) and return its value: one ``INSERT … ON CONFLICT … DO UPDATE …
        RETURNING`` on the cache table (:meth:`hit_sql`), atomic under concurrent workers."""
        connection, _table = self._sql()
        sql, params = self.hit_sql(key, timeout, version)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return int(cursor.fetchone()[0])

    def hit_sql(
        self, key: str, timeout: int, version=None, *, source: str | None = None, returning: str = "value"
    ) -> tuple[str, list]:
        """``(sql, params)`` of :meth:`hit`'s upsert, ``… RETURNING value`` (one row, the new
        count as decimal text), to run alone or as a data-modifying ``WITH`` of another
        statement (PostgreSQL 15 §7.8.4). The key is :func:`count`'s (django-ratelimit's: a
        prefix and a hex digest), so it is not checked character by character for memcached's
        rules (Django's ``validate_key``, which only warns) on every request (issue 15).

        :param source: the name of another ``WITH`` member of the caller's statement (an SQL
            identifier the caller wrote, never user input): one attempt is counted for each of
            its rows (none: nothing counted), instead of exactly one.
        :param returning: what the upsert returns (the table is aliased ``c``)."""
        key = self.make_key(key, version)
        connection, table = self._sql()
        exp, now = self._expiry(connection, timeout)
        rows = f"SELECT %s, '1', %s FROM {source}" if source else "VALUES (%s, '1', %s)"
        return (
            f"INSERT INTO {table} AS c (cache_key, value, expires) {rows} "
            "ON CONFLICT (cache_key) DO UPDATE SET "
            "value = CASE WHEN c.expires < %s THEN '1' ELSE CAST(CAST(c.value AS bigint) + 1 AS text) END, "
            "expires = CASE WHEN c.expires < %s THEN excluded.expires ELSE c.expires END "
            f"RETURNING {returning}",
            [key, exp, now, now],
        )

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        if not _is_int(value):
            return super().add(key, value, timeout, version)
        key = self.make_and_validate_key(key, version=version)
        connection, table = self._sql()
        exp, now = self._expiry(connection, timeout)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} AS c (cache_key, value, expires) VALUES (%s, %s, %s) "
                "ON CONFLICT (cache_key) DO UPDATE SET value = excluded.value, expires = excluded.expires "
                "WHERE c.expires < %s RETURNING cache_key",
                [key, str(value), exp, now],
            )
            return cursor.fetchone() is not None

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        if not _is_int(value):
            super().set(key, value, timeout, version)
            return
        key = self.make_and_validate_key(key, version=version)
        connection, table = self._sql()
        exp, _now = self._expiry(connection, timeout)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (cache_key, value, expires) VALUES (%s, %s, %s) "
                "ON CONFLICT (cache_key) DO UPDATE SET value = excluded.value, expires = excluded.expires",
                [key, str(value), exp],
            )

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        connection, table = self._sql()
        _exp, now = self._expiry(connection, None)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET value = CAST(CAST(value AS bigint) + %s AS text) "
                "WHERE cache_key = %s AND expires >= %s RETURNING value",
                [int(delta), key, now],
            )
            row = cursor.fetchone()
        if row is None:
            raise ValueError(f"Key '{key}' not found.")
        return int(row[0])

    def get_many(self, keys, version=None):
        """As ``DatabaseCache.get_many``, reading integers stored as decimal text too."""
        if not keys:
            return {}
        key_map = {self.make_and_validate_key(key, version=version): key for key in keys}
        connection = connections[router.db_for_read(self.cache_model_class)]
        table = connection.ops.quote_name(self._table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT cache_key, value, expires FROM {table} WHERE cache_key IN ({', '.join(['%s'] * len(key_map))})",
                list(key_map),
            )
            rows = cursor.fetchall()
        result, expired = {}, []
        expression = models.Expression(output_field=models.DateTimeField())
        converters = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        now = tz_now()
        for key, value, expires in rows:
            for converter in converters:
                expires = converter(expires, expression, connection)
            if expires < now:
                expired.append(key)
                continue
            value = connection.ops.process_clob(value)
            if value.lstrip("-").isdigit():
                result[key_map[key]] = int(value)
            else:
                result[key_map[key]] = pickle.loads(base64.b64decode(value.encode(), validate=True))
        self._base_delete_many(expired)
        return result


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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


def limit(
    group: str,
    *,
    key: str | KeyFunction = "ip",
    methods: tuple[str, ...] = ("POST",),
    error: type[DomainError] | None = None,
):
    """Decorate a view to count each request of ``methods`` against ``group``'s rate.

    :param key: ``"ip"`` (the client address, :func:`client_ip`) or a callable
        ``key(request) -> str | None`` (``None``: this request is not counted). A key that must
        be read for the limit to hold (a per-HKID limit) raises a :class:`DomainError` instead
        when it cannot be read: the request is refused with that error's JSON body and status
        and the view is not called (fail closed; issue 16 security review H1).
    :param error: the documented error to answer with instead of :data:`RateLimited` (a
        status-429 ``DomainError`` whose message may use ``%(minutes)s``), for a limit whose
        meaning the client must be told, e.g. ``activation_code_locked`` (issue 16 item 2).
    :returns: the decorator; past the limit the view is not called and the client gets
        :func:`too_many_response` (429).
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method in methods:
                try:
                    value = client_ip(request) if key == "ip" else key(request)
                except DomainError as exc:  # the key cannot be read: refuse (fail closed), never skip
                    return JsonResponse(exc.as_dict(), status=exc.status)
                if value:
                    try:
                        count(group, value)
                    except RateLimited as exc:
                        if error is not None:
                            retry_after = exc.details["retry_after"]
                            exc = error(details=exc.details, minutes=max(1, -(-retry_after // 60)))
                        return too_many_response(request, exc)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def limit_operation(
    group: str,
    *,
    key: str | KeyFunction = "ip",
    methods: tuple[str, ...] = ("POST",),
    error: type[DomainError] | None = None,
):
    """:func:`limit` for a django-ninja operation: put it under ``@router.post(...)``; the
    operation must declare ``429`` in its ``response`` (``error_responses(..., 429)``)."""
    return decorate_view(limit(group, key=key, methods=methods, error=error))
