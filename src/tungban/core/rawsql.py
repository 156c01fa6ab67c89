"""One ``INSERT`` of a model instance, and model instances from a raw row, without the
ORM's query compiler (issue 15).

``Model.objects.create()`` builds and compiles an ``InsertQuery`` on every call; on the login's
hot writes (the approval request, the login session, the authorization code) that was most
of the write's Python cost. :func:`insert` writes the same row: the statement is made once
per model and database vendor (immutable), every value goes through the field's
``pre_save`` (``auto_now_add``, …) and ``get_db_prep_save`` as Django's own insert applies
them, and parameters are always bound.

Not sent: the ``pre_save``/``post_save`` signals. Use it only for models that no receiver
listens to (the test of this module checks the ones the platform uses it for).

:func:`columns` and :func:`load` read rows of a hand-written ``SELECT`` (bound parameters
only) back into model instances (:meth:`~django.db.models.Model.from_db`; the columns not
read are deferred), every value through the backend's and the field's converters, as the
ORM applies them.
"""

from __future__ import annotations

import functools

from django.db import connections, router, transaction
from django.db.models import CharField, Model


@functools.cache
def _statement(model: type[Model], vendor: str, returning: bool) -> tuple[tuple, str, bool]:
    """``(fields, SQL, whether the database makes the primary key)`` of ``model``'s INSERT.
    Immutable: computed once per model and vendor."""
    connection = connections[router.db_for_write(model)]
    pk = model._meta.pk
    generated = pk.db_returning  # an AutoField: the database numbers the row
    fields = tuple(f for f in model._meta.concrete_fields if not (generated and f is pk))
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    if generated and returning:
        sql += f" RETURNING {quote(pk.column)}"
    return fields, sql, generated


def insert(obj: Model) -> Model:
    """Insert ``obj`` (a new, unsaved instance) as one row; returns it, saved (primary key
    set, ``_state.adding`` false), as ``Model.objects.create`` would.

    :raises django.db.IntegrityError: as the ORM's insert (unique or foreign key violated).
    """
    model = type(obj)
    alias = router.db_for_write(model, instance=obj)
    connection = connections[alias]
    returning = connection.features.can_return_columns_from_insert
    fields, sql, generated = _statement(model, connection.vendor, returning)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if generated:
            if returning:
                obj.pk = cursor.fetchone()[0]
            else:
                obj.pk = connection.ops.last_insert_id(cursor, model._meta.db_table, model._meta.pk.column)
    obj._state.adding = False
    obj._state.db = alias
    return obj


@functools.cache
def _linked_statement(
    parent: type[Model], child: type[Model], link: str, vendor: str, guarded: bool = False
) -> tuple[tuple, tuple, str]:
    """``(parent's fields, child's fields without link, SQL)`` of :func:`insert_linked`'s one
    statement (PostgreSQL). Immutable: computed once per pair of models and vendor. A
    ``guarded`` statement's text starts after its first step (``WITH g AS (the caller's
    UPDATE … RETURNING 1)``, prefixed by the caller) and inserts with ``INSERT … SELECT``
    from the step before, each parameter cast to its column's type (a ``CharField`` without
    its length: a longer value is refused, not cut)."""
    connection = connections[router.db_for_write(child)]
    quote = connection.ops.quote_name
    parent_fields, parent_sql, _generated = _statement(parent, vendor, True)
    child_fields, _sql, child_generated = _statement(child, vendor, True)
    linked = child._meta.get_field(link)
    rest = tuple(f for f in child_fields if f is not linked)
    if guarded:
        parent_casts = ", ".join(f"CAST(%s AS {_cast_type(f, connection)})" for f in parent_fields)
        child_casts = ", ".join(
            "p.pk" if f is linked else f"CAST(%s AS {_cast_type(f, connection)})" for f in child_fields
        )
        sql = (
            f", p (pk) AS (INSERT INTO {quote(parent._meta.db_table)} ({', '.join(quote(f.column) for f in parent_fields)}) "
            f"SELECT {parent_casts} FROM g RETURNING {quote(parent._meta.pk.column)}) "
            f"INSERT INTO {quote(child._meta.db_table)} ({', '.join(quote(f.column) for f in child_fields)}) "
            f"SELECT {child_casts} FROM p RETURNING {quote(child._meta.pk.column)}, {quote(linked.column)}"
        )
        return parent_fields, rest, sql
    values = ", ".join("(SELECT p.pk FROM p)" if f is linked else "%s" for f in child_fields)
    sql = (
        f"WITH p (pk) AS ({parent_sql}) "
        f"INSERT INTO {quote(child._meta.db_table)} ({', '.join(quote(f.column) for f in child_fields)}) "
        f"VALUES ({values}) RETURNING {quote(child._meta.pk.column)}, {quote(linked.column)}"
    )
    return parent_fields, rest, sql


def _cast_type(field, connection) -> str:
    """The type a parameter of an ``INSERT … SELECT`` is cast to: the column's, but a
    ``CharField`` without its length — ``CAST('…' AS varchar(n))`` silently cuts a longer
    value, where inserting it raises ``DataError`` (as :mod:`tungban.oidc.rows`)."""
    if isinstance(field, CharField):
        return connection.ops.cast_char_field_without_max_length
    return field.db_type(connection)


def insert_linked(parent: Model, child: Model, link: str, guard: tuple[str, list] | None = None) -> Model | None:
    """Insert ``parent`` and ``child`` (new, unsaved instances; ``child``'s foreign key
    ``link`` to ``parent``'s model, an auto-numbered primary key), ``child`` pointing at
    ``parent``; returns ``child``, both saved, as two :func:`insert` calls would leave them.

    On PostgreSQL one statement (a data-modifying ``WITH``: the parent's ``INSERT …
    RETURNING`` read by the child's ``VALUES``), atomic on its own; elsewhere the two
    inserts, parent first (call it inside a transaction). Issue 15: the login session and its
    authorization code, one round trip fewer per login.

    ``guard``: ``(sql, params)`` of one ``UPDATE`` (no ``RETURNING``; bound parameters) that
    must update exactly one row for anything to be inserted; then ``None`` is returned when it
    updated none, and nothing is written. On PostgreSQL it is the first step of the same
    statement (atomic on its own: no transaction needed); elsewhere it runs first, and the
    three run in one transaction (:func:`django.db.transaction.atomic`). Issue 15 (third
    round): the browser's completion marks the approval used in the statement that writes the
    login session and its code.

    :raises django.db.IntegrityError: as the ORM's inserts.
    """
    connection = connections[router.db_for_write(type(child), instance=child)]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=connection.alias, savepoint=False):
            if guard is not None:
                with connection.cursor() as cursor:
                    cursor.execute(*guard)
                    if cursor.rowcount != 1:
                        return None
            insert(parent)
            setattr(child, link, parent)
            return insert(child)
    parent_fields, child_fields, sql = _linked_statement(
        type(parent), type(child), link, connection.vendor, guard is not None
    )
    params = list(guard[1]) if guard is not None else []
    params += [f.get_db_prep_save(f.pre_save(parent, True), connection) for f in parent_fields]
    params += [f.get_db_prep_save(f.pre_save(child, True), connection) for f in child_fields]
    with connection.cursor() as cursor:
        cursor.execute(f"WITH g AS ({guard[0]} RETURNING 1){sql}" if guard is not None else sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    child.pk, parent.pk = row
    for obj in (parent, child):
        obj._state.adding = False
        obj._state.db = connection.alias
    setattr(child, link, parent)
    return child


@functools.cache
def _shape(model: type[Model], names: tuple[str, ...] | None, alias: str, vendor: str):
    """``(SQL column list, attnames, converters)`` of ``model``'s fields ``names`` (all
    concrete fields when ``None``; the primary key must come first) under the table alias
    ``alias``, per database vendor. Immutable: computed once."""
    connection = connections[router.db_for_read(model)]
    fields = [f for f in model._meta.concrete_fields if names is None or f.name in names or f.attname in names]
    quote = connection.ops.quote_name
    converters = []
    for field in fields:
        col = field.get_col(model._meta.db_table)
        converters.append((col, tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))))
    columns_sql = ", ".join(f"{alias}.{quote(f.column)}" for f in fields)
    return columns_sql, tuple(f.attname for f in fields), tuple(converters)


def columns(model: type[Model], names: tuple[str, ...] | None = None, alias: str = "t") -> str:
    """The SQL column list of ``model``'s fields ``names`` (all when ``None``) under ``alias``."""
    return _shape(model, names, alias, connections[router.db_for_read(model)].vendor)[0]


def load(model: type[Model], row, start: int = 0, names=None, alias: str = "t") -> tuple[Model | None, int]:
    """The instance of ``model`` whose :func:`columns` start at index ``start`` of ``row``
    (``None`` when its primary key is NULL: an outer join found nothing), and the index after
    its columns."""
    connection = connections[router.db_for_read(model)]
    _sql, attnames, converters = _shape(model, names, alias, connection.vendor)
    end = start + len(attnames)
    values = list(row[start:end])
    if values[0] is None:
        return None, end
    for i, (col, convs) in enumerate(converters):
        for conv in convs:
            values[i] = conv(values[i], col, connection)
    return model.from_db(connection.alias, attnames, values), end


def _run(sql: str, params, using: str, fetch):
    connection = connections[using]
    if connection.vendor == "postgresql" and not connection.queries_logged:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        connection.validate_no_broken_transaction()
        with connection.wrap_database_errors:
            return fetch(connection.connection.execute(sql, params))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return fetch(cursor)


def fetchone(sql: str, params=(), *, using: str = "default"):
    """The first row of one statement (bound ``params``: a sequence, or a mapping for
    ``%(name)s``), or ``None``. On PostgreSQL it runs on Django's connection's own psycopg
    connection — its server-side binding and prepared statements, without Django's cursor
    wrapper (about 25 µs of CPU per round trip, issue 15, third round) — after Django's health
    check and broken-transaction check, with Django's error translation (a database fault is
    still Django's ``OperationalError``); through Django's cursor where Django records queries
    (``DEBUG``, ``CaptureQueriesContext``: the same statement, recorded) and on other
    databases. In autocommit the statement is its own transaction.

    :raises django.db.DatabaseError: the database refused or failed."""
    return _run(sql, params, using, lambda cursor: cursor.fetchone())


def fetchall(sql: str, params=(), *, using: str = "default") -> list[tuple]:
    """Every row of one statement, as :func:`fetchone`."""
    return _run(sql, params, using, lambda cursor: cursor.fetchall())
