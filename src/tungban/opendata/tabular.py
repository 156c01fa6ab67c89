"""Tabular resources (issue 21): a CSV file checked against its Frictionless Table Schema (the
data dictionary) and served also as JSON and XML.

The validator is our own, small, and covers the Table Schema v1 subset the catalogue accepts
(https://specs.frictionlessdata.io/table-schema/): field types ``string``, ``integer``,
``number``, ``boolean``, ``date``, ``datetime``, ``time``, ``year``, ``any`` (default formats
only); constraints ``required``, ``unique``, ``minimum``, ``maximum``, ``minLength``,
``maxLength``, ``pattern``, ``enum``; ``missingValues`` (default ``[""]``), ``primaryKey``.
Its errors carry Frictionless's error types (``type-error``, ``constraint-error``,
``missing-cell``, ``extra-cell``, ``incorrect-label``, ``blank-row``, ``primary-key``) and
texts modelled on Frictionless's, translated (both languages). Why not the ``frictionless``
library (5.21): its messages are English only, it brings 13 more packages (a CLI, templating,
``chardet``…), and it is slower here — importing it took 0.21–0.23 s and validating a
20,000-row, 3-field CSV 0.24–0.39 s, where this module validates the same file in
0.084–0.094 s (``/tmp`` scripts, this machine, December 2026; figures in the ofiles report).

The CSV is UTF-8 (a byte-order mark allowed), comma separated, RFC 4180 quoting, its first
row the field names in the schema's order.

Derived formats (cached on disk next to the store, keyed by the CSV's SHA-256 and the
schema's: both immutable, so every server computes the same bytes):

* JSON: an array of objects, one per row, keys the field names, values typed per the schema
  (``integer`` → number, ``number`` → number, ``boolean`` → true/false, missing → null,
  dates and times as their ISO 8601 text).
* XML: ``<dataset><record><field name="district">Wan Chai</field>…</record>…</dataset>``
  (UTF-8; a missing value is an empty ``<field name="…" nil="true"/>``).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import hashlib
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from django.utils.translation import gettext as _

from . import errors, storage

TYPES = ("string", "integer", "number", "boolean", "date", "datetime", "time", "year", "any")
CONSTRAINTS = ("required", "unique", "minimum", "maximum", "minLength", "maxLength", "pattern", "enum")
TRUE_VALUES = ("true", "True", "TRUE", "1")
FALSE_VALUES = ("false", "False", "FALSE", "0")
#: How many errors a refusal names.
FIRST_ERRORS = 5


# --- the schema -----------------------------------------------------------------------------


def check_schema(schema) -> None:
    """Refuse a Table Schema the validator cannot apply: not an object, no ``fields``, a field
    without a unique ``name``, an unknown ``type`` or constraint, a ``pattern`` that is not a
    regular expression, a ``primaryKey`` naming no field.

    :raises DomainError: ``invalid_table_schema`` (``details.problem`` says what)."""

    def bad(problem: str):
        return errors.InvalidTableSchema(problem=problem, details={"problem": problem})

    if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list) or not schema["fields"]:
        raise bad(_("it needs a non-empty list “fields”"))
    names = []
    for field in schema["fields"]:
        if not isinstance(field, dict) or not isinstance(field.get("name"), str) or not field["name"].strip():
            raise bad(_("every field needs a “name”"))
        name = field["name"]
        if name in names:
            raise bad(_("the field “%(name)s” appears twice") % {"name": name})
        names.append(name)
        if field.get("type", "string") not in TYPES:
            raise bad(_("the field “%(name)s” has an unknown type") % {"name": name})
        cons = field.get("constraints", {})
        if not isinstance(cons, dict) or any(k not in CONSTRAINTS for k in cons):
            raise bad(_("the field “%(name)s” has an unknown constraint") % {"name": name})
        if "pattern" in cons:
            try:
                re.compile(cons["pattern"])
            except (re.error, TypeError):
                raise bad(_("the pattern of “%(name)s” is not a regular expression") % {"name": name}) from None
        if "enum" in cons and not isinstance(cons["enum"], list):
            raise bad(_("the enum of “%(name)s” is not a list") % {"name": name})
        for key in ("minimum", "maximum", "minLength", "maxLength"):
            if key in cons and field.get("type", "string") in ("integer", "number", "year"):
                if not isinstance(cons[key], (int, float)) or isinstance(cons[key], bool):
                    raise bad(_("the %(key)s of “%(name)s” is not a number") % {"key": key, "name": name})
    pk = schema.get("primaryKey")
    if pk is not None:
        keys = [pk] if isinstance(pk, str) else pk
        if not isinstance(keys, list) or any(k not in names for k in keys):
            raise bad(_("the primary key names a field that does not exist"))
    missing = schema.get("missingValues", [""])
    if not isinstance(missing, list) or any(not isinstance(v, str) for v in missing):
        raise bad(_("“missingValues” is not a list of strings"))


def schema_digest(schema: dict) -> str:
    """SHA-256 (hex) of the schema's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# --- reading ----------------------------------------------------------------------------------


class _CellError(ValueError):
    def __init__(self, kind: str):
        self.kind = kind


def _cast(field: dict, text: str):
    """The typed value of ``text`` (not a missing value) for ``field``. :raises _CellError:."""
    kind = field.get("type", "string")
    try:
        if kind in ("string", "any"):
            return text
        if kind == "integer":
            if not re.fullmatch(r"[+-]?\d+", text):
                raise ValueError
            return int(text)
        if kind == "number":
            value = decimal.Decimal(text)
            if not value.is_finite() and text.lower() not in ("nan", "inf", "-inf"):
                raise ValueError
            return value
        if kind == "boolean":
            if text in field.get("trueValues", TRUE_VALUES):
                return True
            if text in field.get("falseValues", FALSE_VALUES):
                return False
            raise ValueError
        if kind == "date":
            return dt.date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else _fail()
        if kind == "datetime":
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if kind == "time":
            return dt.time.fromisoformat(text)
        if kind == "year":
            if not re.fullmatch(r"\d{4}", text):
                raise ValueError
            return int(text)
    except (ValueError, decimal.InvalidOperation):
        raise _CellError("type-error") from None
    raise _CellError("type-error")  # pragma: no cover - check_schema refuses other types


def _fail():
    raise ValueError


def _check_constraints(field: dict, text: str, value) -> None:
    cons = field.get("constraints", {})
    if "minLength" in cons and len(text) < cons["minLength"]:
        raise _CellError("constraint-error")
    if "maxLength" in cons and len(text) > cons["maxLength"]:
        raise _CellError("constraint-error")
    if "pattern" in cons and not re.fullmatch(cons["pattern"], text):
        raise _CellError("constraint-error")
    if "enum" in cons and text not in [str(v) for v in cons["enum"]] and value not in cons["enum"]:
        raise _CellError("constraint-error")
    try:
        if "minimum" in cons and value < _bound(field, cons["minimum"]):
            raise _CellError("constraint-error")
        if "maximum" in cons and value > _bound(field, cons["maximum"]):
            raise _CellError("constraint-error")
    except TypeError:
        raise _CellError("constraint-error") from None


def _bound(field: dict, bound):
    if isinstance(bound, str):
        return _cast(field, bound)
    if field.get("type") == "number":
        return decimal.Decimal(str(bound))
    return bound


@dataclass(frozen=True)
class TableError:
    """One problem of a CSV file: ``kind`` a Frictionless error type, ``row`` the row's
    number in the file (the header is row 1), ``field`` the field's name (or ``""``)."""

    kind: str
    row: int
    field: str = ""

    def text(self) -> str:
        """The problem in the active language."""
        params = {"row": self.row, "field": self.field}
        texts = {
            "encoding-error": _("The file is not UTF-8 text."),
            "incorrect-label": _("Row 1: the header does not match the data dictionary (expected “%(field)s”)."),
            "blank-row": _("Row %(row)s is empty."),
            "missing-cell": _("Row %(row)s has no value for “%(field)s”."),
            "extra-cell": _("Row %(row)s has more values than the data dictionary has fields."),
            "type-error": _("Row %(row)s: the value of “%(field)s” is not of the type the data dictionary gives."),
            "constraint-error": _("Row %(row)s: the value of “%(field)s” breaks a constraint of the data dictionary."),
            "required": _("Row %(row)s: “%(field)s” is required but empty."),
            "unique-error": _("Row %(row)s: the value of “%(field)s” appears in an earlier row."),
            "primary-key": _("Row %(row)s: the primary key repeats an earlier row's."),
            "csv-error": _("Row %(row)s is not valid CSV."),
        }
        return texts[self.kind] % params

    def as_dict(self) -> dict:
        return {"type": self.kind, "row": self.row, "field": self.field, "message": self.text()}


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise errors.TableSchemaFailure(
            problems=_("The file is not UTF-8 text."),
            details={"errors": [TableError("encoding-error", 0).as_dict()]},
        ) from None


def _rows(data: bytes, schema: dict) -> Iterator[tuple[int, list | None, list[TableError]]]:
    """``(row number, typed values or None, errors)`` for each data row, after checking the
    header (an ``incorrect-label`` error is yielded as row 1)."""
    fields = schema["fields"]
    names = [f["name"] for f in fields]
    missing = set(schema.get("missingValues", [""]))
    reader = csv.reader(io.StringIO(_text(data), newline=""), strict=True)
    number = 0
    try:
        header = next(reader, None)
        number = 1
        if header is None or [h.strip() for h in header] != names:
            got = header or []
            for i, name in enumerate(names):
                if i >= len(got) or got[i].strip() != name:
                    yield 1, None, [TableError("incorrect-label", 1, name)]
                    return
            yield 1, None, [TableError("extra-cell", 1)]
            return
        for number, cells in enumerate(reader, start=2):
            if not cells or all(not c for c in cells):
                yield number, None, [TableError("blank-row", number)]
                continue
            problems: list[TableError] = []
            values: list = []
            if len(cells) > len(fields):
                problems.append(TableError("extra-cell", number))
            for i, field in enumerate(fields):
                if i >= len(cells):
                    problems.append(TableError("missing-cell", number, field["name"]))
                    values.append(None)
                    continue
                text = cells[i]
                if text in missing:
                    if field.get("constraints", {}).get("required"):
                        problems.append(TableError("required", number, field["name"]))
                    values.append(None)
                    continue
                try:
                    value = _cast(field, text)
                    _check_constraints(field, text, value)
                except _CellError as e:
                    problems.append(TableError(e.kind, number, field["name"]))
                    value = None
                values.append(value)
            yield number, (None if problems else values), problems
    except csv.Error:
        yield number + 1, None, [TableError("csv-error", number + 1)]


@dataclass(frozen=True)
class Table:
    """A validated CSV file: ``fields`` (the schema's field names), ``rows`` (typed values)."""

    fields: list[str]
    rows: list[list]

    @property
    def row_count(self) -> int:
        return len(self.rows)


def validate(data: bytes, schema: dict) -> Table:
    """Read ``data`` (UTF-8 CSV) as ``schema`` says; returns the typed table.

    :raises DomainError: ``table_schema_failure`` naming the first :data:`FIRST_ERRORS`
        problems (row, field) in the message and all of them, up to 100, in
        ``details.errors`` (each ``{"type", "row", "field", "message"}``)."""
    fields = schema["fields"]
    unique = [i for i, f in enumerate(fields) if f.get("constraints", {}).get("unique")]
    pk = schema.get("primaryKey")
    pk_idx = [[f["name"] for f in fields].index(k) for k in ([pk] if isinstance(pk, str) else pk or [])]
    seen: dict[int, set] = {i: set() for i in unique}
    seen_pk: set = set()
    rows: list[list] = []
    problems: list[TableError] = []
    for number, values, errs in _rows(data, schema):
        problems.extend(errs)
        if values is None:
            if len(problems) >= 100:
                break
            continue
        for i in unique:
            if values[i] is not None:
                if values[i] in seen[i]:
                    problems.append(TableError("unique-error", number, fields[i]["name"]))
                seen[i].add(values[i])
        if pk_idx:
            key = tuple(values[i] for i in pk_idx)
            if key in seen_pk:
                problems.append(TableError("primary-key", number))
            seen_pk.add(key)
        rows.append(values)
        if len(problems) >= 100:
            break
    if problems:
        first = problems[:FIRST_ERRORS]
        raise errors.TableSchemaFailure(
            problems=" ".join(p.text() for p in first),
            details={"errors": [p.as_dict() for p in problems[:100]]},
        )
    return Table(fields=[f["name"] for f in fields], rows=rows)


# --- derived formats ---------------------------------------------------------------------------


def _json_value(value):
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() and value.is_finite() else float(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return value


def to_json(table: Table) -> bytes:
    """The records as a JSON array of objects (UTF-8)."""
    records = [{name: _json_value(v) for name, v in zip(table.fields, row, strict=True)} for row in table.rows]
    return json.dumps(records, ensure_ascii=False, separators=(",", ":")).encode()


def _xml_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    v = _json_value(value)
    return escape(str(v))


def to_xml(table: Table) -> bytes:
    """The records as ``<dataset><record><field name="…">…</field>…</record>…</dataset>``."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<dataset>']
    names = [quoteattr(n) for n in table.fields]
    for row in table.rows:
        out.append("<record>")
        for name, value in zip(names, row, strict=True):
            if value is None:
                out.append(f'<field name={name} nil="true"/>')
            else:
                out.append(f"<field name={name}>{_xml_text(value)}</field>")
        out.append("</record>")
    out.append("</dataset>\n")
    return "".join(out).encode()


DERIVED_MEDIA_TYPES = {"json": "application/json; charset=utf-8", "xml": "application/xml; charset=utf-8"}


def derived_path(sha256: str, schema: dict, ext: str) -> Path:
    """The file holding the ``ext`` (``json`` or ``xml``) form of the CSV ``sha256`` read
    with ``schema``, made on first use (atomically, as the store writes). Immutable: both
    inputs are content-addressed, so any server may make it and all make the same bytes."""
    if ext not in DERIVED_MEDIA_TYPES:
        raise ValueError(ext)
    target = storage.root() / "derived" / sha256[:2] / f"{sha256}-{schema_digest(schema)[:16]}.{ext}"
    if target.exists():
        return target
    table = validate(storage.read(sha256), schema)
    data = to_json(table) if ext == "json" else to_xml(table)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
