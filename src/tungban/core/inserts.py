"""One ``INSERT`` of a model instance without the ORM's query compiler (issue 15).

``Model.objects.create()`` builds and compiles an ``InsertQuery`` on every call; on the login's
hot writes (the approval request, the login session, the authorization code) that was most
of the write's Python cost. :func:`insert` writes the same row: the statement is made once
per model and database vendor (immutable), every value goes through the field's
``pre_save`` (``auto_now_add``, …) and ``get_db_prep_save`` as Django's own insert applies
them, and parameters are always bound.

Not sent: the ``pre_save``/``post_save`` signals. Use it only for models that no receiver
listens to (the test of this module checks the ones the platform uses it for).
"""

from __future__ import annotations

import functools

from django.db import connections, router
from django.db.models import Model


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
