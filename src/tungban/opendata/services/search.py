"""The catalogue's search tokens (issue 21). :func:`reindex` rebuilds a dataset's
``search_text``: its titles, descriptions, tags, provider and categories in both languages,
English lower-cased, Chinese as single characters and bigrams."""

from __future__ import annotations

import re

from ..models import Dataset

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    """Search tokens of ``text``: lower-cased Latin words and digits; each run of Chinese
    characters as its characters and its bigrams."""
    text = text.lower()
    out = _WORD.findall(text)
    for run in _CJK.findall(text):
        out.extend(run)
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def document(ds: Dataset) -> str:
    parts = [ds.name, ds.title_en, ds.title_zh, ds.notes_en, ds.notes_zh]
    parts += [t.name for t in ds.tags.all()]
    parts += [ds.organization.title_en, ds.organization.title_zh]
    for g in ds.groups.all():
        parts += [g.title_en, g.title_zh]
    for r in ds.resources.all():
        parts += [r.name_en, r.name_zh]
    return " ".join(tokens(" ".join(parts)))


def reindex(ds: Dataset) -> None:
    """Rebuild ``ds.search_text`` (in the caller's transaction)."""
    Dataset.objects.filter(pk=ds.pk).update(search_text=document(ds))


# ---------------------------------------------------------------------------------------------
# MINIMAL STAND-IN for part oapi's ``query`` (branch ``opages``): the interface agreed in the
# common brief, implemented naively over ``search_text`` so the public pages work before
# ``oapi`` is merged. REPLACE WITH oapi's implementation at merge (keep its version of this
# file); the pages only use ``query`` and ``SearchResult`` as specified.
# ---------------------------------------------------------------------------------------------

from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

FACET_FIELDS = ("organization", "groups", "res_format", "tags", "license_id")
_FILTER_LOOKUPS = {
    "organization": "organization__name__in",
    "groups": "groups__name__in",
    "res_format": "resources__format__in",
    "tags": "tags__name__in",
    "license_id": "license_id__in",
}
_SORTS = {
    "": ("-metadata_modified", "name"),
    "metadata_modified desc": ("-metadata_modified", "name"),
    "title_string asc": ("title_en", "name"),
    "name asc": ("name",),
}


@dataclass
class SearchResult:
    count: int
    datasets: list = field(default_factory=list)
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def _to_traditional(text: str) -> str:
    try:
        import opencc

        return opencc.OpenCC("s2hk").convert(text)
    except Exception:  # pragma: no cover - the stand-in works without OpenCC
        return text


def _query_terms(q: str) -> list[str]:
    """Latin words, and each Chinese run as its bigrams (a single character alone)."""
    text = _to_traditional(q).lower()
    terms = _WORD.findall(text)
    for run in _CJK.findall(text):
        terms.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
    return terms


def query(
    q: str = "",
    *,
    filters: dict[str, list[str]] | None = None,
    sort: str = "",
    rows: int = 10,
    start: int = 0,
    facet_fields=(),
    language: str = "en",
) -> SearchResult:
    """Active datasets matching every term of ``q`` and every filter (values of one field
    OR-ed), ``rows`` from ``start``, with facet counts (value, count; most first)."""
    from ..constants import DatasetState

    qs = Dataset.objects.filter(state=DatasetState.ACTIVE)
    for term in _query_terms(q or ""):
        qs = qs.filter(search_text__regex=rf"(^| ){re.escape(term)}( |$)")
    for key, values in (filters or {}).items():
        if key in _FILTER_LOOKUPS and values:
            qs = qs.filter(**{_FILTER_LOOKUPS[key]: values})
    ids = list(qs.values_list("pk", flat=True).distinct())
    base = Dataset.objects.filter(pk__in=ids)
    facets = {}
    for f in facet_fields:
        if f == "organization":
            values = base.values_list("organization__name", flat=True)
        elif f == "groups":
            values = base.values_list("groups__name", flat=True)
        elif f == "res_format":
            values = base.values_list("pk", "resources__format").distinct()
            values = [fmt for _pk, fmt in values]
        elif f == "tags":
            values = base.values_list("tags__name", flat=True)
        elif f == "license_id":
            values = base.values_list("license_id", flat=True)
        else:
            continue
        counts = Counter(v for v in values if v)
        facets[f] = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    page = list(
        base.select_related("organization")
        .prefetch_related("groups", "resources")
        .order_by(*_SORTS.get(sort, _SORTS[""]))[start : start + rows]
    )
    return SearchResult(count=len(ids), datasets=page, facets=facets)
