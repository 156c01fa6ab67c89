"""The data officers' uploads (issue 21, part opages): a CSV file with its Table Schema, as a
new resource or a new version of one, checked before anything is stored and stored in one
transaction (:func:`.publishing.add_resource` and :func:`.versions.add_version`).

Table Schema (Frictionless, https://specs.frictionlessdata.io/table-schema/): the officer may
upload one as JSON; without it the schema is generated from the CSV's header row with every
field of type ``string`` (so any well-formed CSV fits; the officer gives types by uploading a
schema). A given schema must pass :func:`tabular.check_schema` and name exactly the CSV's
columns, in order; the rows are then checked against it by :func:`.versions.add_version`.
"""

from __future__ import annotations

import csv
import io
import json
import re

from django.db import transaction
from django.utils.translation import gettext as _

from .. import errors, storage, tabular
from ..constants import Format
from ..models import Dataset, Resource, ResourceVersion
from . import publishing, versions


def read_csv(data: bytes) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a UTF-8 CSV file (a BOM is allowed).

    :raises DomainError: ``empty_file``, ``invalid_csv`` (not UTF-8, no header, a blank or
        repeated column name, a row with another number of cells)."""
    versions.check_size(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise errors.InvalidCsv(detail=_("it is not in UTF-8")) from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise errors.InvalidCsv(detail=str(exc)) from None
    rows = [r for r in rows if r]
    if not rows:
        raise errors.InvalidCsv(detail=_("it has no header row"))
    header = [h.strip() for h in rows[0]]
    if any(not h for h in header) or len(set(header)) != len(header):
        raise errors.InvalidCsv(detail=_("a column name in the header row is blank or repeated"))
    for n, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise errors.InvalidCsv(
                detail=_("row %(row)d has %(cells)d cells, the header row %(columns)d")
                % {"row": n, "cells": len(row), "columns": len(header)}
            )
    return header, rows[1:]


def table_schema(header: list[str], schema_bytes: bytes | None) -> dict:
    """The Table Schema of a CSV with ``header``: the uploaded one (checked by
    :func:`tabular.check_schema`, its fields the CSV's columns in order) or one generated with
    every field a ``string``.

    :raises DomainError: ``invalid_table_schema`` (on the form's ``schema`` field)."""
    if not schema_bytes:
        return {"fields": [{"name": h, "type": "string"} for h in header]}
    try:
        schema = json.loads(schema_bytes.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise errors.InvalidTableSchema(problem=_("it is not JSON"), field="schema") from None
    try:
        tabular.check_schema(schema)
    except errors.InvalidTableSchema as exc:
        exc.field = "schema"
        raise
    names = [f["name"] for f in schema["fields"]]
    if names != header:
        raise errors.InvalidTableSchema(
            problem=_("its fields (%(fields)s) are not the columns of the CSV file (%(columns)s)")
            % {"fields": ", ".join(names), "columns": ", ".join(header)},
            field="schema",
        )
    return schema


def upload_resource(
    user,
    ds: Dataset,
    *,
    name_en: str,
    name_zh: str,
    filename: str,
    data: bytes,
    schema_bytes: bytes | None = None,
    description_en: str = "",
    description_zh: str = "",
) -> tuple[Resource, ResourceVersion]:
    """A new tabular CSV resource of ``ds`` with ``data`` as its first (pending) version.

    :raises Forbidden: ``not_data_officer``. :raises DomainError: as :func:`read_csv`,
        :func:`table_schema`, :func:`.publishing.add_resource`."""
    publishing.role_of(user, ds.organization)
    filename = clean_filename(filename, fallback=f"{ds.name}.csv")
    header, _rows = read_csv(data)
    schema = table_schema(header, schema_bytes)
    with transaction.atomic():
        resource = publishing.add_resource(
            user,
            ds,
            name_en=name_en,
            name_zh=name_zh,
            filename=filename,
            format=Format.CSV,
            table_schema=schema,
            description_en=description_en.strip(),
            description_zh=description_zh.strip(),
        )
        version = versions.add_version(user, resource, data)  # checks the rows against the schema
    return resource, version


def upload_version(user, resource: Resource, data: bytes) -> ResourceVersion:
    """``data`` as a new pending version of ``resource`` (the same bytes again: the version
    that holds them); a tabular resource's file is checked against its Table Schema.

    :raises Forbidden: ``not_data_officer``. :raises DomainError: as
        :func:`.versions.add_version` (``table_schema_failure``, ``empty_file``, …)."""
    return versions.add_version(user, resource, data)


def clean_filename(filename: str, *, fallback: str) -> str:
    """The last part of an uploaded file's name, lower-cased, when it is a plain ASCII name
    ending in ``.csv`` (it becomes part of the file's URL); ``fallback`` otherwise."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip().lower().replace(" ", "-")
    if re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,195}\.csv", name):
        return name
    return fallback


def preview(version: ResourceVersion, rows: int = 5) -> dict | None:
    """The header and first ``rows`` rows of a CSV version (from the store), or None."""
    try:
        text = storage.read(version.sha256).decode("utf-8-sig")
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    return {"header": header, "rows": [r for _i, r in zip(range(rows), reader, strict=False)]}
