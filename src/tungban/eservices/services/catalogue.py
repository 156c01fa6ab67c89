"""The catalogue as files a department edits (``catalogue/README.md``): ``departments.toml``,
``services/<dept>/<slug>.toml`` (read with the standard library's ``tomllib``) and
``forms/<form>/v<N>.json``, each checked against the JSON Schema of its format below, loaded
by :func:`load_catalogue` in one transaction (all or nothing; idempotent).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

from django.db import transaction
from jsonschema import Draft202012Validator

from tungban.core.errors import DomainError
from tungban.credentials import services as credential_services
from tungban.search import services as search

from .. import errors
from ..models import Department, Form, FormVersion, Requirement, Service
from . import browse
from . import forms as form_engine

#: The catalogue shipped with tungban (``package-data``).
DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "catalogue"

_TEXT = {"type": "string", "minLength": 1}
_REQUIREMENT = {"enum": [c.value for c in Requirement]}
_SLUG = {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 80}
#: ``licence.inputs`` values: ``answer:<field path>``, ``reference``, ``number:<PREFIX>:<digits>``,
#: ``today`` (ISO date in Hong Kong), ``const:<text>``.
LICENCE_INPUT = r"^(answer:[a-z0-9_.]+|reference|number:[A-Z]{1,4}:[1-9][0-9]?|today|const:.*)$"

DEPARTMENTS_FORMAT = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["department"],
    "properties": {
        "department": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["code", "name_en", "name_zh"],
                "properties": {
                    "code": {"type": "string", "pattern": "^[A-Z]{2,10}$"},
                    "name_en": _TEXT,
                    "name_zh": _TEXT,
                    "website": {"type": "string", "pattern": "^https://"},
                    "issuer": {"type": "string"},
                    "organisation": {"type": "string"},
                },
            },
        }
    },
}

SERVICE_FORMAT = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["department", "name_en", "name_zh", "summary_en", "summary_zh", "category"],
    "properties": {
        "slug": _SLUG,
        "department": {"type": "string", "pattern": "^[A-Z]{2,10}$"},
        "name_en": {**_TEXT, "maxLength": 200},
        "name_zh": {**_TEXT, "maxLength": 100},
        "summary_en": {**_TEXT, "maxLength": 400},
        "summary_zh": {**_TEXT, "maxLength": 200},
        "description_en": {"type": "string"},
        "description_zh": {"type": "string"},
        "eligibility_en": {"type": "string"},
        "eligibility_zh": {"type": "string"},
        "documents": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["label_en", "label_zh"],
                "properties": {"label_en": _TEXT, "label_zh": _TEXT},
            },
        },
        "category": {"type": "string", "pattern": "^[a-z0-9-]+$", "maxLength": 40},
        "channels": {
            "type": "array",
            "uniqueItems": True,
            "items": {"enum": ["online", "app", "counter", "post", "kiosk", "phone", "fax", "email"]},
        },
        "online": {"type": "boolean"},
        "external_url": {"type": "string", "pattern": "^https://"},
        "form": _SLUG,
        "pledge_working_days": {"type": "integer", "minimum": 1, "maximum": 365},
        "identity_login": _REQUIREMENT,
        "corpid": _REQUIREMENT,
        "signature": _REQUIREMENT,
        "second_approval": {"type": "boolean"},
        "draft_ttl_days": {"type": "integer", "minimum": 1, "maximum": 365},
        "listed": {"type": "boolean"},
        "fee_items": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["code", "label_en", "label_zh"],
                "properties": {
                    "code": {"type": "string", "pattern": "^[a-z0-9-]+$"},
                    "label_en": _TEXT,
                    "label_zh": _TEXT,
                },
            },
        },
        "cross_boundary": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "gba_cities": {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {
                        "enum": [
                            "Guangzhou",
                            "Shenzhen",
                            "Zhuhai",
                            "Foshan",
                            "Huizhou",
                            "Dongguan",
                            "Zhongshan",
                            "Jiangmen",
                            "Zhaoqing",
                            "Macao",
                        ]
                    },
                },
                "kiosk": {"type": "boolean"},
            },
        },
        "licence": {
            "type": "object",
            "additionalProperties": False,
            "required": ["credential_type"],
            "properties": {
                "credential_type": {"type": "string", "minLength": 1},
                "inputs": {"type": "object", "additionalProperties": {"type": "string", "pattern": LICENCE_INPUT}},
            },
        },
    },
    "if": {"properties": {"online": {"const": True}}, "required": ["online"]},
    "then": {"required": ["form", "pledge_working_days"]},
    "else": {"required": ["external_url"]},
}

FORM_FORMAT = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["form", "version", "title_en", "title_zh", "schema", "layout"],
    "properties": {
        "form": _SLUG,
        "version": {"type": "integer", "minimum": 1},
        "title_en": _TEXT,
        "title_zh": _TEXT,
        "schema": {"type": "object"},
        "layout": {
            "type": "object",
            "additionalProperties": False,
            "required": ["pages", "fields"],
            "properties": {
                "pages": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["id", "title_en", "title_zh", "fields"],
                        "properties": {
                            "id": {"type": "string", "pattern": "^[a-z0-9-]+$"},
                            "title_en": _TEXT,
                            "title_zh": _TEXT,
                            "intro_en": {"type": "string"},
                            "intro_zh": {"type": "string"},
                            "fields": {"type": "array", "items": {"type": "string"}},
                            "when": {
                                "type": "object",
                                "required": ["field"],
                                "minProperties": 2,
                                "maxProperties": 2,
                                "properties": {
                                    "field": {"type": "string"},
                                    "equals": True,
                                    "in": {"type": "array"},
                                    "is_set": {"type": "boolean"},
                                },
                                "additionalProperties": False,
                            },
                        },
                    },
                },
                "fields": {"type": "object", "additionalProperties": {"type": "object", "required": ["kind"]}},
            },
        },
    },
}


_format_validators: dict[int, Draft202012Validator] = {}


def _problems(data, fmt: dict, where: str) -> list[str]:
    out = []
    validator = _format_validators.get(id(fmt))
    if validator is None:  # the formats are this module's constants: one validator each
        validator = _format_validators[id(fmt)] = Draft202012Validator(fmt)
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in error.absolute_path) or "(top)"
        out.append(f"{where}: {path}: {error.message}")
    return out


def _read_toml(path: Path, root: Path, problems: list[str]) -> dict | None:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.append(f"{path.relative_to(root)}: {exc}")
        return None


def _read_json(path: Path, root: Path, problems: list[str]) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problems.append(f"{path.relative_to(root)}: {exc}")
        return None


def read_catalogue(
    root: Path, stored: dict[tuple[str, int], str] | None = None, forms_stored: set[str] | None = None
) -> tuple[list[dict], list[dict], list[dict], list[str]]:
    """Read and check every file under ``root``: ``(departments, services, form versions,
    problems)``; each problem names the file and the field (``services/swd/x.toml: name_zh:
    ...``). Each form version gets its ``digest`` (:func:`~.forms.definition_digest`).

    A form version's definition is checked (:func:`~.forms.check_definition`, the costly part)
    once: not again when ``stored`` (``{(form, number): digest}`` of the versions in the
    database) has it with the same digest (it was checked when it was loaded), and once per
    distinct definition in the files. ``forms_stored``: the forms in the database a service may
    name without a file. Without either, everything is checked; no database access."""
    stored = stored or {}
    forms_stored = forms_stored or set()
    checked: dict[str, list[str]] = {}
    root = Path(root)
    problems: list[str] = []
    departments: list[dict] = []
    dep_file = root / "departments.toml"
    if not dep_file.is_file():
        problems.append("departments.toml: missing")
    else:
        data = _read_toml(dep_file, root, problems)
        if data is not None:
            found = _problems(data, DEPARTMENTS_FORMAT, "departments.toml")
            problems += found
            if not found:
                departments = [{**d, "source_path": "departments.toml"} for d in data["department"]]
    codes = [d["code"] for d in departments]
    for code in {c for c in codes if codes.count(c) > 1}:
        problems.append(f"departments.toml: code: {code} is listed twice")

    versions: list[dict] = []
    for path in sorted((root / "forms").glob("*/v*.json")):
        rel = str(path.relative_to(root))
        data = _read_json(path, root, problems)
        if data is None:
            continue
        found = _problems(data, FORM_FORMAT, rel)
        if not found:
            if data["form"] != path.parent.name:
                found.append(f"{rel}: form: {data['form']!r} is not its folder's name {path.parent.name!r}")
            if f"v{data['version']}.json" != path.name:
                found.append(f"{rel}: version: {data['version']} does not match the file name {path.name}")
            digest = form_engine.definition_digest(data["schema"], data["layout"])
            if stored.get((data["form"], data["version"])) != digest:
                if digest not in checked:
                    checked[digest] = form_engine.check_definition(data["schema"], data["layout"])
                found += [f"{rel}: {p}" for p in checked[digest]]
        problems += found
        if not found:
            versions.append({**data, "source_path": rel, "digest": digest})

    services: list[dict] = []
    known_forms = {v["form"] for v in versions}
    for path in sorted((root / "services").glob("*/*.toml")):
        rel = str(path.relative_to(root))
        data = _read_toml(path, root, problems)
        if data is None:
            continue
        found = _problems(data, SERVICE_FORMAT, rel)
        slug = data.get("slug", path.stem)
        if not found:
            if data["department"] not in codes:
                found.append(f"{rel}: department: {data['department']!r} is not in departments.toml")
            if path.parent.name != data["department"].lower():
                found.append(f"{rel}: department: {data['department']!r} is not its folder's {path.parent.name!r}")
            if data.get("form") and data["form"] not in known_forms:
                if data["form"] not in forms_stored:
                    found.append(f"{rel}: form: {data['form']!r} has no version under forms/")
        problems += found
        if not found:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            services.append({**data, "slug": slug, "source_path": rel, "source_digest": digest})
    slugs = [s["slug"] for s in services]
    for slug in {s for s in slugs if slugs.count(s) > 1}:
        problems.append(f"services: slug: {slug} is defined twice")
    return departments, services, versions, problems


def _check_licences(services: list[dict]) -> list[str]:
    problems = []
    for s in services:
        licence = s.get("licence")
        if not licence:
            continue
        try:
            ctype = credential_services.get_type(licence["credential_type"])
        except DomainError:
            problems.append(
                f"{s['source_path']}: licence.credential_type: no active type {licence['credential_type']!r}"
            )
            continue
        inputs = credential_services.input_claims(ctype)
        missing = [name for name in inputs if name not in licence.get("inputs", {})]
        if missing:
            problems.append(f"{s['source_path']}: licence.inputs: no source for {', '.join(missing)}")
    return problems


#: Rows per INSERT/UPDATE statement of the loader.
BATCH = 500


def _upsert(model, key: str, rows: dict[str, dict]) -> None:
    """Make ``model``'s rows ``{key value: {field: value}}`` as given, in bulk: one read of those
    that exist, ``bulk_create`` of the new ones, ``bulk_update`` of those whose fields differ
    (only the fields given; rows not given are left alone). Caller's transaction."""
    if not rows:
        return
    existing = {getattr(o, key): o for o in model.objects.filter(**{f"{key}__in": list(rows)})}
    fields = sorted({f for values in rows.values() for f in values})
    changed = []
    for k, values in rows.items():
        obj = existing.get(k)
        if obj is None:
            continue
        if any(getattr(obj, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(obj, f, v)
            changed.append(obj)
    model.objects.bulk_create([model(**{key: k}, **v) for k, v in rows.items() if k not in existing], batch_size=BATCH)
    if changed:
        model.objects.bulk_update(changed, fields, batch_size=BATCH)


@transaction.atomic
def load_catalogue(path: str | Path | None = None) -> dict[str, int]:
    """Load the catalogue under ``path`` (default: the one shipped, :data:`DEFAULT_ROOT`):
    departments, forms and their versions, services; all or nothing, idempotent (loading the
    same files again changes nothing). Services are never deleted (applications keep them): a
    department withdraws one with ``listed = false`` in its file.

    :returns: counts ``{"departments", "services", "forms", "versions_added"}``.
    :raises DomainError: ``catalogue_invalid`` (``details.problems``: one line per problem,
        naming file and field), ``form_version_changed`` when a published version's file
        changed.
    """
    root = Path(path) if path else DEFAULT_ROOT
    # What exists, read in bulk: versions (to skip re-checking published ones), forms, departments, services.
    stored = {(f, n): d for f, n, d in FormVersion.objects.values_list("form__slug", "number", "digest")}
    forms = {f.slug: f for f in Form.objects.all()}
    departments, services, versions, problems = read_catalogue(root, stored, set(forms))
    problems += _check_licences(services)
    if problems:
        raise errors.CatalogueInvalid(problems="; ".join(problems[:5]), details={"problems": problems})
    for v in versions:
        known = stored.get((v["form"], v["version"]))
        if known is not None and known != v["digest"]:
            raise errors.FormVersionChanged(form=v["form"], number=v["version"], field=v["source_path"])

    _upsert(
        Department,
        "code",
        {
            d["code"]: {
                "name_en": d["name_en"],
                "name_zh": d["name_zh"],
                "website": d.get("website", ""),
                "issuer_id": d.get("issuer", ""),
                "organisation_id": d.get("organisation", ""),
                "source_path": d["source_path"],
            }
            for d in departments
        },
    )
    titles = {}
    for v in sorted(versions, key=lambda v: (v["form"], v["version"])):  # the newest version's titles
        titles[v["form"]] = {"title_en": v["title_en"], "title_zh": v["title_zh"]}
    _upsert(Form, "slug", titles)
    forms = {f.slug: f for f in Form.objects.all()}
    new_versions = [
        FormVersion(
            form=forms[v["form"]],
            number=v["version"],
            schema=v["schema"],
            layout=v["layout"],
            digest=v["digest"],
            source_path=v["source_path"],
        )
        for v in sorted(versions, key=lambda v: (v["form"], v["version"]))
        if (v["form"], v["version"]) not in stored
    ]
    FormVersion.objects.bulk_create(new_versions, batch_size=BATCH)

    rows = {}
    for s in services:
        cb = s.get("cross_boundary", {})
        licence = s.get("licence", {})
        rows[s["slug"]] = {
            "department_id": s["department"],
            "name_en": s["name_en"],
            "name_zh": s["name_zh"],
            "summary_en": s["summary_en"],
            "summary_zh": s["summary_zh"],
            "description_en": s.get("description_en", ""),
            "description_zh": s.get("description_zh", ""),
            "eligibility_en": s.get("eligibility_en", ""),
            "eligibility_zh": s.get("eligibility_zh", ""),
            "documents": s.get("documents", []),
            "category": s["category"],
            "channels": s.get("channels", []),
            "fee_items": s.get("fee_items", []),  # amounts: the payments app's fee schedule
            "pledge_working_days": s.get("pledge_working_days"),
            "credential_type": licence.get("credential_type", ""),
            "licence_inputs": licence.get("inputs", {}),
            "identity_login": s.get("identity_login", Requirement.ALLOWED),
            "corpid": s.get("corpid", Requirement.NO),
            "signature": s.get("signature", Requirement.NO),
            "gba_cities": cb.get("gba_cities", []),
            "kiosk": cb.get("kiosk", False),
            "second_approval": s.get("second_approval", False),
            "online": s.get("online", False),
            "external_url": s.get("external_url", ""),
            "form_id": forms[s["form"]].pk if s.get("form") else None,
            "draft_ttl_days": s.get("draft_ttl_days", 30),
            "listed": s.get("listed", True),
            "source_path": s["source_path"],
            "source_digest": s["source_digest"],
        }
    _upsert(Service, "slug", rows)
    browse.record_revision()  # the catalogue API's ETags change with it
    for kind in ("service", "form", "field_help"):  # the one search (issue 22), in this transaction
        search.reindex(kind)
    return {
        "departments": len(departments),
        "services": len(services),
        "forms": len({v["form"] for v in versions}),
        "versions_added": len(new_versions),
    }
