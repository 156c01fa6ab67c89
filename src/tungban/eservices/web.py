"""The resident's form pages, without business rules: reading a page's POST into answers by
field kind, and describing fields for the template (labels and help in the page's language,
current values, errors, where a prefilled value came from). Validation is the engine's
(:mod:`tungban.eservices.services.forms`), on the server."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ObjectDoesNotExist
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from tungban.exchange import services as exchange

from .services import Definition

#: Rows a repeatable group shows at most (its schema's ``maxItems`` limits it further).
MAX_GROUP_ROWS = 10
ADDRESS_LINES = 3
REGIONS = (("HK", _("Hong Kong Island")), ("KLN", _("Kowloon")), ("NT", _("New Territories")))

SOURCE_LABELS = {
    "claim": _("From your e-ME profile, as you approved in the app"),
    "exchange": _("From the department's records, with your consent in the app"),
}
EDITED_LABEL = _("You changed this answer: the department will check it")


def source_label(record: dict) -> str:
    """Where a prefilled answer came from, for the page: :data:`SOURCE_LABELS`, or for a
    company's data (``source`` ``company``) "From the Companies Registry, with your
    company's consent" naming the department that answered."""
    if record.get("source") == "company":
        try:
            org = exchange.get_organisation(record.get("provider", ""))
            name = org.name_zh if lang() == "zh" else org.name_en
        except ObjectDoesNotExist:
            name = _("department's records")
        return _("From the %(provider)s, with your company's consent") % {"provider": name}
    return str(SOURCE_LABELS.get(record.get("source", ""), ""))


def lang() -> str:
    return "zh" if (translation.get_language() or "").startswith("zh") else "en"


def text(spec: dict, key: str) -> str:
    """``spec``'s ``key`` in the page's language (``label``, ``help``, ``title``, ``intro``)."""
    return spec.get(f"{key}_{lang()}") or spec.get(f"{key}_en") or ""


def _bool(value: str | None):
    return {"true": True, "false": False}.get((value or "").strip().lower())


def _count(raw: str | None) -> int:
    """The rows a group's ``__rows`` says it posted: 1 when it is not a whole number (a
    garbled or hostile post is read as one row, never a server error)."""
    try:
        return int((raw or "1").strip())
    except ValueError:
        return 1


def _read(name: str, spec: dict, post, rows: int | None = None):
    kind = spec.get("kind")
    if kind == "address":
        lines = [post.get(f"{name}__line{i}", "").strip() for i in range(1, ADDRESS_LINES + 1)]
        value = {
            "lines": [line for line in lines if line],
            "district": post.get(f"{name}__district", "").strip(),
            "region": post.get(f"{name}__region", "").strip(),
        }
        return {k: v for k, v in value.items() if v} or None
    if kind == "group":
        items = []
        count = rows if rows is not None else _count(post.get(f"{name}__rows"))
        for i in range(min(max(count, 0), MAX_GROUP_ROWS)):
            item = {}
            for sub, sub_spec in (spec.get("item") or {}).items():
                value = _read(f"{name}__{i}__{sub}", sub_spec, post)
                if value not in (None, ""):
                    item[sub] = value
            if item:
                items.append(item)
        return items or None
    if kind in ("yesno",):
        return _bool(post.get(name))
    if kind == "declaration":
        return True if post.get(name) == "yes" else None
    if kind == "multichoice":
        return post.getlist(name) or None
    if kind == "number":
        raw = post.get(name, "").strip()
        try:
            return int(raw) if raw else None
        except ValueError:
            return raw
    return post.get(name)


def read_page(definition: Definition, page: dict, post) -> dict:
    """The answers of ``page``'s fields in ``post`` (file fields: the id already chosen, kept
    in ``<field>__current``). Missing answers are left out."""
    answers = {}
    for name in page.get("fields", []):
        spec = definition.fields.get(name, {})
        if spec.get("kind") == "file":
            value = post.get(f"{name}__current") or None
        else:
            value = _read(name, spec, post)
        if value is not None and value != "":
            answers[name] = value
    return answers


@dataclass
class FieldView:
    """One field for the template."""

    name: str
    kind: str
    label: str
    help: str = ""
    value: object = None
    error: str = ""
    required: bool = False
    options: list = field(default_factory=list)
    source: str = ""
    edited: bool = False
    items: list = field(default_factory=list)  # group rows: lists of FieldView
    lines: list = field(default_factory=list)  # address lines
    accept: str = ""
    attachment: object = None
    max_rows: int = 1

    @property
    def id(self) -> str:
        return f"f-{self.name}".replace("__", "-")

    @property
    def described_by(self) -> str:
        ids = []
        if self.help:
            ids.append(f"{self.id}-help")
        if self.source:
            ids.append(f"{self.id}-source")
        if self.error:
            ids.append(f"{self.id}-error")
        return " ".join(ids)


def _options(spec: dict) -> list[tuple[str, str]]:
    return [(str(o["value"]), text(o, "label")) for o in spec.get("options", [])]


def field_views(
    definition: Definition,
    page: dict,
    answers: dict,
    errors: dict[str, str],
    prefill: dict,
    attachments: dict[str, object],
    *,
    add_row: str | None = None,
) -> list[FieldView]:
    """The fields of ``page`` for the template: ``answers`` (the draft's, or those just
    posted), ``errors`` (field path → message in the page's language), ``prefill`` (the
    application's record), ``attachments`` (field → the chosen :class:`Attachment`)."""
    required = set(definition.schema.get("required", []))
    views = []
    for name in page.get("fields", []):
        spec = definition.fields.get(name, {})
        views.append(
            _view(name, name, spec, answers.get(name), errors, required, prefill, attachments, definition, add_row)
        )
    return views


def _view(path, name, spec, value, errors, required, prefill, attachments, definition, add_row):
    kind = spec.get("kind", "text")
    view = FieldView(
        name=name,
        kind=kind,
        label=text(spec, "label"),
        help=text(spec, "help"),
        value=value,
        error=errors.get(path, ""),
        required=path in required,
        options=_options(spec),
    )
    record = prefill.get(path)
    if record:
        view.source = source_label(record)
        view.edited = record["status"] != "verified"
    if kind == "address":
        value = value if isinstance(value, dict) else {}
        lines = list(value.get("lines", []))
        view.lines = [(i + 1, lines[i] if i < len(lines) else "") for i in range(ADDRESS_LINES)]
        view.options = [(code, str(label)) for code, label in REGIONS]
        nested = [errors[k] for k in errors if k.startswith(f"{path}.")]
        view.error = view.error or (nested[0] if nested else "")
    elif kind == "file":
        view.accept = ",".join(spec.get("accept") or [])
        view.attachment = attachments.get(path)
    elif kind == "group":
        schema = definition.schema.get("properties", {}).get(path, {})
        view.max_rows = min(int(schema.get("maxItems", MAX_GROUP_ROWS)), MAX_GROUP_ROWS)
        rows = list(value) if isinstance(value, list) else []
        if not rows or add_row == path:
            rows.append({})
        rows = rows[: view.max_rows]
        item_required = set(schema.get("items", {}).get("required", []))
        for i, row in enumerate(rows):
            subs = []
            for sub, sub_spec in (spec.get("item") or {}).items():
                sub_view = _view(
                    f"{path}.{i}.{sub}", sub, sub_spec, row.get(sub), errors, set(), {}, {}, definition, None
                )
                sub_view.name = f"{path}__{i}__{sub}"
                sub_view.required = sub in item_required
                subs.append(sub_view)
            view.items.append((i + 1, subs))
        nested = [errors[k] for k in errors if k == path]
        view.error = nested[0] if nested else ""
    return view


def answer_text(definition: Definition, name: str, value) -> str:
    """An answer as the check page shows it, in the page's language."""
    spec = definition.fields.get(name, {})
    kind = spec.get("kind")
    if value is None:
        return ""
    if kind in ("choice", "multichoice"):
        labels = dict(_options(spec))
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(str(v), str(v)) for v in values)
    if kind == "yesno":
        return str(_("Yes") if value else _("No"))
    if kind == "declaration":
        return str(_("Declared")) if value else ""
    if kind == "address" and isinstance(value, dict):
        region = dict((c, str(label)) for c, label in REGIONS).get(value.get("region", ""), "")
        return ", ".join([*value.get("lines", []), value.get("district", ""), region]).strip(", ")
    if kind == "group" and isinstance(value, list):
        rows = []
        for item in value:
            rows.append(
                "; ".join(answer_text(Definition({}, {"fields": spec.get("item", {})}), k, v) for k, v in item.items())
            )
        return " | ".join(rows)
    if kind == "hkid" and isinstance(value, str) and len(value) >= 8:
        return f"{value[:-1]}({value[-1]})"
    return str(value)
