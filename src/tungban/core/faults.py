"""Answers for requests that fail on the platform's side (issue 14 item 8).

After a PostgreSQL restart some exchanges got ``500 bad_response`` and some issuances
Django's HTML "Server Error (500)". Now:

* A request that meets a lost or unavailable database (``django.db.OperationalError`` —
  connection refused or closed, too many clients, a statement cut off by ``statement_timeout``
  or ``lock_timeout`` — or ``InterfaceError``, a connection already closed) gets a retryable
  **503** with ``Retry-After: TUNGBAN_UNAVAILABLE_RETRY_AFTER`` (RFC 9110 §15.6.4, §10.2.3)
  and ``Cache-Control: no-store``:

  - under ``/api/``: the platform's error body (:class:`tungban.core.api.ErrorOut`),
    ``{"error": "service_unavailable", "message": …, "field": null, "details":
    {"retry_after": seconds}}``, in the request's language;
  - at the OAuth endpoints that answer JSON (:data:`OAUTH_JSON_PATHS`): RFC 6749 §5.2's
    shape, ``{"error": "service_unavailable", "error_description": …}`` (ASCII: English);
  - at the JSON endpoints the platform's pages poll (:data:`POLLED_JSON_PATH`): the API's body;
  - elsewhere a short page in the request's language, then in the other one (the page
    touches neither the database nor the session).

  Nothing needs closing: Django marks the connection as failed and replaces it (with
  ``CONN_HEALTH_CHECKS``) at the next request.
* Any other unhandled exception under ``/api/`` (or at an OAuth JSON endpoint) is a JSON
  **500** ``server_error`` (no traceback in the body; it is logged), never Django's HTML page.

Two hooks give the same answers: :class:`FaultMiddleware`'s ``process_exception`` for
exceptions raised in views (and ninja's catch-all handler in :mod:`tungban.api`, through
:func:`api_exception_response`), and :func:`server_error`, the project's ``handler500``, for
those raised in middleware (e.g. loading a session before any view runs).
"""

from __future__ import annotations

import logging
import re
import sys

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.views import defaults

from .middleware import API_PATH_PREFIX

log = logging.getLogger("tungban.faults")

#: The database is lost or unavailable (retryable), as opposed to a bad query.
DATABASE_ERRORS = (OperationalError, InterfaceError)
#: OAuth / OpenID Connect endpoints whose answers, errors included, are JSON (RFC 6749 §5.2,
#: RFC 6750 §3, RFC 7009 §2.2.1, RFC 9126 §2.3), and the JSON documents a relying party fetches.
OAUTH_JSON_PATHS = (
    "/oidc/token",
    "/oidc/par",
    "/oidc/revoke",
    "/oidc/userinfo",
    "/oidc/formdata",
    "/oidc/jwks",
    "/.well-known/openid-configuration",
)
#: JSON endpoints polled by the platform's own pages' scripts (the authorization page's
#: ``/oidc/authorize/<id>/status``): their faults get the API's JSON body.
POLLED_JSON_PATH = re.compile(r"^/oidc/authorize/[^/]+/status$")


def is_database_fault(exc: BaseException | None) -> bool:
    """Whether ``exc`` means the database is unreachable or refused to go on (retryable)."""
    return isinstance(exc, DATABASE_ERRORS)


def _kind(request: HttpRequest) -> str:
    path = request.path_info
    if path.startswith(API_PATH_PREFIX) or POLLED_JSON_PATH.match(path):
        return "api"
    if path.rstrip("/") in OAUTH_JSON_PATHS:
        return "oauth"
    return "page"


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _unavailable_message(seconds: int) -> str:
    return _("The service is temporarily unavailable: try again in %(seconds)d seconds.") % {"seconds": seconds}


def unavailable_response(request: HttpRequest, *, details: dict | None = None) -> HttpResponse:
    """The retryable 503 for ``request``'s kind of path (see the module's docstring);
    ``details`` are added to the API body's ``details``."""
    seconds = int(settings.TUNGBAN_UNAVAILABLE_RETRY_AFTER)
    kind = _kind(request)
    if kind == "page":
        response = HttpResponse(render_to_string("core/unavailable.html"), status=503)
    else:
        if kind == "oauth":
            with translation.override("en"):
                body = {"error": "service_unavailable", "error_description": _unavailable_message(seconds)}
        else:
            body = {
                "error": "service_unavailable",
                "message": _unavailable_message(seconds),
                "field": None,
                "details": {"retry_after": seconds, **(details or {})},
            }
        response = JsonResponse(body, status=503)
    response["Retry-After"] = str(seconds)
    return _no_store(response)


def _server_error_json(request: HttpRequest) -> HttpResponse:
    if _kind(request) == "oauth":
        with translation.override("en"):
            body = {"error": "server_error", "error_description": _("An unexpected error occurred on the server.")}
    else:
        message = _("An unexpected error occurred on the server; it has been logged.")
        body = {"error": "server_error", "message": message, "field": None}
    return _no_store(JsonResponse(body, status=500))


def _logged(request: HttpRequest, exc: BaseException) -> None:
    if is_database_fault(exc):
        log.warning("Database unavailable for %s %s: %s", request.method, request.path, exc)
    else:
        log.error("Unhandled error for %s %s", request.method, request.path, exc_info=exc)


def api_exception_response(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The JSON answer to an exception no handler took, under ``/api/``: 503
    ``service_unavailable`` for a database fault, 403 ``forbidden`` for Django's
    ``PermissionDenied``, 400 ``invalid_request`` for ``BadRequest``, ``SuspiciousOperation``
    and ``MultiPartParserError`` (Django's own statuses for them), else 500 ``server_error``
    (logged)."""
    if isinstance(exc, PermissionDenied):
        body = {"error": "forbidden", "message": _("You are not allowed to do this."), "field": None}
        return JsonResponse(body, status=403)
    if isinstance(exc, (BadRequest, SuspiciousOperation, MultiPartParserError)):
        body = {"error": "invalid_request", "message": _("The request is not valid."), "field": None}
        return JsonResponse(body, status=400)
    _logged(request, exc)
    if is_database_fault(exc):
        return unavailable_response(request)
    return _server_error_json(request)


class FaultMiddleware:
    """``process_exception`` for exceptions raised in views: a database fault is a 503
    everywhere; under ``/api/`` and at the OAuth JSON endpoints every other exception gets a
    JSON answer (:func:`api_exception_response`). Pages' other exceptions are left to Django
    (its 400/403/404 pages, and :func:`server_error`). Install after ``LocaleMiddleware``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_database_fault(exception):
            _logged(request, exception)
            return unavailable_response(request)
        if _kind(request) != "page":
            return api_exception_response(request, exception)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """The project's ``handler500`` (errors raised outside views, after Django logged them):
    503 for a database fault, JSON 500 under ``/api/`` and at the OAuth JSON endpoints,
    Django's page elsewhere."""
    exc = sys.exc_info()[1]
    if is_database_fault(exc):
        return unavailable_response(request)
    if _kind(request) != "page":
        return _server_error_json(request)
    return defaults.server_error(request)
