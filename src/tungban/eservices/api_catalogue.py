"""The e-services catalogue's JSON API, public (``/api/v1/eservices/catalogue/``, issue 17
"Catalogue"): services with filters and pagination, one service with its current form
version's JSON Schema and layout, the departments and the categories.

Every answer carries a strong ``ETag`` (RFC 9110 §8.8.3) made from the catalogue's revision
(recorded when the files are loaded: the catalogue changes only then) and the query — for one
service, also its fees in force today (the payments app's fee schedule, issue 18) — and
``Cache-Control: public, max-age=60``; a request whose ``If-None-Match`` holds it is
answered ``304 Not Modified`` with no body (RFC 9110 §13.1.2). Both languages are in every
body (``*_en``/``*_zh``), so the representation does not vary with ``Accept-Language``.

Errors have the platform's shape (:class:`tungban.core.api.ErrorOut`): ``catalogue_filter_unknown``
(422, ``field`` ``department`` or ``category``), ``catalogue_query_too_long`` (422, ``q``),
``service_unknown`` (404), ``invalid_request`` (422: a parameter of the wrong type or out of range).
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.urls import reverse
from ninja import Field, Query, Router, Schema

from tungban.core.api import conditional, error_responses

from .services import browse, fees

router = Router(tags=["eservices catalogue"])

CACHE_CONTROL = "public, max-age=60"


class ConcessionOut(Schema):
    code: str
    label_en: str
    label_zh: str
    amount_cents: int = Field(description="HK$ cents paid with this concession")


class FeeItemOut(Schema):
    code: str
    label_en: str
    label_zh: str
    amount_cents: int | None = Field(
        description="HK$ cents in force today (the fee schedule, `tungban load_fees`); null when not priced today"
    )
    illustrative: bool = Field(False, description="true: a placeholder amount, not a gazetted figure")
    concessions: list[ConcessionOut] = Field(default_factory=list)


class ServiceSummaryOut(Schema):
    slug: str
    department: str = Field(description="Department code, e.g. SWD")
    name_en: str
    name_zh: str
    summary_en: str
    summary_zh: str
    category: str
    online: bool = Field(description="Fully electronic on tungban (apply, pay, receive: 申請、付款、領證)")
    identity_login: str = Field(description="tungban login: required | allowed | no")
    corpid: str = Field(description="CorpID: required | allowed | no")
    gba_cities: list[str] = Field(description="Greater Bay Area cities it can be used from (跨境通辦)")
    kiosk: bool = Field(description="At the cross-boundary self-service kiosks")
    pledge_working_days: int | None


class ServiceListOut(Schema):
    total: int
    page: int
    per_page: int
    pages: int
    items: list[ServiceSummaryOut]


class DocumentOut(Schema):
    label_en: str
    label_zh: str


class FormOut(Schema):
    slug: str
    version: int
    digest: str = Field(description="SHA-256 of the version's schema and layout; send it back as version_digest")
    title_en: str
    title_zh: str
    answers_schema: dict = Field(description="JSON Schema (draft 2020-12) of the answers")
    layout: dict = Field(description="Pages, conditions, bilingual labels and help (catalogue/README.md)")


class ServiceOut(ServiceSummaryOut):
    description_en: str
    description_zh: str
    eligibility_en: str
    eligibility_zh: str
    channels: list[str]
    fee_items: list[FeeItemOut]
    documents: list[DocumentOut] = Field(description="The file's documents, then the form's upload fields")
    signature: str = Field(description="tungban+ signature of the declaration: required | allowed | no")
    second_approval: bool
    credential_type: str = Field(description="The e-licence type issued on approval, or empty")
    external_url: str = Field(description="The department's page (how to apply elsewhere)")
    apply_url: str | None = Field(description="Where a resident applies on tungban, when online")
    form: FormOut | None


class DepartmentOut(Schema):
    code: str
    name_en: str
    name_zh: str
    website: str
    services: int = Field(description="Listed services")


class CategoryOut(Schema):
    code: str
    label_en: str
    label_zh: str
    services: int


class ListFilters(Schema):
    q: str = Field("", description="Words that must all occur in the name or summary (English or Chinese)")
    department: str = Field("", description="A department code")
    category: str = Field("", description="A category code")
    online: bool = Field(False, description="Only services fully electronic on tungban")
    cross_boundary: bool = Field(False, description="Only cross-boundary (跨境通辦) services")
    corpid: bool = Field(False, description="Only services that accept CorpID")
    page: int = Field(1, ge=1)
    per_page: int = Field(browse.DEFAULT_PER_PAGE, ge=1, le=browse.MAX_PER_PAGE)


def _cached(request, response: HttpResponse, *parts: str) -> HttpResponse | None:
    """Set the ETag and caching headers on ``response``; a ``304`` when the client has it."""
    return conditional(request, response, browse.etag(*parts), CACHE_CONTROL)


def _summary(s) -> dict:
    return {
        "slug": s.slug,
        "department": s.department_id,
        "name_en": s.name_en,
        "name_zh": s.name_zh,
        "summary_en": s.summary_en,
        "summary_zh": s.summary_zh,
        "category": s.category,
        "online": s.online and s.form_id is not None,
        "identity_login": s.identity_login,
        "corpid": s.corpid,
        "gba_cities": s.gba_cities,
        "kiosk": s.kiosk,
        "pledge_working_days": s.pledge_working_days,
    }


@router.get(
    "/services",
    response={200: ServiceListOut, 304: None, **error_responses(422)},
    auth=None,
    summary="The catalogue's services, filtered, a page at a time (public)",
)
def list_services(request, response: HttpResponse, filters: Query[ListFilters]):
    """Listed services ordered by department then English name. A page past the last has no
    ``items``. Errors: ``catalogue_filter_unknown``, ``catalogue_query_too_long`` (422)."""
    query = browse.check(browse.Query(text=filters.q, **filters.model_dump(exclude={"q"})))
    cached = _cached(request, response, "services", query.canonical())
    if cached is not None:
        return cached
    results = browse.find(query)
    return {
        "total": results.total,
        "page": results.page,
        "per_page": results.per_page,
        "pages": results.pages,
        "items": [_summary(s) for s in results.services],
    }


@router.get(
    "/services/{slug}",
    response={200: ServiceOut, 304: None, **error_responses(404)},
    auth=None,
    summary="One service, with its current form version's schema and layout (public)",
)
def get_service(request, response: HttpResponse, slug: str):
    """Errors: ``service_unknown`` (404; also for a withdrawn service)."""
    svc, version = browse.service(slug)
    fee_rows = fees.fee_rows(svc)  # the fee schedule changes apart from the catalogue (and with the date)
    cached = _cached(request, response, "service", slug, json.dumps(fee_rows, sort_keys=True, default=str))
    if cached is not None:
        return cached
    form = None
    if version is not None:
        form = {
            "slug": svc.form.slug,
            "version": version.number,
            "digest": version.digest,
            "title_en": svc.form.title_en,
            "title_zh": svc.form.title_zh,
            "answers_schema": version.schema,
            "layout": version.layout,
        }
    online = svc.online and version is not None
    return {
        **_summary(svc),
        "description_en": svc.description_en,
        "description_zh": svc.description_zh,
        "eligibility_en": svc.eligibility_en,
        "eligibility_zh": svc.eligibility_zh,
        "channels": svc.channels,
        "fee_items": [
            {k: row[k] for k in ("code", "label_en", "label_zh", "amount_cents", "illustrative", "concessions")}
            for row in fee_rows
        ],
        "documents": browse.documents(svc, version),
        "signature": svc.signature,
        "second_approval": svc.second_approval,
        "credential_type": svc.credential_type,
        "external_url": svc.external_url,
        "apply_url": request.build_absolute_uri(reverse("eservices:apply", args=[svc.slug])) if online else None,
        "form": form,
    }


@router.get(
    "/departments",
    response={200: list[DepartmentOut], 304: None},
    auth=None,
    summary="The departments and how many services each lists (public)",
)
def list_departments(request, response: HttpResponse):
    cached = _cached(request, response, "departments")
    if cached is not None:
        return cached
    return browse.departments()


@router.get(
    "/categories",
    response={200: list[CategoryOut], 304: None},
    auth=None,
    summary="The categories with listed services (public)",
)
def list_categories(request, response: HttpResponse):
    cached = _cached(request, response, "categories")
    if cached is not None:
        return cached
    return browse.categories()
