"""認證易's verification API on the hot path (issue 15, acceptance 3: online verification
at 1,000 per second).

``POST /api/v1/credentials/verify`` is answered, for its common case, with the same answer as
the API operation (:func:`tungban.credentials.api.verify`): the same rate limit group and key
(``verify``, per client address), the same :class:`~tungban.credentials.api.VerificationOut`
body byte for byte as django-ninja's JSON renderer writes it, the same error bodies:

* :func:`verify_lane` on a lane of :mod:`tungban.core.front` (WSGI, before Django builds a
  request: its request, signals, middleware and response objects cost about 100 µs per
  request, issue 15 third round);
* :func:`verify_view` on a hot path (:mod:`tungban.core.hotpaths`), for what the lane leaves
  and under ASGI.

Both hand over to the full stack (they return ``None``) before anything is written — the rate
limiter's counter is the first write — for: a body that is not a JSON object with a string
``presentation`` (and string or null ``aud``/``nonce``), a presentation that is no SD-JWT at
all (``credential_malformed``), a browser asking for HTML (whose 429 is a page), a content
type other than ``application/json``, and on the lane a client address that only a function
can tell (``TUNGBAN_CLIENT_IP_META_KEY`` naming one). The rate limiter's counter is counted in
the verification's one SQL statement (:class:`~.verify.DatabaseTrust` ``rate_limit``): one
round trip per request on PostgreSQL.
"""

from __future__ import annotations

import functools
import json
import types

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, parse_cookie
from django.utils import translation
from ninja.renderers import JSONRenderer

from tungban.core import ratelimit
from tungban.core.errors import DomainError
from tungban.core.front import Call, Reply
from tungban.core.middleware import api_language

from .verify import DatabaseTrust, extract_presentation, verify_presentation

PATH = "/api/v1/credentials/verify"
#: The largest body the lane reads: a presentation of up to 64 KiB (:func:`~.verify.extract_presentation`)
#: with JSON's escapes, ``aud`` and ``nonce``; the path's size limit applies too (the smaller wins).
MAX_BODY = 128 * 1024
_renderer = JSONRenderer()
_CONTENT_TYPE = f"{_renderer.media_type}; charset={_renderer.charset}"  # as NinjaAPI.get_content_type
_DATES = ("issued_at", "valid_from", "expires_at", "presented_at")
_encoder = DjangoJSONEncoder()  # NinjaJSONEncoder's datetimes (it is a DjangoJSONEncoder)


def _request_body(body: bytes) -> tuple[str, str | None, str | None] | None:
    """``(presentation, aud, nonce)`` of a request body the hot paths answer, else ``None``."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    presentation, aud, nonce = data.get("presentation"), data.get("aud"), data.get("nonce")
    if not isinstance(presentation, str) or not all(v is None or isinstance(v, str) for v in (aud, nonce)):
        return None
    try:
        extract_presentation(presentation)
    except DomainError:
        return None
    return presentation, aud, nonce


def _verify(presentation: str, aud: str | None, nonce: str | None, client: str) -> tuple[int, dict | DomainError]:
    """``(status, body)`` of the API's answer to a request the hot paths answer, counted
    against the ``verify`` rate limit for ``client`` (with the verification's read); past the
    limit ``(429, the RateLimited error)``. Call it in the API's language."""
    from .api import VerificationOut  # the API's own response schema

    trust = DatabaseTrust(rate_limit=("verify", client))
    try:
        try:
            result = verify_presentation(presentation, trust, expected_aud=aud, expected_nonce=nonce)
        except ratelimit.RateLimited:
            raise
        except DomainError as exc:
            trust.count_attempt()
            return exc.status, exc.as_dict()
        trust.count_attempt()  # a presentation that named no issuer of ours read nothing
    except ratelimit.RateLimited as exc:
        return exc.status, exc
    return 200, _answer(result, VerificationOut)


def _dumps(data: dict) -> bytes:
    """``data`` as django-ninja's ``JSONRenderer`` writes it (``json.dumps`` with its encoder,
    whose only non-JSON values here are datetimes), without building an encoder per call."""
    return json.dumps(data).encode()


def verify_lane(call: Call) -> Reply | None:
    """``POST /api/v1/credentials/verify`` on :mod:`tungban.core.front`'s lane (module
    docstring); ``None`` (before any write) for Django to answer."""
    environ = call.environ
    if environ.get("CONTENT_TYPE", "").partition(";")[0].strip() != "application/json":
        return None
    if "text/html" in environ.get("HTTP_ACCEPT", ""):
        return None
    client = ratelimit.client_ip_from_environ(environ)
    if client is None:
        return None
    parsed = _request_body(call.body)
    if parsed is None:
        return None
    cookies = parse_cookie(environ["HTTP_COOKIE"]) if "HTTP_COOKIE" in environ else {}
    language = api_language(types.SimpleNamespace(COOKIES=cookies, META=environ))
    if translation.get_language() == language:  # override's activate and restore cost ~30 µs
        return _lane_reply(*parsed, client)
    with translation.override(language):
        return _lane_reply(*parsed, client)


def _language_headers() -> tuple[tuple[str, str], ...]:
    """What the full stack's ``LocaleMiddleware`` and session middleware add to an API answer
    whose messages follow the caller's language (``Content-Language``, ``Vary``)."""
    return (("Content-Language", translation.get_language()), ("Vary", "Accept-Language, Cookie"))


def _lane_reply(presentation: str, aud: str | None, nonce: str | None, client: str) -> Reply:
    status, body = _verify(presentation, aud, nonce, client)
    if isinstance(body, DomainError):  # too_many_response's JSON answer
        retry_after = str((body.details or {}).get("retry_after", 60))
        return Reply(
            status, _dumps(body.as_dict()), (("Retry-After", retry_after), *_language_headers()), "application/json"
        )
    return Reply(status, _dumps(body), _language_headers(), _CONTENT_TYPE)


def verify_view(request: HttpRequest) -> HttpResponse | None:
    """``POST /api/v1/credentials/verify`` on the hot path (module docstring); ``None`` to fall through."""
    if request.content_type != "application/json" or "text/html" in request.headers.get("Accept", ""):
        return None
    parsed = _request_body(request.body)
    if parsed is None:
        return None
    status, body = _verify(*parsed, ratelimit.client_ip(request))
    if isinstance(body, DomainError):
        response = ratelimit.too_many_response(request, body)
    else:
        response = HttpResponse(_dumps(body), status=status, content_type=_CONTENT_TYPE)
    for name, value in _language_headers():
        response[name] = value
    return response


@functools.cache
def _field_names(schema) -> tuple[str, ...]:
    """The response schema's field names in order (a class's fields: read once per schema)."""
    return tuple(schema.model_fields)


def _answer(result, schema) -> dict:
    """``schema.model_validate(result, from_attributes=True).model_dump()`` (the API's body)
    without pydantic's conversion of every field, which cost a tenth of a request's CPU
    (issue 15): the fields in the schema's order, each problem as ``{"code", "message"}``,
    datetimes as the renderer writes them. ``src/tungban/credentials/tests/test_verify_hot.py``
    checks both give the same bytes."""
    data = {name: getattr(result, name) for name in _field_names(schema)}
    data["problems"] = [{"code": p["code"], "message": str(p["message"])} for p in result.problems]
    for name in _DATES:
        if data[name] is not None:
            data[name] = _encoder.default(data[name])
    return data
