"""The API kit every app's ``api.py`` uses (django-ninja): the one error schema, the error
responses an operation declares, and the OpenAPI publication of each app's error codes.

Every error the API sends has the shape of :class:`ErrorOut`, which is exactly
:meth:`tungban.core.errors.DomainError.as_dict`; the handlers in :mod:`tungban.api` map
ninja's own errors (validation, unparsable bodies, oversized bodies) onto it.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from ninja import Field, Schema

from .errors import declared_errors

#: Codes the API itself sends, whatever the app (see :mod:`tungban.api`).
KERNEL_ERRORS = [
    {"code": "invalid_request", "status": 422, "message": "The request does not match the schema (400: not JSON)."},
    {"code": "request_too_large", "status": 413, "message": "The request body is larger than the limit."},
    {"code": "not_found", "status": 404, "message": "No such resource."},
    {
        "code": "rate_limited",
        "status": 429,
        "message": "Too many attempts: try again after the number of seconds in the Retry-After header "
        "(also details.retry_after).",
    },
    {
        "code": "service_unavailable",
        "status": 503,
        "message": "The database is unavailable for a moment (issue 14 item 8): retry after the number of seconds in "
        "the Retry-After header (also details.retry_after); a request's writes are all or nothing.",
    },
    {"code": "server_error", "status": 500, "message": "An unexpected error; it has been logged."},
    # Idempotent retries (issue 14 item 2; tungban.core.idempotency): the calls that take an Idempotency-Key.
    {
        "code": "idempotency_key_invalid",
        "status": 400,
        "message": "The Idempotency-Key header is not one quoted string (RFC 8941 sf-string) of 8 to 255 characters.",
    },
    {"code": "idempotency_key_missing", "status": 400, "message": "This call needs an Idempotency-Key header."},
    {
        "code": "idempotency_key_reused",
        "status": 422,
        "message": "The Idempotency-Key was already used for a different request (method, path or body).",
    },
    {
        "code": "idempotency_in_progress",
        "status": 409,
        "message": "The first request with this Idempotency-Key is still running: retry after the number of seconds "
        "in the Retry-After header (also details.retry_after).",
    },
]


class ErrorOut(Schema):
    """The body of every API error (:meth:`tungban.core.errors.DomainError.as_dict`)."""

    error: str = Field(description="Stable machine-readable code, e.g. no_request; listed per app in `tags`")
    message: str = Field(
        description="Human-readable text in the request's language (Accept-Language: en, zh-HK or zh-Hant; "
        "English when none of them is asked for)"
    )
    field: str | None = Field(None, description="The input field at fault, if any (dotted path)")
    details: dict[str, Any] | None = Field(
        None,
        description="Extra machine-readable facts, e.g. {max_bytes}, {max_age}, {rows}; for invalid_request, "
        "{errors: [{type, loc, msg}]} (pydantic's validation errors); for 401/403 bearer errors, {www_authenticate}; for DPoP errors also {dpop_nonce}, sent as the DPoP-Nonce header",
    )


#: What each status means on this API; an operation declares the ones it can send.
STATUS_MEANING = {
    400: "The request is refused (see `error`); also a body that is not JSON (invalid_request)",
    401: "No valid credentials (device proof or bearer token)",
    403: "Authenticated, but not allowed",
    404: "No such resource",
    409: "Conflicts with the resource's state",
    410: "Gone (expired)",
    412: "Precondition failed: a figure the request was based on has changed (e.g. refund_amount_available); "
    "read the resource again",
    413: "The request body or a file is too large",
    422: "The request does not match the schema (invalid_request)",
    429: "Too many attempts from this client or for this HKID number (rate_limited); "
    "`Retry-After` gives the seconds to wait",
    500: "An unexpected error (server_error); it has been logged",
    502: "An upstream system failed",
    503: "A platform component is unavailable (e.g. service_unavailable: the database, for a moment); "
    "`Retry-After` gives the seconds to wait",
    504: "An upstream system timed out",
}


def error_responses(*statuses: int) -> dict[int, type[ErrorOut]]:
    """``{status: ErrorOut}`` for an operation's ``response=``: the error statuses it can
    send, e.g. ``response={200: FooOut, **error_responses(400, 404, 422)}``."""
    unknown = set(statuses) - set(STATUS_MEANING)
    if unknown:
        raise ValueError(f"undocumented error statuses {sorted(unknown)}")
    return dict.fromkeys(sorted(statuses), ErrorOut)


def error_catalogue(*modules: ModuleType) -> list[dict]:
    """``[{"code", "status", "message"}]`` for the errors the ``errors`` modules declare
    (the default English message; the API sends it in the request's language)."""
    with _english():
        return [
            {"code": e.code, "status": e.status, "message": str(e.default_message)}
            for module in modules
            for e in declared_errors(module)
        ]


def tag(name: str, description: str, *modules: ModuleType) -> dict:
    """An OpenAPI tag object (OpenAPI 3.1 §4.8.22) for a router: its description ends with
    a table of the app's error codes, which are also machine-readable in ``x-error-codes``."""
    codes = error_catalogue(*modules)
    rows = "\n".join(f"| `{c['code']}` | {c['status']} | {c['message']} |" for c in codes)
    table = f"\n\n**Error codes** (`error` in the body):\n\n| code | status | message |\n|---|---|---|\n{rows}"
    return {"name": name, "description": description + (table if codes else ""), "x-error-codes": codes}


def _english():
    from django.utils import translation

    return translation.override("en")


def conditional(request, response, tag: str, cache_control: str = "public, max-age=60"):
    """Set the strong ``ETag`` ``tag`` (quoted, RFC 9110 §8.8.3) and ``Cache-Control`` on
    ``response``; return a ``304 Not Modified`` carrying both when the request's
    ``If-None-Match`` lists the tag (RFC 9110 §13.1.2), else ``None`` (send ``response``)."""
    from django.http import HttpResponseNotModified

    if tag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
        response["ETag"], response["Cache-Control"] = tag, cache_control
        return response
    response["ETag"], response["Cache-Control"] = tag, cache_control
    return None
