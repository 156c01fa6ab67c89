"""Liveness and readiness probes for load balancers and supervisors (issue 14 item 8).

* ``GET /healthz`` — the process is alive and serving: ``200 {"status": "ok"}``; touches no
  database (a supervisor restarts a process that fails it; a database outage must not).
* ``GET /readyz`` — the process can serve: ``200 {"status": "ready", "checks": {"database":
  "ok", "migrations": "ok"}}`` when ``SELECT 1`` answers within ``TUNGBAN_READINESS_TIMEOUT_MS``
  (PostgreSQL ``statement_timeout``) and every app's latest migration is applied
  (:func:`tungban.core.db.check_ready`); else ``503`` with ``Retry-After`` and the platform's
  error body, ``{"error": "service_unavailable", "message", "field": null, "details":
  {"retry_after", "checks": {"database": "ok"|"unavailable", "migrations":
  "ok"|"pending"|"unknown"}}}``. A load balancer stops sending traffic to the process until
  the database is back (and after a deployment, until ``migrate`` has run).

Both answer ``GET`` and ``HEAD``, with ``Cache-Control: no-store``, no authentication.
:class:`ProbeMiddleware` answers them before any other middleware: a load balancer probes a
backend by its address over plain HTTP, so the probes skip the host check (``ALLOWED_HOSTS``),
the HTTPS redirect, sessions, rate limits and the request size limit; their answers depend on
nothing in the request. Install it first in ``MIDDLEWARE``.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse

from . import db

HEALTHZ_PATH = "/healthz"
READYZ_PATH = "/readyz"


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"
    return response


def healthz() -> JsonResponse:
    """``200 {"status": "ok"}``: the process answers (no database)."""
    return _no_store(JsonResponse({"status": "ok"}))


def readyz() -> JsonResponse:
    """200 when the database answers and is migrated, else a retryable 503 (module docstring)."""
    checks = db.check_ready(timeout_ms=settings.TUNGBAN_READINESS_TIMEOUT_MS)
    if all(value == "ok" for value in checks.values()):
        return _no_store(JsonResponse({"status": "ready", "checks": checks}))
    seconds = int(settings.TUNGBAN_UNAVAILABLE_RETRY_AFTER)
    body = {
        "error": "service_unavailable",
        "message": "The platform is not ready: see details.checks.",  # for operators and load balancers
        "field": None,
        "details": {"retry_after": seconds, "checks": checks},
    }
    response = JsonResponse(body, status=503)
    response["Retry-After"] = str(seconds)
    return _no_store(response)


class ProbeMiddleware:
    """Answers ``GET``/``HEAD`` ``/healthz`` and ``/readyz`` before anything else runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("GET", "HEAD"):
            if request.path_info == HEALTHZ_PATH:
                return healthz()
            if request.path_info == READYZ_PATH:
                return readyz()
        return self.get_response(request)
