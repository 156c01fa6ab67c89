"""The fee schedule (issue 18, "Fee schedule"): files a department edits, ``fees/<dept>.toml``
(format in ``fees/README.md``), loaded by :func:`load_fees` — every file checked first, then
written in one transaction (all or nothing); loading the same files again changes nothing. A
version once loaded never changes: a new amount is a new version with a later
``effective_from``, and the version before it ends the day before (its ``effective_to``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tomllib
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from jsonschema import Draft202012Validator

from .. import errors
from ..models import FeeItem, FeeVersion

#: The schedule shipped with tungban (``package-data``).
DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "fees"

_TEXT = {"type": "string", "minLength": 1}
_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_CODE = {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 40}
_CENTS = {"type": "integer", "minimum": 0, "maximum": 2_000_000_000}

FEES_FORMAT = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["department", "fees"],
    "properties": {
        "department": {"type": "string", "pattern": "^[A-Z]{2,10}$"},
        "fees": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["service", "code", "label_en", "label_zh", "versions"],
                "properties": {
                    "service": {**_CODE, "maxLength": 80},
                    "code": _CODE,
                    "label_en": {**_TEXT, "maxLength": 200},
                    "label_zh": {**_TEXT, "maxLength": 100},
                    "versions": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["effective_from", "amount_cents"],
                            "properties": {
                                "effective_from": _DATE,
                                "effective_to": _DATE,
                                "amount_cents": _CENTS,
                                "legal_reference": {"type": "string", "maxLength": 300},
                                "illustrative": {"type": "boolean"},
                                "note": {"type": "string"},
                                "concessions": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "required": ["code", "label_en", "label_zh", "amount_cents"],
                                        "properties": {
                                            "code": _CODE,
                                            "label_en": _TEXT,
                                            "label_zh": _TEXT,
                                            "amount_cents": _CENTS,
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}
_VALIDATOR = Draft202012Validator(FEES_FORMAT)


def _plain(value):
    """TOML dates as ISO strings (JSON Schema and the digests see text)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _digest(version: dict) -> str:
    """SHA-256 of what a version says (its ``effective_to`` and ``note`` left out: the end date
    of the newest version is set when the next one is added)."""
    kept = {k: v for k, v in version.items() if k not in ("effective_to", "note")}
    kept.setdefault("concessions", [])
    kept.setdefault("illustrative", False)
    kept.setdefault("legal_reference", "")
    return hashlib.sha256(json.dumps(kept, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _check_versions(name: str, versions: list[dict], problems: list[str]) -> list[dict]:
    """The versions in date order with their ``effective_to`` (the day before the next one
    starts; the last keeps its own, if any). Overlaps and inverted ranges are problems."""
    ordered = sorted(versions, key=lambda v: v["effective_from"])
    starts = [v["effective_from"] for v in ordered]
    if len(set(starts)) != len(starts):
        problems.append(f"{name}: two versions start on the same day")
    out = []
    for i, version in enumerate(ordered):
        start = dt.date.fromisoformat(version["effective_from"])
        if i + 1 < len(ordered):
            end = dt.date.fromisoformat(ordered[i + 1]["effective_from"]) - dt.timedelta(days=1)
            if version.get("effective_to") and dt.date.fromisoformat(version["effective_to"]) != end:
                problems.append(
                    f"{name}: version from {start} ends on {version['effective_to']}, not the day before the next"
                )
        else:
            end = dt.date.fromisoformat(version["effective_to"]) if version.get("effective_to") else None
        if end is not None and end < start:
            problems.append(f"{name}: version from {start} ends before it starts")
        codes = [c["code"] for c in version.get("concessions", [])]
        if len(set(codes)) != len(codes):
            problems.append(f"{name}: version from {start} names a concession twice")
        for c in version.get("concessions", []):
            if c["amount_cents"] > version["amount_cents"]:
                problems.append(f"{name}: concession {c['code']} costs more than the fee")
        out.append({**version, "_start": start, "_end": end, "_digest": _digest(version)})
    return out


def read_fees(path: str | Path | None = None) -> list[dict]:
    """Every fee item of the ``*.toml`` files under ``path`` (default: :data:`DEFAULT_ROOT`),
    checked against :data:`FEES_FORMAT` and the version rules:
    ``[{"department", "service", "code", "label_en", "label_zh", "source_path", "versions"}]``.

    :raises DomainError: ``fees_invalid`` with ``details.problems`` (every problem found, as
        ``"file: where: message"``).
    """
    root = Path(path) if path else DEFAULT_ROOT
    problems: list[str] = []
    items: list[dict] = []
    keys: set[tuple[str, str, str]] = set()
    files = sorted(root.glob("*.toml"))
    if not files:
        problems.append(f"{root}: no fee files (*.toml)")
    for file in files:
        rel = file.name
        try:
            data = _plain(tomllib.loads(file.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problems.append(f"{rel}: {exc}")
            continue
        found = sorted(_VALIDATOR.iter_errors(data), key=lambda e: list(e.absolute_path))
        for e in found:
            where = ".".join(str(p) for p in e.absolute_path) or "(file)"
            problems.append(f"{rel}: {where}: {e.message}")
        if found:
            continue
        if file.stem.upper() != data["department"]:
            problems.append(f"{rel}: department {data['department']} is not the file's name")
        for fee in data["fees"]:
            key = (data["department"], fee["service"], fee["code"])
            name = f"{rel}: {fee['service']}/{fee['code']}"
            if key in keys:
                problems.append(f"{name}: the fee item appears twice")
            keys.add(key)
            items.append(
                {
                    "department": data["department"],
                    "service": fee["service"],
                    "code": fee["code"],
                    "label_en": fee["label_en"],
                    "label_zh": fee["label_zh"],
                    "source_path": rel,
                    "versions": _check_versions(name, fee["versions"], problems),
                }
            )
    if problems:
        raise errors.FeesInvalid(problems="; ".join(problems[:5]), details={"problems": problems})
    return items


def load_fees(path: str | Path | None = None) -> dict[str, int]:
    """Load the fee schedule (:func:`read_fees`) in one transaction: new items and versions
    are added, labels updated, the newest version's end date set; nothing else changes.

    :returns: ``{"items", "versions", "versions_added"}``.
    :raises DomainError: ``fees_invalid``; ``fee_version_changed`` (a loaded version's amount,
        concessions, legal reference or start differ in the files); ``fee_version_removed`` (a
        loaded version, or item, is no longer in the files). Nothing is written then.
    """
    items = read_fees(path)
    added = 0
    with transaction.atomic():
        stored = {(i.department, i.service, i.code): i for i in FeeItem.objects.select_for_update()}
        in_files = {(i["department"], i["service"], i["code"]) for i in items}
        for key, item in stored.items():
            if key not in in_files:
                first = item.versions.order_by("effective_from").first()
                raise errors.FeeVersionRemoved(fee="/".join(key), date=first.effective_from if first else "")
        for data in items:
            key = (data["department"], data["service"], data["code"])
            item = stored.get(key)
            fields = {"label_en": data["label_en"], "label_zh": data["label_zh"], "source_path": data["source_path"]}
            if item is None:
                item = FeeItem.objects.create(department=key[0], service=key[1], code=key[2], **fields)
            elif any(getattr(item, k) != v for k, v in fields.items()):
                for k, v in fields.items():
                    setattr(item, k, v)
                item.save(update_fields=list(fields))
            loaded = {v.effective_from: v for v in item.versions.all()}
            starts = {v["_start"] for v in data["versions"]}
            for start in loaded:
                if start not in starts:
                    raise errors.FeeVersionRemoved(fee="/".join(key), date=start.isoformat())
            for version in data["versions"]:
                existing = loaded.get(version["_start"])
                if existing is not None:
                    if existing.digest != version["_digest"]:
                        raise errors.FeeVersionChanged(fee="/".join(key), date=version["_start"].isoformat())
                    if existing.effective_to != version["_end"]:
                        existing.effective_to = version["_end"]
                        existing.save(update_fields=["effective_to"])
                    continue
                FeeVersion.objects.create(
                    item=item,
                    amount_cents=version["amount_cents"],
                    concessions=version.get("concessions", []),
                    effective_from=version["_start"],
                    effective_to=version["_end"],
                    legal_reference=version.get("legal_reference", ""),
                    illustrative=version.get("illustrative", False),
                    digest=version["_digest"],
                )
                added += 1
    return {"items": len(items), "versions": sum(len(i["versions"]) for i in items), "versions_added": added}


# --- asking for fees ---
def _today() -> dt.date:
    return timezone.localdate()


def _in_force(on: dt.date):
    from django.db.models import Q

    return Q(effective_from__lte=on) & (Q(effective_to__isnull=True) | Q(effective_to__gte=on))


def current_fee(department: str, service: str, code: str, *, on: dt.date | None = None) -> FeeVersion:
    """The version of fee ``code`` of ``service`` (``department``'s) in force on ``on``
    (default: today in Hong Kong), with its ``item``.

    :raises DomainError: ``fee_unknown``, ``fee_not_in_force``.
    """
    on = on or _today()
    name = f"{department}/{service}/{code}"
    item = FeeItem.objects.filter(department=department, service=service, code=code).first()
    if item is None:
        raise errors.FeeUnknown(fee=name)
    version = item.versions.filter(_in_force(on)).select_related("item").first()
    if version is None:
        raise errors.FeeNotInForce(fee=name, date=on.isoformat())
    return version


def fees_for_service(department: str, service: str, *, on: dt.date | None = None) -> list[FeeVersion]:
    """Every fee of ``service`` in force on ``on`` (default: today), one version per item,
    in the items' code order (an item with no version in force is left out)."""
    on = on or _today()
    return list(
        FeeVersion.objects.filter(_in_force(on), item__department=department, item__service=service)
        .select_related("item")
        .order_by("item__code")
    )
