"""The data officers' uploads (issue 21, part opages): a CSV file with its Table Schema, as a
new resource or a new version of one, checked before anything is stored and stored in one
transaction (:func:`.publishing.add_resource` and :func:`.versions.add_version`).

Table Schema (Frictionless, https://specs.frictionlessdata.io/table-schema/): the officer may
upload one as JSON; without it the schema is generated from the CSV's header row with every
field of type ``string`` (the officer can replace it with a precise one by uploading it). A
given schema must be a JSON object whose ``fields`` name exactly the CSV's columns, in order.
"""

from __future__ import annotations

import csv
import io
import json
import re

from django.db import transaction
from django.utils.translation import gettext as _

from .. import errors, storage
from ..constants import Format
from ..models import Dataset, Resource, ResourceVersion
from . import publishing, versions

#: Frictionless Table Schema field types accepted in an uploaded schema.
FIELD_TYPES = {
    "string",
    "number",
    "integer",
    "boolean",
    "object",
    "array",
    "date",
    "time",
    "datetime",
    "year",
    "yearmonth",
    "duration",
    "geopoint",
    "geojson",
    "any",
}


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
            raise errors.InvalidCsv(detail=_("row %(row)d has %(cells)d cells, the header row %(columns)d")
                % {"row": n, "cells": len(row), "columns": len(header)})
    return header, rows[1:]


def table_schema(header: list[str], schema_bytes: bytes | None) -> dict:
    """The Table Schema of a CSV with ``header``: the uploaded one (checked) or one generated
    with every field a ``string``.

    :raises DomainError: ``invalid_table_schema``."""
    if not schema_bytes:
        return {"fields": [{"name": h, "type": "string"} for h in header]}
    try:
        schema = json.loads(schema_bytes.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise errors.InvalidTableSchema(detail=_("it is not JSON")) from None
    fields = schema.get("fields") if isinstance(schema, dict) else None
    if not isinstance(fields, list) or not all(isinstance(f, dict) and isinstance(f.get("name"), str) for f in fields):
        raise errors.InvalidTableSchema(detail=_("it has no list of named fields"))
    names = [f["name"] for f in fields]
    if names != header:
        raise errors.InvalidTableSchema(detail=_("its fields (%(fields)s) are not the columns of the CSV file (%(columns)s)")
            % {"fields": ", ".join(names), "columns": ", ".join(header)})
    bad = sorted({f.get("type", "string") for f in fields} - FIELD_TYPES)
    if bad:
        raise errors.InvalidTableSchema(detail=_("“%(type)s” is not a Table Schema type") % {"type": bad[0]})
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
    header, rows = read_csv(data)
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
        version = versions.add_version(user, resource, data)
        ResourceVersion.objects.filter(pk=version.pk).update(row_count=len(rows))
        version.row_count = len(rows)
    return resource, version


def upload_version(user, resource: Resource, data: bytes) -> ResourceVersion:
    """``data`` as a new pending version of ``resource`` (the same bytes again: the version
    that holds them). A tabular resource's file must keep its columns.

    :raises Forbidden: ``not_data_officer``. :raises DomainError: as :func:`read_csv`,
        ``invalid_table_schema`` (other columns)."""
    publishing.role_of(user, resource.dataset.organization)
    rows = None
    if resource.format == Format.CSV:
        header, body = read_csv(data)
        if resource.table_schema:
            table_schema(header, json.dumps(resource.table_schema).encode())
        rows = len(body)
    with transaction.atomic():
        version = versions.add_version(user, resource, data)
        if rows is not None:
            ResourceVersion.objects.filter(pk=version.pk).update(row_count=rows)
            version.row_count = rows
    return version


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
