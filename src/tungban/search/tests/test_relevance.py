"""Issue 22 acceptance 1: the right thing first. The corpus of :mod:`.corpus` (≥ 1,500
services, ≥ 3,800 forms, ≥ 5,500 datasets: the shipped catalogue, the open-data demo seed
and synthetic distractors sharing their vocabulary) is indexed once for the module through
``index()``; each query of the fixed relevance set must find its expected result in the top 3
(precision@3, printed), which must be at least 0.9."""

from __future__ import annotations

import pytest

from tungban.search import services

from .corpus import QUERIES, build

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(scope="module")
def corpus(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        from django.db import connection, transaction

        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            counts = build()
            yield counts
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            connection.close()


def test_corpus_size(corpus):
    assert corpus["service"] >= 1500, corpus
    assert corpus["form"] >= 3800, corpus
    assert corpus["dataset"] >= 5500, corpus


def test_query_set_is_big_and_varied():
    assert len(QUERIES) >= 40
    assert {kind for _q, kind, _ref in QUERIES} >= {"service", "dataset", "field_help"}


def test_precision_at_3(corpus):
    found, misses = 0, []
    for q, kind, ref in QUERIES:
        language = "zh" if any("\u3400" <= ch <= "\u9fff" for ch in q) else "en"
        top = [(h.kind, h.ref) for h in services.query(q, language=language, rows=3).hits]
        if (kind, ref) in top:
            found += 1
        else:
            misses.append(f"{q!r}: expected {kind}:{ref}, got {top}")
    precision = found / len(QUERIES)
    print(f"\nprecision@3 = {precision:.3f} ({found}/{len(QUERIES)} queries; corpus {corpus})")
    for m in misses:
        print("  miss:", m)
    assert precision >= 0.9, "\n".join(misses)
