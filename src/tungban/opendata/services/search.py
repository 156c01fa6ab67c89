"""The catalogue search (issue 21): English, Traditional Chinese and Simplified Chinese
queries over the published datasets, ranked, with facets.

Tokens (the analyser is :mod:`tungban.search.analysis`, shared with the one search of issue
22). :func:`reindex` rebuilds a dataset's ``search_text``: its name, titles (twice, so
they weigh more), descriptions, tags, provider, categories and resource names in both
languages. Chinese is first normalised with OpenCC (Simplified → Traditional ``s2t``, then
Hong Kong variants → OpenCC's standard forms ``hk2t``, so 綫/線 and 裏/裡 match), at index
time and at query time; then each run of Chinese characters becomes its characters and its
bigrams, so any two-character word (交通, 數據, 天氣) matches without a dictionary. Character
bigrams rather than jieba: jieba's dictionary is Simplified-Chinese and mainland-centred
(it splits Hong Kong place and department names unpredictably), its segmentation of a query
and of a title can disagree, and bigrams need no model to load (a second per worker); the
cost is a larger index, which at catalogue size (thousands of datasets) does not matter.
Latin text is lower-cased words and digits; a query's Latin words also match as prefixes
(``traff`` finds *traffic*, ``count`` finds *counts*).

A query's words must all match (CKAN's default ``q.op=AND``): a Chinese run of two or more
characters asks for each of its bigrams (so 交通數據 finds a text containing 交通數據 and not
one with only 交通), a single Chinese character for itself.

Ranking (``sort="score desc"``). SQLite: BM25 of an FTS5 table ``opendata_search``
(``dataset_id UNINDEXED, body``) that :func:`reindex` keeps in step (migration
``0003_oapi_search``). PostgreSQL: ``ts_rank`` of ``to_tsvector('simple', search_text)``
with a GIN index over that expression (the database's ``LC_CTYPE`` must be a UTF-8 one so
its parser keeps Chinese tokens; ``C.UTF-8`` and ``en_US.UTF-8`` do). Other databases: a
``LIKE`` match of every token, no rank.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Prefetch, Q

from tungban.search import services as one_search

# The analyser is the one search's (issue 22); re-exported here for this module's callers.
from tungban.search.analysis import CJK as _CJK
from tungban.search.analysis import WORD
from tungban.search.analysis import to_simplified as to_simplified
from tungban.search.analysis import to_traditional as to_traditional
from tungban.search.analysis import tokens as tokens

from .. import search_sources
from ..constants import DatasetState
from ..models import Dataset, Group, Organization, Resource, Tag

_WORD = WORD

#: The facet fields (CKAN's names) :func:`query` counts and filters on.
FACET_FIELDS = ("organization", "groups", "res_format", "tags", "license_id")
#: The sorts :func:`query` accepts (CKAN's ``sort`` values); ``""`` is the default.
SORTS = ("score desc", "metadata_modified desc", "name asc", "title_string asc")
FTS_TABLE = "opendata_search"


def query_terms(q: str) -> list[tuple[str, bool]]:
    """The terms a query ``q`` asks for, each ``(token, prefix)``: Latin words (as prefixes),
    a Chinese run's bigrams (or the single character). ``*:*`` (CKAN's "everything") is none."""
    q = (q or "").strip()
    if q in ("*:*", "*"):
        return []
    text = to_traditional(q.lower())
    terms: list[tuple[str, bool]] = [(w, True) for w in _WORD.findall(text)]
    for run in _CJK.findall(text):
        if len(run) == 1:
            terms.append((run, False))
        else:
            terms.extend((run[i : i + 2], False) for i in range(len(run) - 1))
    seen: set[tuple[str, bool]] = set()
    return [t for t in terms if not (t in seen or seen.add(t))]


def document(ds: Dataset) -> str:
    """The space-separated tokens :func:`reindex` stores for ``ds``."""
    parts = [ds.name.replace("-", " ").replace("_", " "), ds.title_en, ds.title_zh]
    parts += [ds.title_en, ds.title_zh, ds.notes_en, ds.notes_zh]
    parts += [t.name for t in ds.tags.all()]
    parts += [ds.organization.name, ds.organization.title_en, ds.organization.title_zh]
    for g in ds.groups.all():
        parts += [g.title_en, g.title_zh]
    for r in ds.resources.all():
        parts += [r.name_en, r.name_zh, r.format]
    return " ".join(tokens(" ".join(parts)))


def _fts_write(rows: list[tuple[str, str]], *, delete_ids: list[str] | None = None, clear: bool = False) -> None:
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cur:
        if clear:
            cur.execute(f"DELETE FROM {FTS_TABLE}")
        for pk in delete_ids or ():
            cur.execute(f"DELETE FROM {FTS_TABLE} WHERE dataset_id = %s", [pk])
        if rows:
            cur.executemany(f"INSERT INTO {FTS_TABLE} (dataset_id, body) VALUES (%s, %s)", rows)


def _key(pk) -> str:
    """The dataset id as the database stores it (SQLite: 32 hex digits, no dashes)."""
    return pk.hex if connection.vendor == "sqlite" else str(pk)


def reindex(ds: Dataset) -> None:
    """Rebuild ``ds.search_text`` and (SQLite) its FTS5 row, in the caller's transaction. A
    dataset that is not ``active`` keeps its tokens but leaves the FTS5 table. The one search's
    document (issue 22) follows: indexed while active, removed otherwise."""
    ds = Dataset.objects.select_related("organization").get(pk=ds.pk)
    text = document(ds)
    Dataset.objects.filter(pk=ds.pk).update(search_text=text)
    key = _key(ds.pk)
    _fts_write([(key, text)] if ds.state == DatasetState.ACTIVE else [], delete_ids=[key])
    search_sources.sync(ds)  # the one search (issue 22), in the same transaction


def reindex_all() -> int:
    """Rebuild every dataset's tokens and the FTS5 table (after a bulk load, e.g. the bench's
    seed); returns the number of active datasets indexed."""
    qs = Dataset.objects.select_related("organization").prefetch_related("tags", "groups", "resources")
    batch, rows = [], []
    for ds in qs.iterator(chunk_size=500):
        ds.search_text = document(ds)
        batch.append(ds)
        if ds.state == DatasetState.ACTIVE:
            rows.append((_key(ds.pk), ds.search_text))
    Dataset.objects.bulk_update(batch, ["search_text"], batch_size=500)
    _fts_write(rows, clear=True)
    one_search.reindex(search_sources.KIND)  # the one search (issue 22)
    return len(rows)


# --- query -------------------------------------------------------------------------------


@dataclass
class SearchResult:
    """What :func:`query` answers: the number of matching datasets, one page of them in
    order, and the facets (per field, ``(value, count)`` pairs, most frequent first, then by
    value) counted over the whole matching set."""

    count: int
    datasets: list[Dataset]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def _fts_expression(terms: list[tuple[str, bool]]) -> str:
    return " AND ".join(f'"{t}"' + ("*" if prefix else "") for t, prefix in terms)


def _tsquery(terms: list[tuple[str, bool]]) -> str:
    return " & ".join(f"'{t}'" + (":*" if prefix else "") for t, prefix in terms)


def _match(terms: list[tuple[str, bool]], want_scores: bool) -> tuple[Q, dict[str, float] | None]:
    """A filter for the datasets matching every term, and (when asked) their scores by id
    (higher is better)."""
    from django.db.models.expressions import RawSQL

    vendor = connection.vendor
    if vendor == "sqlite":
        expr = _fts_expression(terms)
        where = f"{FTS_TABLE} MATCH %s"
        cond = Q(pk__in=RawSQL(f"SELECT dataset_id FROM {FTS_TABLE} WHERE {where}", [expr]))
        if not want_scores:
            return cond, None
        with connection.cursor() as cur:
            cur.execute(f"SELECT dataset_id, bm25({FTS_TABLE}) FROM {FTS_TABLE} WHERE {where}", [expr])
            return cond, {row[0]: -row[1] for row in cur.fetchall()}  # bm25(): lower is better
    if vendor == "postgresql":
        tsq = _tsquery(terms)
        where = "to_tsvector('simple', search_text) @@ to_tsquery('simple', %s)"
        cond = Q(pk__in=RawSQL(f"SELECT id FROM opendata_dataset WHERE {where}", [tsq]))
        if not want_scores:
            return cond, None
        sql = (
            "SELECT id, ts_rank(to_tsvector('simple', search_text), to_tsquery('simple', %s)) "
            f"FROM opendata_dataset WHERE state = 'active' AND {where}"
        )
        with connection.cursor() as cur:
            cur.execute(sql, [tsq, tsq])
            return cond, {str(row[0]): row[1] for row in cur.fetchall()}
    cond = Q()
    for t, _prefix in terms:
        cond &= Q(search_text__contains=t)
    return cond, None


def _filter(qs, name: str, values: list[str]):
    """``qs`` narrowed to datasets with any of ``values`` in field ``name``."""
    if name == "organization":
        return qs.filter(organization__name__in=values)
    if name == "groups":
        return qs.filter(pk__in=Dataset.groups.through.objects.filter(group__name__in=values).values("dataset_id"))
    if name == "tags":
        return qs.filter(pk__in=Dataset.tags.through.objects.filter(tag__name__in=values).values("dataset_id"))
    if name == "res_format":
        cond = Q()
        for value in values:
            cond |= Q(format__iexact=value)
        return qs.filter(pk__in=Resource.objects.filter(cond).values("dataset_id"))
    if name == "license_id":
        return qs.filter(license_id__in=values)
    if name == "name":
        return qs.filter(name__in=values)
    raise ValueError(f"not a filter field: {name}")


def _facet(ids_qs, name: str) -> list[tuple[str, int]]:
    if name == "organization":
        rows = (
            Organization.objects.filter(datasets__in=ids_qs)
            .values_list("name")
            .annotate(n=Count("datasets", distinct=True))
        )
    elif name == "groups":
        rows = Group.objects.filter(datasets__in=ids_qs).values_list("name").annotate(n=Count("datasets"))
    elif name == "tags":
        rows = Tag.objects.filter(datasets__in=ids_qs).values_list("name").annotate(n=Count("datasets"))
    elif name == "res_format":
        rows = (
            Resource.objects.filter(dataset__in=ids_qs)
            .values_list("format")
            .annotate(n=Count("dataset", distinct=True))
            .order_by()
        )
    elif name == "license_id":
        rows = Dataset.objects.filter(pk__in=ids_qs).values_list("license_id").annotate(n=Count("pk")).order_by()
    else:
        raise ValueError(f"not a facet field: {name}")
    return sorted(((v, n) for v, n in rows.order_by()), key=lambda p: (-p[1], p[0]))


def query(
    q: str = "",
    *,
    filters: dict[str, list[str]] | None = None,
    sort: str = "",
    rows: int = 10,
    start: int = 0,
    facet_fields=(),
    language: str = "en",
    any_within_field: bool = False,
) -> SearchResult:
    """Search the published (``active``) datasets.

    ``q``: free text in English, Traditional or Simplified Chinese (every word must match;
    empty or ``*:*``: all). ``filters``: ``{field: [value, ...]}`` with ``field`` one of
    :data:`FACET_FIELDS` or ``name``; every value must hold (CKAN's ``fq`` clauses are ANDed),
    or with ``any_within_field`` any one value of each field (the portal's facet checkboxes:
    two providers ticked give the datasets of either).
    ``sort``: one of :data:`SORTS`; ``""`` means ``score desc`` with a query and
    ``metadata_modified desc`` without (CKAN's defaults); ``title_string asc`` sorts by the
    title in ``language`` (``en`` or ``zh``). Ties are broken by ``name``. ``rows`` ≥ 0 and
    ``start`` ≥ 0 page the result. ``facet_fields``: which facets to count (over the whole
    matching set, not the page).

    :raises ValueError: an unknown filter field, facet field or sort (the API turns it into
        CKAN's validation error before calling)."""
    sort = (sort or "").strip()
    terms = query_terms(q)
    if not terms and (q or "").strip() not in ("", "*:*", "*"):
        q_only_symbols = True  # e.g. "!!!": nothing to look for, so nothing is found
    else:
        q_only_symbols = False
    if not sort:
        sort = "score desc" if terms else "metadata_modified desc"
    if sort not in SORTS:
        raise ValueError(f"not a sort: {sort}")
    for f in facet_fields:
        if f not in FACET_FIELDS:
            raise ValueError(f"not a facet field: {f}")
    qs = Dataset.objects.filter(state=DatasetState.ACTIVE)
    if q_only_symbols:
        qs = qs.none()
    for name, values in (filters or {}).items():
        if any_within_field:
            qs = _filter(qs, name, list(values)) if values else qs
        else:
            for value in values:
                qs = _filter(qs, name, [value])
    scores = None
    if terms:
        cond, scores = _match(terms, want_scores=sort == "score desc")
        qs = qs.filter(cond)
    ids_qs = qs.values("pk")
    facets = {f: _facet(ids_qs, f) for f in facet_fields}
    rows, start = max(0, int(rows)), max(0, int(start))
    if sort == "score desc" and scores is not None:
        # Rank in Python: the matching ids (one narrow query through the covering index),
        # by score, ties by id (stable between calls).
        matching = [_key(pk) for pk in qs.values_list("pk", flat=True)]
        count = len(matching)
        matching.sort(key=lambda k: (-scores.get(k, 0.0), k))
        page_ids = [uuid.UUID(k) for k in matching[start : start + rows]]
        by_id = {d.pk: d for d in _load(Dataset.objects.filter(pk__in=page_ids))} if page_ids else {}
        page = [by_id[i] for i in page_ids if i in by_id]
    else:
        order = {
            "score desc": ["-metadata_modified", "name"],
            "metadata_modified desc": ["-metadata_modified", "name"],
            "name asc": ["name"],
            "title_string asc": ["title_zh" if language.startswith("zh") else "title_en", "name"],
        }[sort]
        count = qs.count()
        page = list(_load(qs.order_by(*order)[start : start + rows])) if rows else []
    return SearchResult(count=count, datasets=page, facets=facets)


def _load(qs):
    """``qs`` with what a result page shows: provider, categories, tags, resources and their
    current versions."""
    resources = Resource.objects.select_related("current")
    return qs.select_related("organization").prefetch_related(
        "groups", "tags", Prefetch("resources", queryset=resources)
    )
