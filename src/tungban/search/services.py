"""The one search (issue 22): :func:`index`, :func:`remove`, :func:`reindex` and :func:`query`
over every registered source (:mod:`tungban.search.sources`).

Index. Each :class:`~tungban.search.sources.Document` is one :class:`SearchDocument` row with
its analysed tokens (:mod:`tungban.search.analysis`: Traditional Chinese characters and bigrams,
Snowball-stemmed English words): ``search_title`` (both titles and the keywords) and
``search_body`` (both texts, the department's names and code). SQLite: an FTS5 table
``search_fts(title, body)`` whose rowid is the document's id, ranked by BM25 with the title
column weighted 8 to the body's 1. PostgreSQL: a stored generated column ``search_vector`` =
``setweight(to_tsvector('simple', search_title), 'A') || setweight(to_tsvector('simple',
search_body), 'B')`` with a GIN index, ranked by ``ts_rank`` with weights A 1.0, B 0.1 and
length normalisation 1 (the database's ``LC_CTYPE`` must be a UTF-8 one so its parser keeps Chinese tokens).
Every write bumps :class:`IndexState` ``generation`` in the same transaction.

Query (:func:`query`). The words are analysed as the documents were. An English word that no
document has is first tried as a prefix (``traff`` → *traffic*), then corrected to the nearest
word of the index's vocabulary (optimal string alignment distance ≤ 1 for words of 5–6 letters,
≤ 2 for longer ones, shorter words are left alone; ties to the more frequent word; rapidfuzz) and ``Results.corrected`` says
what was searched ("Showing results for …"). Every term must match (``AND``); when nothing
matches every term, documents matching any term are ranked instead (a Chinese query's bigrams
across a word boundary, e.g. 請長 in 申請長者咭, match nothing). The first
:data:`RERANK` by BM25 / ``ts_rank`` are then ranked by (:func:`_score`): that relevance
scaled to the best, the share of the query's terms in the title and in the whole document, an
exact title match or the query as a phrase in the title (more for a shorter title), the kind (a service before its form,
a form before field help; :data:`KIND_BOOST`) and popularity.

Best bets (GOV.UK's model). For a query whose normalised form (:func:`normalise_query`) is one
staff curated, the active best bets come first in their ``position`` order, whether or not the
document matches the words (that is their purpose: 身份證 → the identity card service even when
the words are elsewhere), within the kind and department filters, then the other results without
them. They are looked up for the query as typed and as corrected.

Facets. ``kind`` and ``department`` counted over everything that matches, each with the other
facet's filter applied but not its own (ticking one kind keeps the others' counts visible).

The vocabulary of the typo corrector is the one per-process cache: built from the database and
kept only with the ``generation`` it was read at, so a worker rebuilds it after any change.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import F, Max

from . import errors
from .analysis import CJK, STOPWORDS, WORD, chinese_terms, index_tokens, latin_words, normalise, stem
from .models import BestBet, IndexState, SearchDocument
from .sources import ACTION_KINDS, KINDS, Document, label, sources

FTS_TABLE = "search_fts"
#: How many of the best by BM25 / ts_rank are ranked again by :func:`_score`.
RERANK = 200
#: Ranking boost per kind: a resident asking for a service wants the service first.
KIND_BOOST = {"service": 0.35, "faq": 0.2, "form": 0.15, "dataset": 0.1, "field_help": 0.0}
#: The most results on a page, and the deepest page.
MAX_ROWS = 100
MAX_START = 2000

#: PostgreSQL: the stored generated column ``setweight(to_tsvector('simple', search_title), 'A') ||
#: setweight(to_tsvector('simple', search_body), 'B')`` (migration 0002), GIN-indexed.
_PG_VECTOR = "d.search_vector"


# --- writing -------------------------------------------------------------------------------


def _tokens(doc: Document) -> tuple[str, str]:
    title = index_tokens(f"{doc.title_en} {doc.title_zh} {doc.keywords}")
    body = index_tokens(f"{doc.text_en} {doc.text_zh} {doc.department} {doc.department_en} {doc.department_zh}")
    return " ".join(title), " ".join(body)


def _check(doc: Document) -> None:
    if doc.kind not in KINDS:
        raise ValueError(f"not a search document kind: {doc.kind!r}")
    if not doc.ref or len(doc.ref) > 200:
        raise ValueError(f"a document's ref is 1 to 200 characters: {doc.ref!r}")
    for a in doc.actions:
        if a.get("kind") not in ACTION_KINDS or not a.get("url"):
            raise ValueError(f"not an action of {doc.kind}:{doc.ref}: {a!r}")


_FIELDS = (
    "title_en",
    "title_zh",
    "text_en",
    "text_zh",
    "department",
    "department_en",
    "department_zh",
    "url",
    "keywords",
    "popularity",
)


def _values(doc: Document) -> dict:
    values = {f: getattr(doc, f) for f in _FIELDS}
    values["actions"] = [dict(a) for a in doc.actions]
    values["search_title"], values["search_body"] = _tokens(doc)
    return values


def _bump() -> None:
    if not IndexState.objects.filter(pk=1).update(generation=F("generation") + 1):
        IndexState.objects.get_or_create(pk=1, defaults={"generation": 1})


def _fts_delete(ids: list[int]) -> None:
    if connection.vendor != "sqlite" or not ids:
        return
    with connection.cursor() as cur:
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            cur.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({','.join(['%s'] * len(chunk))})", chunk)


def _fts_insert(rows: list[tuple[int, str, str]]) -> None:
    if connection.vendor != "sqlite" or not rows:
        return
    with connection.cursor() as cur:
        cur.executemany(f"INSERT INTO {FTS_TABLE} (rowid, title, body) VALUES (%s, %s, %s)", rows)


def index(docs: Iterable[Document]) -> int:
    """Add or replace ``docs`` in the index (by ``(kind, ref)``), in the caller's transaction
    (or one of its own). Returns how many were written.

    :raises ValueError: a document with an unknown kind or action, or an empty ref (a
        programming error of the source; nothing is written)."""
    docs = list({(d.kind, d.ref): d for d in docs}.values())
    for d in docs:
        _check(d)
    if not docs:
        return 0
    with transaction.atomic():
        by_kind: dict[str, list[Document]] = {}
        for d in docs:
            by_kind.setdefault(d.kind, []).append(d)
        existing: dict[tuple[str, str], SearchDocument] = {}
        for kind, group in by_kind.items():
            refs = [d.ref for d in group]
            for i in range(0, len(refs), 500):
                for row in SearchDocument.objects.filter(kind=kind, ref__in=refs[i : i + 500]):
                    existing[(row.kind, row.ref)] = row
        new, changed = [], []
        for d in docs:
            values = _values(d)
            row = existing.get((d.kind, d.ref))
            if row is None:
                new.append(SearchDocument(kind=d.kind, ref=d.ref, **values))
            elif any(getattr(row, f) != v for f, v in values.items()):
                for f, v in values.items():
                    setattr(row, f, v)
                changed.append(row)
        created = SearchDocument.objects.bulk_create(new, batch_size=500)
        if changed:
            SearchDocument.objects.bulk_update(changed, [*_FIELDS, "actions", "search_title", "search_body"], 500)
            SearchDocument.objects.filter(pk__in=[r.pk for r in changed]).update(updated_at=_now())
        if connection.vendor == "sqlite":
            if any(r.pk is None for r in created):  # SQLite before 3.35 (no RETURNING): read the ids back
                ids = {}
                for kind, group in by_kind.items():
                    refs = [d.ref for d in group]
                    for i in range(0, len(refs), 500):
                        ids.update(
                            {
                                (kind, ref): pk
                                for pk, ref in SearchDocument.objects.filter(
                                    kind=kind, ref__in=refs[i : i + 500]
                                ).values_list("pk", "ref")
                            }
                        )
                for r in created:
                    r.pk = ids[(r.kind, r.ref)]
            _fts_delete([r.pk for r in changed])
            _fts_insert([(r.pk, r.search_title, r.search_body) for r in [*created, *changed]])
        if new or changed:
            _bump()
    return len(new) + len(changed)


def _now():
    from django.utils import timezone

    return timezone.now()


def remove(kind: str, ref: str) -> bool:
    """Take the document ``(kind, ref)`` (and its best bets) out of the index, in the caller's
    transaction; ``False`` if it was not there."""
    with transaction.atomic():
        ids = list(SearchDocument.objects.filter(kind=kind, ref=ref).values_list("pk", flat=True))
        if not ids:
            return False
        _fts_delete(ids)
        SearchDocument.objects.filter(pk__in=ids).delete()
        _bump()
    return True


def reindex(kind: str | None = None) -> dict[str, int]:
    """Rebuild ``kind`` (default: every registered kind) from its registered source: documents
    it no longer lists are removed, the others written as :func:`index` does; one transaction.
    Returns ``{kind: documents}``.

    :raises errors.UnknownKind: ``kind`` is not a registered kind."""
    registered = sources()
    if kind is not None and kind not in registered:
        raise errors.UnknownKind(kind=kind)
    counts = {}
    with transaction.atomic():
        for k, src in registered.items():
            if kind is not None and k != kind:
                continue
            docs = [d for d in src.documents() if d.kind == k]
            index(docs)
            keep = {d.ref for d in docs}
            gone = [pk for pk, ref in SearchDocument.objects.filter(kind=k).values_list("pk", "ref") if ref not in keep]
            if gone:
                _fts_delete(gone)
                SearchDocument.objects.filter(pk__in=gone).delete()
                _bump()
            counts[k] = len(docs)
    return counts


def rebuild_fts() -> int:
    """(SQLite) Refill the FTS5 table from the documents' tokens, e.g. after a restore; returns
    the number of rows. No-op elsewhere (PostgreSQL's index is over the columns)."""
    if connection.vendor != "sqlite":
        return 0
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"DELETE FROM {FTS_TABLE}")
        rows = list(SearchDocument.objects.values_list("pk", "search_title", "search_body"))
        _fts_insert(rows)
        _bump()
    return len(rows)


# --- the query's words -------------------------------------------------------------------------


_TOKEN = re.compile(rf"[a-z0-9]+|{CJK.pattern}")


def normalise_query(q: str) -> str:
    """``q`` as best bets are keyed: lower-cased, Traditional Chinese, its words and Chinese
    runs separated by one space, punctuation dropped (``" Renew  Passport? "`` → ``"renew
    passport"``; ``"护照"`` → ``"護照"``)."""
    return " ".join(_TOKEN.findall(normalise(q)))[:200]


def generation() -> int:
    """The index's generation (0 before the first write)."""
    return IndexState.objects.filter(pk=1).values_list("generation", flat=True).first() or 0


@dataclass(frozen=True)
class Vocabulary:
    """The English words of the index (titles, texts, keywords, departments) with how many
    documents have each, for typo correction."""

    words: tuple[str, ...]
    frequency: dict[str, int]


_vocabulary: tuple[int, Vocabulary] | None = None
_vocabulary_lock = threading.Lock()


def _build_vocabulary() -> Vocabulary:
    counts: Counter[str] = Counter()
    rows = SearchDocument.objects.values_list("title_en", "text_en", "keywords", "department_en")
    for row in rows.iterator(chunk_size=2000):
        counts.update({w for w in latin_words(" ".join(row)) if len(w) >= 3 and not w.isdigit()})
    words = tuple(sorted(w for w in counts if w not in STOPWORDS))
    return Vocabulary(words, {w: counts[w] for w in words})


def vocabulary() -> Vocabulary:
    """The index's vocabulary, built at most once per :func:`generation` per process (kept only
    if the generation did not change while it was read)."""
    global _vocabulary
    gen = generation()
    cached = _vocabulary
    if cached is not None and cached[0] == gen:
        return cached[1]
    with _vocabulary_lock:
        cached = _vocabulary
        if cached is not None and cached[0] == gen:
            return cached[1]
        vocab = _build_vocabulary()
        if generation() == gen:
            _vocabulary = (gen, vocab)
    return vocab


def correct(word: str, vocab: Vocabulary) -> str | None:
    """The word of ``vocab`` nearest to the lower-cased ``word`` (optimal string alignment
    distance ≤ 1 for 5–6 letters, ≤ 2 for 7 or more; the more frequent of equals, then the
    alphabetically first), or ``None`` (under 5 letters: too many near neighbours, e.g. find →
    fund; a number; or nothing near)."""
    from rapidfuzz import process  # MIT; C++ edit distances
    from rapidfuzz.distance import OSA

    if len(word) < 5 or word.isdigit():
        return None
    limit = 1 if len(word) <= 6 else 2
    found = process.extract(word, vocab.words, scorer=OSA.distance, score_cutoff=limit, limit=50)
    if not found:
        return None
    best = min(found, key=lambda m: (m[1], -vocab.frequency.get(m[0], 0), m[0]))
    return best[0]


@dataclass
class _Terms:
    terms: list[tuple[str, bool]]  # (token, prefix)
    corrected: str | None


def _has(term: str, prefix: bool) -> bool:
    sql, params = _where([(term, prefix)], "AND")
    with connection.cursor() as cur:
        cur.execute(f"SELECT 1 FROM {sql} LIMIT 1", params)
        return cur.fetchone() is not None


def _analyse(q: str) -> _Terms:
    text = normalise(q)
    words = [w for w in WORD.findall(text)]
    content = [w for w in words if w not in STOPWORDS] or words
    terms: list[tuple[str, bool]] = []
    replaced: dict[str, str] = {}
    vocab = None
    for w in content:
        s = stem(w)
        if _has(s, False):
            terms.append((s, False))
            continue
        if len(w) >= 3 and not w.isdigit() and _has(w, True):
            terms.append((w, True))
            continue
        vocab = vocab or vocabulary()
        fix = correct(w, vocab)
        if fix is not None:
            replaced[w] = fix
            terms.append((stem(fix), False))
        else:
            terms.append((s, False))
    terms.extend((t, False) for t in chinese_terms(text))
    seen: set[tuple[str, bool]] = set()
    terms = [t for t in terms if not (t in seen or seen.add(t))]
    corrected = None
    if replaced:
        corrected = " ".join(replaced.get(t, t) for t in _TOKEN.findall(text))
    return _Terms(terms, corrected)


# --- matching ----------------------------------------------------------------------------------


def _where(terms: list[tuple[str, bool]], op: str) -> tuple[str, list]:
    """``FROM … WHERE …`` (without the keywords) selecting documents ``d`` that match ``terms``
    joined by ``op`` (``AND``/``OR``), and its parameters; the rank is :func:`_rank`."""
    vendor = connection.vendor
    if vendor == "sqlite":
        expr = f" {op} ".join(f'"{t}"' + ("*" if p else "") for t, p in terms)
        return f"{FTS_TABLE} JOIN search_searchdocument d ON d.id = {FTS_TABLE}.rowid WHERE {FTS_TABLE} MATCH %s", [
            expr
        ]
    if vendor == "postgresql":
        joiner = " & " if op == "AND" else " | "
        tsq = joiner.join(f"'{t}'" + (":*" if p else "") for t, p in terms)
        return f"search_searchdocument d WHERE {_PG_VECTOR} @@ to_tsquery('simple', %s)", [tsq]
    conds, params = [], []
    for t, p in terms:
        conds.append("(' ' || d.search_title || ' ' || d.search_body || ' ') LIKE %s")
        params.append(f"% {t}%" if p else f"% {t} %")
    return f"search_searchdocument d WHERE ({f' {op} '.join(conds)})", params


def _rank(terms: list[tuple[str, bool]], op: str) -> tuple[str, list]:
    vendor = connection.vendor
    if vendor == "sqlite":
        return f"-bm25({FTS_TABLE}, 8.0, 1.0)", []
    if vendor == "postgresql":
        joiner = " & " if op == "AND" else " | "
        tsq = joiner.join(f"'{t}'" + (":*" if p else "") for t, p in terms)
        return f"ts_rank('{{0.05, 0.1, 0.1, 1.0}}', {_PG_VECTOR}, to_tsquery('simple', %s), 1)", [tsq]
    return "0", []


def _filters(kinds, departments) -> tuple[str, list]:
    sql, params = "", []
    if kinds:
        sql += f" AND d.kind IN ({','.join(['%s'] * len(kinds))})"
        params += list(kinds)
    if departments:
        sql += f" AND d.department IN ({','.join(['%s'] * len(departments))})"
        params += list(departments)
    return sql, params


def _crosstab(terms, op) -> dict[tuple[str, str], int]:
    frm, params = _where(terms, op)
    with connection.cursor() as cur:
        cur.execute(f"SELECT d.kind, d.department, COUNT(*) FROM {frm} GROUP BY d.kind, d.department", params)
        return {(k, dep): n for k, dep, n in cur.fetchall()}


def _candidates(terms, op, kinds, departments, limit) -> list[tuple[int, float]]:
    frm, params = _where(terms, op)
    rank, rank_params = _rank(terms, op)
    extra, extra_params = _filters(kinds, departments)
    sql = f"SELECT d.id, {rank} AS r FROM {frm}{extra} ORDER BY r DESC, d.id LIMIT %s"
    with connection.cursor() as cur:
        cur.execute(sql, [*rank_params, *params, *extra_params, limit])
        return [(pk, float(r or 0.0)) for pk, r in cur.fetchall()]


# --- results -----------------------------------------------------------------------------------


@dataclass
class Hit:
    """One result, in the language asked for (the other language's text when it has none)."""

    kind: str
    ref: str
    title: str
    text: str
    snippet: str
    url: str
    actions: list[dict]
    department: str
    department_name: str
    score: float
    best_bet: bool = False


@dataclass
class Results:
    """A page of results: ``count`` matching documents (best bets included), ``hits`` best
    first, ``facets`` ``{"kind": [(value, label, count)], "department": [(code, name, count)]}``
    (most first, then by label; the values filtered on always listed), ``corrected`` the query
    actually searched when a word was corrected, else ``None``."""

    count: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)
    corrected: str | None = None
    query: str = ""


def _zh(language: str) -> bool:
    return (language or "").lower().startswith("zh")


def _pick(en: str, zh: str, language: str) -> str:
    return (zh or en) if _zh(language) else (en or zh)


def _snippet(text: str, words: list[str], width: int = 180) -> str:
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    low = normalise(text)
    at = min((i for i in (low.find(w) for w in words if w) if i >= 0), default=0)
    begin = max(0, at - width // 3)
    end = min(len(text), begin + width)
    return ("…" if begin else "") + text[begin:end].strip() + ("…" if end < len(text) else "")


def _stems(text: str) -> list[str]:
    return [stem(w) for w in latin_words(text)]


def _score(row: SearchDocument, relevance: float, top: float, terms, nq_latin: str, nq_cjk: str) -> float:
    """The rank of one candidate (higher first): see the module's docstring."""
    title = set(row.search_title.split())
    body = set(row.search_body.split())

    def present(tokens: set[str], t: str, prefix: bool) -> bool:
        return any(x.startswith(t) for x in tokens) if prefix else t in tokens

    n = len(terms) or 1
    in_title = sum(present(title, t, p) for t, p in terms) / n
    anywhere = sum(present(title, t, p) or present(body, t, p) for t, p in terms) / n
    score = (relevance / top if top > 0 else 0.0) + 1.2 * in_title + 1.0 * anywhere
    if nq_latin:
        title_en = " ".join(_stems(row.title_en))
        if title_en == nq_latin:
            score += 1.0
        elif f" {nq_latin} " in f" {title_en} ":  # the phrase in the title; more for a shorter title
            score += 0.5 + 0.25 * len(nq_latin.split()) / len(title_en.split())
    if nq_cjk:
        title_zh = "".join(CJK.findall(normalise(row.title_zh)))
        if title_zh == nq_cjk:
            score += 1.0
        elif len(nq_cjk) >= 2 and nq_cjk in title_zh:  # the phrase in the title; more for a shorter title
            score += 0.5 + 0.25 * len(nq_cjk) / len(title_zh)
    score += KIND_BOOST.get(row.kind, 0.0)
    score += 0.2 * min(1.0, math.log1p(row.popularity) / math.log1p(100_000))
    return score


def _hit(row: SearchDocument, language: str, words: list[str], score: float, best_bet: bool) -> Hit:
    text = _pick(row.text_en, row.text_zh, language)
    return Hit(
        kind=row.kind,
        ref=row.ref,
        title=_pick(row.title_en, row.title_zh, language),
        text=text,
        snippet=_snippet(text, words),
        url=row.url,
        actions=[
            {"kind": a["kind"], "url": a["url"], "label": _pick(a.get("label_en", ""), a.get("label_zh", ""), language)}
            for a in row.actions
        ],
        department=row.department,
        department_name=_pick(row.department_en, row.department_zh, language),
        score=round(score, 4),
        best_bet=best_bet,
    )


def _check_query(q: str, kinds, departments) -> str:
    q = (q or "").strip()
    if not q:
        raise errors.QueryEmpty()
    if len(q) > errors.MAX_QUERY:
        raise errors.QueryTooLong()
    for k in kinds:
        if k not in KINDS:
            raise errors.UnknownKind(kind=str(k)[:40])
    for d in departments:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,20}", str(d)):
            raise errors.UnknownDepartment(department=str(d)[:40])
    return q


def best_bets_for(q: str) -> list[BestBet]:
    """The active best bets of the normalised ``q``, in position order."""
    nq = normalise_query(q)
    if not nq:
        return []
    return list(BestBet.objects.filter(query=nq, active=True).select_related("document").order_by("position", "id"))


def query(
    q: str,
    *,
    kinds: Iterable[str] = (),
    departments: Iterable[str] = (),
    language: str = "en",
    rows: int = 10,
    start: int = 0,
) -> Results:
    """Search every registered kind for ``q`` (English, Traditional or Simplified Chinese; at most
    200 characters), narrowed to ``kinds`` (any of :data:`~tungban.search.sources.KINDS`) and
    ``departments`` (codes) when given; ``rows`` results (1–100) from ``start`` (0–2000) in
    ``language`` (``en`` or ``zh…``). Ranking, corrections, best bets and facets: see the module.

    :raises errors.QueryEmpty: ``q`` is blank.
    :raises errors.QueryTooLong: ``q`` is over 200 characters.
    :raises errors.UnknownKind: a kind that is not one of KINDS.
    :raises errors.UnknownDepartment: a department that is not a code."""
    kinds, departments = tuple(kinds), tuple(departments)
    q = _check_query(q, kinds, departments)
    rows = max(1, min(MAX_ROWS, int(rows)))
    start = max(0, min(MAX_START, int(start)))
    analysed = _analyse(q)
    terms = analysed.terms

    bets = best_bets_for(q)
    if analysed.corrected:
        bets += [b for b in best_bets_for(analysed.corrected) if b.document_id not in {x.document_id for x in bets}]
    bets = [
        b
        for b in bets
        if (not kinds or b.document.kind in kinds) and (not departments or b.document.department in departments)
    ]

    table: dict[tuple[str, str], int] = {}
    ranked: list[tuple[int, float]] = []
    op = "AND"
    if terms:
        table = _crosstab(terms, "AND")
        if not table and len(terms) > 1:
            op = "OR"
            table = _crosstab(terms, "OR")
    bet_ids = [b.document_id for b in bets]
    # best bets that do not match the words still count, under their kind and department
    if bet_ids and terms:
        frm, params = _where(terms, op)
        marks = ",".join(["%s"] * len(bet_ids))
        with connection.cursor() as cur:
            cur.execute(f"SELECT d.id FROM {frm} AND d.id IN ({marks})", [*params, *bet_ids])
            matched_bets = {r[0] for r in cur.fetchall()}
    else:
        matched_bets = set()
    for b in bets:
        if b.document_id not in matched_bets:
            key = (b.document.kind, b.document.department)
            table[key] = table.get(key, 0) + 1

    def total(keep) -> Counter:
        c: Counter = Counter()
        for (k, dep), n in table.items():
            if keep(k, dep):
                c[(k, dep)] += n
        return c

    in_kinds = lambda k: not kinds or k in kinds  # noqa: E731
    in_depts = lambda dep: not departments or dep in departments  # noqa: E731
    count = sum(total(lambda k, dep: in_kinds(k) and in_depts(dep)).values())

    hits: list[Hit] = []
    words = [t for t, _ in terms]
    if count:
        if terms:
            ranked = _candidates(terms, op, kinds, departments, max(RERANK, start + rows + len(bets)))
        ids = [pk for pk, _ in ranked if pk not in set(bet_ids)]
        rows_by_id = SearchDocument.objects.in_bulk(ids)
        top = max((r for _, r in ranked), default=0.0)
        text = normalise(q)
        latin = [w for w in WORD.findall(text) if w not in STOPWORDS] or WORD.findall(text)
        if analysed.corrected:
            latin = [w for w in WORD.findall(analysed.corrected) if w not in STOPWORDS]
        nq_latin = " ".join(stem(w) for w in latin)
        nq_cjk = "".join(CJK.findall(text))
        scored = [(_score(rows_by_id[pk], r, top, terms, nq_latin, nq_cjk), pk) for pk, r in ranked if pk in rows_by_id]
        scored.sort(key=lambda s: (-s[0], s[1]))
        ordered = [(b.document, 0.0, True) for b in bets] + [(rows_by_id[pk], s, False) for s, pk in scored]
        page = ordered[start : start + rows]
        hits = [_hit(row, language, words, s, bb) for row, s, bb in page]

    zh = _zh(language)
    kind_counts: Counter = Counter()
    dept_counts: Counter = Counter()
    for (k, dep), n in table.items():
        if in_depts(dep):
            kind_counts[k] += n
        if in_kinds(k) and dep:
            dept_counts[dep] += n
    for k in kinds:
        kind_counts.setdefault(k, 0)
    for d in departments:
        dept_counts.setdefault(d, 0)
    names = _department_names(list(dept_counts), zh)
    facets = {
        "kind": sorted(
            ((k, label(k, language), n) for k, n in kind_counts.items()), key=lambda f: (-f[2], KINDS.index(f[0]))
        ),
        "department": sorted(((d, names.get(d, d), n) for d, n in dept_counts.items()), key=lambda f: (-f[2], f[1])),
    }
    return Results(count=count, hits=hits, facets=facets, corrected=analysed.corrected, query=q)


def _department_names(codes: list[str], zh: bool) -> dict[str, str]:
    names: dict[str, str] = {}
    if not codes:
        return names
    rows = (
        SearchDocument.objects.filter(department__in=codes)
        .values("department")
        .annotate(en=Max("department_en"), zh=Max("department_zh"))
        .values_list("department", "en", "zh")
        .order_by()
    )
    for code, en, zh_name in rows:
        if code not in names and (en or zh_name):
            names[code] = (zh_name or en) if zh else (en or zh_name)
    return names


def departments(language: str = "en") -> list[tuple[str, str]]:
    """Every department with documents in the index: ``(code, name)`` by name."""
    codes = list(SearchDocument.objects.exclude(department="").values_list("department", flat=True).distinct())
    names = _department_names(codes, _zh(language))
    return sorted(((c, names.get(c, c)) for c in codes), key=lambda p: p[1])
