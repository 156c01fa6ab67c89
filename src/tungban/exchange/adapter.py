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

import functools
import json
import logging
import math
import os
import threading
import time
import uuid
import weakref
from typing import Protocol

import certifi
import jsonschema
import pycurl
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


PROVIDER_CONNECTIONS_KEPT = 16  # connections to providers each worker thread keeps alive (libcurl's cache)


#: ``CURLOPT_CA_CACHE_TIMEOUT`` (libcurl 7.87; pycurl has no name for it): seconds libcurl keeps
#: the parsed CA file for new connections (default a day). 0: read for each new connection, as
#: urllib3 did, so a CA taken out of ``TUNGBAN_EXCHANGE_TLS_CA`` is distrusted at once.
_CA_CACHE_TIMEOUT = 321


class _Providers:
    """The process's HTTP client towards providers: libcurl (pycurl), one easy handle per
    worker thread (libcurl's handles are not shared between threads), each keeping up to
    ``PROVIDER_CONNECTIONS_KEPT`` connections alive (its connection cache, least recently
    used closed beyond; a provider thus sees up to threads × processes connections from each
    host). Built from the settings on first use (:func:`_providers`): over HTTPS,
    certificates verified against ``TUNGBAN_EXCHANGE_TLS_CA`` (else certifi's bundle, as
    ``requests`` verified; the file read for each new connection) with host names checked, and
    the gateway's client certificate ``TUNGBAN_EXCHANGE_TLS_CERT``/``_KEY`` (mutual TLS). No
    proxy (not even from the environment), no redirect, http and https only, HTTP/1.1.
    Connections only: no state that two workers could disagree on. Issue 15 (fourteenth
    round): a call costs ~50 µs of CPU in libcurl against ~200–400 µs through urllib3, whose
    pool it replaces."""

    def __init__(self):
        self.ca = settings.TUNGBAN_EXCHANGE_TLS_CA or certifi.where()
        self.cert = settings.TUNGBAN_EXCHANGE_TLS_CERT or None
        self.key = settings.TUNGBAN_EXCHANGE_TLS_KEY or None
        self._local = threading.local()

    def handle(self) -> pycurl.Curl:
        """This thread's easy handle, with the options every call shares."""
        curl = getattr(self._local, "curl", None)
        if curl is None:
            curl = pycurl.Curl()
            curl.setopt(pycurl.NOSIGNAL, 1)  # timeouts without SIGALRM: the handle lives in a worker thread
            curl.setopt(pycurl.PROXY, "")  # no proxy, whatever the environment says
            curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
            curl.setopt(pycurl.FOLLOWLOCATION, 0)
            curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
            curl.setopt(pycurl.MAXCONNECTS, PROVIDER_CONNECTIONS_KEPT)
            curl.setopt(pycurl.CAINFO, self.ca)
            curl.setopt(_CA_CACHE_TIMEOUT, 0)
            curl.setopt(pycurl.SSL_VERIFYPEER, 1)
            curl.setopt(pycurl.SSL_VERIFYHOST, 2)
            if self.cert:
                curl.setopt(pycurl.SSLCERT, self.cert)
            if self.key:
                curl.setopt(pycurl.SSLKEY, self.key)
            curl.setopt(pycurl.POSTFIELDS, b"")  # POST with Content-Length: 0
            curl.setopt(pycurl.HTTPHEADER, list(_HEADERS))
            self._local.curl = curl
            with _handles_lock:
                _HANDLES.add(curl)
        return curl


@functools.cache
def _providers() -> _Providers:
    """The process's :class:`_Providers`, made from the settings on first use."""
    return _Providers()


_HANDLES: weakref.WeakSet[pycurl.Curl] = weakref.WeakSet()  # every thread's handle, of every _Providers
_handles_lock = threading.Lock()  # held across a fork: no handle is added while they are counted
_FORKING: list[pycurl.Curl] = []  # held from just before a fork until just after it
_FORKED_AWAY: list[pycurl.Curl] = []  # in a forked child, the parent's handles: never used nor freed


def _before_fork() -> None:
    _handles_lock.acquire()
    _FORKING.extend(_HANDLES)


def _after_fork_in_parent() -> None:
    _FORKING.clear()
    _handles_lock.release()


def _after_fork_in_child() -> None:
    """A forked child opens its own connections, never the parent's sockets. The parent's
    handles (every thread's: the child drops the other threads' ``threading.local`` values)
    are kept, not freed: freeing one closes its connections, and for TLS sends a
    ``close_notify`` on a socket the parent still uses."""
    global _handles_lock
    _FORKED_AWAY.extend(_FORKING)
    _FORKING.clear()
    _HANDLES.clear()
    _handles_lock = threading.Lock()
    _providers.cache_clear()


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)


def timeouts(provider) -> tuple[float, float]:
    """``(connect, read)`` seconds for a call to ``provider``: ``TUNGBAN_PROVIDER_CONNECT_TIMEOUT``
    (2; never more than the read timeout) and the provider's ``timeout_seconds`` or
    ``TUNGBAN_EXCHANGE_PROVIDER_TIMEOUT`` (5), never more than ``MAX_PROVIDER_TIMEOUT`` (30:
    a row stored before that bound was validated) — issue 14 item 1, review finding L6."""
    read = min(provider.timeout_seconds or settings.TUNGBAN_EXCHANGE_PROVIDER_TIMEOUT, MAX_PROVIDER_TIMEOUT)
    return min(settings.TUNGBAN_PROVIDER_CONNECT_TIMEOUT, read), read


#: The request's headers besides ``Authorization`` and the ``Host`` and ``Content-Length: 0``
#: that HTTP/1.1 needs; the empty ones remove what libcurl would add to a POST.
_HEADERS = (
    "Accept: application/json",
    "Accept-Encoding: identity",  # the body is never decoded (capped as sent)
    "Content-Type:",  # libcurl's form type: the request has no body
    "Expect:",
    "User-Agent:",  # pycurl's own otherwise
)


def _post(url: str, token: str, timeout: tuple[float, float], limit: int) -> tuple[int, bytes]:
    """The outbound request (``POST``; headers ``Authorization``, ``Accept`` and ``Accept-Encoding:
    identity``, plus ``Host`` and ``Content-Length: 0`` that HTTP/1.1 needs; no redirect followed)
    on this thread's libcurl handle (:class:`_Providers`), over a kept-alive connection to the
    provider when there is one: ``(status, body)``, the body capped at ``limit + 1`` bytes (the
    transfer is stopped there and its connection closed). The whole answer must arrive within
    the read timeout (``timeout[1]``, the provider's timeout), counted from the request, not
    per socket read: libcurl's ``CURLOPT_TIMEOUT_MS`` bounds the whole transfer, so a provider
    that drips its answer cannot hold the call past it (review finding L6). A connection is kept
    only when its answer was read to the end and the provider keeps it open. libcurl sends the
    request again, once, on a fresh connection when a kept one turns out closed before any
    answer came: the provider call is a read, named by its token's ``jti``.

    :raises resilience.ProviderDown: with ``provider_timeout`` (the whole answer not in within
        the provider's timeout), ``provider_unavailable`` (no connection, or none within the
        connect timeout, the TLS handshake failed, or no HTTP answer; HTTP 503) or
        ``provider_error`` (any other HTTP 5xx) — the failures the circuit breaker counts.
    """
    curl = _providers().handle()
    chunks: list[bytes] = []
    size = 0

    def take(chunk: bytes):
        nonlocal size
        chunks.append(chunk)
        size += len(chunk)
        return 0 if size > limit else None  # 0: stop the transfer (CURLE_WRITE_ERROR)

    try:
        curl.setopt(pycurl.URL, _ascii_url(url))
        curl.setopt(pycurl.HTTPHEADER, [f"Authorization: Bearer {token}", *_HEADERS])
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, _milliseconds(timeout[0]))
        curl.setopt(pycurl.TIMEOUT_MS, _milliseconds(timeout[1]))
        curl.setopt(pycurl.WRITEFUNCTION, take)
        curl.perform()
    except pycurl.error as exc:
        code = exc.args[0]
        if code == pycurl.E_WRITE_ERROR and size > limit:
            pass  # stopped at the cap (take): the status still says whether the provider failed
        elif code == pycurl.E_OPERATION_TIMEDOUT and curl.getinfo(pycurl.REQUEST_SIZE) > 0:
            # The request was sent (on a new or a kept connection) and the answer was late, not
            # the connection: libcurl's connect and pre-transfer times cannot tell (a kept
            # connection has no connect time; a connect timeout has a pre-transfer time), the
            # request's size can.
            log.warning("Provider at %s: answer not complete within %s s", url, timeout[1])
            raise resilience.ProviderDown(errors.ProviderTimeout()) from None
        else:
            # Refused or unroutable, name not resolved, no connection within the connect timeout,
            # the TLS handshake or the certificate refused, the connection dropped, no HTTP answer.
            log.warning("Provider at %s unreachable: %s (libcurl error %s)", url, exc.args[-1], code)
            raise resilience.ProviderDown(errors.ProviderUnavailable()) from None
    finally:
        # Neither the closure (the body) nor the token (it names the resident) stays with the handle.
        curl.setopt(pycurl.WRITEFUNCTION, _discard)
        curl.setopt(pycurl.HTTPHEADER, list(_HEADERS))
    status = curl.getinfo(pycurl.RESPONSE_CODE)
    if status == 503:
        raise resilience.ProviderDown(errors.ProviderUnavailable(), status)
    if status >= 500:
        raise resilience.ProviderDown(
            errors.ProviderError(_("The data provider could not answer (HTTP %(status)s).") % {"status": status}),
            status,
        )
    return status, b"".join(chunks)[: limit + 1]


def _milliseconds(seconds: float) -> int:
    """A timeout for libcurl, at least 1 ms (its 0 means none)."""
    return max(1, math.ceil(seconds * 1000))


@functools.lru_cache(maxsize=256)
def _ascii_url(url: str) -> str:
    """``url`` as libcurl takes it: the host in IDNA, the rest percent-encoded where it is not
    ASCII (RFC 3986 §2.1, RFC 5891; urllib3's ``parse_url``, as the calls on urllib3 sent it)."""
    return url if url.isascii() else urllib3.util.parse_url(url).url


def _discard(chunk: bytes) -> None:
    return None


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
