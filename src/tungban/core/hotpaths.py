"""Hot paths: the few endpoints that carry most of the traffic, answered before the page
middleware (issue 15).

A login's machine-to-machine calls (discovery, JWKS, the token endpoint, userinfo, the app's
approval call) need none of what the pages need: sessions, CSRF, the staff second factor,
messages, the login lockout, the content security policy. Each of those middlewares costs a
few microseconds even when it does nothing, and together with Django's URL resolution they
were about 200 µs of CPU per request (``bench/oidc.py --profile``), more than the whole
answer of the certified peer. :class:`HotPathMiddleware`, installed right after Django's
``SecurityMiddleware`` (so HTTPS redirects and its response headers still apply), answers a
request whose exact path and method were registered with :func:`register` by calling the
registered view at once. A path may hold one id segment, ``{id}`` (e.g.
``/api/v1/wallet/requests/{id}/decision``): it matches any one non-empty segment there, passed
to the view as the keyword argument ``id``; such a route costs the requests that match no
exact path one ``startswith``/``endswith`` per route registered for their method.

Rules for a hot-path view (the app that owns the endpoint registers it in its
``AppConfig.ready``, so this module imports no app):

* it is the endpoint's own view, or a faster equivalent that returns ``None`` for anything it
  does not handle, in which case the request goes down the full stack to the view in the URL
  conf (the reference behaviour, which also produces every error answer);
* it may not use ``request.session``, ``request.user`` or messages, which are not set up here;
* the language is the API's (:func:`tungban.core.middleware.api_language`);
* the answer carries the headers the page middleware would add to a response that has no
  page: ``Content-Security-Policy`` (``SECURE_CSP``, no nonce), ``Permissions-Policy`` and
  ``X-Frame-Options``, built once per process from the settings;
* what the full stack would check still holds: the ``Host`` header against ``ALLOWED_HOSTS``
  (400), the body size limit of the path (413,
  :class:`tungban.core.middleware.RequestSizeLimitMiddleware`), and exceptions get the JSON
  answers of :func:`tungban.core.faults.api_exception_response` (a database fault is a
  retryable 503).

A **page** (``register(..., page=True)``; issue 15, third round: the login's authorization
page and the browser's completion) is a view of the URL conf that renders for a browser. A
browser that carries no session cookie (``SESSION_COOKIE_NAME``) and no messages cookie —
every new login's — has nothing for the session, authentication, OTP, staff-session,
messages and lockout middleware to do (none of them changes such a response), so the page is
answered here with what the page needs of the rest, through the same middleware's own hooks:
the page language (:class:`tungban.core.middleware.LocaleMiddleware`: ``Content-Language``,
``Vary: Accept-Language``), the body size limit (a page in that language), CSRF
(``CsrfViewMiddleware``: the cookie the page's forms need, the check of an unsafe method),
database faults (:class:`tungban.core.faults.FaultMiddleware`) and every other exception as
Django's handler answers it (``response_for_exception``: its 400/403/404 pages,
``handler500``), ``Content-Length`` (as ``CommonMiddleware``), and the headers above
(``X-Frame-Options`` unless the response is exempt). A browser with a session or messages
cookie goes down the full stack. A page view may use neither ``request.session`` nor
``request.user``; it may return ``None`` to send the request down the full stack (before it
wrote anything), e.g. for a path segment the URL conf would refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.handlers.exception import response_for_exception
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import translation
from django.utils.csp import build_policy
from django_permissions_policy import PermissionsPolicyMiddleware

from . import faults
from .middleware import LocaleMiddleware, RequestSizeLimitMiddleware, api_language, limit_for

HotView = Callable[[HttpRequest], "HttpResponse | None"]

_routes: dict[tuple[str, str], HotView] = {}
#: ``method → {(prefix, suffix): view}`` of the paths with an id segment (``prefix{id}suffix``).
_patterns: dict[str, dict[tuple[str, str], Callable]] = {}

ID = "{id}"


class _Page:
    """A registered page view (``register(..., page=True)``)."""

    __slots__ = ("view",)

    def __init__(self, view: Callable):
        self.view = view

    def __call__(self, request, **kwargs):  # resolve() callers (tests) may call it directly
        return self.view(request, **kwargs)


def register(path: str, view: Callable, *, methods: Iterable[str] = ("GET", "HEAD"), page: bool = False) -> None:
    """Answer ``methods`` on ``path`` (``request.path_info``, e.g. ``"/oidc/token"``) with
    ``view`` before the page middleware. ``path`` may hold one whole segment ``{id}``
    (``"/api/v1/wallet/requests/{id}"``): it matches one non-empty segment without ``/``,
    given to the view as ``view(request, id=segment)``; exact paths are looked up first.
    Registering the same path and method again replaces the view (Django's autoreloader may
    call ``ready`` twice). ``page``: a page for browsers (module docstring).

    :raises ValueError: for a path that does not start with ``/``, or holds another ``{``
        than one whole ``{id}`` segment."""
    if not path.startswith("/"):
        raise ValueError(f"a hot path starts with '/': {path!r}")
    if page:
        view = _Page(view)
    if ID in path:
        prefix, _, suffix = path.partition(ID)
        if not prefix.endswith("/") or (suffix and not suffix.startswith("/")) or "{" in suffix or "}" in suffix:
            raise ValueError(f"a hot path holds at most one whole {ID} segment: {path!r}")
        for method in methods:
            _patterns.setdefault(method.upper(), {})[(prefix, suffix)] = view
        return
    if "{" in path or "}" in path:
        raise ValueError(f"a hot path holds at most one whole {ID} segment: {path!r}")
    for method in methods:
        _routes[(method.upper(), path)] = view


def resolve(method: str, path: str) -> tuple[Callable, dict[str, str]] | None:
    """``(view, kwargs)`` registered for ``method`` and ``path`` (``kwargs`` is ``{"id": …}``
    for a path with an id segment, else empty), or ``None``."""
    view = _routes.get((method, path))
    if view is not None:
        return view, {}
    for (prefix, suffix), view in _patterns.get(method, {}).items():
        if path.startswith(prefix) and path.endswith(suffix):
            segment = path[len(prefix) : len(path) - len(suffix)]
            if segment and "/" not in segment:
                return view, {"id": segment}
    return None


def registered(method: str, path: str) -> Callable | None:
    """The view registered for ``method`` and ``path``, or ``None``."""
    found = resolve(method, path)
    return found[0] if found else None


class HotPathMiddleware:
    """Answers registered hot paths at once (module docstring). Install right after
    ``django.middleware.security.SecurityMiddleware``."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.size_limit = RequestSizeLimitMiddleware(get_response)
        headers = {
            "Content-Security-Policy": build_policy(settings.SECURE_CSP),
            "Permissions-Policy": PermissionsPolicyMiddleware(get_response).permissions_policy,
            "X-Frame-Options": getattr(settings, "X_FRAME_OPTIONS", "DENY").upper(),
        }
        self.headers = [(name, value) for name, value in headers.items() if value]
        # The page hooks (module docstring): the same middleware, called hook by hook.
        self.locale = LocaleMiddleware(get_response)
        self.csrf = CsrfViewMiddleware(get_response)
        self.faults = faults.FaultMiddleware(get_response)
        self.full_stack_cookies = (settings.SESSION_COOKIE_NAME, CookieStorage.cookie_name)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = _routes.get((request.method, request.path_info))
        kwargs = {}
        if view is None:
            if request.method not in _patterns:
                return self.get_response(request)
            found = resolve(request.method, request.path_info)
            if found is None:
                return self.get_response(request)
            view, kwargs = found
        if type(view) is _Page:
            return self._page(request, view.view, kwargs)
        request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware would: DisallowedHost is a 400
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        limit = limit_for(request.path_info)
        with translation.override(api_language(request)):  # as LocaleMiddleware does for the API
            request.LANGUAGE_CODE = translation.get_language()
            if declared > limit:
                return self.size_limit._too_large(request, limit)
            try:
                response = view(request, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the answers the full stack would give
                return faults.api_exception_response(request, exc)
        if response is None:
            return self.get_response(request)
        for name, value in self.headers:
            if name not in response:
                response[name] = value
        return response

    def _page(self, request: HttpRequest, view: Callable, kwargs: dict) -> HttpResponse:
        """A page (module docstring), or the full stack's answer."""
        cookies = request.COOKIES
        if any(name in cookies for name in self.full_stack_cookies):
            return self.get_response(request)  # a session or messages to load
        request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware would: DisallowedHost is a 400
        self.locale.process_request(request)  # activates the page's language, as the full stack
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        limit = limit_for(request.path_info)
        if declared > limit:
            response = self.size_limit._too_large(request, limit)
        else:
            self.csrf.process_request(request)
            try:
                response = self.csrf.process_view(request, view, (), kwargs) or view(request, **kwargs)
                if response is None:
                    return self.get_response(request)
                if callable(getattr(response, "render", None)):
                    response = response.render()
            except Exception as exc:  # noqa: BLE001 - the answers the full stack would give
                response = self.faults.process_exception(request, exc) or response_for_exception(request, exc)
            response = self.csrf.process_response(request, response)
        response = self.locale.process_response(request, response)
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))  # as CommonMiddleware
        exempt = getattr(response, "xframe_options_exempt", False)
        for name, value in self.headers:
            if name not in response and not (exempt and name == "X-Frame-Options"):
                response[name] = value
        return response
