"""The 1823 FAQ (常見問題, issue 22; seed 002 ITIB147/211: "網上搜尋和解答常問問題"): the entries
in ``hotline/data/faqs/*.toml`` (format: that folder's ``README.md``), loaded into
:class:`~tungban.hotline.models.Faq` and indexed by the one search as documents of kind ``faq``,
which the assistant quotes verbatim with their ``source_url``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from pathlib import Path

from django.db import transaction

from tungban.eservices.models import Department
from tungban.search import services as search
from tungban.search.sources import Document

from ..errors import FaqFilesInvalid
from ..models import Faq

#: The FAQ files shipped with the platform.
DEFAULT_DIR = Path(__file__).resolve().parents[1] / "data" / "faqs"

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_REQUIRED = ("slug", "question_en", "question_zh", "answer_en", "answer_zh", "source_url")
_OPTIONAL = ("department", "service", "form", "field", "keywords")
#: Model field lengths the files must keep to (checked before anything is written).
_MAX = {"slug": 100, "question_en": 300, "question_zh": 200, "source_url": 300, "service": 80, "form": 80, "field": 80}


def _files(path: Path) -> list[Path]:
    return [path] if path.is_file() else sorted(path.glob("*.toml"))


def read(path: str | Path | None = None) -> list[dict]:
    """The entries of the FAQ files at ``path`` (a folder of ``*.toml`` or one file; default
    :data:`DEFAULT_DIR`), each checked: the keys of the README's table, strings only, a unique
    ``slug`` of lower-case words and hyphens, a ``source_url`` that is a site path, lengths
    within the model's.

    :returns: ``[{"slug", "question_en", …, "department", "service", "form", "field",
        "keywords"}]`` in file order.
    :raises FaqFilesInvalid: (422) naming every problem as ``file: slug: message``; nothing is
        returned then."""
    root = Path(path) if path else DEFAULT_DIR
    problems: list[str] = []
    entries: list[dict] = []
    seen: dict[str, str] = {}
    files = _files(root)
    if not files:
        problems.append(f"{root}: no FAQ files")
    for file in files:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            problems.append(f"{file.name}: {exc}")
            continue
        for n, raw in enumerate(data.get("faq", []), start=1):
            where = f"{file.name}: {raw.get('slug') or f'entry {n}'}"
            if not isinstance(raw, dict):
                problems.append(f"{where}: not a table")
                continue
            unknown = set(raw) - set(_REQUIRED) - set(_OPTIONAL)
            if unknown:
                problems.append(f"{where}: unknown keys {', '.join(sorted(unknown))}")
            entry = {}
            for key in (*_REQUIRED, *_OPTIONAL):
                value = raw.get(key, "")
                if not isinstance(value, str):
                    problems.append(f"{where}: {key} must be a string")
                    value = ""
                value = value.strip()
                if key in _REQUIRED and not value:
                    problems.append(f"{where}: {key} is required")
                if key in _MAX and len(value) > _MAX[key]:
                    problems.append(f"{where}: {key} is longer than {_MAX[key]} characters")
                entry[key] = value
            if entry["slug"] and not _SLUG.match(entry["slug"]):
                problems.append(f"{where}: slug must be lower-case words joined by hyphens")
            if entry["source_url"] and not (
                entry["source_url"].startswith("/") and not entry["source_url"].startswith("//")
            ):
                problems.append(f"{where}: source_url must be a path on the platform (starting with /)")
            if entry["slug"] in seen:
                problems.append(f"{where}: slug already used in {seen[entry['slug']]}")
            seen[entry["slug"]] = file.name
            entries.append(entry)
    if problems:
        raise FaqFilesInvalid(problems="; ".join(problems), details={"problems": problems})
    return entries


def load(path: str | Path | None = None) -> int:
    """Load the FAQ files (:func:`read`) in one transaction: each entry is upserted by slug
    (an unchanged entry is not written), published (``active``), and indexed for search (kind
    ``faq``); a published entry no longer in the files is unpublished and removed from the
    index (never deleted). Loading the same files again changes nothing.

    :returns: the number of entries in the files (all published after the call).
    :raises FaqFilesInvalid: (422) a file is wrong, or names a department the catalogue does
        not have (load the e-services catalogue first); nothing is written."""
    entries = read(path)
    codes = {e["department"] for e in entries if e["department"]}
    departments = {d.code: d for d in Department.objects.filter(code__in=codes)}
    missing = sorted(codes - set(departments))
    if missing:
        problems = [f"department {code} is not in the e-services catalogue" for code in missing]
        raise FaqFilesInvalid(problems="; ".join(problems), details={"problems": problems})
    slugs = [e["slug"] for e in entries]
    with transaction.atomic():
        existing = {f.slug: f for f in Faq.objects.select_for_update().filter(slug__in=slugs)}
        changed: list[Faq] = []
        for e in entries:
            values = {
                "question_en": e["question_en"],
                "question_zh": e["question_zh"],
                "answer_en": e["answer_en"],
                "answer_zh": e["answer_zh"],
                "department": departments.get(e["department"]),
                "service_slug": e["service"],
                "form_slug": e["form"],
                "form_field": e["field"],
                "source_url": e["source_url"],
                "keywords": e["keywords"],
                "active": True,
            }
            faq = existing.get(e["slug"])
            if faq is None:
                faq = Faq(slug=e["slug"])
            elif all(getattr(faq, k) == v for k, v in values.items()):
                continue
            for key, value in values.items():
                setattr(faq, key, value)
            faq.save()
            changed.append(faq)
        gone = list(Faq.objects.filter(active=True).exclude(slug__in=slugs).values_list("slug", flat=True))
        if gone:
            Faq.objects.filter(slug__in=gone).update(active=False)
            for slug in gone:
                search.remove("faq", slug)
        if changed:
            search.index(document(f) for f in changed)
    return len(entries)


def document(faq: Faq) -> Document:
    """The search document of a published FAQ entry: title = the question, text = the answer
    (what the assistant quotes), ``url`` = its ``source_url``; the department's code and names;
    a ``read`` action to the source page."""
    dept = faq.department
    return Document(
        kind="faq",
        ref=faq.slug,
        title_en=faq.question_en,
        title_zh=faq.question_zh,
        text_en=faq.answer_en,
        text_zh=faq.answer_zh,
        department=dept.code if dept else "",
        department_en=dept.name_en if dept else "",
        department_zh=dept.name_zh if dept else "",
        url=faq.source_url,
        actions=({"kind": "read", "url": faq.source_url, "label_en": "Read the page", "label_zh": "閱讀頁面"},),
        keywords=faq.keywords,
    )


def documents() -> Iterable[Document]:
    """Every published FAQ entry as a search document (the registered source of kind ``faq``)."""
    for faq in Faq.objects.filter(active=True).select_related("department").order_by("slug"):
        yield document(faq)
