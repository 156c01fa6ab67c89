"""The search API (issue 22): ``GET /api/v1/search/?q=&kind=&department=&page=&lang=``, public.

One page of :func:`tungban.search.services.query`'s results (10 a page, pages 1–100), in
``lang`` (``en`` or ``zh-hant``; default: the request's language), with the facets and
``corrected`` (the query actually searched after typo correction, else null). ``kind`` and
``department`` may be repeated (any of them). ``Cache-Control: public, max-age=60``.

Errors have the platform's shape (:class:`tungban.core.api.ErrorOut`), all 422:
``query_empty``, ``query_too_long`` (over 200 characters), ``unknown_kind``,
``unknown_department``, ``page_invalid``, and ``invalid_request`` (a parameter of the wrong
type).
"""

from __future__ import annotations

import math

from django.http import HttpResponse
from django.utils import translation
from ninja import Field, Query, Router, Schema

from tungban.core.api import error_responses

from . import errors, services

router = Router(tags=["search"])

PER_PAGE = 10
MAX_PAGE = 100


class ActionOut(Schema):
    kind: str = Field(description="apply | pay | ask | download | read")
    url: str = Field(description="Site path (or absolute URL) of the action")
    label: str


class HitOut(Schema):
    kind: str = Field(description="service | form | field_help | faq | dataset")
    ref: str = Field(description="Stable id within the kind (a service's slug, a dataset's name, form.field)")
    title: str
    text: str
    snippet: str = Field(description="At most about 180 characters of the text, around the first match")
    url: str
    actions: list[ActionOut]
    department: str = Field(description='Department code, or ""')
    department_name: str
    score: float = Field(description="Rank (higher first; 0 for a best bet); comparable only within one answer")
    best_bet: bool = Field(description="Curated by staff for this query; listed first")


class FacetOut(Schema):
    value: str
    label: str
    count: int


class FacetsOut(Schema):
    kind: list[FacetOut]
    department: list[FacetOut]


class SearchOut(Schema):
    query: str
    corrected: str | None = Field(description="The query actually searched after typo correction; null if none")
    language: str = Field(description="en | zh-hant")
    count: int
    page: int
    per_page: int
    pages: int
    hits: list[HitOut]
    facets: FacetsOut


class SearchIn(Schema):
    q: str = Field("", description="What the resident typed: English, Traditional or Simplified Chinese (≤ 200)")
    kind: list[str] = Field(default_factory=list, description="Only these kinds (repeatable)")
    department: list[str] = Field(default_factory=list, description="Only these departments' codes (repeatable)")
    page: int = Field(1, description="1 to 100")
    lang: str = Field("", description="en | zh-hant (default: the request's language)")


def language_of(lang: str) -> str:
    """``"zh-hant"`` or ``"en"`` for a ``lang`` parameter or, when empty, the active language."""
    lang = (lang or translation.get_language() or "en").lower()
    return "zh-hant" if lang.startswith("zh") else "en"


def _facets(results: services.Results) -> dict:
    return {
        name: [{"value": v, "label": label, "count": n} for v, label, n in values]
        for name, values in results.facets.items()
    }


@router.get(
    "/",
    response={200: SearchOut, **error_responses(422)},
    summary="Search services, forms, form help, FAQs and open data",
    auth=None,
)
def search(request, response: HttpResponse, params: Query[SearchIn]):
    """The one search: the best results first (best bets on top), facets by kind and department."""
    if not 1 <= params.page <= MAX_PAGE:
        raise errors.BadPage()
    language = language_of(params.lang)
    with translation.override(language):
        results = services.query(
            params.q,
            kinds=params.kind,
            departments=params.department,
            language=language,
            rows=PER_PAGE,
            start=(params.page - 1) * PER_PAGE,
        )
    response["Cache-Control"] = "public, max-age=60"
    return {
        "query": results.query,
        "corrected": results.corrected,
        "language": language,
        "count": results.count,
        "page": params.page,
        "per_page": PER_PAGE,
        "pages": max(1, math.ceil(results.count / PER_PAGE)),
        "hits": [vars(h) for h in results.hits],
        "facets": _facets(results),
    }
