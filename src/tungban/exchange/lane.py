"""``POST /api/v1/exchange/requests`` on a lane of :mod:`tungban.core.front` (issue 15
acceptance 4: 300 exchanges per second at 16 concurrent; fourth round).

Through the full stack an exchange spent about a fifth of its CPU above the service call:
Django's request, middleware and response objects, django-ninja's parsing and pydantic's
validation of the body and of the answer, and the idempotency decorator. The lane answers
the common valid exchange with the answer the API operation
(:func:`tungban.exchange.api.exchange`) gives, byte for byte and header for header
(``src/tungban/exchange/tests/test_exchange_lane.py`` compares them):

* the body: a JSON object with string ``consent_id``, ``product`` and ``request_id``
  (:data:`~tungban.exchange.services.REQUEST_ID`'s syntax), and an integer or null ``iat``
  within ``TUNGBAN_CLOCK_SKEW`` of now — as :class:`~tungban.exchange.api.ExchangeIn` and the
  view check it; ``Content-Type: application/json``; no ``Idempotency-Key`` header;
* the bearer token: a plainly valid ``cdeg`` token of an active data user, read by
  :func:`tungban.exchange.hotsql.data_user_for_bearer` (the read the API's bearer class makes) —
  on PostgreSQL since the ninth round by the exchange's opening statement itself
  (:class:`tungban.exchange.hotsql.Bearer`: one round trip less), whose writes are made only
  for a plainly valid token and rolled back if Python's check of the row disagrees;
* the idempotency key (``request_id``) new for this data user:
  :func:`tungban.core.idempotency.lane_begin` claims it as the decorator does — its record in
  progress and, on PostgreSQL, its session advisory lock, in one statement — but inside the
  exchange's first transaction (the one that takes the request id and starts the attempt), so
  it commits with them and has no commit of its own (3 commits per delivered exchange where
  the full stack makes 4) — since the sixth round in the exchange's opening statement itself
  (:func:`tungban.core.idempotency.claim_clauses`), not a statement of its own;
* then :func:`tungban.exchange.services.exchange` runs as under the API; its answer (200
  :class:`~tungban.exchange.api.ExchangeOut`) or its refusal (a
  :class:`~tungban.core.errors.DomainError`: the API's JSON error, its status and its
  ``Retry-After``/``WWW-Authenticate`` headers) is written as django-ninja writes it, in the
  API's language (:func:`tungban.core.middleware.api_language`), and the idempotency record
  finished as the decorator finishes it (a deterministic refusal kept).

Anything else — a malformed or unusual body, another content type, a token the read does not
plainly accept, a request id already used (a retry to replay, a replay to refuse, a take-over),
another request holding the key — goes to the full stack before anything is written (a key
found in use rolls the exchange's first transaction back, its opening statement's request id
with it, before the attempt is written; the lock is released), which answers as it always did. An unexpected exception
in the service gets the API's answer (:func:`tungban.core.faults.api_exception_response`: 503
for a database fault, else 500, as the API's handler gives it) and the record is released
for a retry, as the decorator releases it after a 5xx.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import types

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.http import parse_cookie
from django.utils import translation
from ninja.renderers import JSONRenderer

from tungban.core import idempotency
from tungban.core.errors import DomainError
from tungban.core.front import Call, Reply
from tungban.core.middleware import api_language

from . import hotsql, services
from .constants import CDEG_SCOPE
from .models import Organisation

PATH = "/api/v1/exchange/requests"
#: The largest body the lane reads (the four fields take a few hundred bytes); larger ones go
#: to the full stack, whose size limit and parsing answer them.
MAX_BODY = 4096
_renderer = JSONRenderer()
_CONTENT_TYPE = f"{_renderer.media_type}; charset={_renderer.charset}"  # as NinjaAPI.get_content_type
_encoder = DjangoJSONEncoder()  # NinjaJSONEncoder's datetimes (it is a DjangoJSONEncoder)
_FIELDS = frozenset({"consent_id", "product", "request_id", "iat"})
_LOG_FIELDS = ("kind", "ref", "record_sha256", "merge_by")


def _dumps(data) -> bytes:
    """``data`` as django-ninja's ``JSONRenderer`` writes it (``json.dumps`` with its encoder)."""
    return json.dumps(data, default=_encoder.default).encode()


def _request(body: bytes) -> tuple[dict, str, str, str, int | None] | None:
    """``(parsed body, consent_id, product, request_id, iat)`` of a body the lane answers —
    one :class:`~tungban.exchange.api.ExchangeIn` accepts as it is, with a well-formed request
    id and a fresh ``iat`` — else ``None``."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if type(data) is not dict or not data.keys() <= _FIELDS:
        return None
    consent_id, product, request_id, iat = (data.get(k) for k in ("consent_id", "product", "request_id", "iat"))
    if type(consent_id) is not str or type(product) is not str or type(request_id) is not str:
        return None
    if not services.REQUEST_ID.match(request_id):
        return None  # the API's invalid_request (400), after its idempotency record
    if iat is not None and (type(iat) is not int or not services.iat_is_fresh(iat, time.time())):
        return None  # request_stale (400), also kept by the API's idempotency record
    return data, consent_id, product, request_id, iat


def exchange_out(result: dict) -> dict:
    """The service's answer as :class:`~tungban.exchange.api.ExchangeOut` serialises it: its
    fields in the schema's order, ``delivered_at`` as the renderer writes a datetime,
    ``log`` with :class:`~tungban.exchange.api.LogPromiseOut`'s fields (or null)."""
    delivered_at = result["delivered_at"]
    if isinstance(delivered_at, str):
        delivered_at = dt.datetime.fromisoformat(delivered_at)
    promise = result.get("log")
    return {
        "exchange_id": str(result["exchange_id"]),
        "consent_id": str(result["consent_id"]),
        "product": str(result["product"]),
        "provider": str(result["provider"]),
        "request_id": str(result["request_id"]),
        "delivered_at": _encoder.default(delivered_at),
        "payload_sha256": str(result["payload_sha256"]),
        "data": result["data"],
        "log": None if promise is None else {name: promise[name] for name in _LOG_FIELDS},
        "signed": str(result["signed"]),
    }


def error_reply(exc: DomainError) -> Reply:
    """The API's answer to a refusal (``tungban.api._domain_error``): the JSON error body,
    its status, and the headers its details ask for, in the active language."""
    headers = []
    details = exc.details or {}
    if "www_authenticate" in details:
        headers.append(("WWW-Authenticate", details["www_authenticate"]))
    if "dpop_nonce" in details:
        headers.append(("DPoP-Nonce", details["dpop_nonce"]))
    if "retry_after" in details:
        headers.append(("Retry-After", str(details["retry_after"])))
    return Reply(exc.status, _dumps(exc.as_dict()), (*headers, *_language_headers()), _CONTENT_TYPE)


def _language_headers() -> tuple[tuple[str, str], ...]:
    """What the full stack's ``LocaleMiddleware`` and session middleware add to an API answer
    (``Content-Language``, ``Vary``)."""
    return (("Content-Language", translation.get_language()), ("Vary", "Accept-Language, Cookie"))


def lane(call: Call) -> Reply | None:
    """``POST /api/v1/exchange/requests`` on the front's lane (module docstring); ``None``
    (before any write) for the full stack to answer."""
    environ = call.environ
    if environ.get("CONTENT_TYPE", "").partition(";")[0].strip() != "application/json":
        return None
    if environ.get("SCRIPT_NAME") or "HTTP_IDEMPOTENCY_KEY" in environ:
        return None
    parts = environ.get("HTTP_AUTHORIZATION", "").split(None, 1)  # as the API's DataUserBearer reads it
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    token = parts[1]
    parsed = _request(call.body)
    if parsed is None:
        return None
    cookies = parse_cookie(environ["HTTP_COOKIE"]) if "HTTP_COOKIE" in environ else {}
    if settings.SESSION_COOKIE_NAME in cookies:
        return None  # a browser's session: the full stack's session and staff middleware see it
    language = api_language(types.SimpleNamespace(COOKIES=cookies, META=environ))
    if translation.get_language() == language:  # override's activate and restore cost ~30 µs
        return _exchange(environ, token, *parsed)
    with translation.override(language):
        return _exchange(environ, token, *parsed)


def _exchange(
    environ: dict, token: str, data: dict, consent_id: str, product: str, request_id: str, iat
) -> Reply | None:
    data_user: Organisation | hotsql.Bearer
    if connection.vendor == "postgresql":
        # Ninth round: the token is read by the exchange's opening statement, which works out
        # the key's caller from it (one round trip less); not plainly valid: rolled back.
        data_user, caller = hotsql.Bearer(token, CDEG_SCOPE, client_fields=hotsql.EXCHANGE_CLIENT_FIELDS), None
    else:
        data_user = hotsql.data_user_for_bearer(token, CDEG_SCOPE, client_fields=hotsql.EXCHANGE_CLIENT_FIELDS)
        if data_user is None:
            return None
        caller = f"client:{data_user.client.client_id}"
    query = environ.get("QUERY_STRING", "")
    digest = idempotency.digest_of("POST", PATH, query, b"", parsed=data)
    call = idempotency.lane_begin(caller=caller, key=request_id, digest=digest, operation=f"POST {PATH}")
    if call is None:
        return None
    with idempotency.lane_running(call):
        try:
            result = services.exchange(data_user, consent_id=consent_id, product_id=product, request_id=request_id)
        except (idempotency.KeyTaken, hotsql.NotPlainBearer):
            return None  # rolled back: nothing written; the full stack's decorator (or bearer class) decides
        except DomainError as exc:
            if isinstance(data_user, hotsql.Bearer) and data_user.data_user is None:
                # Refused before its opening statement read the token (nothing written): read it
                # now, as the lane did first before the ninth round; the full stack answers an
                # invalid one (its 401), a valid one's refusal is kept under its caller.
                found = hotsql.data_user_for_bearer(token, CDEG_SCOPE, client_fields=hotsql.EXCHANGE_CLIENT_FIELDS)
                if found is None:
                    return None
                idempotency.lane_caller(call, f"client:{found.client.client_id}")
            reply = error_reply(exc)
        except Exception as exc:  # noqa: BLE001 - django-ninja's handler answers it under the API
            reply = _fault_reply(environ, exc)
        else:
            reply = Reply(200, _dumps(exchange_out(result)), _language_headers(), _CONTENT_TYPE)
        try:
            idempotency.lane_finish(call, reply.code, reply.body)
        except Exception:  # after a database fault: the fault's answer (503) stands, as under the API
            if reply.code < 500:
                raise
    return reply


def _fault_reply(environ: dict, exc: Exception) -> Reply:
    """The API's answer to an unexpected exception (``tungban.api._unhandled``:
    :func:`tungban.core.faults.api_exception_response`, which logs it): 503
    ``service_unavailable`` with ``Retry-After`` for a database fault, else 500
    ``server_error``, with the full stack's language headers."""
    from django.core.handlers.wsgi import WSGIRequest

    from tungban.core import faults

    response = faults.api_exception_response(WSGIRequest(environ), exc)
    headers = tuple((n, v) for n, v in response.items() if n not in ("Content-Type", "Content-Length"))
    return Reply(response.status_code, response.content, (*headers, *_language_headers()), response["Content-Type"])
