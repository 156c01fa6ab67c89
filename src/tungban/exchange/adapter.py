"""The provider adapter of the Consented Data Exchange Gateway: the outbound HTTP call to a
data provider and the signed answer to the data user.

Provider adapter API (what a provider implements; see docs/integrators.md)::

    POST {endpoint_url}/cdeg/v1/products/{product_id}
    Authorization: Bearer <JWS ES256, typ "cdeg-request+jwt", signed by the gateway key
        (JWKS at /oidc/jwks): {"iss", "aud": provider id, "iat", "exp", "jti": exchange id,
        "product", "consent_id", "purpose", "sub": pairwise id at the provider, "hkid"}>
    200 {"data": {...}} | 404 {"error": "no_record"} | 401 {"error": "invalid_token"}

Settings: ``TUNGBAN_EXCHANGE_PROVIDER_TIMEOUT`` (read timeout, seconds),
``TUNGBAN_PROVIDER_CONNECT_TIMEOUT`` (seconds), the breaker's and the bulkhead's
(:mod:`.resilience`), ``TUNGBAN_EXCHANGE_MAX_RESPONSE_BYTES``,
``TUNGBAN_EXCHANGE_TLS_CERT`` / ``_KEY`` / ``_CA`` (mutual TLS towards providers).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from functools import cache
from typing import Protocol

import jsonschema
import requests
import requests.adapters
import urllib3
import urllib3.connection
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from tungban.core.errors import DomainError
from tungban.keys import services as keys

from . import errors, resilience
from .models import MAX_PROVIDER_TIMEOUT, Consent, ExchangeRecord

log = logging.getLogger(__name__)

PROVIDER_JWT_LIFETIME = 60  # seconds the gateway's request JWT to a provider is valid


class Attempt(Protocol):
    """What the adapter needs of an exchange attempt (``services._Attempt``)."""

    id: uuid.UUID
    provider_status: int | None
    circuits: dict | None

    def refuse(self, error: DomainError) -> DomainError: ...


def _provider_token(consent: Consent, attempt: Attempt) -> str:
    now = int(time.time())
    claims = {
        "iss": settings.TUNGBAN_ISSUER,
        "aud": consent.product.provider_id,
        "iat": now,
        "exp": now + PROVIDER_JWT_LIFETIME,
        "jti": str(attempt.id),
        "product": consent.product_id,
        "consent_id": str(consent.id),
        "purpose": consent.purpose,
        "sub": consent.provider_sub,
        "hkid": consent.resident.hkid,
    }
    return keys.sign_jwt(claims, "cdeg-request+jwt")


_call = threading.local()  # .deadline: time.monotonic() by which this thread's provider answer is due


def _cut_off(sock) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked reading it


class _DeadlineConnection:
    """Reading the status line and headers ends at the call's deadline (``_call.deadline``):
    a timer shuts the socket down then, so a provider that drips its headers, each read
    within the read timeout, cannot hold the call past its timeout (review finding L6)."""

    def getresponse(self, *args, **kwargs):
        deadline, sock = getattr(_call, "deadline", None), self.sock
        if deadline is None or sock is None:
            return super().getresponse(*args, **kwargs)
        timer = threading.Timer(max(0.0, deadline - time.monotonic()), _cut_off, (sock,))
        timer.daemon = True
        timer.start()
        try:
            return super().getresponse(*args, **kwargs)
        finally:
            timer.cancel()


class _HTTPConnection(_DeadlineConnection, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_DeadlineConnection, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _DeadlineAdapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


@cache
def _http() -> requests.Session:
    session = requests.Session()
    for prefix in ("http://", "https://"):
        session.mount(prefix, _DeadlineAdapter())
    session.trust_env = False  # loopback and government network: no proxies from the environment
    if settings.TUNGBAN_EXCHANGE_TLS_CERT:
        session.cert = (settings.TUNGBAN_EXCHANGE_TLS_CERT, settings.TUNGBAN_EXCHANGE_TLS_KEY or None)
    if settings.TUNGBAN_EXCHANGE_TLS_CA:
        session.verify = settings.TUNGBAN_EXCHANGE_TLS_CA
    return session


class _PastDeadline(Exception):
    """The provider's whole answer did not arrive within its timeout."""


def _read_capped(response, limit: int, deadline: float) -> bytes:
    """The body, or its first ``limit + 1`` bytes when longer, all of it by ``deadline``
    (``time.monotonic()``): a provider that drips its answer, each read within the read
    timeout, is cut off there (review finding L6). Each read takes at most one read from the
    socket (``read1``), whose timeout is set to the time left. A body read to the end hands
    the connection back to the pool (keep-alive; one TLS handshake per provider, not per
    exchange, with mutual TLS).

    :raises _PastDeadline: when the deadline passes first.
    """
    raw = response.raw
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    chunks, size = [], 0
    while size <= limit:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _PastDeadline
        if sock is not None:
            sock.settimeout(left)
        try:
            chunk = raw.read1(64 * 1024, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError:
            raise _PastDeadline from None
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def timeouts(provider) -> tuple[float, float]:
    """``(connect, read)`` seconds for a call to ``provider``: ``TUNGBAN_PROVIDER_CONNECT_TIMEOUT``
    (2; never more than the read timeout) and the provider's ``timeout_seconds`` or
    ``TUNGBAN_EXCHANGE_PROVIDER_TIMEOUT`` (5), never more than ``MAX_PROVIDER_TIMEOUT`` (30:
    a row stored before that bound was validated) — issue 14 item 1, review finding L6."""
    read = min(provider.timeout_seconds or settings.TUNGBAN_EXCHANGE_PROVIDER_TIMEOUT, MAX_PROVIDER_TIMEOUT)
    return min(settings.TUNGBAN_PROVIDER_CONNECT_TIMEOUT, read), read


def _post(url: str, token: str, timeout: tuple[float, float], limit: int) -> tuple[int, bytes]:
    """The outbound request: ``(status, body)``, the body capped at ``limit + 1`` bytes. The
    whole answer must arrive within the read timeout (``timeout[1]``, the provider's
    timeout), counted from the request, not per socket read (review finding L6).

    :raises resilience.ProviderDown: with ``provider_timeout`` (read timeout, or the whole
        answer not in within the provider's timeout),
        ``provider_unavailable`` (no connection, or none within the connect timeout; HTTP 503)
        or ``provider_error`` (any other HTTP 5xx) — the failures the circuit breaker counts.
    """
    deadline = _call.deadline = time.monotonic() + timeout[1]
    try:
        with _http().post(
            url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        ) as response:
            status = response.status_code
            body = _read_capped(response, limit, deadline)
    except _PastDeadline:
        log.warning("Provider at %s: answer not complete within %s s", url, timeout[1])
        raise resilience.ProviderDown(errors.ProviderTimeout()) from None
    except requests.ConnectTimeout:
        log.warning("Provider at %s: no connection within %s s", url, timeout[0])
        raise resilience.ProviderDown(errors.ProviderUnavailable()) from None
    except requests.Timeout:
        raise resilience.ProviderDown(errors.ProviderTimeout()) from None
    except (requests.ConnectionError, requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        if time.monotonic() >= deadline:  # cut off at the deadline while reading the headers
            log.warning("Provider at %s: answer not complete within %s s", url, timeout[1])
            raise resilience.ProviderDown(errors.ProviderTimeout()) from None
        log.warning("Provider at %s unreachable: %s", url, exc)
        raise resilience.ProviderDown(errors.ProviderUnavailable()) from None
    finally:
        _call.deadline = None
    if status == 503:
        raise resilience.ProviderDown(errors.ProviderUnavailable(), status)
    if status >= 500:
        raise resilience.ProviderDown(
            errors.ProviderError(_("The data provider could not answer (HTTP %(status)s).") % {"status": status}),
            status,
        )
    return status, body


def ask_provider(consent: Consent, attempt: Attempt) -> dict:
    """Call the provider adapter (``POST {endpoint_url}/cdeg/v1/products/{product_id}``, see the
    module docstring) inside the provider's bulkhead and circuit breaker
    (:mod:`.resilience`, issue 14 item 1); return the schema-valid ``data``, or record the
    refusal through ``attempt.refuse`` and raise it.

    :raises DomainError: ``provider_unavailable`` (502: down, refused, no connection within
        ``TUNGBAN_PROVIDER_CONNECT_TIMEOUT``, or the provider's or this data user's circuit
        towards it is open — then at once, with ``details.retry_after``), ``provider_busy``
        (503, ``details.retry_after``: this process already has
        ``TUNGBAN_PROVIDER_MAX_CONCURRENT`` calls to it in flight, or this data user its
        share of them), ``provider_timeout`` (504: no answer, or not all of it, within the
        provider's timeout), ``no_record`` (404), ``provider_error`` (502),
        ``provider_bad_data`` (502: fails the product's JSON Schema).
    """
    provider = consent.product.provider
    if not provider.is_active or not provider.endpoint_url or not consent.product.is_active:
        raise attempt.refuse(errors.ProviderUnavailable(_("The data provider is not available.")))
    url = f"{provider.endpoint_url.rstrip('/')}/cdeg/v1/products/{consent.product_id}"
    limit = settings.TUNGBAN_EXCHANGE_MAX_RESPONSE_BYTES
    token = _provider_token(consent, attempt)
    try:
        attempt.provider_status, body = resilience.call_provider(
            provider.id,
            consent.consumer_id,
            lambda: _post(url, token, timeouts(provider), limit),
            rows=getattr(attempt, "circuits", None),
        )
    except resilience.ProviderDown as down:
        attempt.provider_status = down.status
        raise attempt.refuse(down.error) from None
    except DomainError as refusal:  # provider_busy, or provider_unavailable while the circuit is open
        raise attempt.refuse(refusal) from None
    try:
        answer = json.loads(body) if len(body) <= limit else None
    except ValueError:
        answer = None
    if attempt.provider_status == 404 and isinstance(answer, dict) and answer.get("error") == "no_record":
        raise attempt.refuse(errors.NoRecord())
    if attempt.provider_status != 200:
        raise attempt.refuse(
            errors.ProviderError(
                _("The data provider could not answer (HTTP %(status)s).") % {"status": attempt.provider_status}
            )
        )
    data = answer.get("data") if isinstance(answer, dict) else None
    validator = jsonschema.Draft202012Validator(
        consent.product.schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    error = jsonschema.exceptions.best_match(validator.iter_errors(data)) if data is not None else None
    if data is None or error is not None:
        # Where and which rule only: a schema error's message quotes the provider's value
        # (personal data), so it never reaches the logs (issue 13 item 12).
        where, rule = (error.json_path, error.validator) if error is not None else ("$", "no data")
        log.warning("Provider %s sent data failing %s at %s (%s)", provider.id, consent.product_id, where, rule)
        raise attempt.refuse(errors.ProviderBadData())
    return only_shown_fields(consent.product, data, provider.id)


def only_shown_fields(product, data: dict, provider_id: str = "") -> dict:
    """``data`` without what the resident was not shown when consenting (issue 13 item 19).
    Products are checked at registration (:meth:`.models.DataProduct.clean`), so this drops
    something only for a product stored before that check or edited around it."""
    shown = set(product.field_names())
    extra = sorted(k for k in data if k not in shown)
    if extra:
        log.warning("Provider %s sent %d field(s) not shown for %s; not delivered", provider_id, len(extra), product.id)
    return {k: v for k, v in data.items() if k in shown}


def signed_answer(rec: ExchangeRecord, consent: Consent, data: dict, *, log_promise: dict | None = None) -> dict:
    """The data user's answer: the delivered facts and data, ``log`` (``log_promise``: the
    transparency log's promise of the record's leaf, ``{"kind", "ref", "record_sha256",
    "merge_by"}``, :func:`tungban.ledger.services.promise`; issue 15 round 3), plus
    ``signed``, a JWS (ES256, ``typ`` "cdeg-response+jwt", RFC 7515) by the gateway key over
    the same — so the promise is signed, as a Certificate Transparency SCT."""
    answer = {
        "exchange_id": str(rec.id),
        "consent_id": str(consent.id),
        "product": consent.product_id,
        "provider": consent.product.provider_id,
        "request_id": rec.request_id,
        "delivered_at": rec.at.isoformat(),
        "payload_sha256": rec.payload_sha256,
        "data": data,
    }
    if log_promise is not None:
        answer["log"] = log_promise
    claims = {
        "iss": settings.TUNGBAN_ISSUER,
        "aud": consent.consumer.client.client_id,
        "iat": int(time.time()),
        "jti": str(rec.id),
        **answer,
    }
    answer["signed"] = keys.sign_jwt(claims, "cdeg-response+jwt")
    return answer
