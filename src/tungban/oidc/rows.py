"""Raw SQL for the token endpoint's hot reads and writes (issue 15: token).

Django's query compiler was the largest Python cost of a refresh (a profile of
``bench/oidc.py``: 2–3 ms of CPU per ORM query built); these statements are written once,
with bound parameters only, and give back ordinary model instances
(:meth:`django.db.models.Model.from_db`, the columns not read are deferred). Every value
goes through the database backend's and the field's converters, as the ORM would apply them.

Tables: ``oidc_client``, ``oidc_token``, ``oidc_authorizationcode``, ``oidc_loginsession``,
``oidc_pairwisesubject`` (this app's), ``identity_resident`` (read only: the resident's
``id``, ``status`` and ``tier``, as ``select_related`` read it before) and, through the keys
app's own subquery (:data:`tungban.keys.services.ACTIVE_KID_SQL`), the active signing key's
``kid`` in ``oidc_signingkey``, read with the grant so that the ID token costs no read of its
own.
"""

from __future__ import annotations

import functools

from django.db import connection
from django.db.models import CharField

from tungban.core import rawsql
from tungban.identity.models import Resident
from tungban.keys.services import ACTIVE_KID_SQL

from .models import AuthorizationCode, Client, LoginSession, Token

_RESIDENT_FIELDS = ("id", "status", "tier")  # is_active is a property of status
_SESSION_FIELDS = ("id", "sid")


#: Column lists and row loading without the ORM's compiler (:mod:`tungban.core.rawsql`).
_columns, _load = rawsql.columns, rawsql.load


def client(client_id: str) -> Client | None:
    """The active client ``client_id`` (one indexed read of ``oidc_client``), or ``None``."""
    sql = f"SELECT {_columns(Client)} FROM oidc_client t WHERE t.client_id = %s AND t.is_active = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [client_id, True])
        row = cursor.fetchone()
    return _load(Client, row, 0)[0] if row else None


def client_with_nonce(client_id: str, nonce: str) -> tuple[Client | None, bool]:
    """The active client ``client_id`` (or ``None``) and whether one of its authorization
    codes already carries ``nonce`` (OIDC Core §15.5.2: a replayed nonce is refused): one
    read of ``oidc_client`` with an ``EXISTS`` on ``oidc_authorizationcode`` (its
    ``(client, nonce)`` index). The authorization page and its completion ask both."""
    sql = (
        f"SELECT {_columns(Client)}, EXISTS(SELECT 1 FROM oidc_authorizationcode c "
        "WHERE c.client_id = t.id AND c.nonce = %s) "
        "FROM oidc_client t WHERE t.client_id = %s AND t.is_active = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [nonce, client_id, True])
        row = cursor.fetchone()
    if row is None:
        return None, False
    found, i = _load(Client, row, 0)
    return found, bool(row[i])


def nonce_used(client_id: str, nonce: str) -> bool:
    """Whether an authorization code of the client ``client_id`` (active or not) already
    carries ``nonce`` (OIDC Core §15.5.2): one indexed read of ``oidc_authorizationcode``."""
    sql = (
        "SELECT 1 FROM oidc_authorizationcode c JOIN oidc_client t ON t.id = c.client_id "
        "WHERE t.client_id = %s AND c.nonce = %s LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [client_id, nonce])
        return cursor.fetchone() is not None


def _with_grant(obj, row, start, *, code_from_row: bool):
    """Attach the resident, login session (and code) read with ``obj``; returns the pairwise
    ``sub`` read last (``None`` when none exists yet at the sector)."""
    resident, i = _load(Resident, row, start, _RESIDENT_FIELDS, "r")
    obj.resident = resident
    if code_from_row:
        obj.authorization_code, i = _load(AuthorizationCode, row, i, None, "c")
    session, i = _load(LoginSession, row, i, _SESSION_FIELDS, "s")
    if obj.session_id is not None:
        obj.session = session
    if code_from_row and obj.authorization_code is not None and obj.authorization_code.session_id == obj.session_id:
        obj.authorization_code.session = session
    return row[i]


def refresh_token(digest: str, sector: str) -> tuple[Token | None, str | None, str | None]:
    """The token whose refresh token's digest is ``digest``, with its resident, authorization
    code and login session, the resident's pairwise ``sub`` at ``sector`` (``None`` when not
    created yet) and the active signing key's ``kid`` (``None`` when there is no key yet):
    one read of ``oidc_token`` joined to its grant's rows; ``(None, None, None)`` if none."""
    sql = (
        f"SELECT {_columns(Token)}, {_columns(Resident, _RESIDENT_FIELDS, 'r')}, "
        f"{_columns(AuthorizationCode, None, 'c')}, {_columns(LoginSession, _SESSION_FIELDS, 's')}, ps.sub, "
        f"{ACTIVE_KID_SQL} "
        "FROM oidc_token t "
        "LEFT JOIN identity_resident r ON r.id = t.resident_id "
        "LEFT JOIN oidc_authorizationcode c ON c.id = t.authorization_code_id "
        "LEFT JOIN oidc_loginsession s ON s.id = t.session_id "
        "LEFT JOIN oidc_pairwisesubject ps ON ps.resident_id = t.resident_id AND ps.sector = %s "
        "WHERE t.refresh_token = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [sector, digest])
        row = cursor.fetchone()
    if row is None:
        return None, None, None
    token, i = _load(Token, row, 0)
    return token, _with_grant(token, row, i, code_from_row=True), row[-1]


def authorization_code(
    code: str, client_pk: int, sector: str
) -> tuple[AuthorizationCode | None, str | None, str | None]:
    """The client's authorization code ``code`` with its resident and login session, the
    resident's pairwise ``sub`` at ``sector`` (``None`` when not created yet) and the active
    signing key's ``kid`` (``None`` when there is no key yet): one read;
    ``(None, None, None)`` if none."""
    sql = (
        f"SELECT {_columns(AuthorizationCode)}, {_columns(Resident, _RESIDENT_FIELDS, 'r')}, "
        f"{_columns(LoginSession, _SESSION_FIELDS, 's')}, ps.sub, {ACTIVE_KID_SQL} "
        "FROM oidc_authorizationcode t "
        "JOIN identity_resident r ON r.id = t.resident_id "
        "LEFT JOIN oidc_loginsession s ON s.id = t.session_id "
        "LEFT JOIN oidc_pairwisesubject ps ON ps.resident_id = t.resident_id AND ps.sector = %s "
        "WHERE t.code = %s AND t.client_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [sector, code, client_pk])
        row = cursor.fetchone()
    if row is None:
        return None, None, None
    item, i = _load(AuthorizationCode, row, 0)
    return item, _with_grant(item, row, i, code_from_row=False), row[-1]


def mark_code_used(pk: int, when) -> bool:
    """Mark the code used if it was not (RFC 6749 §4.1.2: single use); ``False`` when it
    already was. One ``UPDATE`` of ``oidc_authorizationcode``: its row lock makes two
    concurrent redemptions serial, and the second sees ``used_at`` set."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE oidc_authorizationcode SET used_at = %s WHERE id = %s AND used_at IS NULL",
            [connection.ops.adapt_datetimefield_value(when), pk],
        )
        return cursor.rowcount == 1


def rotate(pk: int, when) -> bool:
    """Revoke the live refresh token ``pk`` and mark it rotated at ``when`` (RFC 9700
    §4.14.2); ``False`` when it was already revoked. One ``UPDATE`` of ``oidc_token``, which
    holds the row's lock to the end of the transaction."""
    value = connection.ops.adapt_datetimefield_value(when)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE oidc_token SET revoked_at = %s, rotated_at = COALESCE(rotated_at, %s) "
            "WHERE id = %s AND revoked_at IS NULL",
            [value, value, pk],
        )
        return cursor.rowcount == 1


def lock_grant(code_pk: int | None, session_pk: int | None) -> None:
    """``SELECT … FOR UPDATE`` of the authorization code ``code_pk``, then of the login
    session ``session_pk`` (either ``None``: not locked), in **one** statement: two scalar
    subqueries, each a ``FOR UPDATE`` of one row by primary key, evaluated in the order of
    the select list (PostgreSQL's init plans), so the lock order stays code → session → token
    (:func:`tungban.oidc.services.lock_grant`); a missing row locks nothing and does not keep
    the other from being locked. Nothing on a database without row locks (SQLite, whose write
    transaction serialises). Call inside a transaction."""
    if not connection.features.has_select_for_update or (code_pk is None and session_pk is None):
        return
    if session_pk is None:
        lock("oidc_authorizationcode", code_pk)
        return
    if code_pk is None:
        lock("oidc_loginsession", session_pk)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT id FROM oidc_authorizationcode WHERE id = %s FOR UPDATE), "
            "(SELECT id FROM oidc_loginsession WHERE id = %s FOR UPDATE)",
            [code_pk, session_pk],
        )


def lock(table: str, pk: int) -> None:
    """``SELECT … FOR UPDATE`` of row ``pk`` of ``table`` (one of this app's:
    ``oidc_authorizationcode``, ``oidc_loginsession``); nothing on a database without row
    locks (SQLite, whose write transaction serialises). Call inside a transaction."""
    if table not in ("oidc_authorizationcode", "oidc_loginsession"):
        raise ValueError(table)
    if not connection.features.has_select_for_update:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [pk])  # noqa: S608 - fixed names


_INSERT_FIELDS = tuple(f for f in Token._meta.concrete_fields if not f.primary_key)
#: Fields whose Python value the database driver cannot take as it is (JSON, datetimes, the
#: link to a UUID key: the approval a token copies, :func:`.models.release_copies`).
_PREPARED = frozenset(
    f.attname
    for f in _INSERT_FIELDS
    if f.get_internal_type() in ("JSONField", "DateTimeField")
    or (f.is_relation and f.target_field.get_internal_type() == "UUIDField")
)


@functools.cache
def _insert_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO oidc_token ({', '.join(quote(f.column) for f in _INSERT_FIELDS)}) "
        f"VALUES ({', '.join(['%s'] * len(_INSERT_FIELDS))})"
    )
    return sql + " RETURNING id" if connection.features.can_return_columns_from_insert else sql


def redeems_in_one_statement() -> bool:
    """Whether :func:`redeem_code` can mark a code used and insert its token in one statement
    (PostgreSQL: a data-modifying ``WITH``; SQLite has none)."""
    return connection.vendor == "postgresql"


def _cast_type(field) -> str:
    """The type a parameter of the ``INSERT … SELECT`` statements below is cast to: the
    column's, but a ``CharField`` without its length — ``CAST('…' AS varchar(n))`` silently
    cuts a longer value, where inserting it raises ``DataError`` (review of issue 15, F2)."""
    if isinstance(field, CharField):
        return connection.ops.cast_char_field_without_max_length
    return field.db_type(connection)


@functools.cache
def _redeem_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    casts = ", ".join(f"CAST(%s AS {_cast_type(f)})" for f in _INSERT_FIELDS)
    return (
        "WITH used AS (UPDATE oidc_authorizationcode SET used_at = %s WHERE id = %s AND used_at IS NULL RETURNING id) "
        f"INSERT INTO oidc_token ({', '.join(quote(f.column) for f in _INSERT_FIELDS)}) "
        f"SELECT {casts} FROM used RETURNING id"
    )


def redeem_code(code_pk: int, when, **values) -> int | None:
    """Mark the authorization code ``code_pk`` used at ``when`` if it was not (RFC 6749
    §4.1.2: single use) and insert its token (``values`` as for :func:`insert_token`) in
    **one** statement, atomic on its own (PostgreSQL only: :func:`redeems_in_one_statement`);
    the new token's primary key, or ``None`` when the code was already used (then nothing is
    written). The ``UPDATE``'s row lock makes two concurrent redemptions serial: the second
    finds ``used_at`` set and inserts nothing. Issue 15: no ``BEGIN``/``COMMIT`` and one
    statement instead of four round trips. Tables ``oidc_authorizationcode``, ``oidc_token``."""
    params = [connection.ops.adapt_datetimefield_value(when), code_pk, *_token_params(values)]
    with connection.cursor() as cursor:
        cursor.execute(_redeem_sql(connection.vendor), params)
        row = cursor.fetchone()
    return row[0] if row else None


@functools.cache
def _rotate_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    casts = ", ".join(f"CAST(%s AS {_cast_type(f)})" for f in _INSERT_FIELDS)
    return (
        "WITH locked AS MATERIALIZED (SELECT "
        "(SELECT id FROM oidc_authorizationcode WHERE id = %s FOR UPDATE) AS c, "
        "(SELECT id FROM oidc_loginsession WHERE id = %s FOR UPDATE) AS s), "
        "old AS (UPDATE oidc_token SET revoked_at = %s, rotated_at = COALESCE(rotated_at, %s) "
        "WHERE id = %s AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM locked) RETURNING id) "
        f"INSERT INTO oidc_token ({', '.join(quote(f.column) for f in _INSERT_FIELDS)}) "
        f"SELECT {casts} FROM old RETURNING id"
    )


def rotate_and_insert(old_pk: int, code_pk: int | None, session_pk: int | None, when, **values) -> int | None:
    """A refresh token's rotation (RFC 9700 §4.14.2) in **one** statement, atomic on its own
    (PostgreSQL only: :func:`redeems_in_one_statement`): lock the grant's authorization code
    ``code_pk`` and login session ``session_pk`` (``FOR UPDATE``; ``None``: nothing), then
    revoke the live token ``old_pk`` and mark it rotated at ``when``, then insert its
    successor (``values`` as for :func:`insert_token`). The new token's primary key, or
    ``None`` when ``old_pk`` was no longer live (then nothing is written: the caller judges
    a retry as before). The lock order is :func:`tungban.oidc.services.lock_grant`'s (code,
    session, token): the materialised ``locked`` is a one-time filter evaluated before the
    token's row is read and locked, so revoking the grant or ending its session, which lock
    in the same order, either waits for this statement and then sees the new token, or
    comes first and this statement (re-checking ``revoked_at IS NULL`` on the row's newest
    version, PostgreSQL's read-committed ``UPDATE``) writes nothing. Issue 15: one round
    trip instead of five (``BEGIN``, locks, ``UPDATE``, ``INSERT``, ``COMMIT``). Tables
    ``oidc_authorizationcode``, ``oidc_loginsession``, ``oidc_token``."""
    at = connection.ops.adapt_datetimefield_value(when)
    params = [code_pk, session_pk, at, at, old_pk, *_token_params(values)]
    with connection.cursor() as cursor:
        cursor.execute(_rotate_sql(connection.vendor), params)
        row = cursor.fetchone()
    return row[0] if row else None


def _token_params(values: dict) -> list:
    params = []
    for field in _INSERT_FIELDS:
        name, attname = field.name, field.attname
        if name in values and name != attname:  # a related instance
            value = values[name]
            value = None if value is None else value.pk
        elif attname in values:
            value = values[attname]
        else:
            value = field.get_default()
        if attname in _PREPARED and value is not None:
            value = field.get_db_prep_save(value, connection)
        params.append(value)
    return params


#: A client's own token (:class:`.models.ClientToken`): five bound values, no model instance.
CLIENT_TOKEN_INSERT = (
    "INSERT INTO oidc_clienttoken (access_token, client_id, scope, issued_at, expires_in) VALUES (%s, %s, %s, %s, %s)"
)


def insert_client_token(*, access_token: str, client_id: int, scope: str, issued_at: int, expires_in: int) -> None:
    """A new ``oidc_clienttoken`` row (a ``client_credentials`` token without DPoP,
    :class:`.models.ClientToken`): one ``INSERT``; ``access_token`` is its digest
    (:func:`.models.access_token_digest`), ``issued_at`` Unix seconds, ``expires_in`` seconds.

    :raises django.db.IntegrityError: a duplicate digest."""
    with connection.cursor() as cursor:
        cursor.execute(CLIENT_TOKEN_INSERT, [access_token, client_id, scope, issued_at, expires_in])


def insert_token(**values) -> int:
    """A new ``oidc_token`` row from field values (``client``, ``resident``, … as model
    instances or ``*_id``; a field left out gets its default), its primary key returned: one
    ``INSERT`` (``RETURNING id`` where the database has it). No model instance is built
    (issue 15: its ``__init__`` and every field's preparation were a tenth of a refresh's
    CPU); JSON and datetime values go through their field's ``get_db_prep_save``, as
    ``save()`` would send them.

    :raises django.db.IntegrityError: a duplicate digest or a missing related row."""
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(connection.vendor), _token_params(values))
        if connection.features.can_return_columns_from_insert:
            return cursor.fetchone()[0]
        return connection.ops.last_insert_id(cursor, Token._meta.db_table, "id")
