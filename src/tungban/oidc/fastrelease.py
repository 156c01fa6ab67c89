"""UserInfo (OIDC Core §5.3) and form data in one statement: the hot path of issue 15.

The reference path (:func:`tungban.oidc.views._release`: Authlib's resource protector with
:class:`tungban.oidc.resource.TokenValidator`, then :func:`tungban.oidc.services.release`)
costs three SQL statements built by the ORM (the token with its client, resident, code and
approval, about a hundred columns; the pairwise ``sub``; the release insert) and most of its
CPU in Django's query compiler. :func:`answer_bytes` does the same work for the common valid
case. On PostgreSQL it is one round trip (issue 15, third round): one data-modifying ``WITH``
(:func:`statement`) reads the token row, checks in SQL what SQL can check, and inserts the
release record with the claims it can tell are released without decrypting (an encrypted
value is empty exactly when its column is); Python then decrypts only the released values
and makes sure the record names exactly the claims answered (corrects it, or takes it back
and fails, in the rare case the guess was wrong or a value cannot be read), on Django's
psycopg connection itself (prepared statement, no cursor wrapper), in autocommit. Elsewhere
(SQLite) it is one ``SELECT`` (:func:`_read`) and one ``INSERT``
(:func:`tungban.wallet.services.record_release_row`). The answer is its JSON bytes (as
:class:`django.http.JsonResponse` gives them), served by the lane of :mod:`tungban.core.front`
under WSGI and by :mod:`tungban.core.hotpaths` under ASGI.

:func:`answer_bytes` returns ``None``, having written nothing, for anything but the common
case, so that the caller falls through to the reference path, which gives every error answer
(RFC 6750 §3.1) exactly as before: a missing or malformed ``Authorization`` header, another
scheme (``DPoP``), a ``DPoP`` header, an unknown, expired, revoked or DPoP-bound token, a
token without the required scope, a client's own token (no resident), a suspended resident, a
POST with a body, a token of a client that registers a login level (``Client.required_acr``:
step-up, RFC 9470, is the reference path's, issue 16 security review M3), a token without a pairwise ``sub`` (none at the client's sector when it
was issued, or issued before the token carried it: the reference path finds or creates it), and a claim registered by another app (its value may read more
than the resident's row).

Tables read: ``oidc_token`` (by the unique index on ``access_token``, the SHA-256 of the
token) and ``identity_resident`` (by its primary key): two index probes, and a third, of
``oidc_client``'s primary key, for its ``required_acr`` (issue 16 security review M3:
:func:`_no_required_level_sql`). What a release
records and answers that never changes for a token (the pairwise ``sub``, the login's
approval, the requester's ``client_id`` and names as the resident approved them) is the
token's own copy, written when the token endpoint issued it (:func:`.models.release_copies`;
issue 15, fifth round: the client's row, read by every request at once, the code and the
pairwise subject were three more probes). A token without the copies (issued before) falls
through. Table written: ``wallet_releaserecord``. Names come from the models' ``_meta``;
every value of the request is a bound parameter.
"""

from __future__ import annotations

import functools
import json
import re
import time

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from tungban.core import rawsql
from tungban.core.front import Reply
from tungban.identity import eme
from tungban.wallet import services as wallet

from .constants import FORMFILL_KIND, LOGIN_KIND
from .models import Client, Token, access_token_digest
from .services import claims_within_scope

#: RFC 6750 §2.1: ``credentials = "Bearer" 1*SP b64token``, ``b64token = 1*( ALPHA / DIGIT /
#: "-" / "." / "_" / "~" / "+" / "/" ) *"="``; the scheme is case-insensitive (RFC 9110 §11.1).
BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)")

_TOKEN_COLUMNS = ("scope", "claims", "issued_at", "expires_in", "revoked_at", "dpop_jkt", "resident_id")
#: The token's copies of what a release records (:func:`.models.release_copies`, issue 15,
#: fifth round): the requester's id and names, then (``_selected``) the approval and the ``sub``.
_CLIENT_COLUMNS = ("requester_id", "requester_name_en", "requester_name_zh")
_RESIDENT = len(_TOKEN_COLUMNS) + len(_CLIENT_COLUMNS) + 2  # first resident column of the row
_ANSWERED = 4  # first resident column of :func:`statement`'s row (after scope, claims, resident id, sub)


def _selected() -> list[str]:
    """The columns of the token row, in order: :data:`_TOKEN_COLUMNS`, :data:`_CLIENT_COLUMNS`,
    the approval's id, the pairwise ``sub``, the resident's columns that a release reads
    (:func:`tungban.identity.eme.release_attnames`: 11 of its 21; issue 15, fourth round)."""
    q = connection.ops.quote_name

    def col(model, name):
        return q(model._meta.get_field(name).column)

    selected = [f"t.{col(Token, n)}" for n in _TOKEN_COLUMNS]
    selected += [f"t.{col(Token, n)}" for n in _CLIENT_COLUMNS]
    selected += [f"t.{col(Token, 'approval')}", f"t.{col(Token, 'sub')}"]
    selected += [f"r.{q(column)}" for column in eme.columns_of(eme.release_attnames())]
    return selected


def _from_sql(token: str) -> str:
    """``FROM … WHERE`` of the token row: the token by its digest (the placeholder ``token``)
    and its resident, two index probes (issue 15, fifth round: the client's names, the
    approval and the pairwise ``sub`` are the token's own copies, :func:`.models.release_copies`)."""
    from tungban.identity.models import Resident

    q = connection.ops.quote_name

    def col(model, name):
        return q(model._meta.get_field(name).column)

    return (
        f" FROM {q(Token._meta.db_table)} t"
        f" INNER JOIN {q(Resident._meta.db_table)} r ON r.{q(Resident._meta.pk.column)} = t.{col(Token, 'resident')}"
        f" WHERE t.{col(Token, 'access_token')} = {token} AND {_no_required_level_sql()}"
    )


def _no_required_level_sql() -> str:
    """The condition that the token's client registers no login level (``Client.required_acr``
    empty): step-up (RFC 9470, :func:`.stepup.require`; issue 16 security review M3) is judged
    by the reference path, so a token of a client that requires a level is never answered here
    (no row: nothing written). The client's level is read **now**, not copied at issuance, so
    a level raised after the login holds for the client's old tokens at once, however it was
    raised. One probe of ``oidc_client``'s primary key (a ``NOT EXISTS``, no column read)."""
    q = connection.ops.quote_name
    return (
        f"NOT EXISTS (SELECT 1 FROM {q(Client._meta.db_table)} c"
        f" WHERE c.{q(Client._meta.pk.column)} = t.{q(Token._meta.get_field('client').column)}"
        f" AND c.{q(Client._meta.get_field('required_acr').column)} <> '')"
    )


@functools.cache
def _select_sql() -> str:
    """The one ``SELECT`` of the portable path (module docstring), built once from the
    models' ``_meta``; parameter: the token's digest."""
    return f"SELECT {', '.join(_selected())}{_from_sql('%s')}"


def _read(token_string: str):
    """The row of :func:`_select_sql` for the access token ``token_string``, or ``None`` (no
    such token, or a client's own token: the inner join with the resident drops it)."""
    with connection.cursor() as cursor:
        cursor.execute(_select_sql(), (access_token_digest(token_string),))
        return cursor.fetchone()


@functools.cache
def statement(with_subject: bool, generation: int = 0) -> tuple[str, dict]:
    """The one statement of the PostgreSQL path (issue 15, third round) and its constant
    parameters: a data-modifying ``WITH`` of

    * ``w``: the token row (:func:`_selected`, as columns ``x0``, ``x1``, …) only if it is the
      common valid case as far as SQL can tell (not revoked, not DPoP-bound, not expired at
      the bound time ``now``, an active resident, the ``openid`` scope and a pairwise ``sub``
      for UserInfo, no other app's claim among the token's claims), with ``released``: the
      token's claims, in their order, less each claim of the catalogue that its scope does
      not cover (:func:`.services.claims_within_scope`) or whose resident column is empty
      (:data:`tungban.identity.eme.PRESENCE`), a JSON array (``jsonb - text[]``; a name
      outside the catalogue stays, and Python corrects the record);
    * ``r``: the release record inserted from ``w``
      (:func:`tungban.wallet.services.release_insert_sql`);
    * then of ``w``'s row the token's scope and claims, the resident's id, the pairwise
      ``sub``, the resident's columns and ``released`` (:data:`_ANSWERED`), and the new
      record's id; no row at all (nothing written) for anything but the common case.

    Built once per registry ``generation`` (:func:`.scopes.generation`: the scopes and claims
    it encodes) from the models' ``_meta``, the catalogue's constants written in as quoted
    literals (:func:`_written_in`; the second item, the constant parameters, is empty); the
    request's values are bound, named parameters: the caller binds ``token``, ``now``
    (seconds since the epoch) and ``released_at``. PostgreSQL only (``jsonb``, ``?|``, ``RETURNING`` in ``WITH``).
    Tables: those of :func:`_select_sql`, and ``wallet_releaserecord`` written."""
    from tungban.identity.models import Resident, ResidentStatus

    from . import scopes as scope_registry

    selected = _selected()
    x = [f"x{i}" for i in range(len(selected))]  # the names of the columns of w
    token = dict(zip(_TOKEN_COLUMNS, selected, strict=False))  # expressions over the tables
    name_en, name_zh = x[len(_TOKEN_COLUMNS) + 1], x[len(_TOKEN_COLUMNS) + 2]
    client_id, approval = x[len(_TOKEN_COLUMNS)], x[_RESIDENT - 2]
    stored = dict(zip(eme.columns_of(eme.release_attnames()), selected[_RESIDENT:], strict=True))
    params: dict = {"active": ResidentStatus.ACTIVE.value}
    withheld = []  # per claim of the catalogue: its name when it is not released, else NULL
    for i, (name, claim) in enumerate(eme.CLAIMS.items()):
        params[f"claim{i}"] = name
        registered = scope_registry.get(claim.scope)
        if not eme.own_claims_only([name]) or registered is None or name not in registered.claims:
            withheld.append(f"%(claim{i})s")  # never released (another app's claim: the statement writes nothing)
            continue
        column = eme.PRESENCE.get(name)
        present = "" if column is None else f" AND {stored[column]} <> ''"
        params[f"scope{i}"] = claim.scope
        withheld.append(f"CASE WHEN %(scope{i})s = ANY(s.scopes){present} THEN NULL ELSE %(claim{i})s END")
    params["foreign"] = [name for name in eme.CLAIMS if not eme.own_claims_only([name])]
    checks = [
        f"{token['revoked_at']} IS NULL",
        f"COALESCE({token['dpop_jkt']}, '') = ''",
        f"%(now)s < {token['issued_at']} + {token['expires_in']}",
        f"{stored[Resident._meta.get_field('status').column]} = %(active)s",
        f"jsonb_typeof({token['claims']}) = 'array'",
        f"NOT ({token['claims']} ?| %(foreign)s::text[])",
        f"{selected[len(_TOKEN_COLUMNS)]} <> ''",  # the token carries its copies (issued after they existed)
    ]
    if with_subject:
        params["required_scope"] = "openid"
        checks += ["%(required_scope)s = ANY(s.scopes)", f"{selected[_RESIDENT - 1]} <> ''"]
    # the token's claims, in order, less those withheld (``jsonb - text[]`` removes every
    # matching string element): one expression per row, no set-returning function, aggregate
    # or sort (issue 15, fourth round: ~30 µs of PostgreSQL's CPU less per statement). A name
    # outside the catalogue stays in; Python, which ignores it, corrects the record then.
    released = f"({token['claims']} - array_remove(ARRAY[{', '.join(withheld)}]::text[], NULL))"
    insert = wallet.release_insert_sql(
        "w",
        resident=f"w.{x[_TOKEN_COLUMNS.index('resident_id')]}",
        requester_id=f"w.{client_id}",
        requester_name_en=f"w.{name_en}",
        requester_name_zh=f"w.{name_zh}",
        kind="%(kind)s",
        claims="w.released",
        approval=f"w.{approval}",
        released_at="%(released_at)s",
    )
    params["kind"] = LOGIN_KIND if with_subject else FORMFILL_KIND
    columns = ", ".join(f"{expression} AS {alias}" for expression, alias in zip(selected, x, strict=True))
    # the row answered: only what Python reads (:data:`_ANSWERED`), not what only the checks
    # and the insert use (issue 15, fourth round: fewer values to send and convert)
    answered = [x[_TOKEN_COLUMNS.index(n)] for n in ("scope", "claims", "resident_id")] + x[_RESIDENT - 1 :]
    joins, where = _from_sql("%(token)s").split(" WHERE ", 1)
    sql = (
        f"WITH w AS (SELECT {columns}, {released} AS released{joins}"
        f" CROSS JOIN LATERAL (SELECT string_to_array({token['scope']}, ' ') AS scopes) s"
        f" WHERE {where} AND {' AND '.join(checks)}),"
        f" r AS ({insert})"
        f" SELECT {', '.join(f'w.{name}' for name in answered)}, w.released, r.id FROM w LEFT JOIN r ON TRUE"
    )
    return _written_in(sql, params), {}


def _written_in(sql: str, constants: dict) -> str:
    """``sql`` with each ``%(name)s`` of ``constants`` replaced by its value as an SQL literal,
    quoted by psycopg (:class:`psycopg.sql.Literal`). Only for constants of the code (the
    catalogue's claim and scope names, a status, a kind), never a request's value: those stay
    bound parameters. Issue 15, fifth round: 25 bound values cost the driver about 25–50 µs of
    CPU per request to name, order and adapt; three cost a few."""
    from psycopg import sql as pgsql

    for name, value in constants.items():
        sql = sql.replace(f"%({name})s", pgsql.Literal(value).as_string(None))
    return sql


def _claims_list(value) -> list:
    """A JSON array as read: a list, or its text (Django's loaders leave ``jsonb`` as text)."""
    return json.loads(value) if isinstance(value, str) else value


def _request_ok(method: str, meta) -> str | None:
    """The bearer token of a request that may be the common case (no body, no ``DPoP``
    header, ``Authorization: Bearer`` well formed), else ``None``."""
    if method == "POST" and (meta.get("CONTENT_LENGTH") not in (None, "", "0") or "HTTP_TRANSFER_ENCODING" in meta):
        return None  # a body (maybe a form-encoded token, RFC 6750 §2.2): the reference path
    if "HTTP_DPOP" in meta:
        return None
    match = BEARER.fullmatch(meta.get("HTTP_AUTHORIZATION", ""))
    return None if match is None else match.group(1)


def answer_bytes(method: str, meta, *, with_subject: bool) -> bytes | None:
    """The JSON body (bytes, as :class:`django.http.JsonResponse` gives it) of the UserInfo
    (``with_subject``: ``sub`` first, the ``openid`` scope required) or form-data answer to a
    request of ``method`` with the WSGI environ / ``META`` ``meta``, the release recorded,
    exactly as :func:`tungban.oidc.services.release` gives them for the token
    :func:`tungban.oidc.resource.bearer_token` accepts; or ``None`` for anything but the
    common valid case (module docstring), having read at most and written nothing.

    On PostgreSQL one statement (:func:`statement`) reads and records; the values are then
    decrypted and, should the claims answered differ from those recorded, the record is
    corrected (:func:`tungban.wallet.services.correct_release_claims`), and should they not
    be readable at all, the record is taken back (:func:`tungban.wallet.services.take_back_release`)
    and the error raised: the record always names exactly the claims answered. Elsewhere
    (SQLite) one read and one insert.

    :raises django.db.DatabaseError: the database failed (answered 503 by the caller).
    :raises tungban.core.fields.UnreadableValue: a value no key opens (answered 500)."""
    token_string = _request_ok(method, meta)
    if token_string is None:
        return None
    if connection.vendor == "postgresql":
        data = _answer_postgresql(token_string, with_subject=with_subject)
    else:
        data = _answer_portable(token_string, scope="openid" if with_subject else None, with_subject=with_subject)
    return None if data is None else json.dumps(data).encode()


def _answer_postgresql(token_string: str, *, with_subject: bool) -> dict | None:
    from . import scopes as scope_registry

    sql, constants = statement(with_subject, scope_registry.generation())
    now = timezone.now()
    row = rawsql.fetchone(
        sql,
        {**constants, "token": access_token_digest(token_string), "now": now.timestamp(), "released_at": now},
    )
    if row is None or row[-1] is None:
        return None  # no such token, or not the common case: nothing written
    record_id = row[-1]
    try:
        token_scope, claims, resident_id, sub = row[0], _claims_list(row[1]), row[2], row[3]
        claims = claims_within_scope(claims, token_scope)
        if eme.own_claims_only(claims):
            resident = eme.StoredResident(row[_ANSWERED:-2], eme.release_attnames())
        else:  # registered after the statement was built: the model reads what it needs
            from tungban.identity.models import Resident

            resident = Resident.objects.get(pk=resident_id)
        data = eme.values(resident, claims)
        released = [name for name in claims if name in data]
        if released != _claims_list(row[-2]):
            wallet.correct_release_claims(record_id, released)
    except Exception:
        wallet.take_back_release(record_id)
        raise
    if with_subject:
        return {"sub": sub, **data}
    return data


def _answer_portable(token_string: str, *, scope: str | None, with_subject: bool) -> dict | None:
    """One read (:func:`_read`), the checks in Python, one insert."""
    row = _read(token_string)
    if row is None:
        return None
    token_scope, claims, issued_at, expires_in, revoked_at, dpop_jkt, resident_id = row[:7]
    client_id, name_en, name_zh, approval_id, sub = row[7:_RESIDENT]
    if revoked_at is not None or dpop_jkt or time.time() >= issued_at + expires_in:
        return None  # RFC 6750 §3.1 invalid_token; a DPoP-bound token is no bearer token (RFC 9449 §7.1)
    if not client_id:
        return None  # issued before the token carried its copies (.models.release_copies)
    if scope is not None and scope not in (token_scope or "").split():
        return None  # insufficient_scope
    if with_subject and not sub:
        return None  # first release at this sector: the reference path creates the sub
    resident = eme.StoredResident(row[_RESIDENT:], eme.release_attnames())
    if not resident.is_active:
        return None  # account_suspended
    claims = claims_within_scope(_claims_list(claims), token_scope)
    if not eme.own_claims_only(claims):
        return None
    data = eme.values(resident, claims)
    wallet.record_release_row(
        resident_id,
        requester_id=client_id,
        requester_name_en=name_en,
        requester_name_zh=name_zh,
        kind=LOGIN_KIND if with_subject else FORMFILL_KIND,
        claims=[name for name in claims if name in data],
        approval_id=approval_id,
    )
    if with_subject:
        return {"sub": sub, **data}
    return data


def hot_userinfo(request: HttpRequest) -> HttpResponse | None:
    """:func:`tungban.oidc.views.userinfo` on the hot path (:mod:`tungban.core.hotpaths`):
    the common valid bearer request answered by :func:`answer_bytes` with the same status,
    body and CORS header; ``None`` (fall through to the view) for anything else. Lives here,
    not in :mod:`.views`, because ``OidcConfig.ready`` registers it and :mod:`.views` builds
    the authorization server on import (settings a settings-only child process lacks)."""
    return _respond(answer_bytes(request.method, request.META, with_subject=True))


def hot_formdata(request: HttpRequest) -> HttpResponse | None:
    """:func:`tungban.oidc.views.formdata` on the hot path, as :func:`hot_userinfo`."""
    return _respond(answer_bytes(request.method, request.META, with_subject=False))


def _respond(body: bytes | None) -> HttpResponse | None:
    if body is None:
        return None
    response = HttpResponse(body, content_type="application/json")
    response["Access-Control-Allow-Origin"] = "*"  # as views._cors
    response["Content-Length"] = str(len(body))  # as CommonMiddleware would (keep-alive)
    return response


_CORS = (("Access-Control-Allow-Origin", "*"),)  # as views._cors


def lane_userinfo(call) -> Reply | None:
    """:func:`tungban.oidc.views.userinfo` on a lane of the front (:mod:`tungban.core.front`,
    WSGI): the common valid bearer request (no body) answered by :func:`answer_bytes` with
    the view's status, body and CORS header; ``None`` (Django answers, nothing written) for
    anything else."""
    if call.body:
        return None  # a body (maybe a form-encoded token, RFC 6750 §2.2): the reference path
    return _reply(answer_bytes(call.method, call.environ, with_subject=True))


def lane_formdata(call) -> Reply | None:
    """:func:`tungban.oidc.views.formdata` on a lane, as :func:`lane_userinfo`."""
    if call.body:
        return None
    return _reply(answer_bytes(call.method, call.environ, with_subject=False))


def _reply(body: bytes | None) -> Reply | None:
    return None if body is None else Reply(200, body, _CORS)
