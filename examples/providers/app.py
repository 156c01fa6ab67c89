"""Demo data providers of the Consented Data Exchange Gateway (CDEG, 授權數據交換閘).

A small Flask application that plays one department's system: the Water Supplies
Department (``wsd``), the Inland Revenue Department (``ird``) or the Companies Registry
(``cr``). It does not import ``tungban``: it stands for another department's system and
talks to the gateway only over HTTP.

The provider adapter contract (what the gateway relies on)::

    POST {base}/cdeg/v1/products/{product_id}
    Authorization: Bearer <JWT>
    (any body, ignored)

    200 {"data": {...}}                 the record, valid against the product's JSON Schema
    401 {"error": "invalid_token"}      missing token, bad signature, wrong typ/iss/aud,
                                        expired, product claim ≠ URL, replayed jti, ...
    404 {"error": "unknown_product"}    a product this department does not serve
    404 {"error": "no_record"}          no record for that HKID (or BR number)
    503 {"error": "jwks_unavailable"}   the gateway's JWKS could not be fetched
    503 {"error": "replay_cache_full"}  too many unexpired jti values kept (REPLAY_MAX)

    GET /health → 200 {"status": "ok", "department": "wsd"}

wsd serves ``wsd.registered-address.v1``, ird ``ird.tax-return-status.v1`` and (a company's)
``ird.business-tax-status.v1``, cr ``cr.company-particulars.v1`` (a person's or a company's) (schemas in ``src/tungban/exchange/products/``, JSON Schema
draft 2020-12).

The bearer token is a JWT (RFC 7519) in JWS compact serialization (RFC 7515), signed by
the gateway with ES256. Header ``{"alg": "ES256", "kid": ..., "typ": "cdeg-request+jwt"}``;
the explicit ``typ`` keeps a token minted for another purpose (an ID token, a response
JWT) from being accepted here (RFC 8725 §3.11, explicit typing). Claims::

    iss         the gateway's issuer URL (must equal the configured issuer)
    aud         the department id ("wsd" | "ird" | "cr"): must be ours, a single string
    iat, exp    NumericDate; exp = iat + 60 at the gateway; 300 s of clock skew
                either way here (the platform's documented skew, TUNGBAN_CLOCK_SKEW;
                env CDEG_PROVIDER_CLOCK_SKEW), and a token may live at most 300 s
    jti         the exchange id; accepted once (replay cache)
    product     the product id; must equal the URL's
    consent_id  the consent the exchange is made under
    purpose     the consented purpose
    sub         the data subject's pairwise id at this provider
    hkid        the HKID in canonical form (e.g. "A1234563"); the record key — or, when the
                data subject is a company (issue 19, ``subject_kind`` "organisation"):
    brn         its Business Registration number (8 digits), the record key

The signature is checked against the gateway's JWKS at ``{issuer}/oidc/jwks``, fetched
lazily on the first request (the gateway may start after the provider), parsed once and
cached by ``kid``, and fetched again once when a token names a ``kid`` that is not in the
cache (key rotation; at most once a second, ``CDEG_PROVIDER_JWKS_MIN_REFETCH``). Only ES256
is accepted. All JOSE handling is joserfc's (``joserfc.jwt.decode``, ``JWTClaimsRegistry``,
``KeySet``).

Fault injection for testing the gateway: ``fault="slow"`` sleeps ``delay`` seconds before
answering, ``fault="bad-schema"`` answers 200 with data that breaks the schema,
``fault="error"`` answers 500 ``{"error": "internal"}`` (each only to a valid token for a
product served). ``synthetic=True`` makes a deterministic record for HKIDs outside the
demo population instead of 404 (benchmarks).

Serve it with ``python -m examples.providers`` (granian, one worker process: see
:mod:`examples.providers.__main__`), or with any WSGI server through the factory
:func:`app_from_env`, e.g. ``CDEG_PROVIDER_DEPARTMENT=wsd granian --interface wsgi --factory
examples.providers.app:app_from_env`` or ``gunicorn 'examples.providers.app:app_from_env()'``
(one worker: the replay cache is per process).
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import re
import threading
import time
import urllib.request

from flask import Flask, jsonify, request
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from werkzeug.exceptions import HTTPException

from . import data

log = logging.getLogger("examples.providers")

DEPARTMENTS = tuple(data.PRODUCTS)
FAULTS = ("slow", "bad-schema", "error")
TOKEN_TYPE = "cdeg-request+jwt"
ALGORITHMS = ["ES256"]
#: Clock-skew allowance for exp/iat, either way: the platform's documented skew
#: (``TUNGBAN_CLOCK_SKEW``, 300 s; issue 14 item 9). Env: CDEG_PROVIDER_CLOCK_SKEW. A jti is
#: remembered until exp + LEEWAY, the end of the window in which its token is accepted.
LEEWAY = int(os.environ.get("CDEG_PROVIDER_CLOCK_SKEW", "300"))
#: Longest token lifetime (exp − iat) accepted; bounds how long a jti must be remembered.
MAX_LIFETIME = 300
#: Least time between two JWKS fetches caused by unknown kids (so that tokens with made-up
#: kids cannot make the provider hammer the gateway). Env: CDEG_PROVIDER_JWKS_MIN_REFETCH.
JWKS_MIN_REFETCH = 1.0
JWKS_TIMEOUT = 5.0
#: Most ``jti`` values the replay cache keeps (unexpired ones: a token lives at most
#: MAX_LIFETIME + 2 × LEEWAY = 900 s in it, so 1,000,000 is over 1,000 tokens/s sustained);
#: past it valid tokens are answered 503 replay_cache_full. Env: CDEG_PROVIDER_REPLAY_MAX.
REPLAY_MAX = int(os.environ.get("CDEG_PROVIDER_REPLAY_MAX", "1000000"))
HKID_RE = re.compile(r"^[A-Z]{1,2}[0-9]{6}[0-9A]$")
BRN_RE = re.compile(r"^[0-9]{8}$")


class TokenError(Exception):
    """The bearer token is missing or not acceptable (answered 401 invalid_token)."""


class JWKSUnavailable(Exception):
    """The gateway's JWKS could not be fetched (answered 503)."""


class Keys:
    """One fetch of the gateway's JWKS: the key set, and its keys by ``kid`` (parsed once)."""

    def __init__(self, keys: KeySet):
        self.set = keys
        self.by_kid = {key.kid: key for key in keys if key.kid}


class JWKSCache:
    """The gateway's public keys, fetched on first use and again on an unknown ``kid``
    (at most once per ``min_refetch`` seconds); between fetches a token's key is a dict
    lookup by its ``kid``, parsed once per fetch (RFC 7517 §4.5)."""

    def __init__(self, url: str, min_refetch: float = JWKS_MIN_REFETCH, timeout: float = JWKS_TIMEOUT):
        self.url = url
        self.min_refetch = min_refetch
        self.timeout = timeout
        self.fetches = 0
        self._keys: Keys | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()
        # The standard library's client (requests would add ~0.2 s to every start-up), with
        # no proxies from the environment: loopback / government network.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _download(self) -> bytes:
        """The JWKS document (at most 1 MiB). :raises OSError: it could not be fetched."""
        req = urllib.request.Request(self.url, headers={"Accept": "application/json"})
        with self._opener.open(req, timeout=self.timeout) as response:
            return response.read(1024 * 1024)

    def _fetch(self) -> Keys:
        self.fetches += 1
        try:
            keys = Keys(KeySet.import_key_set(json.loads(self._download())))
        except (OSError, ValueError, KeyError, TypeError, JoseError) as exc:  # URLError/HTTPError are OSErrors
            raise JWKSUnavailable(f"cannot fetch {self.url}: {exc}") from exc
        self._keys, self._fetched_at = keys, time.monotonic()
        return keys

    def get(self) -> Keys:
        """The cached keys (fetched now if there are none yet).

        :raises JWKSUnavailable: none cached and the fetch failed."""
        keys = self._keys
        if keys is not None:
            return keys
        with self._lock:
            return self._keys if self._keys is not None else self._fetch()

    def refresh(self, stale: Keys) -> Keys | None:
        """Fetch again after ``stale`` lacked a kid; ``None`` if refetched too recently.

        :raises JWKSUnavailable: the fetch failed."""
        with self._lock:
            if self._keys is not stale:  # another thread has already refetched
                return self._keys
            if time.monotonic() - self._fetched_at < self.min_refetch:
                return None
            self._fetched_at = time.monotonic()  # throttle attempts, failed ones too
            return self._fetch()


class ReplayCacheFull(Exception):
    """The replay cache holds :data:`REPLAY_MAX` unexpired ``jti`` values (answered 503)."""


class ReplayCache:
    """``jti`` values already accepted, kept until their token has expired; at most
    ``limit`` of them (a token past that is refused with :class:`ReplayCacheFull` rather
    than forgetting a ``jti`` that could still be replayed). Expired entries leave in
    order of expiry (a heap): constant work per token, however many are kept.

    In memory and per process: enough for this demo (one process per department). Under
    several worker processes, a replay that reaches another worker is not detected; a real
    provider would use a shared store (e.g. Redis ``SET jti NX EX ttl``).
    """

    def __init__(self, limit: int | None = None):
        self.limit = limit or REPLAY_MAX
        self._seen: set[str] = set()
        self._expiry: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def add(self, jti: str, expires: float) -> bool:
        """Remember ``jti`` until ``expires`` (epoch seconds); ``False`` if it was seen.

        :raises ReplayCacheFull: ``limit`` unexpired values are kept already."""
        now = time.time()
        with self._lock:
            expiry, seen = self._expiry, self._seen
            while expiry and expiry[0][0] < now:
                seen.discard(heapq.heappop(expiry)[1])
            if jti in seen:
                return False
            if len(seen) >= self.limit:
                raise ReplayCacheFull(f"{len(seen)} unexpired jti values kept")
            seen.add(jti)
            heapq.heappush(expiry, (expires, jti))
            return True


def _typ_ok(typ: object) -> bool:
    # RFC 7515 §4.1.9: media types are case-insensitive and "application/" may be omitted.
    if not isinstance(typ, str):
        return False
    typ = typ.lower()
    return typ == TOKEN_TYPE or typ == "application/" + TOKEN_TYPE


_ESSENTIAL = {"essential": True}


class Verifier:
    """Checks the gateway's request JWTs for one department."""

    def __init__(self, department: str, issuer: str, jwks: JWKSCache):
        self.department = department
        self.issuer = issuer
        self.jwks = jwks
        self.replays = ReplayCache()
        self._registries: dict[str, jwt.JWTClaimsRegistry] = {}

    def _key(self, kid: object):
        """The gateway's key named ``kid`` (a refetch of the JWKS if unknown), or the whole
        key set for a token without a ``kid`` (joserfc then picks).

        :raises TokenError: an unknown kid (after the refetch, or refetched too recently).
        :raises JWKSUnavailable: the JWKS could not be fetched."""
        keys = self.jwks.get()
        if not isinstance(kid, str):
            return keys.set
        key = keys.by_kid.get(kid)
        if key is None:
            fresh = self.jwks.refresh(keys)
            key = fresh.by_kid.get(kid) if fresh is not None else None
            if key is None:
                raise TokenError(f"unknown kid {kid!r}")
        return key

    def _registry(self, product_id: str) -> jwt.JWTClaimsRegistry:
        """The claims' rules for a token to ``product_id`` (built once per served product)."""
        registry = self._registries.get(product_id)
        if registry is None:
            registry = jwt.JWTClaimsRegistry(
                leeway=LEEWAY,
                iss={"essential": True, "value": self.issuer},
                aud=_ESSENTIAL,  # checked in verify(): exactly our id
                product={"essential": True, "value": product_id},
                iat=_ESSENTIAL,
                exp=_ESSENTIAL,
                jti=_ESSENTIAL,
                sub=_ESSENTIAL,
                consent_id=_ESSENTIAL,
                purpose=_ESSENTIAL,
            )
            if product_id in data.PRODUCTS[self.department]:  # not for any URL a client sends
                self._registries[product_id] = registry
        return registry

    def verify(self, authorization: str | None, product_id: str) -> dict:
        """The claims of an acceptable bearer token; raise :class:`TokenError` otherwise.

        :raises JWKSUnavailable: the gateway's keys could not be fetched.
        :raises ReplayCacheFull: the token is valid but its jti cannot be remembered."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise TokenError("no bearer token")
        try:
            # Cheap checks of the (not yet verified) header first, so that a malformed or
            # mistyped token is refused without fetching keys or verifying a signature.
            header = jws.extract_compact(token.encode()).headers()
            if header.get("alg") not in ALGORITHMS:
                raise TokenError(f"alg {header.get('alg')!r}")
            if not _typ_ok(header.get("typ")):
                raise TokenError(f"typ {header.get('typ')!r}")
            claims = jwt.decode(token, self._key(header.get("kid")), algorithms=ALGORITHMS).claims
        except JoseError as exc:
            raise TokenError(f"{type(exc).__name__}: {exc}") from exc
        except (ValueError, TypeError, UnicodeError) as exc:  # malformed input past joserfc's checks
            raise TokenError(f"malformed token: {exc}") from exc
        try:
            self._registry(product_id).validate(claims)
        except JoseError as exc:
            raise TokenError(f"{type(exc).__name__}: {exc}") from exc
        # One audience, as a string: a token naming several providers could be replayed from
        # one to the other (the replay caches are per provider). Stricter than RFC 7519 §4.1.3.
        if claims["aud"] != self.department:
            raise TokenError(f"aud {claims['aud']!r}")
        if claims["exp"] - claims["iat"] > MAX_LIFETIME:
            raise TokenError("lifetime too long")
        for name in ("consent_id", "purpose", "jti"):
            if not isinstance(claims[name], str):
                raise TokenError(f"{name} is not a string")
        # The record's key: a person's HKID, or (issue 19) a company's BR number — exactly one.
        if claims.get("subject_kind") == "organisation":
            if "hkid" in claims or not isinstance(claims.get("brn"), str) or not BRN_RE.match(claims["brn"]):
                raise TokenError("brn is not 8 digits")
        elif "subject_kind" in claims or "brn" in claims:
            raise TokenError("subject_kind")
        elif not isinstance(claims.get("hkid"), str) or not HKID_RE.match(claims["hkid"]):
            raise TokenError("hkid is not in canonical form")
        # Last, so that only a token that is otherwise valid uses up its jti.
        if not self.replays.add(claims["jti"], claims["exp"] + LEEWAY):
            raise TokenError("jti replayed")
        return claims


def _answer(body: dict, status: int = 200, headers: dict | None = None):
    response = jsonify(body)
    response.status_code = status
    if headers:
        response.headers.update(headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def create_app(
    department: str,
    issuer: str,
    fault: str | None = None,
    delay: float = 0,
    synthetic: bool = False,
    demo: bool = False,
) -> Flask:
    """The provider application of ``department`` trusting the gateway ``issuer``. ``demo``:
    every resident without a seeded record gets a synthetic one, made on the first request
    and kept, answered with ``"synthetic": true`` and :data:`~.data.DEMO_NOTICE`
    (:class:`~.data.DemoRecords`; issue 16); otherwise 404 ``no_record`` (or ``synthetic``)."""
    if department not in DEPARTMENTS:
        raise ValueError(f"department must be one of {', '.join(DEPARTMENTS)}, not {department!r}")
    if fault not in (None, *FAULTS):
        raise ValueError(f"fault must be one of {', '.join(FAULTS)}, not {fault!r}")
    issuer = issuer.rstrip("/")
    min_refetch = float(os.environ.get("CDEG_PROVIDER_JWKS_MIN_REFETCH", JWKS_MIN_REFETCH))
    verifier = Verifier(department, issuer, JWKSCache(f"{issuer}/oidc/jwks", min_refetch=min_refetch))
    served = data.PRODUCTS[department]

    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese addresses as UTF-8
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.config["CDEG_PROVIDER"] = {
        "department": department,
        "issuer": issuer,
        "fault": fault,
        "delay": delay,
        "synthetic": synthetic,
        "demo": demo,
        "products": served,
    }
    app.extensions["cdeg_verifier"] = verifier
    demo_records = data.DemoRecords() if demo else None

    @app.before_request
    def read_body():
        # The body is ignored, but read (at most MAX_CONTENT_LENGTH, else 413): a body left
        # unread makes the server close the keep-alive connection after the answer (granian:
        # seen as "connection closed without response" by the next request on it).
        request.get_data(cache=False)

    @app.get("/health")
    def health():
        return _answer({"status": "ok", "department": department})

    @app.post("/cdeg/v1/products/<product_id>")
    def product(product_id: str):
        try:
            claims = verifier.verify(request.headers.get("Authorization"), product_id)
        except TokenError as exc:
            log.warning("%s: rejected token for %s: %s", department, product_id, exc)
            return _answer({"error": "invalid_token"}, 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        except JWKSUnavailable as exc:
            log.error("%s: %s", department, exc)
            return _answer({"error": "jwks_unavailable"}, 503)
        except ReplayCacheFull as exc:
            log.error("%s: %s", department, exc)
            return _answer({"error": "replay_cache_full"}, 503)
        if product_id not in served:
            return _answer({"error": "unknown_product"}, 404)
        if fault == "slow":
            time.sleep(delay)
        elif fault == "error":
            return _answer({"error": "internal"}, 500)
        elif fault == "bad-schema":
            return _answer({"data": data.bad_schema_record(product_id)})
        if "brn" in claims:  # a company (issue 19): the register's record, never a made-up one
            record = data.organisation_record(product_id, claims["brn"])
            return _answer({"data": record}) if record is not None else _answer({"error": "no_record"}, 404)
        if demo_records is not None:
            found = demo_records.get(product_id, claims["hkid"])
            if found is None:
                return _answer({"error": "no_record"}, 404)
            record, made_up = found
            return _answer(
                {"data": record, "synthetic": True, "notice": data.DEMO_NOTICE} if made_up else {"data": record}
            )
        record = data.seeded_record(product_id, claims["hkid"])
        if record is None and synthetic and claims["hkid"] not in data.PEOPLE:
            record = data.synthetic_record(product_id, claims["hkid"])
        if record is None:
            return _answer({"error": "no_record"}, 404)
        return _answer({"data": record})

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        name = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(code, "http_error")
        allow = exc.get_response().headers.get("Allow")
        return _answer({"error": name}, code, {"Allow": allow} if allow else None)

    return app


def app_from_env() -> Flask:
    """:func:`create_app` configured from the environment (for gunicorn).

    ``CDEG_PROVIDER_DEPARTMENT`` (required), ``CDEG_PROVIDER_ISSUER`` (default
    ``http://localhost:8000``), ``CDEG_PROVIDER_FAULT``, ``CDEG_PROVIDER_DELAY`` (seconds,
    default 10 with the slow fault), ``CDEG_PROVIDER_SYNTHETIC`` and ``CDEG_PROVIDER_DEMO``
    (``1`` to enable).
    """
    env = os.environ
    fault = env.get("CDEG_PROVIDER_FAULT") or None
    delay = float(env.get("CDEG_PROVIDER_DELAY") or (10 if fault == "slow" else 0))
    return create_app(
        env["CDEG_PROVIDER_DEPARTMENT"],
        env.get("CDEG_PROVIDER_ISSUER", "http://localhost:8000"),
        fault=fault,
        delay=delay,
        synthetic=env.get("CDEG_PROVIDER_SYNTHETIC", "").lower() in ("1", "true", "yes"),
        demo=env.get("CDEG_PROVIDER_DEMO", "").lower() in ("1", "true", "yes"),
    )
