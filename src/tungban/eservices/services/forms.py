"""The forms engine: a :class:`~tungban.eservices.models.FormVersion`'s JSON Schema (draft
2020-12, checked with ``jsonschema``) plus its layout (pages, conditions, field kinds,
bilingual labels and help), validated on the server with one message per field in both
languages.

Layout (``catalogue/README.md`` has the full format)::

    {"pages": [{"id", "title_en", "title_zh", "fields": [name, ...],
                "when": {"field": name, "equals": value} | {"field": name, "in": [...]}}],
     "fields": {name: {"kind", "label_en", "label_zh", "help_en", "help_zh",
                       "prefill": {"claim": oidc_claim} | {"product": data_product_id, "path": key},
                       "options": [{"value", "label_en", "label_zh"}],     # choice
                       "accept": [mime, ...], "max_bytes": int,           # file
                       "item": {name: field, ...}}}}                       # group (repeatable)

Kinds: ``text``, ``textarea``, ``number``, ``email``, ``hkid`` (check digit as
:func:`tungban.identity.hkid.normalize`), ``phone`` (a Hong Kong number: 8 digits starting
2, 3, 5, 6, 7, 8 or 9), ``date`` (ISO 8601 ``YYYY-MM-DD``), ``address`` (an object: flat,
floor, block, building, street, district), ``choice``, ``multichoice``, ``yesno``, ``file``
(the answer is the id of an :class:`~tungban.eservices.models.Attachment` of the same
application and field), ``group`` (a repeatable group: an array of objects of the ``item``
fields), ``declaration`` (must be ``true``).

A page whose ``when`` is false is hidden: its fields are dropped from the answers and not
required. Errors: :class:`FieldError` ``{field, message_en, message_zh}``; ``field`` is the
answer's path, e.g. ``"children.1.name"``.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import hashlib
import json
import re
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from jsonschema import Draft202012Validator, FormatChecker

from tungban.identity import errors as identity_errors
from tungban.identity import hkid as hkid_rules

KINDS = frozenset(
    {
        "text",
        "textarea",
        "number",
        "email",
        "hkid",
        "phone",
        "date",
        "address",
        "choice",
        "multichoice",
        "yesno",
        "file",
        "group",
        "declaration",
    }
)
#: Hong Kong subscriber numbers: 8 digits; fixed lines start 2 or 3, mobiles 4-9 (OFCA's
#: numbering plan; 4 is mobile since 2023), an optional +852 or 852 in front.
_HK_PHONE = re.compile(r"^(?:\+?852)?([2-9][0-9]{7})$")

FORMATS = FormatChecker()


@FORMATS.checks("hkid", raises=(identity_errors.HkidFormat, identity_errors.HkidCheckDigit))
def _is_hkid(value) -> bool:
    if not isinstance(value, str):
        return True
    hkid_rules.normalize(value)
    return True


@FORMATS.checks("hk-phone")
def _is_hk_phone(value) -> bool:
    return not isinstance(value, str) or bool(_HK_PHONE.match(re.sub(r"[\s-]", "", value)))


@FORMATS.checks("date", raises=ValueError)
def _is_date(value) -> bool:
    if not isinstance(value, str):
        return True
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)) and bool(dt.date.fromisoformat(value))


@FORMATS.checks("email")
def _is_email(value) -> bool:
    return not isinstance(value, str) or bool(re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value))


def canonical_json(value) -> bytes:
    """Canonical JSON bytes (sorted keys, no spaces, UTF-8) of an answer or a definition."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(value) -> str:
    """SHA-256 hex of :func:`canonical_json` of ``value``."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


def definition_digest(schema: dict, layout: dict) -> str:
    """The :attr:`FormVersion.digest`: SHA-256 of ``{"schema", "layout"}`` canonical JSON."""
    return digest({"schema": schema, "layout": layout})


#: The parts of the ``address`` kind, as the page labels them (``eservices/_field.html``).
ADDRESS_PARTS = {"lines": _("Address line %(n)s"), "district": _("District"), "region": _("Region")}

# --- messages (both languages are rendered from the same gettext msgids) ---
MESSAGES = {
    "required": _("%(label)s: this answer is needed."),
    "invalid": _("%(label)s: this answer is not valid."),
    "type": _("%(label)s: this answer is not valid."),
    "hkid": _("%(label)s: enter an HKID number such as A123456(3), with the right check digit."),
    "hk-phone": _("%(label)s: enter an 8-digit Hong Kong phone number."),
    "date": _("%(label)s: enter a real date as YYYY-MM-DD."),
    "email": _("%(label)s: enter an e-mail address such as name@example.com."),
    "maxLength": _("%(label)s: at most %(limit)s characters."),
    "minLength": _("%(label)s: at least %(limit)s characters."),
    "enum": _("%(label)s: choose one of the options."),
    "declaration": _("%(label)s: tick the box to make this declaration."),
    "pattern": _("%(label)s: this answer is not in the expected form."),
    "minimum": _("%(label)s: at least %(limit)s."),
    "maximum": _("%(label)s: at most %(limit)s."),
    "minItems": _("%(label)s: give at least %(limit)s."),
    "maxItems": _("%(label)s: give at most %(limit)s."),
    "unknown": _("%(label)s: this form has no such question."),
    "file": _("%(label)s: upload the document."),
}


@dataclass(frozen=True)
class FieldError:
    """One field's problem, in both languages."""

    field: str
    message_en: str
    message_zh: str

    @property
    def message(self) -> str:
        """The message in the active language."""
        return self.message_zh if (translation.get_language() or "").startswith("zh") else self.message_en

    def as_dict(self) -> dict:
        return {"field": self.field, "message_en": self.message_en, "message_zh": self.message_zh}


class Definition:
    """A form version's schema and layout, read-only."""

    def __init__(self, schema: dict, layout: dict):
        self.schema = schema
        self.layout = layout
        self.pages: list[dict] = layout.get("pages", [])
        self.fields: dict[str, dict] = layout.get("fields", {})

    @classmethod
    def of(cls, version) -> Definition:
        return cls(version.schema, version.layout)

    # --- labels ---
    def field_spec(self, path: str) -> dict:
        """The layout entry of a field path (``"children.0.name"`` → the group's ``item.name``)."""
        parts = path.split(".") if path else []
        spec: dict = {}
        fields = self.fields
        for part in parts:
            if part.isdigit():
                continue
            spec = fields.get(part, {})
            fields = spec.get("item", {})
        return spec

    def label(self, path: str, lang: str) -> str:
        """The label of a field path in ``lang`` (``"en"``/``"zh"``; a part of an address or a
        group's item is named with its whole: "Residential address – Region"), in the active
        translation for the address parts' names."""
        parts = path.split(".")
        whole = self.fields.get(parts[0], {})
        if len(parts) > 1 and whole.get("kind") == "address" and parts[1] in ADDRESS_PARTS:
            n = int(parts[2]) + 1 if len(parts) > 2 and parts[2].isdigit() else 1
            part = str(ADDRESS_PARTS[parts[1]] % {"n": n}) if parts[1] == "lines" else str(ADDRESS_PARTS[parts[1]])
            return f"{whole.get(f'label_{lang}') or whole.get('label_en') or parts[0]} – {part}"
        spec = self.field_spec(path)
        text = spec.get(f"label_{lang}") or spec.get("label_en") or path
        if len(parts) > 2 and parts[1].isdigit():  # an item of a repeatable group
            group = self.fields.get(parts[0], {})
            prefix = group.get(f"label_{lang}") or parts[0]
            text = f"{prefix} {int(parts[1]) + 1} – {text}"
        return text

    # --- pages and conditions ---
    def page(self, page_id: str) -> dict | None:
        return next((p for p in self.pages if p["id"] == page_id), None)

    def page_of(self, field: str) -> dict | None:
        return next((p for p in self.pages if field in p.get("fields", [])), None)

    @staticmethod
    def _holds(when: dict | None, answers: dict) -> bool:
        if not when:
            return True
        value = answers.get(when["field"])
        if "equals" in when:
            return value == when["equals"]
        if "in" in when:
            return value in when["in"]
        if "is_set" in when:
            return (value not in (None, "", [], {})) == bool(when["is_set"])
        return True

    def visible_pages(self, answers: dict) -> list[dict]:
        """The pages shown for ``answers`` (a condition reads answers of earlier pages; a page
        hidden by a hidden page's answer is hidden too, as its answers are dropped)."""
        shown, kept = [], {}
        for page in self.pages:
            if self._holds(page.get("when"), kept):
                shown.append(page)
                kept.update({f: answers[f] for f in page.get("fields", []) if f in answers})
        return shown

    def visible_fields(self, answers: dict) -> list[str]:
        return [f for p in self.visible_pages(answers) for f in p.get("fields", [])]

    def next_page(self, page_id: str, answers: dict) -> dict | None:
        pages = self.visible_pages(answers)
        ids = [p["id"] for p in pages]
        if page_id not in ids:
            return pages[0] if pages else None
        i = ids.index(page_id)
        return pages[i + 1] if i + 1 < len(pages) else None

    def fields_of_kind(self, kind: str) -> list[str]:
        return [name for name, spec in self.fields.items() if spec.get("kind") == kind]

    # --- normalising and validating ---
    def normalise(self, answers: dict) -> dict:
        """Trim text; HKID numbers to canonical form (``A1234563``) when valid; phone numbers to
        their 8 digits; empty strings dropped (an empty answer is a missing answer)."""
        return _normalise(answers, self.fields)

    def clean(self, answers: dict) -> dict:
        """``answers`` normalised, less the fields of hidden pages."""
        answers = self.normalise(answers)
        visible = set(self.visible_fields(answers))
        return {k: v for k, v in answers.items() if k in visible or k not in self.fields}

    def effective_schema(self, answers: dict, only: list[str] | None = None) -> dict:
        """The schema for ``answers``: hidden pages' fields left out of ``properties`` and
        ``required`` (and, with ``only``, every field but those)."""
        schema = copy.deepcopy(self.schema)
        keep = set(self.visible_fields(answers))
        if only is not None:
            keep &= set(only)
        props = schema.get("properties", {})
        schema["properties"] = {k: v for k, v in props.items() if k in keep}
        schema["required"] = [r for r in schema.get("required", []) if r in keep]
        if only is not None:
            schema.pop("additionalProperties", None)
            schema.pop("unevaluatedProperties", None)
        return schema

    def validate(
        self, answers: dict, *, page: str | None = None, attachments: dict[str, set[str]] | None = None
    ) -> list[FieldError]:
        """The problems of ``answers`` (already :meth:`clean`), one per field: every visible
        field, or only ``page``'s. ``attachments``: field → ids of the application's documents
        for it (a ``file`` answer must be one of them).
        """
        only = None
        if page is not None:
            spec = self.page(page)
            only = list(spec.get("fields", [])) if spec else []
        schema = self.effective_schema(answers, only)
        instance = answers if only is None else {k: v for k, v in answers.items() if k in only}
        found: dict[str, FieldError] = {}
        for error in Draft202012Validator(schema, format_checker=FORMATS).iter_errors(instance):
            for path, key, limit in self._explain(error):
                found.setdefault(path, self.field_error(path, key, limit))
        attachments = attachments or {}
        for name in self.fields_of_kind("file"):
            if only is not None and name not in only:
                continue
            value = instance.get(name)
            if value is not None and str(value) not in attachments.get(name, set()):
                found.setdefault(name, self.field_error(name, "file", None))
        order = {name: i for i, name in enumerate(self.visible_fields(answers))}
        return sorted(found.values(), key=lambda e: (order.get(e.field.split(".")[0], 1_000), e.field))

    def _explain(self, error) -> list[tuple[str, str, object]]:
        """``(field path, message key, limit)`` for one jsonschema error."""
        base = ".".join(str(p) for p in error.absolute_path)
        join = (lambda name: f"{base}.{name}") if base else (lambda name: name)
        kw = error.validator
        if kw == "required":
            instance = error.instance if isinstance(error.instance, dict) else {}
            return [(join(r), "required", None) for r in error.validator_value if r not in instance]
        if kw in ("additionalProperties", "unevaluatedProperties"):
            allowed = set(error.schema.get("properties", {}))
            extra = [k for k in (error.instance or {}) if k not in allowed]
            return [(join(k), "unknown", None) for k in extra]
        spec = self.field_spec(base)
        if kw == "format":
            fmt = error.validator_value
            return [(base, fmt if fmt in MESSAGES else "invalid", None)]
        if kw == "const" and spec.get("kind") == "declaration":
            return [(base, "declaration", None)]
        if kw == "minLength" and error.validator_value == 1:
            return [(base, "required", None)]
        if kw in ("maxLength", "minLength", "minimum", "maximum", "minItems", "maxItems"):
            return [(base, kw, error.validator_value)]
        if kw in ("enum", "const"):
            return [(base, "declaration" if spec.get("kind") == "declaration" else "enum", None)]
        if kw in ("type", "pattern"):
            return [(base, kw, None)]
        return [(base, "invalid", None)]

    def field_error(self, path: str, key: str, limit=None) -> FieldError:
        """The :class:`FieldError` ``key`` (a :data:`MESSAGES` key) for ``path``, in both languages."""
        texts = {}
        for lang, code in (("en", "en"), ("zh", "zh-hant")):
            with translation.override(code):
                texts[lang] = str(MESSAGES[key] % {"label": self.label(path, lang), "limit": limit})
        return FieldError(path or "form", texts["en"], texts["zh"])


def _normalise(answers: dict, fields: dict) -> dict:
    out = {}
    for name, value in (answers or {}).items():
        spec = fields.get(name, {})
        kind = spec.get("kind")
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                continue
            if kind == "hkid":
                try:
                    value = hkid_rules.normalize(value)
                except (identity_errors.HkidFormat, identity_errors.HkidCheckDigit):
                    pass  # left as typed: validation names the problem
            elif kind == "phone":
                compact = re.sub(r"[\s-]", "", value)
                match = _HK_PHONE.match(compact)
                value = match.group(1) if match else value
        elif kind == "group" and isinstance(value, list):
            value = [_normalise(item, spec.get("item", {})) if isinstance(item, dict) else item for item in value]
        elif isinstance(value, dict):
            value = {k: v.strip() if isinstance(v, str) else v for k, v in value.items()}
            value = {k: v for k, v in value.items() if v != ""}
            if not value:
                continue
        out[name] = value
    return out


@functools.cache
def _meta_validator() -> Draft202012Validator:
    """The 2020-12 meta-schema's validator, built once per process (what
    ``Draft202012Validator.check_schema`` builds on every call; its reference resolution is
    then reused: about half the time of a check, measured on the catalogue loader)."""
    return Draft202012Validator(Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


def check_definition(schema: dict, layout: dict) -> list[str]:
    """Problems of a form definition (the loader refuses a version with any): the schema is
    not draft 2020-12 or not valid; a page lists an unknown field or a field twice; a schema
    property has no page or no layout entry; an unknown kind; a condition names a field of a
    later page; a ``choice`` without options."""
    problems: list[str] = []
    if schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
        problems.append("schema.$schema: must be https://json-schema.org/draft/2020-12/schema")
    error = next(_meta_validator().iter_errors(schema), None)  # as check_schema: the first error
    if error is not None:
        problems.append(f"schema: {error.message}")
    props = set(schema.get("properties", {}))
    fields = layout.get("fields", {})
    seen: list[str] = []
    for i, page in enumerate(layout.get("pages", [])):
        when = page.get("when")
        if when and when.get("field") not in seen:
            problems.append(f"layout.pages[{i}].when: {when.get('field')!r} is not a field of an earlier page")
        for name in page.get("fields", []):
            if name in seen:
                problems.append(f"layout.pages[{i}].fields: {name!r} is on two pages")
            seen.append(name)
            if name not in props:
                problems.append(f"layout.pages[{i}].fields: {name!r} is not in schema.properties")
    for name in sorted(props - set(seen)):
        problems.append(f"schema.properties.{name}: on no page of the layout")
    for name in seen:
        spec = fields.get(name)
        if spec is None:
            problems.append(f"layout.fields.{name}: missing")
            continue
        problems.extend(_check_field(f"layout.fields.{name}", spec))
    return problems


def _check_field(where: str, spec: dict) -> list[str]:
    problems = []
    kind = spec.get("kind")
    if kind not in KINDS:
        problems.append(f"{where}.kind: {kind!r} is not one of {sorted(KINDS)}")
    if not spec.get("label_en") or not spec.get("label_zh"):
        problems.append(f"{where}: label_en and label_zh are both needed")
    if kind in ("choice", "multichoice") and not spec.get("options"):
        problems.append(f"{where}.options: a {kind} needs options")
    if kind == "group":
        for name, item in (spec.get("item") or {}).items():
            problems.extend(_check_field(f"{where}.item.{name}", item))
    prefill = spec.get("prefill")
    if prefill and not (("claim" in prefill) ^ ("product" in prefill)):
        problems.append(f"{where}.prefill: give either claim or product")
    return problems
