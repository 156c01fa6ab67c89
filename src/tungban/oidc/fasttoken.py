"""The token endpoint's common valid ``client_credentials`` and ``refresh_token`` requests in
one and two database round trips, without Authlib's or Django's request machinery (issue 15
acceptance 1: token).

:func:`answer` takes the parsed parts of a token request (method, content type, body,
``Authorization``, whether a ``DPoP`` header came, the client's address) and returns the
whole answer — status, body bytes, headers — exactly as :func:`tungban.oidc.views.token`
gives it through Authlib (:mod:`.server`), or ``None`` **before writing anything** for
anything but the common valid case, so that the caller falls through to the reference path,
which gives every error answer (RFC 6749 §5.2) and every rarer case as before. It is used by
the front's lane (:func:`lane`, WSGI, before Django builds a request) and by the hot-path view
(:func:`hot_token`, for ASGI and wherever the front is not in front).

Handled (anything else falls through):

* ``POST``, ``application/x-www-form-urlencoded`` (optionally ``charset=utf-8``), an ASCII
  body whose parameters are each given once, non-empty, without NUL, and are only
  ``grant_type``, ``scope``, ``client_id``, ``client_secret`` and, for a refresh,
  ``refresh_token``; a ``scope`` of RFC 6749 §3.3 scope tokens separated by single spaces (an
  empty one is none, as for Authlib);
* client authentication ``client_secret_basic`` (RFC 6749 §2.3.1: well-formed Basic
  credentials, no client credentials in the body) or ``client_secret_post`` (both in the
  body, no ``Authorization`` header), of an active, non-FAPI client registered for exactly
  that method whose stored secret is a SHA-256 digest (:mod:`.client_secrets`; an older
  PBKDF2 hash falls through and is upgraded there); no ``DPoP`` header (DPoP and
  ``private_key_jwt`` stay on the reference path);
* ``client_credentials`` (RFC 6749 §4.4): a requested scope wholly within the client's
  allowed scopes and none of the scopes that need ``private_key_jwt``
  (:func:`.scopes.key_only`) — the reference path drops a scope the client may not have
  and refuses a key-only one;
* ``refresh_token`` (RFC 6749 §6): a live (not revoked, not expired), unbound (no DPoP
  ``jkt``) refresh token of this client (granted ``offline_access``), whose resident is
  active, whose authorization code and its login session are known and whose pairwise
  ``sub`` exists; a requested scope within the one granted at login. A rotated or revoked
  token (a retry in the grace period, or reuse: RFC 9700 §4.14.2, the family is revoked) is
  judged by the reference path.

The answer is the reference path's: the same JSON members in the same order (Authlib's
``BearerTokenGenerator``: ``token_type``, ``access_token``, ``expires_in``,
``refresh_token``, ``scope``; then the ID token), Authlib's compact JSON, ``Cache-Control:
no-store`` and ``Pragma: no-cache`` (RFC 6749 §5.1) and the view's CORS header; the
tokens are 256 random bits (:func:`.server._random_token`), stored as SHA-256 digests; the ID
token (OIDC Core §12.2: after a refresh, without ``nonce``; ``auth_time``, ``acr`` and ``amr``
of the login) is made by :func:`.server.id_token`, ES256 with the active key, whose ``kid``
is read with the refresh token.

**Round trips.** ``client_credentials`` on PostgreSQL: **one** statement — the client
authenticated by a ``WHERE`` on its row, the rate limiter's read of the failures counted
(:func:`tungban.core.ratelimit.embedded_check`) and the token's ``INSERT`` into
``oidc_clienttoken`` (:class:`.models.ClientToken`: one index, no foreign-key check), in one
data-modifying ``WITH`` that writes nothing when the client does not authenticate
(:func:`_cc_sql`). ``refresh_token``: **two** — one read (the client authenticated, the
token with its grant, the pairwise ``sub``, the active key's ``kid``: :func:`_refresh_read_sql`);
the ID token signed in Python; then one statement that locks the grant (code, then login
session, as :func:`.rows.rotate_and_insert`), locks the old token if still live, reads the
limiter's counter, rotates it and inserts its successor (:func:`_rotate_sql`). The ID token is
signed *before* the write, so a failure there stores nothing (the reference path's guarantee).
Elsewhere (SQLite, or counters that cannot be embedded) the same steps run in one
transaction (:func:`_cc_portable`, :func:`_rotate_portable`).

**The rate limiter** (``TUNGBAN_RATELIMITS["token"]``, per client address) counts **failed**
requests only, and refuses every request once the limit's number of failures is counted in
the window (issue 15, fourth round; :func:`tungban.core.ratelimit.limit_failures` on the
reference path). What the limit is for at a token endpoint is guessing: RFC 6749 §2.3.1 asks
that an endpoint taking client passwords be protected "against brute force attacks", §10.10
that attackers cannot guess credentials, codes or tokens; RFC 6819 §5.1.4.2.3 and §5.2.3.7
name the counter-measures (rate limits and lockout on failed attempts); OWASP's
Authentication and Credential Stuffing cheat sheets throttle *failed* logins. A valid request
is no guess: counting it only made the limit a quota on a client's normal traffic (every
token a client takes, at the default 300 a minute per address) and cost every valid request
an upsert of one counter row that all requests of an address share (its row lock held to the
commit, which waits for the token's WAL flush: under concurrency the counter serialised the
endpoint; ``bench/README.md``, fourth round). So: the common valid case reads the counter
inside its own statement and issues nothing past the limit (the answer is the reference
path's 429, :func:`tungban.core.ratelimit.limited_response`; a client asking for HTML falls
through before anything is written, for its page); every request the fast path does not
take writes nothing here, falls through, and the reference path answers it and counts it
if it failed (``invalid_client``, ``invalid_grant``, … : any 4xx but the 429). A brute force
of a client's secret, a code or a refresh token is thus refused after the same number of
attempts as before; guesses are still counted one by one, atomically, so concurrent workers
cannot lose counts.

**The client secret in SQL** (a ``WHERE client_secret_hash = %s`` on the one row found by
the unique ``client_id``, where the reference path compares in Python with
:func:`hmac.compare_digest`): what the database compares are two SHA-256 digests
(:func:`.client_secrets.digest`) — the stored one and the digest of the presented secret —
never the secret. PostgreSQL's comparison may stop at the first differing byte, so its time can
at most tell an attacker how long a prefix of SHA-256(guess) agrees with the stored digest.
Reading the digest that way, digit by digit, needs guesses whose digests extend a chosen
prefix (partial preimages of SHA-256, FIPS 180-4: about 16^k trials for k hex digits; NIST SP
800-107 Rev. 1 on preimage resistance), and even the whole stored digest does not
authenticate: only the secret behind it does, 256 random bits (RFC 6749 §10.10, RFC 6819
§5.1.4.2.2), and finding it from its digest is a full preimage. This is the argument of "double HMAC verification" (Brad Hill,
iSEC Partners, 2011): a timing leak matters where the attacker chooses the compared bytes, and
hashing before comparing takes that choice away. The compare must be part of the insert's
statement anyway: a compare in Python first would cost the round trip this module saves.

Tables: ``oidc_client`` (read), ``oidc_clienttoken`` (inserted), ``oidc_token`` (read, rotated, inserted),
``oidc_authorizationcode``, ``oidc_loginsession`` (read, row-locked), ``identity_resident``
(its ``status``), ``oidc_pairwisesubject`` (its ``sub``), ``oidc_signingkey`` (the active
``kid``, :data:`tungban.keys.services.ACTIVE_KID_SQL`) and the rate limiter's counter table (read).
Every value is a bound parameter.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
import time
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from tungban.core import ratelimit, rawsql
from tungban.keys import services as keys

from . import client_secrets, rows, validators
from . import scopes as scope_registry
from .constants import OFFLINE_ACCESS_SCOPE
from .models import access_token_digest

#: RFC 6749 §5.1 (``no-store``), as Authlib's ``TOKEN_RESPONSE_HEADER``, and the view's CORS header.
HEADERS = (("Cache-Control", "no-store"), ("Pragma", "no-cache"), ("Access-Control-Allow-Origin", "*"))
CONTENT_TYPE = "application/json"
#: RFC 6749 §3.3: ``scope = scope-token *( SP scope-token )``, ``scope-token = 1*( %x21 / %x23-5B / %x5D-7E )``.
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*")
_FORM = ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8")
_PARAMETERS = {
    "client_credentials": frozenset({"grant_type", "scope", "client_id", "client_secret"}),
    "refresh_token": frozenset({"grant_type", "scope", "client_id", "client_secret", "refresh_token"}),
}
_ACTIVE = "active"  # identity.ResidentStatus.ACTIVE (Resident.is_active)


@dataclass(frozen=True, slots=True)
class Answer:
    """A token endpoint answer: HTTP ``status``, ``body`` (bytes, JSON) and extra ``headers``."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = HEADERS


@dataclass(frozen=True, slots=True)
class Parsed:
    """A token request this module may answer: its form, the client's credentials and how
    they came (``client_secret_basic`` or ``client_secret_post``)."""

    form: dict[str, str]
    client_id: str
    secret: str
    auth_method: str


def parse(method: str, content_type: str, body: bytes, authorization: str | None, dpop: bool) -> Parsed | None:
    """The request's form and client credentials, or ``None`` when it is not of the handled
    shape (module docstring): then the reference path answers.

    :param content_type: the ``Content-Type`` header (``CONTENT_TYPE``).
    :param authorization: the ``Authorization`` header, or ``None``.
    :param dpop: whether a ``DPoP`` header came (RFC 9449: the reference path checks it)."""
    if method != "POST" or dpop or (content_type or "").strip().lower() not in _FORM:
        return None
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        return None
    pairs = parse_qsl(text, keep_blank_values=True)
    form = dict(pairs)
    if len(form) != len(pairs) or not form:
        return None
    grant = form.get("grant_type")
    allowed = _PARAMETERS.get(grant)
    if allowed is None or not allowed.issuperset(form):
        return None
    if grant == "refresh_token" and "refresh_token" not in form:
        return None  # invalid_request (RFC 6749 §5.2)
    if form.get("scope") == "":
        del form["scope"]  # Authlib reads an empty scope as none asked for (RFC 6749 §3.3: optional)
    for value in form.values():
        if not value or "\x00" in value:
            return None
    if "scope" in form and not _SCOPE.fullmatch(form["scope"]):
        return None
    if authorization is not None:
        if "client_id" in form or "client_secret" in form:
            return None
        if validators.basic_credentials_used(authorization) is not True:
            return None
        from authlib.oauth2.rfc6749.util import extract_basic_authorization

        client_id, secret = extract_basic_authorization({"Authorization": authorization})
        auth_method = "client_secret_basic"
    else:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth_method = "client_secret_post"
    if not client_id or not secret or "\x00" in client_id or "\x00" in secret:
        return None
    return Parsed(form, client_id, secret, auth_method)


def answer(parsed: Parsed, *, rate_key: str | None) -> Answer | None:
    """The answer to ``parsed`` (:func:`parse`), or ``None`` (nothing written) for the
    reference path.

    :param rate_key: the rate limiter's value for this request (the client address,
        :func:`tungban.core.ratelimit.client_ip`); ignored when rate limits are off.
    :raises django.db.DatabaseError: the database failed after the request was taken."""
    if parsed.form["grant_type"] == "client_credentials":
        return client_credentials(parsed, rate_key=rate_key)
    return refresh_token(parsed, rate_key=rate_key)


def _counting(rate_key: str | None, source: str) -> tuple[bool, ratelimit.EmbeddedCount | None]:
    """``(counted, embedded)``: whether this request is counted, and its count to embed in
    this database's statement (``None``: count with :func:`tungban.core.ratelimit.count`)."""
    if not ratelimit.enabled():
        return False, None
    embedded = ratelimit.embedded_check("token", rate_key, source)
    if embedded is not None and embedded.alias != connection.alias:
        embedded = None
    return True, embedded


def _json(token: dict) -> bytes:
    # Authlib's json_dumps (authlib.common.encoding): compact, not ASCII-escaped.
    return json.dumps(token, ensure_ascii=False, separators=(",", ":")).encode()


def _limited(retry_after: int) -> Answer:
    response = ratelimit.limited_response(retry_after)
    return Answer(response.status_code, response.content, (("Retry-After", response["Retry-After"]),))


def _random_token() -> str:
    """As :func:`.server._random_token`: 256 bits, 43 base64url characters (RFC 6749 §10.10)."""
    return secrets.token_urlsafe(32)


def _ttl() -> int:
    return settings.TUNGBAN_ACCESS_TOKEN_TTL


# --- client_credentials -------------------------------------------------------------------

_CLIENT_WHERE = (
    "c.client_id = %s AND c.is_active = %s AND c.fapi = %s AND c.token_endpoint_auth_method = %s "
    "AND c.client_secret_hash = %s"
)


def _client_params(parsed: Parsed) -> list:
    return [parsed.client_id, True, False, parsed.auth_method, client_secrets.digest(parsed.secret)]


def client_credentials(parsed: Parsed, *, rate_key: str | None) -> Answer | None:
    """RFC 6749 §4.4 for the common valid case (module docstring): one statement on
    PostgreSQL. ``None`` (nothing written) when the client does not authenticate here or
    the scope is not wholly allowed."""
    scope = parsed.form.get("scope", "")
    asked = scope.split(" ") if scope else []
    if asked and scope_registry.key_only().intersection(asked):
        return None  # invalid_scope: needs private_key_jwt (ClientCredentials.validate_token_request)
    access = _random_token()
    ttl = _ttl()
    values = (access_token_digest(access), scope, int(time.time()), ttl)
    counted, embedded = _counting(rate_key, "c")
    if connection.vendor == "postgresql" and (embedded is not None or not counted):
        hits = _cc_one_statement(parsed, asked, values, embedded)
        if hits is None:
            return None
        if embedded is not None and hits > embedded.limit:
            return _limited(embedded.retry_after)
    else:
        limited = _cc_portable(parsed, asked, values, rate_key if counted else None)
        if limited is False:
            return None
        if limited is not None:
            return _limited(limited)
    # Authlib's BearerTokenGenerator's members and order, its compact JSON (:func:`_json`): the
    # token is base64url and the scope RFC 6749 §3.3 characters (:data:`_SCOPE`: no '"' or
    # '\\'), so neither needs escaping.
    body = '{"token_type":"Bearer","access_token":"' + access + '"'
    if ttl:
        body += ',"expires_in":' + str(ttl)
    if scope:
        body += ',"scope":"' + scope + '"'
    return Answer(200, (body + "}").encode())


_INSERT_FIELDS = rows._INSERT_FIELDS


@functools.cache
def _insert_select(vendor: str, overrides: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    """``(column list, select list)`` of an ``INSERT INTO oidc_token … SELECT`` with every
    field a cast parameter (:func:`.rows._cast_type`) but the ``overrides`` (attname → SQL)."""
    quote = connection.ops.quote_name
    given = dict(overrides)
    columns = ", ".join(quote(f.column) for f in _INSERT_FIELDS)
    select = ", ".join(given.get(f.attname) or f"CAST(%s AS {rows._cast_type(f)})" for f in _INSERT_FIELDS)
    return columns, select


@functools.cache
def _cc_sql(vendor: str, counted: bool) -> str:
    """The ``client_credentials`` statement (PostgreSQL): ``c`` the authenticated client
    whose allowed scopes contain the asked ones, with (when ``counted``) ``hits``, the rate
    limiter's **read** of the failures counted for this address (the caller's scalar SQL is
    put in its place, ``{count}``: :attr:`tungban.core.ratelimit.EmbeddedCount.hits`, read
    only for an authenticated client's row); the token inserted into ``oidc_clienttoken``
    (:class:`.models.ClientToken`: one index, no foreign-key check) for ``c``, within the
    limit. Returns one row ``(hits,)`` when the client authenticated, none otherwise.

    The read sits in ``c``'s ``SELECT`` list, not in a ``WITH`` member of its own joined to
    ``c`` (the fourth round's shape): at 16 concurrent statements that member and its join
    cost PostgreSQL ~27 µs of CPU per statement more, the inline read 4–8 µs in all (issue
    15, sixth round; ``bench/cc_statement.py``, ``lane_fourth`` against ``lane``)."""
    hits = ", {count} AS hits" if counted else ""
    client = (
        f"c AS (SELECT c.id{hits} FROM oidc_client c WHERE {_CLIENT_WHERE} AND c.allowed_scopes @> CAST(%s AS jsonb))"
    )
    insert = (
        "INSERT INTO oidc_clienttoken (access_token, client_id, scope, issued_at, expires_in) "
        "SELECT CAST(%s AS varchar), c.id, CAST(%s AS text), CAST(%s AS integer), CAST(%s AS integer) FROM c"
    )
    if counted:
        return f"WITH {client}, t AS ({insert} WHERE c.hits <= %s) SELECT c.hits FROM c"
    return f"WITH {client}, t AS ({insert}) SELECT 0 FROM c"


def _cc_one_statement(parsed: Parsed, asked: list[str], values: tuple, embedded) -> int | None:
    """The attempt's ``hits`` (:class:`tungban.core.ratelimit.EmbeddedCount`; 0 when not
    counted) once the token is stored (or refused past the limit), or ``None`` when the
    client did not authenticate (nothing written)."""
    sql = _cc_sql(connection.vendor, embedded is not None)
    params = [*_client_params(parsed), json.dumps(asked)]
    if embedded is not None:
        sql = sql.replace("{count}", embedded.hits)
        params = [*embedded.params, *params, *values, embedded.limit]
    else:
        params += values
    row = rawsql.fetchone(sql, params)
    return None if row is None else row[0]


def _cc_portable(parsed: Parsed, asked: list[str], values: tuple, rate_key: str | None):
    """:func:`_cc_one_statement`'s steps in one transaction (SQLite, or counters that cannot
    be embedded): ``False`` when the client did not authenticate (nothing written), the
    ``Retry-After`` seconds when past the limit (nothing written), else ``None``."""
    sql = f"SELECT c.id, c.allowed_scopes FROM oidc_client c WHERE {_CLIENT_WHERE}"
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, _client_params(parsed))
            row = cursor.fetchone()
        if row is None or not set(_loads(row[1])).issuperset(asked):
            return False
        if rate_key is not None:
            retry_after = ratelimit.exceeded("token", rate_key)
            if retry_after is not None:
                return retry_after
        digest, scope, issued_at, ttl = values
        rows.insert_client_token(
            access_token=digest, client_id=row[0], scope=scope, issued_at=issued_at, expires_in=ttl
        )
    return None


def _loads(value):
    """A JSON column's value from a raw cursor (text on SQLite and with Django's jsonb loader)."""
    return json.loads(value) if isinstance(value, str) else value


# --- refresh_token ------------------------------------------------------------------------


@functools.cache
def _refresh_read_sql(vendor: str) -> str:
    """The refresh's one read: the client (authenticated by its row, as in
    :data:`_CLIENT_WHERE`), the token by its refresh digest (unique index) and this client,
    its resident's status, its authorization code's login facts, the login session's ``sid``,
    the pairwise ``sub`` at the client's sector (:attr:`.models.Client.sector`), the code's
    approval and the client's names (the new token's release copies,
    :func:`.models.release_copies`) and the active key's ``kid``."""
    return (
        "SELECT c.id, c.allowed_scopes, t.id, t.revoked_at, t.refresh_expires_at, t.dpop_jkt, t.resident_id, "
        "t.authorization_code_id, t.session_id, r.status, a.scope, a.claims, a.auth_time, a.acr, a.amr, "
        f"a.session_id, s.sid, ps.sub, a.approval_id, c.name_en, c.name_zh, {keys.ACTIVE_KID_SQL} "
        "FROM oidc_client c "
        "INNER JOIN oidc_token t ON t.client_id = c.id "
        "INNER JOIN identity_resident r ON r.id = t.resident_id "
        "LEFT OUTER JOIN oidc_authorizationcode a ON a.id = t.authorization_code_id "
        "LEFT OUTER JOIN oidc_loginsession s ON s.id = t.session_id "
        "LEFT OUTER JOIN oidc_pairwisesubject ps ON ps.resident_id = t.resident_id "
        "AND ps.sector = COALESCE(NULLIF(c.sector_identifier, ''), %s || CAST(c.id AS TEXT)) "
        f"WHERE t.refresh_token = %s AND {_CLIENT_WHERE}"
    )


def refresh_token(parsed: Parsed, *, rate_key: str | None) -> Answer | None:
    """RFC 6749 §6 with rotation (RFC 9700 §4.14.2) for the common valid case (module
    docstring): one read, the ID token signed, one write on PostgreSQL. ``None`` (nothing
    written) for the reference path."""
    from . import server  # the Authlib server's module: imported on the first refresh only
    from .services import claims_within_scope, refresh_token_digest

    form = parsed.form
    row = rawsql.fetchone(
        _refresh_read_sql(connection.vendor),
        [validators.OWN_SECTOR_PREFIX, refresh_token_digest(form["refresh_token"]), *_client_params(parsed)],
    )
    if row is None:
        return None
    (client_pk, allowed, old_pk, revoked_at, refresh_expires_at, jkt, resident_pk, code_pk, session_pk, status) = row[
        :10
    ]
    granted, claims, auth_time, acr, amr, code_session_pk, sid, sub, approval_pk, name_en, name_zh, kid = row[10:]
    allowed = _loads(allowed)
    now = time.time()
    if (
        OFFLINE_ACCESS_SCOPE not in allowed  # Client.check_grant_type: unauthorized_client
        or revoked_at is not None  # reuse, or a retry in the grace period: judged there
        or refresh_expires_at is None
        or now >= refresh_expires_at
        or jkt  # DPoP-bound (RFC 9449 §5): a proof is needed
        or status != _ACTIVE
        or code_pk is None
        or code_session_pk != session_pk
        or not sub
        or not kid
    ):
        return None
    claims = _loads(claims)
    if scope_registry.resolved_claims(claims):
        return None  # a claim of the login (e.g. CorpID's authority) is judged again: the reference path
    asked = form["scope"].split(" ") if "scope" in form else []
    if asked and not set(granted.split()).issuperset(asked):
        return None  # invalid_scope: a refresh never widens the grant (RefreshGrant._validate_token_scope)
    wanted = form.get("scope") or granted
    scope = " ".join(s for s in wanted.split() if s in allowed)  # Client.get_allowed_scope (Authlib)
    access, refresh, ttl = _random_token(), _random_token(), _ttl()
    token = {"token_type": "Bearer", "access_token": access}
    if ttl:
        token["expires_in"] = ttl
    token["refresh_token"] = refresh
    if scope:
        token["scope"] = scope
    if "openid" in scope.split():
        login = SimpleNamespace(
            auth_time=auth_time,
            acr=acr,
            amr=_loads(amr),
            nonce="",
            session_id=code_session_pk,
            session=SimpleNamespace(sid=sid),
        )
        with keys.one_key():
            keys.use_kid(kid)
            token["id_token"] = server.id_token(
                SimpleNamespace(client_id=parsed.client_id),
                SimpleNamespace(sub=sub, resident=None),
                login,
                access,
                with_nonce=False,
            )
    values = {
        "access_token": access_token_digest(access),
        "token_type": "Bearer",
        "client_id": client_pk,
        "resident_id": resident_pk,
        "authorization_code_id": code_pk,
        "session_id": code_session_pk,
        "scope": scope,
        "claims": claims_within_scope(_loads(claims), scope),
        "issued_at": int(now),
        "expires_in": ttl,
        "refresh_token": refresh_token_digest(refresh),
        "refresh_expires_at": refresh_expires_at,
        "dpop_jkt": "",
        "rotated_from_id": old_pk,
        # what its releases record (.models.release_copies; issue 15, fifth round)
        "sub": sub,
        "approval_id": approval_pk,
        "requester_id": parsed.client_id,
        "requester_name_en": name_en,
        "requester_name_zh": name_zh,
    }
    counted, embedded = _counting(rate_key, "live")
    when = timezone.now()
    if connection.vendor == "postgresql" and (embedded is not None or not counted):
        outcome = _rotate_one_statement(old_pk, code_pk, session_pk, when, values, embedded)
    else:
        outcome = _rotate_portable(old_pk, code_pk, session_pk, when, values, rate_key if counted else None)
    if outcome is False:
        return None
    if outcome is not None:
        return _limited(outcome)
    return Answer(200, _json(token))


@functools.cache
def _rotate_sql(vendor: str, counted: bool) -> str:
    """The rotation (PostgreSQL): lock the grant's code, then its login session (the lock
    order of :func:`.services.lock_grant`; a materialised one-time filter evaluated first, as
    in :func:`.rows.rotate_and_insert`); ``live``: the old token, if still not revoked, locked
    ``FOR UPDATE`` (read committed re-checks ``revoked_at`` on the row's newest version after
    waiting, so a concurrent rotation or revocation leaves it empty); ``live_hits``: the
    attempt's count, only for a live token (``{count}``, when ``counted``); ``old``: revoke and
    mark it rotated (within the limit); its successor inserted from ``old``. One row
    ``(live id, hits, new id)``."""
    columns, select = _insert_select(vendor, ())
    within = " AND (SELECT hits FROM live_hits) <= %s" if counted else ""
    return (
        "WITH locked AS MATERIALIZED (SELECT "
        "(SELECT id FROM oidc_authorizationcode WHERE id = %s FOR UPDATE) AS c, "
        "(SELECT id FROM oidc_loginsession WHERE id = %s FOR UPDATE) AS s), "
        "live AS MATERIALIZED (SELECT id FROM oidc_token WHERE id = %s AND revoked_at IS NULL "
        "AND EXISTS (SELECT 1 FROM locked) FOR UPDATE), "
        + ("{count}, " if counted else "")
        + "old AS (UPDATE oidc_token SET revoked_at = %s, rotated_at = COALESCE(rotated_at, %s) "
        f"WHERE id IN (SELECT id FROM live){within} RETURNING id), "
        f"new AS (INSERT INTO oidc_token ({columns}) SELECT {select} FROM old RETURNING id) "
        "SELECT (SELECT id FROM live), "
        + ("(SELECT hits FROM live_hits), " if counted else "0, ")
        + "(SELECT id FROM new)"
    )


def _rotate_one_statement(old_pk, code_pk, session_pk, when, values: dict, embedded):
    """``False`` when the token was no longer live (nothing written), the ``Retry-After``
    seconds when past the limit (only the count written), else ``None`` (rotated, stored)."""
    at = connection.ops.adapt_datetimefield_value(when)
    sql = _rotate_sql(connection.vendor, embedded is not None)
    params = [code_pk, session_pk, old_pk]
    if embedded is not None:
        sql = sql.replace("{count}", embedded.sql)
        params += embedded.params
    params += [at, at]
    if embedded is not None:
        params.append(embedded.limit)
    params += rows._token_params(values)
    live, hits, new = rawsql.fetchone(sql, params)
    if live is None:
        return False
    if new is None:
        if embedded is not None and hits > embedded.limit:
            return embedded.retry_after
        raise RuntimeError("the refresh token was locked live but not rotated")  # pragma: no cover
    return None


def _rotate_portable(old_pk, code_pk, session_pk, when, values: dict, rate_key: str | None):
    """:func:`_rotate_one_statement`'s steps in one transaction (SQLite, whose write
    transaction serialises, or counters that cannot be embedded); the same answers."""
    with transaction.atomic():
        rows.lock_grant(code_pk, session_pk)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM oidc_token WHERE id = %s AND revoked_at IS NULL{lock}", [old_pk])
            if cursor.fetchone() is None:
                return False
        if rate_key is not None:
            retry_after = ratelimit.exceeded("token", rate_key)
            if retry_after is not None:
                return retry_after
        if not rows.rotate(old_pk, when):
            raise RuntimeError("the refresh token was seen live but not rotated")  # rolls the transaction back
        rows.insert_token(**values)
    return None


# --- Entry points: the front's lane and the hot-path view ---------------------------------


class _Meta:
    """What :func:`tungban.core.ratelimit.client_ip` reads of a request: its ``META``."""

    __slots__ = ("META",)

    def __init__(self, meta):
        self.META = meta


def _rate_key(meta) -> str | None | bool:
    """The rate limiter's value of this request (the client address), ``None`` when rate
    limits are off, ``False`` when it cannot be had here (a configured IP function: the
    reference path counts)."""
    if not ratelimit.enabled():
        return None
    if callable(settings.RATELIMIT_IP_META_KEY) or "." in (settings.RATELIMIT_IP_META_KEY or ""):
        return False
    try:
        return ratelimit.client_ip(_Meta(meta))
    except Exception:  # noqa: BLE001 - a missing or bad address: the reference path's answer
        return False


def from_meta(meta: dict, body: bytes, *, language=None) -> Answer | None:
    """:func:`answer` for a request's WSGI environ (or ``request.META``) and body; ``None``
    (nothing written) for the reference path. A query string falls through (Authlib reads
    its parameters too). ``language``: the one to word a 429 in (else the active one), or a
    function of no argument giving it — asked only for a 429 (issue 15, fourth round: a
    valid answer has no words, so no translation is activated for it)."""
    if meta.get("QUERY_STRING") or "text/html" in meta.get("HTTP_ACCEPT", ""):
        return None  # parameters in the query; a 429 that would be a page
    parsed = parse(
        meta.get("REQUEST_METHOD", ""),
        meta.get("CONTENT_TYPE", ""),
        body,
        meta.get("HTTP_AUTHORIZATION"),
        "HTTP_DPOP" in meta,
    )
    if parsed is None:
        return None
    rate_key = _rate_key(meta)
    if rate_key is False:
        return None
    found = answer(parsed, rate_key=rate_key)
    if found is None or found.status != 429 or language is None:
        return found
    from django.utils import translation

    with translation.override(language() if callable(language) else language):
        return _limited(int(dict(found.headers)["Retry-After"]))


def lane(call):
    """The front's lane for ``POST /oidc/token`` (:func:`tungban.core.front.register_lane`):
    the :class:`~tungban.core.front.Reply` of :func:`from_meta`, or ``None`` for Django. A 429
    is worded in the API's language (:func:`tungban.core.middleware.api_language`)."""
    from tungban.core.front import Reply

    environ = call.environ
    found = from_meta(environ, call.body, language=lambda: _language(environ))
    if found is None:
        return None
    return Reply(found.status, found.body, found.headers, CONTENT_TYPE)


def _language(environ: dict) -> str:
    """The API's language of the request ``environ`` (for a 429's words)."""
    from tungban.core.middleware import API_DEFAULT_LANGUAGE, api_language

    if not _asks_language(environ):
        return API_DEFAULT_LANGUAGE
    from django.core.handlers.wsgi import WSGIRequest

    return api_language(WSGIRequest(environ))


def _asks_language(environ: dict) -> bool:
    return "HTTP_ACCEPT_LANGUAGE" in environ or "HTTP_COOKIE" in environ


def hot_token(request: HttpRequest) -> HttpResponse | None:
    """The token endpoint on the hot path (:mod:`tungban.core.hotpaths`): :func:`from_meta`'s
    answer, or ``None`` for the view (:func:`tungban.oidc.views.token`, its rate limiter and
    Authlib). The hot-path middleware has set the API's language."""
    found = from_meta(request.META, request.body)
    if found is None:
        return None
    response = HttpResponse(found.body, status=found.status, content_type=CONTENT_TYPE)
    for name, value in found.headers:
        response[name] = value
    response["Content-Length"] = str(len(found.body))
    return response
