"""Kernel middleware.

* :class:`LocaleMiddleware` — request language (issue 13 item 17): pages keep Django's
  choice (the language cookie, then ``Accept-Language``, else ``LANGUAGE_CODE``, Traditional
  Chinese); the JSON API under :data:`API_PATH_PREFIX` answers machine clients in English
  unless they ask otherwise.
* :class:`RequestSizeLimitMiddleware` — refuse oversized request bodies before anything reads
  them (issue 13 item 4): a 300 MB upload to the signature-verification page was written to
  disk in full (Django's multipart parser spools files above ``FILE_UPLOAD_MAX_MEMORY_SIZE``
  to a temporary file, and ``DATA_UPLOAD_MAX_MEMORY_SIZE`` does not count files) before the
  view answered 413. This middleware answers 413 from the declared ``Content-Length`` alone,
  so the body is never read. A body without ``Content-Length`` (chunked) is not read by
  Django's WSGI request at all (it reads at most ``CONTENT_LENGTH`` bytes, none when
  absent), so it cannot grow past the limit either.

  Limits (bytes) come from settings: ``TUNGBAN_REQUEST_SIZE_LIMITS`` maps a path prefix to
  its limit (the longest matching prefix wins), and ``TUNGBAN_MAX_REQUEST_BYTES`` applies
  everywhere else. It must come before any middleware that reads the body
  (``CsrfViewMiddleware`` reads ``request.POST``) and after ``LocaleMiddleware`` (the page
  answer is in the request's language).
* :class:`ReceivedAtMiddleware` — ``request.received_at``, the time the request arrived
  (issue 14 item 7): a decision that reached the server before its request expired is judged
  by that time, however long it then waited for a lock or a slow database. First in the list.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header

from .killpoints import killpoint

#: Paths of the platform's JSON API (``tungban.urls``: ``api/v1/``).
API_PATH_PREFIX = "/api/"
#: The API's language when the request names none the platform speaks.
API_DEFAULT_LANGUAGE = "en"


def api_language(request) -> str:
    """The language of an API answer, one of ``settings.LANGUAGES``: the language cookie (a
    browser that chose one on the platform's pages), then the ``Accept-Language`` ranges
    in order of preference (RFC 9110 §12.5.4; ``zh-HK`` → ``zh-hant``), else English —
    never ``LANGUAGE_CODE``, which is for pages. The header is read from ``META``
    (``HTTP_ACCEPT_LANGUAGE``, as ``request.headers`` would give it): every hot request asks,
    and ``request.headers`` builds a mapping of all its headers (issue 15)."""
    candidates = [request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)]
    candidates += [code for code, _q in parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", ""))]
    for code in candidates:
        if not code or code == "*":
            continue
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return API_DEFAULT_LANGUAGE


def shared_cacheable(response):
    """Mark ``response`` as the same for every reader (its bytes depend on the URL alone, e.g.
    a content-addressed file): :class:`SharedCacheMiddleware` sends it without the ``Vary``
    the language and session middleware add, so that a shared cache (a CDN) keeps one copy
    rather than one per language and cookie. Returns ``response``."""
    response.shared_cacheable = True
    return response


class SharedCacheMiddleware:
    """Drops ``Vary`` from a response marked by :func:`shared_cacheable` (placed before the
    session and locale middleware, so it sees their headers)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(response, "shared_cacheable", False) and response.has_header("Vary"):
            del response["Vary"]
        return response


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's ``LocaleMiddleware``, with :func:`api_language` for the JSON API."""

    def process_request(self, request):
        if request.path_info.startswith(API_PATH_PREFIX):
            translation.activate(api_language(request))
            request.LANGUAGE_CODE = translation.get_language()
        else:
            super().process_request(request)


def limit_for(path: str) -> int:
    """The largest body accepted for ``path``, in bytes: the longest matching prefix of
    ``TUNGBAN_REQUEST_SIZE_LIMITS``, else ``TUNGBAN_MAX_REQUEST_BYTES``."""
    limits = getattr(settings, "TUNGBAN_REQUEST_SIZE_LIMITS", {})
    matches = [prefix for prefix in limits if path.startswith(prefix)]
    if matches:
        return int(limits[max(matches, key=len)])
    return int(settings.TUNGBAN_MAX_REQUEST_BYTES)


class RequestSizeLimitMiddleware:
    """413 for a request whose ``Content-Length`` is over :func:`limit_for` its path, before
    its body is read: JSON ``request_too_large`` (``core.api.KERNEL_ERRORS``, with
    ``details.max_bytes``) under ``/api/``, a page in the request's language elsewhere."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # Django reads nothing of a body whose length it cannot parse
        limit = limit_for(request.path_info)
        if declared > limit:
            return self._too_large(request, limit)
        return self.get_response(request)

    def _too_large(self, request, limit: int) -> HttpResponse:
        mb = max(1, limit // (1024 * 1024))
        message = _("The request is too large: at most %(mb)d MB can be sent here.") % {"mb": mb}
        if request.path_info.startswith(API_PATH_PREFIX):
            body = {"error": "request_too_large", "message": message, "field": None, "details": {"max_bytes": limit}}
            response = JsonResponse(body, status=413)
        else:
            html = render_to_string("core/request_too_large.html", {"message": message}, request=request)
            response = HttpResponse(html, status=413)
        return response


class ReceivedAtMiddleware:
    """Stamp ``request.received_at`` (aware ``datetime``) before any other work."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.received_at = timezone.now()
        response = self.get_response(request)
        killpoint("response.after_view")  # fault-injection tests only (issue 14 acceptance 1)
        return response
