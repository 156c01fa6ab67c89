"""Trust chains (OpenID Federation 1.0 draft 45 §4, §10): collect, verify, apply policy. Part fcore.

Agreed interface (other parts code against it):

.. code-block:: python

    @dataclass(frozen=True)
    class TrustChain:
        subject: str            # the leaf's entity identifier
        anchor: str             # the trust anchor's entity identifier
        path: tuple[str, ...]   # entity identifiers, leaf first, anchor last
        statements: tuple[str, ...]  # the JWTs (§4): leaf EC, subordinate statements, anchor EC
        metadata: dict          # the leaf's metadata after policy, {entity_type: {...}} (§6.1.4.2)
        trust_marks: tuple[dict, ...]  # verified: {"trust_mark_type", "iss", "sub", "iat", "exp", ...}
        expires_at: int         # Unix seconds: the earliest exp in the chain (§4.3)

    def resolve(entity_id: str, *, entity_type: str | None = None,
                required_trust_marks: Iterable[str] = (), anchors=None) -> TrustChain

``anchors`` defaults to the active :class:`~tungban.federation.models.TrustAnchor` rows (keys
pinned). Every call fetches afresh over HTTP (no cache: revocation takes effect at the next
resolution). Raises :class:`~tungban.federation.errors.InvalidTrustChain`,
``InvalidTrustAnchor``, ``InvalidMetadata``, ``InvalidTrustMark``, ``FetchFailed``.

Fetching (§9, §8.1): ``requests`` without redirects, connect and read timeouts of
``TUNGBAN_FEDERATION_FETCH_TIMEOUT`` seconds, at most :data:`MAX_RESPONSE_BYTES`, the content
type checked; hosts on private or loopback networks refused (:mod:`tungban.core.netguard`)
unless ``TUNGBAN_FEDERATION_ALLOW_PRIVATE``. A 429, a 5xx, a redirect, a timeout or another
content type is :class:`~tungban.federation.errors.FetchFailed` (passing: a stranger or a rate
limiter may cause it); only a superior's fetch endpoint answering ``not_found`` /
``invalid_subject`` is a definite :class:`~tungban.federation.errors.MemberRemoved`.

Limits of one resolution (an unauthenticated request may start one, e.g. an authorization
request whose ``client_id`` is a URL; design review of issue 23): at most
:data:`MAX_HINTS_PER_STATEMENT` authority hints followed per entity configuration (pinned
anchors first), at most ``TUNGBAN_FEDERATION_MAX_FETCHES`` HTTP fetches in all (default
:data:`DEFAULT_MAX_FETCHES`, trust mark checks included) and an overall deadline of
:data:`DEADLINE_FACTOR` × ``TUNGBAN_FEDERATION_FETCH_TIMEOUT`` seconds; past either the
resolution fails with ``FetchFailed``.
"""

from __future__ import annotations

import contextvars
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tungban.core import netguard

from .. import errors
from ..constants import (
    CLOCK_SKEW,
    ENTITY_STATEMENT_MEDIA_TYPE,
    ENTITY_STATEMENT_TYP,
    FEDERATION_ENTITY,
    MAX_CHAIN_LENGTH,
    TRUST_MARK_STATUS_MEDIA_TYPE,
    TRUST_MARK_STATUS_TYP,
    TRUST_MARK_TYP,
    WELL_KNOWN_PATH,
)
from ..models import TrustAnchor
from . import policy

#: Signature algorithms accepted on statements from other implementations (asymmetric only;
#: the platform itself signs ES256).
ALGORITHMS = ["ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "EdDSA"]
#: Authority hints followed per entity configuration (pinned anchors' entity IDs first).
MAX_HINTS_PER_STATEMENT = 5
#: HTTP fetches one resolution may make unless ``TUNGBAN_FEDERATION_MAX_FETCHES`` says otherwise.
DEFAULT_MAX_FETCHES = 20
#: One resolution's deadline, in multiples of ``TUNGBAN_FEDERATION_FETCH_TIMEOUT``.
DEADLINE_FACTOR = 3
#: The largest statement or response accepted (bytes).
MAX_RESPONSE_BYTES = 256 * 1024
#: Claims of an entity statement the platform understands (§3): a ``crit`` naming anything
#: else makes the statement unusable (§3.1.1 ``crit``).
KNOWN_CLAIMS = frozenset(
    {
        "iss",
        "sub",
        "iat",
        "exp",
        "jwks",
        "authority_hints",
        "metadata",
        "metadata_policy",
        "metadata_policy_crit",
        "constraints",
        "trust_marks",
        "trust_mark_issuers",
        "trust_mark_owners",
        "source_endpoint",
        "crit",
    }
)


@dataclass(frozen=True)
class TrustChain:
    """A verified trust chain (§4) and the leaf's resolved metadata; see the module docstring."""

    subject: str
    anchor: str
    path: tuple[str, ...]
    statements: tuple[str, ...]
    metadata: dict
    trust_marks: tuple[dict, ...]
    expires_at: int


# --- fetching ---------------------------------------------------------------------------------


def _timeout() -> float:
    return float(getattr(settings, "TUNGBAN_FEDERATION_FETCH_TIMEOUT", 5))


@dataclass
class _Budget:
    fetches_left: int
    deadline: float  # time.monotonic()


#: The budget of the resolution in progress (None outside one: no limit). Per call, not shared.
_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("federation_budget", default=None)


def _spend(what: str) -> None:
    """Count one fetch against the resolution's budget. :raises errors.FetchFailed: spent."""
    budget = _budget.get()
    if budget is None:
        return
    if budget.fetches_left <= 0:
        raise errors.FetchFailed(f"the resolution needs more than its {_max_fetches()} fetches ({what})")
    if time.monotonic() >= budget.deadline:
        raise errors.FetchFailed(f"the resolution took longer than {DEADLINE_FACTOR * _timeout()} s ({what})")
    budget.fetches_left -= 1


def _max_fetches() -> int:
    return int(getattr(settings, "TUNGBAN_FEDERATION_MAX_FETCHES", DEFAULT_MAX_FETCHES))


def _http(method: str, url: str, *, expect: str, params=None, data=None, fetch_endpoint: bool = False) -> str:
    """The body of a 200 answer of ``expect`` content type from ``url``.

    :param fetch_endpoint: ``url`` is a superior's fetch endpoint (§8.1): its ``not_found`` /
        ``invalid_subject`` error (§8.9) is a definite answer that the subject is out.
    :raises errors.FetchFailed: refused address, network error, timeout, too large, 429, 5xx,
        a redirect, another content type (passing: they change no registration).
    :raises errors.MemberRemoved: the fetch endpoint answered ``not_found`` / ``invalid_subject``.
    :raises errors.InvalidTrustChain: another 4xx answer, not ASCII."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise errors.InvalidTrustChain(f"not an http(s) address: {url}")
    timeout = _timeout()
    deadline = time.monotonic() + timeout * 2
    budget = _budget.get()
    if budget is not None:
        deadline = min(deadline, budget.deadline)
        timeout = max(0.1, min(timeout, budget.deadline - time.monotonic()))
    # The outbound guard (private addresses, the connection pinned to the checked address,
    # no redirects, the size cap and the deadline): the same as the hosted services' token request.
    session = netguard.guard(
        requests.Session(),
        allow_private=bool(getattr(settings, "TUNGBAN_FEDERATION_ALLOW_PRIVATE", False)),
        max_bytes=MAX_RESPONSE_BYTES,
        deadline=max(0.1, deadline - time.monotonic()),
    )
    try:
        with session:
            r = session.request(method, url, params=params, data=data, timeout=(timeout, timeout))
    except requests.RequestException as e:
        raise errors.FetchFailed(f"{url}: {type(e).__name__}: {e}") from None
    if r.status_code == 429 or r.status_code >= 500:
        raise errors.FetchFailed(f"{url} answered HTTP {r.status_code}")
    if 400 <= r.status_code < 500:
        text = r.content[:4096].decode("utf-8", "replace")
        if fetch_endpoint and r.status_code in (400, 404) and _error_code(text) in ("not_found", "invalid_subject"):
            raise errors.MemberRemoved(f"{url} answered HTTP {r.status_code} {_error_code(text)} for {params}")
        raise errors.InvalidTrustChain(f"{url} answered HTTP {r.status_code}: {text[:200]}")
    if r.status_code != 200:
        raise errors.FetchFailed(f"{url} answered HTTP {r.status_code}")
    ctype = r.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if ctype != expect:
        raise errors.FetchFailed(f"{url} answered {ctype or 'no content type'}, not {expect}")
    try:
        return r.content.decode("ascii").strip()
    except UnicodeDecodeError:
        raise errors.InvalidTrustChain(f"{url}: the answer is not a compact JWS") from None


def _error_code(text: str) -> str:
    """The ``error`` of a §8.9 JSON error body, or ""."""
    try:
        body = json.loads(text)
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def well_known_url(entity_id: str) -> str:
    """Where ``entity_id`` publishes its entity configuration (§9)."""
    return f"{entity_id.rstrip('/')}/{WELL_KNOWN_PATH}"


# --- verification -----------------------------------------------------------------------------


def _keyset(jwks) -> KeySet:
    try:
        keyset = KeySet.import_key_set(jwks)
    except Exception:
        raise errors.InvalidTrustChain("a JWK Set in the chain is malformed") from None
    if not keyset.keys:
        raise errors.InvalidTrustChain("a JWK Set in the chain is empty")
    return keyset


def verify_jwt(token: str, jwks, *, typ: str, now: float | None = None, what: str = "statement") -> dict:
    """The claims of ``token`` once its signature verifies with one of ``jwks`` (by ``kid``), its
    header ``typ`` is ``typ``, and ``iat``/``exp`` hold at ``now`` within :data:`CLOCK_SKEW`.

    :raises errors.InvalidTrustChain: any of these fails (the message says which)."""
    now = time.time() if now is None else now
    try:
        token_obj = jwt.decode(token, _keyset(jwks), algorithms=ALGORITHMS)
    except errors.InvalidTrustChain:
        raise
    except (JoseError, ValueError, KeyError, TypeError) as e:
        raise errors.InvalidTrustChain(f"the {what}'s signature does not verify ({type(e).__name__})") from None
    if token_obj.header.get("typ") != typ:
        raise errors.InvalidTrustChain(f"the {what}'s typ is {token_obj.header.get('typ')!r}, not {typ}")
    claims = dict(token_obj.claims)
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        raise errors.InvalidTrustChain(f"the {what} has no iat or exp")
    if iat > now + CLOCK_SKEW:
        raise errors.InvalidTrustChain(f"the {what} is issued in the future")
    if exp < now - CLOCK_SKEW:
        raise errors.InvalidTrustChain(f"the {what} from {claims.get('iss')} expired")
    return claims


def _check_statement(claims: dict, *, iss: str, sub: str, what: str) -> None:
    if claims.get("iss") != iss or claims.get("sub") != sub:
        raise errors.InvalidTrustChain(
            f"the {what} is by {claims.get('iss')!r} about {claims.get('sub')!r}, not by {iss} about {sub}"
        )
    if not isinstance(claims.get("jwks"), dict):
        raise errors.InvalidTrustChain(f"the {what} has no jwks")
    crit = claims.get("crit")
    if crit is not None:
        unknown = set(crit if isinstance(crit, list) else [crit]) - KNOWN_CLAIMS
        if unknown:
            raise errors.InvalidTrustChain(
                f"the {what} needs claims this platform does not understand: {sorted(unknown)}"
            )


def _fetch_ec(entity_id: str) -> tuple[str, dict]:
    entity_id = entity_id.rstrip("/")
    token = _http("GET", well_known_url(entity_id), expect=ENTITY_STATEMENT_MEDIA_TYPE)
    try:
        from .entities import unverified_claims

        jwks = unverified_claims(token).get("jwks")
    except ValueError:
        raise errors.InvalidTrustChain(f"{entity_id}'s entity configuration is not a JWT") from None
    what = f"entity configuration of {entity_id}"
    claims = verify_jwt(token, jwks, typ=ENTITY_STATEMENT_TYP, what=what)
    _check_statement(claims, iss=entity_id, sub=entity_id, what=what)
    return token, claims


def fetch_entity_configuration(entity_id: str) -> dict:
    """The claims of ``entity_id``'s entity configuration (§9), verified against its own ``jwks``
    (self-signed; this says nothing about federation membership: use :func:`resolve`).

    :raises errors.FetchFailed: unreachable. :raises errors.InvalidTrustChain: not a valid
        entity configuration."""
    return _fetch_ec(entity_id)[1]


def _fetch_subordinate_statement(superior_ec: dict, subject: str) -> tuple[str, dict]:
    superior = superior_ec["iss"]
    endpoint = ((superior_ec.get("metadata") or {}).get(FEDERATION_ENTITY) or {}).get("federation_fetch_endpoint")
    if not endpoint:
        raise errors.InvalidTrustChain(f"{superior} publishes no fetch endpoint")
    token = _http("GET", endpoint, params={"sub": subject}, expect=ENTITY_STATEMENT_MEDIA_TYPE, fetch_endpoint=True)
    what = f"subordinate statement of {superior} about {subject}"
    claims = verify_jwt(token, superior_ec["jwks"], typ=ENTITY_STATEMENT_TYP, what=what)
    _check_statement(claims, iss=superior, sub=subject, what=what)
    return token, claims


# --- constraints (§6.2) -------------------------------------------------------------------------


def _host_matches(host: str, name: str) -> bool:
    name = name.lower()
    return host.endswith(name) if name.startswith(".") else host == name


def _check_constraints(constraints: dict, *, issued_by_index: int, path: list[str], leaf_metadata: dict) -> dict:
    """Apply the ``constraints`` of the subordinate statement issued by ``path[issued_by_index]``;
    returns the leaf metadata with entity types not allowed removed (§6.2.3)."""
    if not constraints:
        return leaf_metadata
    max_len = constraints.get("max_path_length")
    if isinstance(max_len, int) and issued_by_index - 1 > max_len:
        raise errors.InvalidTrustChain(
            f"{path[issued_by_index]} allows {max_len} intermediates, the chain has {issued_by_index - 1}"
        )
    naming = constraints.get("naming_constraints") or {}
    permitted, excluded = naming.get("permitted") or [], naming.get("excluded") or []
    for entity_id in path[:issued_by_index]:
        host = (urlsplit(entity_id).hostname or "").lower()
        if permitted and not any(_host_matches(host, n) for n in permitted):
            raise errors.InvalidTrustChain(f"{entity_id} is outside the names {path[issued_by_index]} permits")
        if any(_host_matches(host, n) for n in excluded):
            raise errors.InvalidTrustChain(f"{entity_id} is among the names {path[issued_by_index]} excludes")
    allowed = constraints.get("allowed_entity_types")
    if isinstance(allowed, list):
        keep = {FEDERATION_ENTITY, *allowed}
        leaf_metadata = {k: v for k, v in leaf_metadata.items() if k in keep}
    return leaf_metadata


# --- trust marks (§7.3) -------------------------------------------------------------------------


def _trust_mark_status(issuer_ec: dict, issuer_keys, token: str) -> str:
    endpoint = ((issuer_ec.get("metadata") or {}).get(FEDERATION_ENTITY) or {}).get(
        "federation_trust_mark_status_endpoint"
    )
    if not endpoint:
        return "unknown"
    _spend(endpoint)
    answer = _http("POST", endpoint, data={"trust_mark": token}, expect=TRUST_MARK_STATUS_MEDIA_TYPE)
    try:
        claims = jwt.decode(answer, _keyset(issuer_keys), algorithms=ALGORITHMS)
    except (JoseError, ValueError, KeyError, TypeError):
        return "unverifiable"
    if claims.header.get("typ") != TRUST_MARK_STATUS_TYP or claims.claims.get("trust_mark") != token:
        return "unverifiable"
    if claims.claims.get("iss") != issuer_ec.get("iss"):
        return "unverifiable"
    return str(claims.claims.get("status", ""))


def _verify_trust_mark(entry, *, leaf: str, anchor_ec: dict, anchor_keys) -> dict:
    """The verified claims of one ``trust_marks`` entry of the leaf (§7.3), plus ``trust_mark``
    (the JWT). :raises errors.InvalidTrustMark: why it does not verify."""
    from .entities import unverified_claims

    token = entry.get("trust_mark") if isinstance(entry, dict) else None
    if not isinstance(token, str):
        raise errors.InvalidTrustMark("a trust_marks entry has no trust_mark")
    try:
        unverified = unverified_claims(token)
    except ValueError:
        raise errors.InvalidTrustMark("a trust mark is not a JWT") from None
    mark_type = unverified.get("trust_mark_type") or unverified.get("id")
    issuer = str(unverified.get("iss", "")).rstrip("/")
    issuers = (anchor_ec.get("trust_mark_issuers") or {}).get(mark_type)
    if not isinstance(issuers, list) or issuer not in [str(i).rstrip("/") for i in issuers]:
        raise errors.InvalidTrustMark(f"{issuer} is not a trust mark issuer of {mark_type} for the anchor")
    try:
        if issuer == anchor_ec["iss"]:
            issuer_ec, issuer_keys = anchor_ec, anchor_keys
        else:
            _spend(issuer)
            _token, issuer_ec = _fetch_ec(issuer)
            issuer_keys = issuer_ec["jwks"]
        claims = verify_jwt(token, issuer_keys, typ=TRUST_MARK_TYP, what=f"trust mark {mark_type}")
    except errors.InvalidTrustChain as e:
        raise errors.InvalidTrustMark(str(e.args[0] if e.args else e)) from None
    if claims.get("sub") != leaf:
        raise errors.InvalidTrustMark(f"the trust mark {mark_type} is for {claims.get('sub')!r}, not {leaf}")
    if claims.get("iss") != issuer or (claims.get("trust_mark_type") or claims.get("id")) != mark_type:
        raise errors.InvalidTrustMark(f"the trust mark {mark_type}'s claims are inconsistent")
    state = _trust_mark_status(issuer_ec, issuer_keys, token)
    if state == "revoked":
        raise errors.TrustMarkRevoked(f"the trust mark {mark_type}'s status at {issuer} is revoked")
    if state != "active":
        raise errors.InvalidTrustMark(f"the trust mark {mark_type}'s status at {issuer} is {state}")
    return {**claims, "trust_mark_type": mark_type, "trust_mark": token}


# --- resolution (§10) -------------------------------------------------------------------------


def _anchor_keys(anchors) -> dict[str, dict]:
    if anchors is None:
        anchors = TrustAnchor.objects.filter(is_active=True)
    if isinstance(anchors, Mapping):
        return {k.rstrip("/"): v for k, v in anchors.items()}
    return {a.entity_id.rstrip("/"): a.jwks for a in anchors}


def _collect(
    subject: str, subject_ec: dict, anchors: dict[str, dict], depth: int, seen: frozenset[str]
) -> list[tuple[list[str], list[str], list[dict]]]:
    """Every path from ``subject`` up to a known anchor: (entity ids, JWTs, claims) from the
    subject's superior's statement upwards, anchor EC last. Raises the most telling error when
    there is none."""
    hints = subject_ec.get("authority_hints") or []
    if not isinstance(hints, list) or not hints:
        raise errors.InvalidTrustAnchor(f"{subject} names no superior and is not a trust anchor this platform trusts")
    if depth >= MAX_CHAIN_LENGTH:
        raise errors.InvalidTrustChain(f"the chain from {subject} is longer than {MAX_CHAIN_LENGTH}")
    found, failure = [], None
    # Pinned anchors first, then the others in the entity's order; at most MAX_HINTS_PER_STATEMENT.
    hints = [str(h).rstrip("/") for h in hints]
    hints = sorted(dict.fromkeys(hints), key=lambda h: h not in anchors)[:MAX_HINTS_PER_STATEMENT]
    for hint in hints:
        if hint in seen:
            continue
        try:
            _spend(hint)
            superior_token, superior_ec = _fetch_ec(hint)
            if hint in anchors:
                # §10.1: the anchor's configuration must verify with the keys pinned out of band.
                superior_ec = verify_jwt(
                    superior_token, anchors[hint], typ=ENTITY_STATEMENT_TYP, what=f"entity configuration of {hint}"
                )
            _spend(f"{hint} about {subject}")
            statement, statement_claims = _fetch_subordinate_statement(superior_ec, subject)
            if hint in anchors:
                found.append(([hint], [statement, superior_token], [statement_claims, superior_ec]))
                continue
            for ids, tokens, claims in _collect(hint, superior_ec, anchors, depth + 1, seen | {hint}):
                # §10.2: the intermediate's configuration verifies with the keys its superior pinned.
                verify_jwt(
                    superior_token, claims[0]["jwks"], typ=ENTITY_STATEMENT_TYP, what=f"entity configuration of {hint}"
                )
                found.append(([hint, *ids], [statement, *tokens], [statement_claims, *claims]))
        except (errors.InvalidTrustChain, errors.InvalidTrustAnchor, errors.FetchFailed) as e:
            if failure is None or _rank(e) >= _rank(failure):
                failure = e
    if not found:
        raise failure or errors.InvalidTrustAnchor(f"no path from {subject} to a trust anchor this platform trusts")
    return found


def _rank(e: Exception) -> int:
    """Which failure of several paths to report: a passing one first (nothing definite can be
    said then), a definite removal (:class:`errors.MembershipEnded`) only when every path says so."""
    if isinstance(e, errors.FetchFailed):
        return 3
    if isinstance(e, errors.MembershipEnded):
        return 1
    if isinstance(e, errors.InvalidTrustAnchor):
        return 0
    return 2


def _build(leaf: str, leaf_token: str, leaf_ec: dict, ids, tokens, claims) -> tuple[dict, list[str], int]:
    """Verify one collected path top-down and return (metadata, path, expires_at)."""
    path = [leaf, *ids]
    statements = [leaf_ec, *claims]  # statements[j] for 1 <= j < len-1: by path[j] about path[j-1]
    # §10.2: the superior's statement's jwks must verify the subject's entity configuration
    # (for intermediates this was checked in _collect).
    verify_jwt(leaf_token, statements[1]["jwks"], typ=ENTITY_STATEMENT_TYP, what=f"entity configuration of {leaf}")
    metadata = dict(leaf_ec.get("metadata") or {})
    policies, crit = [], set()
    for j in range(len(statements) - 2, 0, -1):  # anchor's statement first
        st = statements[j]
        metadata = _check_constraints(st.get("constraints") or {}, issued_by_index=j, path=path, leaf_metadata=metadata)
        if st.get("metadata_policy"):
            policies.append(st["metadata_policy"])
        crit.update(st.get("metadata_policy_crit") or [])
    superior_metadata = statements[1].get("metadata") or None
    resolved = policy.resolve_metadata(policies, metadata, superior_metadata=superior_metadata, crit=crit)
    expires_at = int(min(s["exp"] for s in statements))
    return resolved, path, expires_at


def resolve(
    entity_id: str, *, entity_type: str | None = None, required_trust_marks: Iterable[str] = (), anchors=None
) -> TrustChain:
    """Resolve and verify ``entity_id``'s trust chain to one of ``anchors`` (§10): fetch its
    entity configuration (self-signed), then for each authority hint the superior's entity
    configuration and its subordinate statement about the entity (signed with the superior's
    keys; its ``jwks`` verifies the entity's configuration), up to a trust anchor whose
    configuration verifies with its pinned keys. Every statement's ``typ``, signature,
    ``iss``/``sub`` linkage, ``iat``/``exp`` (with :data:`CLOCK_SKEW`), ``crit`` and the
    superiors' ``constraints`` (§6.2) are checked; the metadata policies are combined and applied
    (:func:`.policy.resolve_metadata`, §6.1); the leaf's trust marks are verified (§7.3) and the
    ``required_trust_marks`` types must be among them. Several valid chains: the first found.

    :param anchors: a mapping ``{entity_id: jwks}`` or ``TrustAnchor`` rows; default the
        active :class:`~..models.TrustAnchor` rows.
    :raises errors.InvalidTrustAnchor: no path reaches a trusted anchor.
    :raises errors.InvalidTrustChain: a statement is missing (e.g. a revoked subordinate),
        expired, wrongly signed or inconsistent.
    :raises errors.InvalidMetadata: the metadata breaks a policy, or lacks ``entity_type``.
    :raises errors.InvalidTrustMark: a required trust mark is missing or does not verify.
    :raises errors.FetchFailed: a member could not be reached.
    """
    leaf = (entity_id or "").strip().rstrip("/")
    if not leaf.startswith(("https://", "http://")):
        raise errors.InvalidTrustChain(f"not an entity identifier: {entity_id!r}")
    keys = _anchor_keys(anchors)
    if not keys:
        raise errors.InvalidTrustAnchor("this platform trusts no trust anchor yet")
    budget = _Budget(_max_fetches(), time.monotonic() + DEADLINE_FACTOR * _timeout())
    reset = _budget.set(budget)
    try:
        return _resolve(leaf, keys, entity_type=entity_type, required_trust_marks=tuple(required_trust_marks))
    finally:
        _budget.reset(reset)


def _resolve(leaf: str, keys: dict, *, entity_type, required_trust_marks) -> TrustChain:
    _spend(leaf)
    leaf_token, leaf_ec = _fetch_ec(leaf)
    if leaf in keys:
        raise errors.InvalidTrustChain(f"{leaf} is a trust anchor, not a subject")
    paths = _collect(leaf, leaf_ec, keys, 1, frozenset({leaf}))
    failure = None
    for ids, tokens, claims in paths:
        try:
            metadata, path, expires_at = _build(leaf, leaf_token, leaf_ec, ids, tokens, claims)
        except (errors.InvalidTrustChain, errors.InvalidMetadata) as e:
            failure = e
            continue
        if entity_type and entity_type not in metadata:
            failure = errors.InvalidMetadata(f"{leaf} has no {entity_type} metadata")
            continue
        anchor_ec, anchor = claims[-1], path[-1]
        marks, mark_errors, passing, revoked = [], [], False, False
        for entry in leaf_ec.get("trust_marks") or []:
            try:
                marks.append(_verify_trust_mark(entry, leaf=leaf, anchor_ec=anchor_ec, anchor_keys=keys[anchor]))
            except (errors.InvalidTrustMark, errors.FetchFailed) as e:
                mark_errors.append(str(e.args[0] if e.args else e))
                passing = passing or isinstance(e, errors.FetchFailed)
                revoked = revoked or isinstance(e, errors.TrustMarkRevoked)
        held = {m["trust_mark_type"] for m in marks}
        missing = [t for t in required_trust_marks if t not in held]
        if missing:
            why = "; ".join(mark_errors) or "none presented"
            message = f"{leaf} lacks a valid trust mark {missing[0]} ({why})"
            if passing:
                failure = errors.FetchFailed(message)
            elif revoked:
                failure = errors.TrustMarkRevoked(message)
            else:
                failure = errors.InvalidTrustMark(message)
            continue
        return TrustChain(
            subject=leaf,
            anchor=anchor,
            path=tuple(path),
            statements=(leaf_token, *tokens),
            metadata=metadata,
            trust_marks=tuple(marks),
            expires_at=expires_at,
        )
    raise failure
