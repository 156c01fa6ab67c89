"""The exchange endpoint's reads in plain SQL (issue 15 acceptance 4): building these ORM
queries (``select_related`` over four tables, a ``UNION`` of two) cost more CPU than the
rest of an exchange's database work; here each is a fixed SQL string (bound parameters,
never formatted values) whose rows become the same model instances the ORM would give
(``Model.from_db``, each column through its field's database converters).

Tables read: ``oidc_token`` and ``oidc_clienttoken`` (:data:`tungban.oidc.services.BEARER_TOKENS_SQL`), ``oidc_client``, ``exchange_organisation`` (the data user
behind a bearer token), ``exchange_consent``, ``exchange_dataproduct``,
``identity_resident`` (a consent with its product, provider and data subject),
``exchange_providercircuit`` and ``exchange_datausercircuit`` (a call's two circuit rows);
written: ``exchange_requestnonce`` (the request id, one statement without a savepoint);
``exchange_exchangeattempt``, ``exchange_exchangerecord`` and ``exchange_consent``'s use count
(:func:`insert`, :func:`update`: inside :func:`tungban.core.onestatement.joined` sent with
the transaction's next statement, the queued log leaf, as one on PostgreSQL).
"""

from __future__ import annotations

import time
import uuid
from functools import cache

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from tungban.core import idempotency, onestatement
from tungban.identity.models import Resident
from tungban.oidc import services as oidc_services
from tungban.oidc.models import Client, access_token_digest

from .models import Consent, DataProduct, DataUserCircuit, Organisation, ProviderCircuit, RequestNonce


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _conn():
    """This thread's database connection itself (``connections["default"]``), looked up once
    by a caller that touches it many times: each attribute of ``django.db.connection`` (a
    proxy) looks the connection up again (issue 15, eighth round: ~80 look-ups an exchange)."""
    return connections[DEFAULT_DB_ALIAS]


def _fields(model, names: tuple[str, ...] | None) -> list:
    """``model``'s concrete fields named in ``names`` (all when None), in the model's order
    (the order ``Model.from_db`` takes values in)."""
    return [f for f in model._meta.concrete_fields if names is None or f.name in names]


@cache
def _converters(model, names: tuple[str, ...] | None, vendor: str):
    """``(attnames, [(position, [converters], column)])`` for ``names`` of ``model`` (all
    concrete fields when None) on this database vendor."""
    fields = _fields(model, names)
    out = []
    for i, field in enumerate(fields):
        col = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if found:
            out.append((i, found, col))
    return [f.attname for f in fields], out


def _columns(model, alias: str, names: tuple[str, ...] | None = None) -> str:
    fields = _fields(model, names)
    return ", ".join(f"{alias}.{_q(f.column)}" for f in fields)


def _width(model, names: tuple[str, ...] | None = None) -> int:
    return len(_fields(model, names))


def _converted(model, values, names: tuple[str, ...] | None, conn) -> tuple[list[str], list]:
    """``(attnames, values)``: a row's ``values`` (in :func:`_columns` order) through their
    fields' database converters, as the ORM converts them."""
    attnames, converters = _converters(model, names, conn.vendor)
    values = list(values)
    for i, funcs, col in converters:
        value = values[i]
        for func in funcs:
            value = func(value, col, conn)
        values[i] = value
    return attnames, values


def _load(model, values, names: tuple[str, ...] | None = None, conn=None):
    """A model instance from a row's ``values`` (in :func:`_columns` order), as the ORM loads it."""
    conn = conn or _conn()
    attnames, values = _converted(model, values, names, conn)
    return model.from_db(conn.alias, attnames, values)


def _cache_related(obj, field_name: str, related) -> None:
    obj._meta.get_field(field_name).set_cached_value(obj, related)


def _uuid_param(model, value, conn=None):
    """``value`` as the database's value of ``model``'s UUID primary key; None when it is no UUID."""
    try:
        return model._meta.pk.get_db_prep_value(value if isinstance(value, uuid.UUID) else str(value), conn or _conn())
    except (ValidationError, ValueError, TypeError, AttributeError):
        return None


# --- The data user behind a bearer token ----------------------------------------------------------


#: What an exchange uses of the data user's OAuth client (:mod:`.lane`): its ``client_id`` (the
#: idempotency caller, the signed answer's ``aud``); not its keys, URIs and scopes (JSON columns
#: parsed for nothing on every exchange; deferred: read if ever asked for).
EXCHANGE_CLIENT_FIELDS = ("id", "client_id", "name_en", "name_zh", "is_active")


@cache
def _data_user_sql(vendor: str, client_fields: tuple[str, ...] | None = None) -> str:
    client, org = Client._meta, Organisation._meta
    return (
        f"SELECT t.{_q('issued_at')}, t.{_q('expires_in')}, t.{_q('revoked_at')}, t.{_q('scope')}, "
        f"t.{_q('dpop_jkt')}, t.{_q('resident_id')}, {_columns(Organisation, 'o')}, "
        f"{_columns(Client, 'c', client_fields)} "
        f"FROM {oidc_services.BEARER_TOKENS_SQL} t "  # a client's own tokens too (oidc.models.ClientToken)
        f"JOIN {_q(org.db_table)} o ON o.{_q('client_id')} = t.{_q('client_id')} "
        f"JOIN {_q(client.db_table)} c ON c.{_q(client.pk.column)} = t.{_q('client_id')} "
        f"WHERE t.{_q('access_token')} = %s"
    )


def data_user_for_bearer(
    token_string: str, scope: str, *, client_fields: tuple[str, ...] | None = None
) -> Organisation | None:
    """The active data user (with its client) behind a valid bearer access token carrying
    ``scope``, in one read — or None whenever anything is not plainly so (no such token,
    expired, revoked, DPoP-bound, without the scope, a resident's token, no active data
    user): the caller then takes the reference path, which gives each of those its error
    (``oidc.resource.ScopedBearer``, ``services.data_user_for``). ``client_fields``: only
    these fields of the client are read (e.g. :data:`EXCHANGE_CLIENT_FIELDS`), the others
    deferred; all when None."""
    conn = _conn()
    with conn.cursor() as cursor:
        cursor.execute(_data_user_sql(conn.vendor, client_fields), [access_token_digest(token_string)])
        row = cursor.fetchone()
    if row is None:
        return None
    return _plain_data_user(row, scope, client_fields, conn)


def _plain_data_user(row, scope: str, client_fields: tuple[str, ...] | None, conn) -> Organisation | None:
    """The data user of a bearer token's ``row`` (as :func:`_data_user_sql` selects it: the
    token's six columns, the data user's, its client's) when the token is plainly valid for
    ``scope`` and the data user active (:func:`data_user_for_bearer`), else None."""
    issued_at, expires_in, revoked_at, scopes, dpop_jkt, resident_id = row[:6]
    if issued_at is None:  # no such token (a row of NULLs: the opening statement's outer join)
        return None
    if revoked_at is not None or dpop_jkt or resident_id is not None or time.time() >= issued_at + expires_in:
        return None
    if scope not in (scopes or "").split():
        return None
    n = _width(Organisation)
    org = _load(Organisation, row[6 : 6 + n], None, conn)
    if not org.is_active:
        return None
    _cache_related(org, "client", _load(Client, row[6 + n :], client_fields, conn))
    return org


class Bearer:
    """A data user still to be read from its bearer token, by the exchange's opening statement
    itself (:func:`open_exchange`; issue 15, ninth round: the token's read was a round trip of
    its own before the exchange's first transaction). ``token``: the bearer token as sent;
    ``scope``: the scope it must carry; ``client_fields``: as :func:`data_user_for_bearer`'s.
    After the statement, :attr:`data_user` is the data user — only when the token is plainly
    valid (else :class:`NotPlainBearer` is raised and nothing is kept)."""

    __slots__ = ("client_fields", "data_user", "scope", "token")

    def __init__(self, token: str, scope: str, *, client_fields: tuple[str, ...] | None = None):
        self.token, self.scope, self.client_fields = token, scope, client_fields
        self.data_user: Organisation | None = None


def _bearer_row_width(client_fields: tuple[str, ...] | None) -> int:
    """Columns the opening statement selects for a :class:`Bearer` (:func:`_bearer_clauses`)."""
    return 1 + 6 + _width(Organisation) + _width(Client, client_fields)


class NotPlainBearer(Exception):  # noqa: N818 - a signal to the caller, as idempotency.KeyTaken
    """The opening statement found the bearer token not plainly valid (:func:`data_user_for_bearer`
    would have given None): the caller's transaction rolls back (nothing the statement wrote is
    kept) and the request goes where a token that read gives None goes (the full stack)."""


#: The idempotency caller of a :class:`Bearer`'s data user, as the opening statement works it
#: out (``claim_clauses(caller_sql=…)``): ``client:<client_id>``, as the API's decorator names
#: it; NULL when the token is not plainly valid (then nothing is claimed).
BEARER_CALLER_SQL = "(SELECT 'client:' || bv.client_id FROM bv)"


# --- A consent with what an exchange needs of it --------------------------------------------------


@cache
def _consent_sql(vendor: str, lock: bool) -> str:
    consent, product, org, resident = Consent._meta, DataProduct._meta, Organisation._meta, Resident._meta
    sql = (
        f"SELECT {_columns(Consent, 'k')}, {_columns(DataProduct, 'p')}, {_columns(Organisation, 'v')}, "
        f"{_columns(Resident, 'r')} "
        f"FROM {_q(consent.db_table)} k "
        f"JOIN {_q(product.db_table)} p ON p.{_q('id')} = k.{_q('product_id')} "
        f"JOIN {_q(org.db_table)} v ON v.{_q('id')} = p.{_q('provider_id')} "
        f"LEFT JOIN {_q(resident.db_table)} r ON r.{_q(resident.pk.column)} = k.{_q('resident_id')} "
        f"WHERE k.{_q('id')} = %s"
    )
    if lock and connection.features.has_select_for_update_of:
        sql += " FOR UPDATE OF k"
    return sql


def consent_for_exchange(consent_id, data_user: Organisation, *, lock: bool = False) -> Consent | None:
    """The consent ``consent_id`` with its product, the product's provider and the data
    subject, in one read; with ``lock`` its row is locked (``FOR UPDATE OF`` the consent only,
    inside the caller's transaction; SQLite's write transaction already holds the database).
    Its data user is ``data_user`` when it is theirs (the caller checks ``consumer_id``);
    the approval is read only if asked for. None when there is no such consent."""
    param = _uuid_param(Consent, consent_id)
    if param is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_consent_sql(connection.vendor, lock), [param])
        row = cursor.fetchone()
    if row is None:
        return None
    return _consent_of(row, data_user)


#: What an exchange reads of its consent (:func:`open_exchange`): every field but the signed
#: artefact (about 1.3 kB), which the exchange does not use (deferred: read if ever asked for).
EXCHANGE_CONSENT_FIELDS = tuple(f.name for f in Consent._meta.concrete_fields if f.name != "artefact")
#: What an exchange reads of its product: every field but the forms for non-resident data
#: subjects (issue 19; deferred: read only by an exchange for an organisation).
EXCHANGE_PRODUCT_FIELDS = tuple(f.name for f in DataProduct._meta.concrete_fields if f.name != "forms")
#: What an exchange reads of the data subject (:func:`open_exchange`): whether the account is
#: active, the public id its log entries name and the HKID the provider's token carries — not
#: the names, date of birth, addresses, phone and e-mail, which it has no use for (data
#: minimisation, and nine decryptions less per exchange; deferred: read if ever asked for).
EXCHANGE_RESIDENT_FIELDS = ("id", "public_id", "hkid", "status")


def _consent_of(
    values,
    data_user: Organisation,
    consent_fields: tuple[str, ...] | None = None,
    resident_fields: tuple[str, ...] | None = None,
    conn=None,
    product_fields: tuple[str, ...] | None = None,
) -> Consent:
    """The consent of ``values`` (its columns, then its product's, the provider's and the
    resident's, as :func:`_consent_sql` selects them, or only ``consent_fields`` of the
    consent and ``resident_fields`` of the resident, the others deferred) with those related
    objects attached, and ``data_user`` as its consumer when it is theirs."""
    conn = conn or _conn()
    a = _width(Consent, consent_fields)
    b = a + _width(DataProduct, product_fields)
    c = b + _width(Organisation)
    consent = _load(Consent, values[:a], consent_fields, conn)
    product = _load(DataProduct, values[a:b], product_fields, conn)
    _cache_related(product, "provider", _load(Organisation, values[b:c], None, conn))
    _cache_related(consent, "product", product)
    resident = _load(Resident, values[c:], resident_fields, conn) if consent.resident_id is not None else None
    _cache_related(consent, "resident", resident)
    if consent.consumer_id == data_user.id:
        _cache_related(consent, "consumer", data_user)
    return consent


# --- An exchange's opening read: its request id, consent, key and circuits --------------------------


def _aliased(model, alias: str, prefix: str, names: tuple[str, ...] | None = None) -> tuple[str, str]:
    """``model``'s columns under ``alias`` renamed ``<prefix>0, <prefix>1, …`` (for a CTE whose
    tables share column names), and the same names as the outer query selects them from ``c``."""
    fields = _fields(model, names)
    inner = ", ".join(f"{alias}.{_q(f.column)} AS {prefix}{i}" for i, f in enumerate(fields))
    outer = ", ".join(f"c.{prefix}{i}" for i in range(len(fields)))
    return inner, outer


def _bearer_clauses(client_fields: tuple[str, ...] | None) -> tuple[str, str]:
    """``(clauses, selected)`` of a :class:`Bearer` in the opening statement: ``b``, the token's
    row as :func:`_data_user_sql` reads it (its columns renamed ``t0…``, ``o0…``, ``c0…``),
    ``bv`` its data user's id and ``client_id`` when the token is plainly valid for the scope
    and the data user active — the writes of the statement (the key's claim, the request id)
    read the data user from ``bv``, so an invalid token writes nothing; ``selected``: ``bv``'s
    data user id, then ``b``'s columns. Parameters: the token's digest, the time (Unix seconds),
    the scope. Python checks the row again (:func:`_plain_data_user`)."""
    client, org = Client._meta, Organisation._meta
    token_columns = ("issued_at", "expires_in", "revoked_at", "scope", "dpop_jkt", "resident_id")
    o_inner, _ = _aliased(Organisation, "o", "o")
    c_inner, _ = _aliased(Client, "c", "c", client_fields)
    t_inner = ", ".join(f"t.{_q(name)} AS t{i}" for i, name in enumerate(token_columns))
    org_names = [f.name for f in _fields(Organisation, None)]
    client_names = [f.name for f in _fields(Client, client_fields)]
    clauses = (
        f"b AS (SELECT {t_inner}, {o_inner}, {c_inner} "
        f"FROM {oidc_services.BEARER_TOKENS_SQL} t "
        f"JOIN {_q(org.db_table)} o ON o.{_q('client_id')} = t.{_q('client_id')} "
        f"JOIN {_q(client.db_table)} c ON c.{_q(client.pk.column)} = t.{_q('client_id')} "
        f"WHERE t.{_q('access_token')} = %s), "
        f"bv AS (SELECT b.o{org_names.index('id')} AS data_user_id, b.c{client_names.index('client_id')} AS client_id "
        "FROM b WHERE b.t2 IS NULL AND COALESCE(b.t4, '') = '' AND b.t5 IS NULL AND b.t0 + b.t1 > %s "
        f"AND b.o{org_names.index('is_active')} AND %s = ANY(string_to_array(b.t3, ' ')))"
    )
    selected = ", ".join(
        [
            "(SELECT data_user_id FROM bv)",
            *(f"b.t{i}" for i in range(len(token_columns))),
            *(f"b.o{i}" for i in range(len(org_names))),
            *(f"b.c{i}" for i in range(len(client_names))),
        ]
    )
    return clauses, selected


@cache
def _open_sql(
    vendor: str,
    with_nonce: bool,
    claim: tuple[str, str] | None = None,
    bearer: bool = False,
    client_fields: tuple[str, ...] | None = None,
) -> str:
    from tungban.keys.services import ACTIVE_KID_SQL

    consent, product, org, resident = Consent._meta, DataProduct._meta, Organisation._meta, Resident._meta
    parts = [_aliased(Consent, "k", "k", EXCHANGE_CONSENT_FIELDS)]
    parts += [_aliased(DataProduct, "p", "p", EXCHANGE_PRODUCT_FIELDS), _aliased(Organisation, "v", "v")]
    parts.append(_aliased(Resident, "r", "r", EXCHANGE_RESIDENT_FIELDS))
    lock = " FOR UPDATE OF k" if connection.features.has_select_for_update_of else ""
    locked = (
        f"c AS (SELECT {', '.join(inner for inner, _ in parts)} "
        f"FROM {_q(consent.db_table)} k "
        f"JOIN {_q(product.db_table)} p ON p.{_q('id')} = k.{_q('product_id')} "
        f"JOIN {_q(org.db_table)} v ON v.{_q('id')} = p.{_q('provider_id')} "
        f"LEFT JOIN {_q(resident.db_table)} r ON r.{_q(resident.pk.column)} = k.{_q('resident_id')} "
        f"WHERE k.{_q('id')} = %s{' AND EXISTS (SELECT 1 FROM bv)' if bearer else ''}{lock})"
    )
    nonce = ""
    taken = "NULL"
    data_user_id = "(SELECT data_user_id FROM bv)" if bearer else "%s"
    if with_nonce:
        table = _q(RequestNonce._meta.db_table)
        nonce = (
            f"n AS (INSERT INTO {table} ({_q('consumer_id')}, {_q('request_id')}, {_q('created_at')}) "
            + ("SELECT bv.data_user_id, %s, %s FROM bv " if bearer else "VALUES (%s, %s, %s) ")
            + "ON CONFLICT DO NOTHING RETURNING 1), "
        )
        taken = "(SELECT COUNT(*) FROM n)"
    provider_col = f"c.v{[f.name for f in _fields(Organisation, None)].index('id')}"
    circuit = ", ".join(f"{{a}}.{_q(name)}" for name in CIRCUIT_FIELDS)
    claimed = ""
    if claim is not None:  # the idempotency key's claim first (tungban.core.idempotency.claim_clauses)
        nonce = f"{claim[0]}, {nonce}"
        claimed = f"{claim[1]}, "
    read_bearer, bearer_selected, bearer_join = "", "", ""
    if bearer:  # the data user behind the bearer token, before everything that uses it (ninth round)
        clauses, selected = _bearer_clauses(client_fields)
        read_bearer, bearer_selected, bearer_join = f"{clauses}, ", f"{selected}, ", "LEFT JOIN b ON 1 = 1 "
    return (
        f"WITH {read_bearer}{nonce}{locked} "
        f"SELECT {claimed}{taken}, {ACTIVE_KID_SQL}, {circuit.format(a='pc')}, {circuit.format(a='dc')}, "
        f"{bearer_selected}{', '.join(outer for _, outer in parts)} "
        "FROM (SELECT 1 AS one) AS one "
        f"{bearer_join}"
        "LEFT JOIN c ON 1 = 1 "
        f"LEFT JOIN {_q(ProviderCircuit._meta.db_table)} pc ON pc.{_q(ProviderCircuit._meta.pk.column)} = {provider_col} "
        f"LEFT JOIN {_q(DataUserCircuit._meta.db_table)} dc ON dc.{_q('provider_id')} = {provider_col} "
        f"AND dc.{_q('data_user_id')} = {data_user_id}"
    )


def open_exchange(
    consent_id, data_user: Organisation | Bearer, request_id: str, claim: tuple[str, list, str] | None = None
):
    """What an exchange reads before its provider is asked, in one statement inside the
    caller's transaction (issue 15, fourth round; each was a round trip of its own): the data
    user's ``request_id`` stored (as :func:`take_request_id`: on PostgreSQL a data-modifying
    ``WITH`` clause of the same statement, elsewhere its own statement first), the consent
    as :func:`consent_for_exchange` with ``lock`` (``FOR UPDATE OF`` the consent only), the
    active signing key's ``kid`` (:data:`tungban.keys.services.ACTIVE_KID_SQL`) and the call's
    two circuit rows (:func:`circuit_rows`). Tables: ``exchange_requestnonce``,
    ``exchange_consent``, ``exchange_dataproduct``, ``exchange_organisation``,
    ``identity_resident``, ``oidc_signingkey``, ``exchange_providercircuit``,
    ``exchange_datausercircuit``.

    ``claim`` (PostgreSQL): a lane's idempotency key claim
    (:func:`tungban.core.idempotency.claim_clauses`), sent first in the same statement (issue
    15, sixth round: it was a statement of its own just before); what it selected is settled
    with :func:`tungban.core.idempotency.claimed` before anything else is looked at, so a key
    found taken raises :class:`~tungban.core.idempotency.KeyTaken` and the caller's
    transaction rolls back every clause of the statement.

    ``data_user`` a :class:`Bearer` (PostgreSQL; issue 15, ninth round): the data user is read
    from the bearer token by the same statement, first (``oidc_token``/``oidc_clienttoken``,
    ``oidc_client``, ``exchange_organisation``: one round trip less than
    :func:`data_user_for_bearer` before the transaction), and its writes — the key's claim (with
    ``claim_clauses(caller_sql=BEARER_CALLER_SQL)``), the request id — and the consent's lock
    are made only for a plainly valid token; the data user is left in ``data_user.data_user``.

    :returns: ``(taken, consent or None, kid or None, circuits)``: ``taken`` False when the
        request id was already there; ``circuits`` as :func:`circuit_rows` gives them (empty
        without a consent).
    :raises KeyTaken: with ``claim``, as :func:`tungban.core.idempotency.claimed`.
    :raises NotPlainBearer: ``data_user`` a :class:`Bearer` whose token is not plainly valid
        (as :func:`data_user_for_bearer` would give None): the caller's transaction rolls back.
    """
    conn = _conn()
    vendor = conn.vendor
    with_nonce = vendor == "postgresql"
    bearer = data_user if isinstance(data_user, Bearer) else None
    if bearer is not None and not with_nonce:
        raise ValueError("a bearer token is read in the opening statement on PostgreSQL only")
    params = []
    if bearer is not None:
        params += [access_token_digest(bearer.token), time.time(), bearer.scope]
    params += [] if claim is None else list(claim[1])
    taken = None
    if with_nonce:
        params += [] if bearer is not None else [data_user.id]
        params += [request_id, conn.ops.adapt_datetimefield_value(timezone.now())]
    else:
        taken = take_request_id(data_user.id, request_id)
    param = _uuid_param(Consent, consent_id, conn)
    params += [param] if bearer is not None else [param, data_user.id]
    sql = _open_sql(
        vendor,
        with_nonce,
        None if claim is None else (claim[0], claim[2]),
        bearer is not None,
        None if bearer is None else bearer.client_fields,
    )
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if claim is not None:
        n = 4 if bearer is not None else 2  # with the caller it worked out and the lock it tried
        idempotency.claimed(*row[:n])
        row = row[n:]
    if bearer is not None:
        at = 2 + 2 * len(CIRCUIT_FIELDS)  # its columns follow the request id's, the kid and the circuits
        width = _bearer_row_width(bearer.client_fields)
        found, row = row[at : at + width], row[:at] + row[at + width :]
        # as the token's read alone would find it (Python's check), and the statement's writes made for it (bv)
        data_user = None if found[0] is None else _plain_data_user(found[1:], bearer.scope, bearer.client_fields, conn)
        if data_user is None:
            raise NotPlainBearer
        bearer.data_user = data_user
    if taken is None:
        taken = bool(row[0])
    kid = row[1]
    width = len(CIRCUIT_FIELDS)
    circuit_values = {"provider": row[2 : 2 + width], "data_user": row[2 + width : 2 + 2 * width]}
    rest = row[2 + 2 * width :]
    if param is None or rest[0] is None:
        return taken, None, kid, {}
    consent = _consent_of(
        rest, data_user, EXCHANGE_CONSENT_FIELDS, EXCHANGE_RESIDENT_FIELDS, conn, EXCHANGE_PRODUCT_FIELDS
    )
    circuits = {}
    for scope, values in circuit_values.items():
        if values[0] is not None:  # state is never NULL in a row that exists
            model = ProviderCircuit if scope == "provider" else DataUserCircuit
            # the values as the ORM converts them (no model instance: only they are used)
            circuits[scope] = dict(zip(*_converted(model, values, CIRCUIT_FIELDS, conn), strict=True))
    return taken, consent, kid, circuits


#: What :func:`relock_consent` reads: what decides whether a consent still allows delivery.
RELOCK_FIELDS = ("id", "status", "valid_until", "max_uses", "uses", "approval", "revoked_at")


@cache
def _relock_sql(vendor: str) -> str:
    sql = f"SELECT {_columns(Consent, 'k', RELOCK_FIELDS)} FROM {_q(Consent._meta.db_table)} k WHERE k.{_q('id')} = %s"
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    return sql


def relock_consent(consent_id) -> Consent:
    """The consent's row locked again (inside the caller's transaction), with the fields that
    decide whether it still allows delivery (:data:`RELOCK_FIELDS`; the others deferred).

    Inside :func:`tungban.core.onestatement.joined` the writes kept so far go with it, as one
    statement (issue 15 round 4: the delivery's writes and this lock).

    :raises Consent.DoesNotExist: it is gone (it cannot be: consents are kept)."""
    conn = _conn()
    row = onestatement.fetchone(_relock_sql(conn.vendor), [_uuid_param(Consent, consent_id, conn)])
    if row is None:
        raise Consent.DoesNotExist
    return _load(Consent, row, RELOCK_FIELDS, conn)


# --- Circuit rows -------------------------------------------------------------------------------

CIRCUIT_FIELDS = ("state", "failures", "successes", "opened_at")


@cache
def _circuits_sql(vendor: str) -> str:
    provider, data_user = ProviderCircuit._meta, DataUserCircuit._meta
    return (
        f"SELECT 'provider', {_columns(ProviderCircuit, 'a', CIRCUIT_FIELDS)} FROM {_q(provider.db_table)} a "
        f"WHERE a.{_q(provider.pk.column)} = %s "
        f"UNION ALL SELECT 'data_user', {_columns(DataUserCircuit, 'b', CIRCUIT_FIELDS)} "
        f"FROM {_q(data_user.db_table)} b WHERE b.{_q('provider_id')} = %s AND b.{_q('data_user_id')} = %s"
    )


def circuit_rows(provider_id: str, data_user_id: str) -> dict[str, dict]:
    """``{"provider": {...}, "data_user": {...}}``: the call's circuit rows that exist, each
    ``{"state", "failures", "successes", "opened_at"}``, in one read."""
    with connection.cursor() as cursor:
        cursor.execute(_circuits_sql(connection.vendor), [provider_id, provider_id, data_user_id])
        rows = cursor.fetchall()
    out = {}
    for scope, *values in rows:
        model = ProviderCircuit if scope == "provider" else DataUserCircuit
        obj = _load(model, values, CIRCUIT_FIELDS)
        out[scope] = {name: getattr(obj, name) for name in CIRCUIT_FIELDS}
    return out


# --- The request id -------------------------------------------------------------------------------


@cache
def _nonce_sql(vendor: str) -> str:
    table = _q(RequestNonce._meta.db_table)
    return (
        f"INSERT INTO {table} ({_q('consumer_id')}, {_q('request_id')}, {_q('created_at')}) "
        "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1"
    )


def take_request_id(data_user_id: str, request_id: str) -> bool:
    """Store the data user's ``request_id`` (``exchange_requestnonce``, unique per data user)
    in the caller's transaction; False when it is already there (a replay or a retry). One
    statement (``INSERT … ON CONFLICT DO NOTHING``): no savepoint to keep the transaction
    usable after a unique violation."""
    with connection.cursor() as cursor:
        cursor.execute(
            _nonce_sql(connection.vendor),
            [data_user_id, request_id, connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        return cursor.fetchone() is not None


# --- The exchange's writes ------------------------------------------------------------------------


@cache
def _insert_sql(model, vendor: str) -> str:
    fields = model._meta.concrete_fields
    return (
        f"INSERT INTO {_q(model._meta.db_table)} ({', '.join(_q(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )


def insert(obj) -> None:
    """Insert the new model instance ``obj`` (its primary key set by the caller or its
    default), every concrete field prepared as ``Model.save`` prepares it (``pre_save``:
    ``auto_now_add``, lookup hashes; encryption; adaptation). No model signals are sent:
    none is connected for the exchange's models (``exchange_exchangeattempt``,
    ``exchange_exchangerecord``)."""
    model = type(obj)
    conn = _conn()
    values = [f.get_db_prep_save(f.pre_save(obj, True), conn) for f in model._meta.concrete_fields]
    onestatement.write(_insert_sql(model, conn.vendor), values)  # joined with the next one (issue 15)
    obj._state.adding, obj._state.db = False, conn.alias


@cache
def _update_sql(model, names: tuple[str, ...], vendor: str) -> tuple[str, list, object]:
    """``(sql, fields, primary key)`` of :func:`update` setting ``names`` of ``model``."""
    fields = [model._meta.get_field(name) for name in names]
    sets = ", ".join(f"{_q(f.column)} = %s" for f in fields)
    return (
        f"UPDATE {_q(model._meta.db_table)} SET {sets} WHERE {_q(model._meta.pk.column)} = %s",
        fields,
        model._meta.pk,
    )


def update(model, pk, **values) -> None:
    """``UPDATE`` of the row ``pk`` of ``model`` setting ``values`` (field names), each
    prepared as the ORM prepares it. Inside :func:`tungban.core.onestatement.joined` it is
    sent with the transaction's next statement (PostgreSQL)."""
    conn = _conn()
    sql, fields, pk_field = _update_sql(model, tuple(values), conn.vendor)
    params = [f.get_db_prep_save(v, conn) for f, v in zip(fields, values.values(), strict=True)]
    params.append(pk_field.get_db_prep_value(pk, conn))
    onestatement.write(sql, params)
