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
import functools
import heapq
import itertools
import json
import logging
import math
import os
import socket
import threading
import time
import uuid
from typing import Protocol

import certifi
import jsonschema
import urllib3
import urllib3.connection
import urllib3.util
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from tungban.core.errors import DomainError
from tungban.keys import services as keys

from . import errors, resilience, subjects
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
    }
    if consent.subject_kind:  # issue 19: an organisation, found by its number (e.g. "brn")
        claims["sub"] = f"{consent.subject_kind}:{consent.subject_id}"
        claims["subject_kind"] = consent.subject_kind
        claims.update(subjects.get(consent.subject_kind).token_claims(consent.subject_id))
    else:
        claims["hkid"] = consent.resident.hkid
    return keys.sign_jwt(claims, "cdeg-request+jwt")


def _cut_off(sock) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked reading it


class _Watch:
    """The deadline of the provider calls in flight, one thread per process (issue 15, fifth
    round: a ``threading.Timer`` per call started a thread per exchange, ~70 µs of CPU):
    :meth:`add` a socket with the ``time.monotonic()`` by which its call must be answered;
    the watch shuts it down then (:func:`_cut_off`), unless :meth:`remove` came first — so a
    provider that drips its status line and headers, each read within the read timeout,
    cannot hold the call past its timeout (review finding L6). urllib3 has nothing for this:
    its ``Timeout(total=…)`` bounds the connect and each read, not the whole answer, and
    ``BaseHTTPResponse.shutdown()`` exists only once the headers are in. Hooked where urllib3
    reads the answer (:class:`_DeadlineConnection`)."""

    def __init__(self):
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a forked worker starts its own watch

    def _reset(self) -> None:
        self._cv = threading.Condition()
        self._heap: list[tuple[float, int]] = []  # (deadline, ticket); removed tickets skipped
        self._live: dict[int, socket.socket] = {}
        self._tickets = itertools.count()
        self._thread: threading.Thread | None = None
        self._wake_at = -math.inf  # when the watch wakes next (inf: when notified); none yet

    def add(self, deadline: float, sock) -> int:
        with self._cv:
            if self._thread is None or not self._thread.is_alive():  # first call, or after a fork
                self._thread = threading.Thread(target=self._run, name="provider-deadlines", daemon=True)
                self._thread.start()
            ticket = next(self._tickets)
            heapq.heappush(self._heap, (deadline, ticket))
            self._live[ticket] = sock
            if deadline < self._wake_at:  # sooner than the watch wakes: rarely, as timeouts are alike
                self._cv.notify()
            return ticket

    def remove(self, ticket: int) -> None:
        with self._cv:
            self._live.pop(ticket, None)

    def _run(self) -> None:
        with self._cv:
            while True:
                while self._heap and self._heap[0][1] not in self._live:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake_at = math.inf
                    self._cv.wait()
                    continue
                self._wake_at = self._heap[0][0]  # removed tickets are skipped when it comes
                left = self._wake_at - time.monotonic()
                if left > 0:
                    self._cv.wait(left)
                    continue
                _cut_off(self._live.pop(heapq.heappop(self._heap)[1]))


_watch = _Watch()
_call = threading.local()  # .deadline: time.monotonic() by which this thread's answer is due; .sock


class _DeadlineConnection:
    """urllib3's connection, its status line and headers read by the call's deadline
    (``_call.deadline``): the process's :class:`_Watch` shuts the socket down then (review
    finding L6); the socket is left in ``_call.sock`` for the body's reads (:func:`_read_capped`)."""

    def getresponse(self, *args, **kwargs):
        deadline, sock = getattr(_call, "deadline", None), self.sock
        _call.sock = sock
        if deadline is None or sock is None:
            return super().getresponse(*args, **kwargs)
        ticket = _watch.add(deadline, sock)
        try:
            return super().getresponse(*args, **kwargs)
        finally:
            _watch.remove(ticket)


class _HTTPConnection(_DeadlineConnection, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_DeadlineConnection, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


PROVIDER_ORIGINS_KEPT = 100  # provider origins whose pools a process keeps (least recently used closed)


@functools.cache
def _providers() -> urllib3.PoolManager:
    """The process's urllib3 ``PoolManager`` towards providers (built on first use, from the
    settings): one pool per origin (least recently used closed beyond
    ``PROVIDER_ORIGINS_KEPT``), each keeping at most ``max(TUNGBAN_PROVIDER_MAX_CONCURRENT,
    10)`` connections alive and opening more when all are busy (``block=False``; the bulkhead
    of :mod:`.resilience` bounds the calls); over HTTPS, certificates verified against the CA
    ``TUNGBAN_EXCHANGE_TLS_CA`` (else certifi's bundle, as ``requests`` verified) with host
    names checked, and the gateway's client certificate ``TUNGBAN_EXCHANGE_TLS_CERT``/``_KEY``
    (mutual TLS). No proxy (a ``PoolManager`` reads none from the environment), no retry, no
    redirect. Connections only: no state that two workers could disagree on."""
    manager = urllib3.PoolManager(
        num_pools=PROVIDER_ORIGINS_KEPT,
        maxsize=max(int(settings.TUNGBAN_PROVIDER_MAX_CONCURRENT), 10),  # requests kept 10
        block=False,
        retries=False,
        cert_reqs="CERT_REQUIRED",
        ca_certs=settings.TUNGBAN_EXCHANGE_TLS_CA or certifi.where(),
        cert_file=settings.TUNGBAN_EXCHANGE_TLS_CERT or None,
        key_file=settings.TUNGBAN_EXCHANGE_TLS_KEY or None,
    )
    manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
    return manager


# A forked worker opens its own connections (never the parent's sockets); urllib3 has no fork hook.
os.register_at_fork(after_in_child=_providers.cache_clear)


@functools.lru_cache(maxsize=256)
def _target(url: str) -> tuple[str, str, int | None, str]:
    """``(scheme, host, port, request target)`` of a provider's URL (urllib3's ``parse_url``;
    cached: ``PoolManager.urlopen`` would parse it on every call, ~20 µs of CPU)."""
    parsed = urllib3.util.parse_url(url)
    return parsed.scheme or "http", parsed.host, parsed.port, parsed.request_uri


@functools.lru_cache(maxsize=256)
def _timeout(connect: float, read: float) -> urllib3.Timeout:
    return urllib3.Timeout(connect=connect, read=read)


class _PastDeadline(Exception):
    """The provider's whole answer did not arrive within its timeout."""


def _read_capped(response: urllib3.BaseHTTPResponse, sock, limit: int, deadline: float) -> bytes:
    """The body, or its first ``limit + 1`` bytes when longer, all of it by ``deadline``
    (``time.monotonic()``): a provider that drips its answer, each read within the read
    timeout, is cut off there (review finding L6). Each read takes at most one read from the
    socket (``read1``), whose timeout is set to the time left. A body read to the end hands
    its connection back to the pool (urllib3: kept alive unless the provider closes it).

    :raises _PastDeadline: when the deadline passes first.
    """
    chunks, size = [], 0
    while size <= limit:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _PastDeadline
        if sock is not None:
            sock.settimeout(left)
        try:
            chunk = response.read1(64 * 1024)
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


_HEADERS = {
    "Accept": "application/json",
    "Accept-Encoding": "identity",  # as http.client sent it; the body is never decoded (capped as sent)
    "User-Agent": urllib3.util.SKIP_HEADER,  # urllib3's own otherwise
}


def _post(url: str, token: str, timeout: tuple[float, float], limit: int) -> tuple[int, bytes]:
    """The outbound request (``POST``; headers ``Authorization``, ``Accept`` and ``Accept-Encoding:
    identity``, plus ``Host`` and ``Content-Length: 0`` that HTTP/1.1 needs; no redirect followed,
    no retry), through urllib3's kept-alive pool of the provider's origin (:func:`_providers`):
    ``(status, body)``, the body capped at ``limit + 1`` bytes. The whole answer must arrive
    within the read timeout (``timeout[1]``, the provider's timeout), counted from the request,
    not per socket read: the process's :class:`_Watch` shuts the socket down at that deadline
    while the status line and headers are read (:class:`_DeadlineConnection`), each read of the
    body gets the time left (:func:`_read_capped`; review finding L6). A connection goes back to
    the pool only when its answer was read to the end (urllib3 hands it back then) and the
    provider keeps it open; a capped answer's or a failed call's connection is closed.

    :raises resilience.ProviderDown: with ``provider_timeout`` (read timeout, or the whole
        answer not in within the provider's timeout),
        ``provider_unavailable`` (no connection, or none within the connect timeout, or the TLS
        handshake failed; HTTP 503) or ``provider_error`` (any other HTTP 5xx) — the failures
        the circuit breaker counts.
    """
    deadline = _call.deadline = time.monotonic() + timeout[1]
    _call.sock = None
    try:
        scheme, host, port, target = _target(url)
        response = (
            _providers()
            .connection_from_host(host, port, scheme)
            .urlopen(
                "POST",
                target,
                headers={"Authorization": f"Bearer {token}", **_HEADERS},
                timeout=_timeout(*timeout),
                retries=False,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
            )
        )
        try:
            status = response.status
            body = _read_capped(response, _call.sock, limit, deadline)
        finally:
            # Read to the end, the connection went back to the pool already; otherwise it is
            # closed (never reused with an unread answer in it) and its slot given back.
            response.close()
            response.release_conn()
    except _PastDeadline:
        log.warning("Provider at %s: answer not complete within %s s", url, timeout[1])
        raise resilience.ProviderDown(errors.ProviderTimeout()) from None
    except urllib3.exceptions.ConnectTimeoutError as exc:  # NewConnectionError too: refused, unreachable
        log.warning("Provider at %s: no connection within %s s (%s)", url, timeout[0], exc)
        raise resilience.ProviderDown(errors.ProviderUnavailable()) from None
    except urllib3.exceptions.ReadTimeoutError:
        raise resilience.ProviderDown(errors.ProviderTimeout()) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        if time.monotonic() >= deadline:  # cut off at the deadline while reading the headers
            log.warning("Provider at %s: answer not complete within %s s", url, timeout[1])
            raise resilience.ProviderDown(errors.ProviderTimeout()) from None
        log.warning("Provider at %s unreachable: %s", url, exc)
        raise resilience.ProviderDown(errors.ProviderUnavailable()) from None
    finally:
        _call.deadline = _call.sock = None
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
    kind = getattr(consent, "subject_kind", "")  # issue 19: a company's form
    schema = consent.product.schema if not kind else (consent.product.form(kind) or ({},))[0]
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data)) if data is not None else None
    if data is None or error is not None:
        # Where and which rule only: a schema error's message quotes the provider's value
        # (personal data), so it never reaches the logs (issue 13 item 12).
        where, rule = (error.json_path, error.validator) if error is not None else ("$", "no data")
        log.warning("Provider %s sent data failing %s at %s (%s)", provider.id, consent.product_id, where, rule)
        raise attempt.refuse(errors.ProviderBadData())
    return only_shown_fields(consent.product, data, provider.id, kind)


def only_shown_fields(product, data: dict, provider_id: str = "", subject_kind: str = "") -> dict:
    """``data`` without what the resident was not shown when consenting (issue 13 item 19).
    Products are checked at registration (:meth:`.models.DataProduct.clean`), so this drops
    something only for a product stored before that check or edited around it.
    ``subject_kind``: the form of a non-resident data subject's (issue 19)."""
    shown = set(product.field_names(subject_kind))
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
