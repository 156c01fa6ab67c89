"""The front: precomputed public documents answered at the WSGI (and ASGI) level, before Django
builds a request (issue 15 acceptance 1: discovery and the JWKS at or above the certified
peer's throughput).

Even through :mod:`tungban.core.hotpaths`, a discovery request cost about 75 µs of CPU in
Django (the request object, the ``request_started`` signal and its connection checks, three
middlewares, the response object) for a body that changes only when the deployment does.
:class:`Front` wraps Django's application (:mod:`tungban.wsgi`, :mod:`tungban.asgi`) and answers
a request for a path registered with :func:`register` from bytes built once, when nothing about
the request is unusual; everything else goes to Django unchanged.

What it answers (``GET`` or ``HEAD`` on exactly a registered path, any query string, which
the documents' views ignore):

* the ``Host`` (``HTTP_HOST``) must pass ``ALLOWED_HOSTS`` as :meth:`HttpRequest.get_host`
  checks it (the result is kept per host name); a bad or missing host, or an
  ``X-Forwarded-Host`` when ``USE_X_FORWARDED_HOST`` is on, goes to Django (its 400);
* the scheme is Django's (``SECURE_PROXY_SSL_HEADER``, else ``wsgi.url_scheme``); with
  ``SECURE_SSL_REDIRECT`` a plain-HTTP request goes to Django (its redirect);
* ``If-None-Match`` naming the document's ETag (weak comparison, or ``*``) gives ``304``
  (RFC 9110 §13.1.2) as :func:`django.utils.cache.get_conditional_response` does;
  ``If-Match`` and ``If-Unmodified-Since`` go to Django (412 rules); ``If-Modified-Since``
  changes nothing (the documents have no ``Last-Modified``);
* ``HEAD`` gets the headers of ``GET`` (``Content-Length`` included) and no body;
* a request that announces a body (``Content-Length`` other than 0, ``Transfer-Encoding``) goes
  to Django (its size limit's 413);
* the provider returns ``None`` (e.g. the JWKS of a key-ring version this process has not
  built yet) or raises: Django answers (and builds, and reports errors as it always did).

The status, headers and body are not written here: each answer (document × ``200``/``304`` ×
HTTP/HTTPS) is made once by the very code the full stack runs —
:func:`tungban.core.documents.respond`, the hot-path headers of
:class:`tungban.core.hotpaths.HotPathMiddleware` (CSP, ``Permissions-Policy``,
``X-Frame-Options``) and :meth:`SecurityMiddleware.process_response` (``nosniff``,
``Referrer-Policy``, ``Cross-Origin-Opener-Policy``, HSTS on HTTPS) — and kept by the
document's strong ETag (a hash of its bytes) and content type: immutable, so every worker
that keeps it agrees. ``tungban/core/tests/test_front.py`` compares the front's answers with
the full stack's header by header.

What it skips, and why that is safe for these documents: the ``request_started`` and
``request_finished`` signals (the connection checks of a request that uses no Django
connection; a provider that reads the database cleans up after itself,
:func:`tungban.keys.services.served_jwks`), the body size limit (``GET``/``HEAD`` bodies are
not read), the API language (the documents have none), ``request.received_at`` (nothing is
recorded).

Apps register their documents from ``AppConfig.ready()`` (``core`` imports no app): a provider
is a callable with no argument returning an object with ``body``, ``etag`` and
``content_type`` (:class:`tungban.core.documents.Served`) or ``None``; it is called on every
request and must be cheap and must not block.

**Lanes** (:func:`register_lane`) carry the same idea to the machine endpoints that read and
write the database on every request (userinfo, the token endpoint, e-licence verification):
even on a hot path (:mod:`tungban.core.hotpaths`) Django's request object, signals, three
middlewares and the response object cost about 100 µs of CPU per request, as much as the
database round trip itself. A lane's handler gets the WSGI environ and the body
(:class:`Call`) and answers the common valid case with a :class:`Reply` (status, body bytes,
extra headers); for anything else it returns ``None`` *before it writes anything*, and Django
answers as if the lane did not exist (the body is handed back intact). The front checks first
what the full stack would: the method, the ``Host`` (as above), the SSL redirect, the body's
size (a body over the lane's ``max_body``, a ``Transfer-Encoding`` or an unreadable
``Content-Length`` goes to Django: its 413 and its parsing). It sends Django's
``request_started`` and ``request_finished`` around the handler (the database connection's
age and health checks, exactly as for a request Django answers; when exactly Django's own
receivers are connected it does their work directly, without ``Signal.send``'s dispatch:
``_Housekeeping``), and adds the headers the full
stack adds to a hot-path answer (as for documents, made once per status, content type, extra
headers and scheme by the full stack's own code) and ``Content-Length``. An exception raised by
a handler gets the JSON answer of :func:`tungban.core.faults.api_exception_response` (503 for a
database fault), in the API's language, as on a hot path. A handler that wrote must therefore
answer: its write is one statement in autocommit or a ``transaction.atomic()`` block, and
nothing that can fail comes after the commit but building the reply. Lanes are WSGI only:
under ASGI, Django (and its hot paths) answer.

**Unread bodies** (:func:`_drained`): for every request that announces a body and reaches
Django, what Django left unread of it (up to ``CONTENT_LENGTH``, at most
:data:`DRAIN_LIMIT` bytes) is read and dropped before the answer starts; more than that, the
answer says ``Connection: close``. Without it granian closes the keep-alive connection after
such an answer (a 404, 405, 401, CSRF 403, 413 …), sometimes without saying so, and the
client's next request on it fails. Under ASGI Django reads the whole body before the view
(``ASGIHandler.read_body``): nothing is left unread there.
"""

from __future__ import annotations

import io
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core import signals
from django.core.cache import close_caches
from django.core.handlers.base import reset_urlconf
from django.core.handlers.wsgi import WSGIRequest
from django.db import close_old_connections, connections, reset_queries
from django.dispatch.dispatcher import NONE_ID
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port, validate_host
from django.middleware.security import SecurityMiddleware
from django.urls.base import _urlconfs
from django.utils import translation
from django.utils.http import parse_etags

from . import documents, faults
from .killpoints import killpoint
from .middleware import api_language, limit_for

Provider = Callable[[], "documents.Served | None"]


@dataclass(frozen=True, slots=True)
class _Route:
    provider: Provider
    cache_control: str | None
    cors: bool


_routes: dict[str, _Route] = {}


def register(path: str, provider: Provider, *, cache_control: str | None = None, cors: bool = True) -> None:
    """Answer ``GET``/``HEAD`` on exactly ``path`` (``PATH_INFO``) with ``provider()``, as
    :func:`tungban.core.documents.respond` would with ``cache_control`` and ``cors`` (pass what
    the path's Django view passes: the comparison test holds them to it). Registering a path
    again replaces it.

    :raises ValueError: for a path that does not start with ``/``."""
    if not path.startswith("/"):
        raise ValueError(f"a front path starts with '/': {path!r}")
    _routes[path] = _Route(provider, cache_control, cors)


@dataclass(frozen=True, slots=True)
class Call:
    """One request on a lane: ``method`` (``"POST"``), ``environ`` (the WSGI environ; headers
    as ``HTTP_*``), ``body`` (the whole body, bytes, ``b""`` for none) and ``secure`` (whether
    Django would call the request secure: ``SECURE_PROXY_SSL_HEADER``, else the scheme)."""

    method: str
    environ: dict
    body: bytes
    secure: bool


@dataclass(frozen=True, slots=True)
class Reply:
    """A lane's answer: HTTP status ``code`` (200), ``body`` (bytes), extra ``headers``
    (``(("Cache-Control", "no-store"),)``: what the endpoint's own view sets) and
    ``content_type``. The front adds the full stack's headers and ``Content-Length``."""

    code: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"


LaneHandler = Callable[[Call], "Reply | None"]


@dataclass(frozen=True, slots=True)
class _Lane:
    handler: LaneHandler
    methods: frozenset[str]
    max_body: int


_lanes: dict[str, _Lane] = {}


def register_lane(
    path: str, handler: LaneHandler, *, methods: Iterable[str] = ("POST",), max_body: int = 16384
) -> None:
    """Answer ``methods`` on exactly ``path`` (``PATH_INFO``) with ``handler(call)`` before
    Django (module docstring, "Lanes"); a body over ``max_body`` bytes (or over the path's
    :func:`tungban.core.middleware.limit_for`, whichever is smaller) goes to Django.
    Registering a path again replaces its lane. Reads no setting (a settings-only process
    may register).

    :raises ValueError: for a path that does not start with ``/``, or ``max_body`` < 0."""
    if not path.startswith("/"):
        raise ValueError(f"a lane's path starts with '/': {path!r}")
    if max_body < 0:
        raise ValueError("max_body must be 0 or more")
    _lanes[path] = _Lane(handler, frozenset(m.upper() for m in methods), max_body)


def lane_registered(path: str) -> bool:
    """Whether ``path`` has a lane."""
    return path in _lanes


def registered(path: str) -> bool:
    """Whether ``path`` is answered by the front."""
    return path in _routes


@dataclass(frozen=True, slots=True)
class Answer:
    """One precomputed answer: ``status`` (``"200 OK"``), ``code`` (200), ``headers`` (list of
    ``(name, value)`` strings, in the full stack's order) and ``body`` (bytes; ``b""`` for 304)."""

    status: str
    code: int
    headers: list[tuple[str, str]]
    body: bytes


def _urlconf_may_be_set() -> bool:
    """Whether :func:`django.urls.set_urlconf` may have left a URL conf for this thread, read
    from asgiref's ``Local`` storage (a context variable holding the thread id and a dict):
    ``reset_urlconf``'s own test, ``hasattr``, raises and catches an ``AttributeError`` with a
    formatted message when nothing is set (about 2 µs, every lane request). ``True`` when the
    storage does not look as expected (another asgiref version): ``reset_urlconf`` then runs."""
    try:
        storage = _urlconfs._storage._data.get(None)
    except AttributeError:
        return True
    if storage is None:
        return False
    try:
        return storage.thread_id != threading.get_ident() or "value" in storage.data
    except (AttributeError, TypeError):
        return True


class _Housekeeping:
    """Django's request signals around a lane, sent cheaply (issue 15 acceptance 1 and 4).

    When the receivers of ``request_started`` are exactly Django's ``reset_queries`` and
    ``close_old_connections``, and those of ``request_finished`` exactly
    ``close_old_connections`` and ``reset_urlconf`` (each for any sender, synchronous: what
    :mod:`django.db` and :mod:`django.core.handlers.base` connect), with or without
    ``close_caches`` (:mod:`tungban.core.signals_trim` removes it unless a cache needs
    closing), :meth:`started` and :meth:`finished` do what those receivers do — each
    initialised connection's ``queries_log`` cleared and
    :meth:`close_if_unusable_or_obsolete` (maximum age, health check, errors, autocommit),
    the URL conf reset, the caches closed — without :meth:`Signal.send`'s receiver resolution
    (with ``reset_urlconf``'s exception, about half of the front's CPU per lane request: 15 →
    7 µs in process). With anything else connected (another receiver, one for a particular
    sender, an asynchronous one, one of Django's missing) both signals are sent as Django
    sends them.
    The receiver lists are compared with the last ones checked on every request, so a
    receiver connected later is seen at the next request."""

    __slots__ = ("_checked",)

    _STARTED = (reset_queries, close_old_connections)
    _FINISHED = (close_old_connections, reset_urlconf)

    def __init__(self):
        # (copies of the receiver lists last checked, their verdict): one attribute, replaced
        # whole, so that threads never pair one check's lists with another's verdict
        self._checked: tuple[list, list, str] | None = None

    def stock(self) -> str:
        """``"stock"`` when exactly Django's receivers are connected (class docstring),
        ``"caches"`` when Django's ``close_caches`` is too, ``""`` for anything else."""
        started, finished = signals.request_started.receivers, signals.request_finished.receivers
        checked = self._checked
        if checked is not None and checked[0] == started and checked[1] == finished:
            return checked[2]  # the entries are the same objects: compared by identity
        if self._only(started, self._STARTED) and self._only(finished, self._FINISHED):
            stock = "stock"
        elif self._only(started, self._STARTED) and self._only(finished, (*self._FINISHED, close_caches)):
            stock = "caches"  # a cache backend with a close() of its own (signals_trim keeps it)
        else:
            stock = ""
        self._checked = (list(started), list(finished), stock)
        return stock

    @staticmethod
    def _only(receivers: list, expected: tuple) -> bool:
        """Whether ``receivers`` (``Signal.receivers`` entries) are exactly the functions
        ``expected``, in any order (they touch different things), each once, weakly or strongly
        referenced, for any sender, synchronous."""
        found = []
        for (_key, sender_key), ref, sender_ref, is_async in receivers:
            if sender_key != NONE_ID or sender_ref is not None or is_async:
                return False
            found.append(ref() if isinstance(ref, weakref.ReferenceType) else ref)
        return len(found) == len(expected) and all(any(f is e for f in found) for e in expected)

    @staticmethod
    def started() -> None:
        """``reset_queries`` and ``close_old_connections`` (one loop: each touches only its
        own connection)."""
        for conn in connections.all(initialized_only=True):
            conn.queries_log.clear()
            conn.close_if_unusable_or_obsolete()

    @staticmethod
    def finished(stock: str = "stock") -> None:
        """``close_old_connections`` and ``reset_urlconf`` (and ``close_caches`` when ``stock``
        is ``"caches"``)."""
        for conn in connections.all(initialized_only=True):
            conn.close_if_unusable_or_obsolete()
        if _urlconf_may_be_set():
            reset_urlconf(None)
        if stock == "caches":
            close_caches()


class Front:
    """WSGI application: answers registered documents (module docstring), passes everything
    else to ``application``. Settings are read when it is made, as Django's middlewares read
    theirs."""

    def __init__(self, application):
        from .hotpaths import HotPathMiddleware  # its headers, built as it builds them

        self.application = application
        self._security = SecurityMiddleware(lambda request: None)
        self._hot_headers = HotPathMiddleware(lambda request: None).headers
        self._answers: dict[tuple, Answer] = {}
        self._lane_heads: dict[tuple, tuple[str, list]] = {}
        self._lane_limits: dict[str, tuple[_Lane, int]] = {}
        self._housekeeping = _Housekeeping()
        self._hosts: dict[str, bool] = {}
        self._allowed = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not self._allowed:
            self._allowed = [".localhost", "127.0.0.1", "[::1]"]
        self._forwarded_host = settings.USE_X_FORWARDED_HOST
        self._proxy_header = settings.SECURE_PROXY_SSL_HEADER
        self._ssl_redirect = settings.SECURE_SSL_REDIRECT

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO")
        route = _routes.get(path)
        if route is not None:
            answer = self.answer(route, environ)
            if answer is not None:
                start_response(answer.status, answer.headers)
                if environ["REQUEST_METHOD"] == "HEAD":
                    return []
                return [answer.body]
        else:
            lane = _lanes.get(path)
            if lane is not None:
                answer = self._lane(lane, environ)
                if answer is not None:
                    start_response(answer[0], answer[2])
                    return [answer[3]]
        length = environ.get("CONTENT_LENGTH")
        if (length and length != "0") or "HTTP_TRANSFER_ENCODING" in environ:  # a body: read to its end
            return _drained(self.application, environ, start_response)
        return self.application(environ, start_response)

    def lane(self, lane: _Lane, environ: dict) -> Answer | None:
        """The lane's answer to ``environ`` (module docstring, "Lanes"), or ``None`` for Django
        to answer (``environ["wsgi.input"]`` then holds the body read, unread)."""
        answer = self._lane(lane, environ)
        return None if answer is None else Answer(*answer)

    def _lane(self, lane: _Lane, environ: dict) -> tuple[str, int, list, bytes] | None:
        """:meth:`lane` as a plain tuple ``(status, code, headers, body)``: what
        :meth:`__call__` takes apart (a frozen dataclass costs about 1 µs to make)."""
        method = environ.get("REQUEST_METHOD")
        if method not in lane.methods or "HTTP_TRANSFER_ENCODING" in environ:
            return None
        if not self._host_allowed(environ):
            return None
        secure = self._secure(environ)
        if self._ssl_redirect and not secure:
            return None
        path = environ["PATH_INFO"]
        limits = self._lane_limits.get(path)
        if limits is None or limits[0] is not lane:  # the settings are read by the worker, not at registration
            limits = self._lane_limits[path] = (lane, min(lane.max_body, limit_for(path)))
        length = environ.get("CONTENT_LENGTH") or "0"
        if not (length.isascii() and length.isdigit()) or int(length) > limits[1]:
            return None
        length = int(length)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # Django reads it again if the handler declines
        housekeeping = self._housekeeping
        stock = housekeeping.stock()
        if stock:
            housekeeping.started()
        else:
            signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            try:
                reply = lane.handler(Call(method, environ, body, secure))
            except Exception as exc:  # noqa: BLE001 - the answers a hot path gives
                environ["wsgi.input"] = io.BytesIO(body)
                request = WSGIRequest(environ)
                with translation.override(api_language(request)):
                    response = faults.api_exception_response(request, exc)
                status, headers, content = self._finish(response, secure)
                return status, response.status_code, headers, content
        finally:
            if stock:
                housekeeping.finished(stock)
            else:
                signals.request_finished.send(sender=self.__class__)
        if reply is None:
            environ["wsgi.input"] = io.BytesIO(body)
            return None
        killpoint("response.after_view")  # as ReceivedAtMiddleware: fault-injection tests only (issue 14)
        key = (reply.code, reply.content_type, reply.headers, secure)
        head = self._lane_heads.get(key)
        if head is None:
            response = HttpResponse(status=reply.code, content_type=reply.content_type)
            for name, value in reply.headers:
                response[name] = value
            status, headers, _body = self._finish(response, secure)
            head = (status, [(n, v) for n, v in headers if n != "Content-Length"])
            if len(self._lane_heads) >= 256:
                self._lane_heads.clear()
            self._lane_heads[key] = head
        return head[0], reply.code, [*head[1], ("Content-Length", str(len(reply.body)))], reply.body

    def _finish(self, response: HttpResponse, secure: bool) -> tuple[str, list, bytes]:
        """``response`` with the headers the full stack adds to a hot-path answer (the
        hot-path middleware's, then ``SecurityMiddleware``'s), as ``(status, headers, body)``."""
        request = HttpRequest()
        request.method = "POST"
        request.is_secure = lambda: secure
        response = self._stack_headers(request, response)
        if "Content-Length" not in response:
            response["Content-Length"] = str(len(response.content))
        return f"{response.status_code} {response.reason_phrase}", list(response.items()), response.content

    def _stack_headers(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """``response`` with the hot-path middleware's headers, then ``SecurityMiddleware``'s."""
        for name, value in self._hot_headers:  # as HotPathMiddleware adds them
            if name not in response:
                response[name] = value
        return self._security.process_response(request, response)

    def _host_allowed(self, environ: dict) -> bool:
        """Whether ``HTTP_HOST`` passes ``ALLOWED_HOSTS`` as :meth:`HttpRequest.get_host` checks
        it (kept per host name); ``False`` with ``X-Forwarded-Host`` when it is trusted."""
        host = environ.get("HTTP_HOST")
        if host is None or (self._forwarded_host and "HTTP_X_FORWARDED_HOST" in environ):
            return False
        allowed = self._hosts.get(host)
        if allowed is None:
            domain, _port = split_domain_port(host)
            allowed = bool(domain) and validate_host(domain, self._allowed)
            if len(self._hosts) < 256:
                self._hosts[host] = allowed
        return allowed

    def answer(self, route: _Route, environ: dict) -> Answer | None:
        """The answer to ``environ`` (a WSGI environ, or the same keys from ASGI), or ``None``
        for Django to answer."""
        method = environ.get("REQUEST_METHOD")
        if method != "GET" and method != "HEAD":
            return None
        if "HTTP_IF_MATCH" in environ or "HTTP_IF_UNMODIFIED_SINCE" in environ:
            return None
        if environ.get("CONTENT_LENGTH") not in (None, "", "0") or "HTTP_TRANSFER_ENCODING" in environ:
            return None  # a body: Django's size limit (413) and whatever else it says
        if not self._host_allowed(environ):
            return None
        secure = self._secure(environ)
        if self._ssl_redirect and not secure:
            return None
        try:
            document = route.provider()
        except Exception:  # noqa: BLE001 - Django answers, and reports, as it always did
            return None
        if document is None:
            return None
        not_modified = False
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match is not None:
            etags = parse_etags(if_none_match)
            if etags:
                not_modified = etags == ["*"] or document.etag.removeprefix("W/") in (
                    e.removeprefix("W/") for e in etags
                )
        key = (document.etag, document.content_type, route.cache_control, route.cors, secure, not_modified)
        answer = self._answers.get(key)
        if answer is None:
            answer = self._make(route, document, secure, not_modified)
            if len(self._answers) >= 64:
                self._answers.clear()  # old documents (rotated keys) are never asked for again
            self._answers[key] = answer
        return answer

    def _secure(self, environ: dict) -> bool:
        """``request.is_secure()`` for this environ (``HttpRequest.scheme``)."""
        if self._proxy_header:
            header, secure_value = self._proxy_header
            value = environ.get(header)
            if value is not None:
                return value.split(",", 1)[0].strip() == secure_value
        return environ.get("wsgi.url_scheme") == "https"

    def _make(self, route: _Route, document, secure: bool, not_modified: bool) -> Answer:
        """The full stack's answer, made by its own code (module docstring)."""
        request = HttpRequest()
        request.method = "GET"
        if not_modified:
            request.META["HTTP_IF_NONE_MATCH"] = document.etag
        request.is_secure = lambda: secure
        response = documents.respond(request, document, cache_control=route.cache_control, cors=route.cors)
        response = self._stack_headers(request, response)
        return Answer(
            f"{response.status_code} {response.reason_phrase}",
            response.status_code,
            list(response.items()),
            response.content,
        )


#: Bytes of a request body left unread by the application that :func:`_drained` reads (and
#: throws away) so that the connection can serve the next request; beyond this the answer
#: says ``Connection: close`` instead (reading megabytes costs more than a new connection).
DRAIN_LIMIT = 65536


class _Counted:
    """``wsgi.input`` counting the bytes the application read from it (``.read``)."""

    __slots__ = ("stream", "read_bytes")

    def __init__(self, stream):
        self.stream = stream
        self.read_bytes = 0

    def read(self, size=-1, /):
        data = self.stream.read(size) if size is not None and size >= 0 else self.stream.read()
        self.read_bytes += len(data)
        return data

    def readline(self, size=-1, /):
        data = self.stream.readline(size) if size is not None and size >= 0 else self.stream.readline()
        self.read_bytes += len(data)
        return data

    def readlines(self, hint=-1, /):
        return list(iter(self.readline, b""))

    def __iter__(self):
        return iter(self.readline, b"")

    def __getattr__(self, name):  # anything else of the server's stream, as it is
        return getattr(self.stream, name)


def _drained(application, environ: dict, start_response):
    """``application(environ, start_response)`` for a request that announces a body, with
    what the application left unread of it (up to ``CONTENT_LENGTH``) read before the answer
    starts, so that the keep-alive connection can carry the next request.

    Why: granian (hyper) closes a keep-alive connection whose request body was not read to
    the end by the application when the rest of the body had not arrived yet, sometimes
    saying so (``Connection: close``: the client opens a new connection), sometimes not: the
    client's next request on it then fails ("Remote end closed connection without response";
    issue 15, seen with the demo providers; ``core/tests/test_keepalive.py``). Django leaves the body unread on every answer that does not need it (404,
    405, 401, a CSRF 403, a 413 refused from ``Content-Length``). RFC 9112 §9.3 (persistence),
    §9.6 (a server that closes should say ``Connection: close``).

    Bounded: more than :data:`DRAIN_LIMIT` bytes left (or a ``Transfer-Encoding`` body, which
    Django never reads, or an unreadable ``Content-Length``), nothing is read and the answer
    gets ``Connection: close`` (RFC 9112 §9.6): the server closes the connection after it and
    the client knows not to reuse it. An error while reading (the client went away) is
    ignored: the server sees the broken connection itself."""
    stream = _Counted(environ["wsgi.input"])
    environ["wsgi.input"] = stream
    length = environ.get("CONTENT_LENGTH") or "0"
    length = int(length) if length.isascii() and length.isdigit() and "HTTP_TRANSFER_ENCODING" not in environ else -1

    def start(status, headers, exc_info=None):
        left = length - stream.read_bytes if length >= 0 else DRAIN_LIMIT + 1
        if left > DRAIN_LIMIT:
            headers = [*(h for h in headers if h[0].lower() != "connection"), ("Connection", "close")]
        elif left > 0:
            try:
                while left > 0 and (chunk := stream.stream.read(min(left, DRAIN_LIMIT))):
                    left -= len(chunk)
            except Exception:  # noqa: BLE001, S110 - a client gone: the server sees it
                pass
        return start_response(status, headers, exc_info) if exc_info is not None else start_response(status, headers)

    return application(environ, start)


class AsgiFront:
    """The same for an ASGI application (:mod:`tungban.asgi`): an HTTP request for a registered
    path is looked at with the WSGI keys Django's ASGI request would derive (method, path,
    scheme, ``HTTP_*`` headers); anything else goes to ``application`` untouched."""

    def __init__(self, application):
        self.application = application
        self.front = Front(application)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            route = _routes.get(scope.get("path"))
            if route is not None and not scope.get("root_path"):
                environ = {
                    "REQUEST_METHOD": scope["method"],
                    "wsgi.url_scheme": scope.get("scheme") or "http",
                }
                for name, value in scope.get("headers", ()):
                    key = name.decode("latin1").upper().replace("-", "_")
                    if key not in ("CONTENT_LENGTH", "CONTENT_TYPE"):  # as WSGI names them (PEP 3333)
                        key = "HTTP_" + key
                    value = value.decode("latin1")
                    environ[key] = f"{environ[key]},{value}" if key in environ else value
                answer = self.front.answer(route, environ)
                if answer is not None:
                    await send(
                        {
                            "type": "http.response.start",
                            "status": answer.code,
                            "headers": [(n.encode("latin1"), v.encode("latin1")) for n, v in answer.headers],
                        }
                    )
                    body = b"" if scope["method"] == "HEAD" else answer.body
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.application(scope, receive, send)
