"""The public catalogue as residents and department systems read it (issue 17, "Catalogue"):
browsing by department and category, the filters (fully electronic here, cross-boundary
跨境通辦, CorpID accepted), a search by name in either language, pages of results, and the
catalogue's revision from which the API's strong ETags are made.

Every function here reads a bounded number of queries whatever the catalogue's size (the
seeds: about 1,480 services and over 3,800 forms, 002 ITIB200); ``test_catalogue_pages``
counts them. The search is a simple, correct substring match (Chinese included: no word
segmentation is needed for a substring); the full-text index is the 1823 search issue's.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from dataclasses import dataclass, field

from django.db.models import Count, Q

from .. import errors
from ..models import CatalogueRevision, Department, FormVersion, Requirement, Service

#: ``(English, Chinese)`` labels of the categories the catalogue files use (``category`` of a service file). A
#: category missing here is shown by its code.
CATEGORIES = {
    "elderly": ("Elderly", "長者"),
    "welfare": ("Social welfare", "社會福利"),
    "health": ("Health", "醫療衞生"),
    "food": ("Food and hawkers", "食物及小販"),
    "buildings": ("Buildings and fire safety", "樓宇及消防安全"),
    "business-licences": ("Business licences", "營業牌照"),
    "business": ("Starting and running a business", "開業及營商"),
    "tax": ("Tax", "稅務"),
    "transport": ("Driving and vehicles", "駕駛及車輛"),
    "immigration": ("Travel and immigration", "旅遊及出入境"),
    "personal-documents": ("Births, marriages and documents", "出生、婚姻及證明文件"),
    "property": ("Land and property", "土地及物業"),
    "housing": ("Housing", "房屋"),
    "utilities": ("Water and utilities", "水務及公用事業"),
    "leisure": ("Sports and libraries", "康體及圖書館"),
    "culture": ("Culture and tourism", "文化及旅遊"),
    "employment": ("Jobs and employment", "就業"),
    "environment": ("Environment and waste", "環境及廢物"),
}

#: The Greater Bay Area cities of the cross-boundary facet (the seeds: kiosks in Guangzhou,
#: Shenzhen, Zhuhai, Foshan, Huizhou and Dongguan, then all nine Mainland cities; 002 ITIB190).
CITIES = {
    "Guangzhou": "廣州",
    "Shenzhen": "深圳",
    "Zhuhai": "珠海",
    "Foshan": "佛山",
    "Huizhou": "惠州",
    "Dongguan": "東莞",
    "Zhongshan": "中山",
    "Jiangmen": "江門",
    "Zhaoqing": "肇慶",
    "Macao": "澳門",
}

CHANNELS = {
    "online": ("Online, on the department's site", "網上（部門網站）"),
    "app": ("Mobile app", "流動應用程式"),
    "counter": ("In person at a counter", "親臨櫃位"),
    "post": ("By post", "郵寄"),
    "kiosk": ("Self-service kiosk", "自助服務機"),
    "phone": ("By phone", "電話"),
    "fax": ("By fax", "傳真"),
    "email": ("By email", "電郵"),
}

#: Longest search text (characters) and largest page (services).
MAX_QUERY = 100
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20


def category_label(code: str, lang: str) -> str:
    """The category's name in ``lang`` (``"en"`` or ``"zh"``), or its code."""
    entry = CATEGORIES.get(code)
    if entry is None:
        return code
    return entry[1] if lang == "zh" else entry[0]


def city_label(city: str, lang: str) -> str:
    return CITIES.get(city, city) if lang == "zh" else city


def channel_label(code: str, lang: str) -> str:
    entry = CHANNELS.get(code)
    return (entry[1] if lang == "zh" else entry[0]) if entry else code


def normalise(text: str) -> str:
    """The search text as compared: NFKC (full-width letters and digits become ASCII),
    whitespace collapsed. :raises DomainError: ``catalogue_query_too_long`` over
    :data:`MAX_QUERY` characters."""
    text = " ".join(unicodedata.normalize("NFKC", text or "").split())
    if len(text) > MAX_QUERY:
        raise errors.CatalogueQueryTooLong(limit=MAX_QUERY)
    return text


@dataclass(frozen=True)
class Query:
    """What a reader asks of the catalogue: ``text`` (every word must occur in the service's
    name or summary, English or Chinese, case-insensitively), ``department`` (a code),
    ``category`` (a code), ``online`` (fully electronic here), ``cross_boundary`` (GBA cities
    or a kiosk), ``corpid`` (CorpID required or allowed), ``page`` (from 1), ``per_page``."""

    text: str = ""
    department: str = ""
    category: str = ""
    online: bool = False
    cross_boundary: bool = False
    corpid: bool = False
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    def canonical(self) -> str:
        """The query as a stable string (part of the ETag)."""
        return "|".join(
            str(v)
            for v in (
                self.text.casefold(),
                self.department,
                self.category,
                self.online,
                self.cross_boundary,
                self.corpid,
                self.page,
                self.per_page,
            )
        )


@dataclass
class Results:
    """One page of services (``services``: with their departments loaded), ``total`` matching,
    ``page`` and ``pages`` (at least 1)."""

    services: list[Service]
    total: int
    page: int
    per_page: int
    pages: int = field(init=False)

    def __post_init__(self):
        self.pages = max(1, math.ceil(self.total / self.per_page))


def listed():
    return Service.objects.filter(listed=True)


def check(query: Query) -> Query:
    """``query`` with its text normalised, refusing a department or category the catalogue
    does not have (one query each).

    :raises DomainError: ``catalogue_filter_unknown`` (field ``department`` or ``category``),
        ``catalogue_query_too_long``.
    """
    text = normalise(query.text)
    department = query.department.strip().upper()
    if department and not Department.objects.filter(code=department).exists():
        raise errors.CatalogueFilterUnknown(value=department, field="department")
    category = query.category.strip().lower()
    if category and not listed().filter(category=category).exists():
        raise errors.CatalogueFilterUnknown(value=category, field="category")
    per_page = min(max(int(query.per_page), 1), MAX_PER_PAGE)
    return Query(
        text=text,
        department=department,
        category=category,
        online=query.online,
        cross_boundary=query.cross_boundary,
        corpid=query.corpid,
        page=max(int(query.page), 1),
        per_page=per_page,
    )


def matching(query: Query):
    """The listed services matching ``query`` (a queryset, ordered by department then name)."""
    qs = listed()
    for word in query.text.split():
        qs = qs.filter(
            Q(name_en__icontains=word)
            | Q(name_zh__icontains=word)
            | Q(summary_en__icontains=word)
            | Q(summary_zh__icontains=word)
        )
    if query.department:
        qs = qs.filter(department_id=query.department)
    if query.category:
        qs = qs.filter(category=query.category)
    if query.online:
        qs = qs.filter(online=True, form__isnull=False)
    if query.cross_boundary:
        # ``gba_cities__0``: the list has a first element (JSON path; SQLite and PostgreSQL).
        qs = qs.filter(Q(kiosk=True) | Q(gba_cities__0__isnull=False))
    if query.corpid:
        qs = qs.filter(corpid__in=[Requirement.REQUIRED, Requirement.ALLOWED])
    return qs.order_by("department_id", "name_en", "slug")


def find(query: Query) -> Results:
    """One page of the services matching ``query`` (already :func:`check`-ed): two queries
    (the count, the page with its departments). A page past the last is empty."""
    qs = matching(query)
    total = qs.count()
    start = (query.page - 1) * query.per_page
    services = list(qs.select_related("department")[start : start + query.per_page]) if start < total else []
    return Results(services=services, total=total, page=query.page, per_page=query.per_page)


def departments() -> list[dict]:
    """Every department with the number of services it lists: ``[{"code", "name_en",
    "name_zh", "website", "services"}]`` (one query)."""
    rows = Department.objects.annotate(listed_services=Count("services", filter=Q(services__listed=True)))
    return [
        {
            "code": d.code,
            "name_en": d.name_en,
            "name_zh": d.name_zh,
            "website": d.website,
            "services": d.listed_services,
        }
        for d in rows.order_by("code")
    ]


def categories() -> list[dict]:
    """The categories with listed services: ``[{"code", "label_en", "label_zh", "services"}]``
    (one query)."""
    rows = listed().values("category").annotate(n=Count("pk")).order_by("category")
    return [
        {
            "code": r["category"],
            "label_en": category_label(r["category"], "en"),
            "label_zh": category_label(r["category"], "zh"),
            "services": r["n"],
        }
        for r in rows
    ]


def service(slug: str) -> tuple[Service, FormVersion | None]:
    """A listed service (with its department) and its form's current version, if any.

    :raises DomainError: ``service_unknown`` (also for a withdrawn service, ``listed = false``).
    """
    found = listed().select_related("department", "form").filter(slug=slug).first()
    if found is None:
        raise errors.ServiceUnknown(field="slug")
    version = found.form.current_version() if found.form_id else None
    return found, version


def documents(svc: Service, version: FormVersion | None) -> list[dict]:
    """What an applicant has ready: the service file's ``documents``, then each upload field of
    its current form (``[{"label_en", "label_zh"}]``)."""
    out = [dict(d) for d in svc.documents]
    if version is not None:
        for spec in _file_fields(version.layout.get("fields", {})):
            item = {"label_en": spec.get("label_en", ""), "label_zh": spec.get("label_zh", "")}
            if item not in out:
                out.append(item)
    return out


def _file_fields(fields: dict):
    for spec in fields.values():
        if spec.get("kind") == "file":
            yield spec
        elif spec.get("kind") == "group":
            yield from _file_fields(spec.get("item") or {})


def compute_revision() -> str:
    """SHA-256 over every department, service source file and form version in the database."""
    h = hashlib.sha256()
    for row in Department.objects.order_by("code").values_list("code", "name_en", "name_zh", "website"):
        h.update(repr(row).encode())
    for row in Service.objects.order_by("slug").values_list("slug", "source_digest", "listed"):
        h.update(repr(row).encode())
    for row in FormVersion.objects.order_by("form_id", "number").values_list("form__slug", "number", "digest"):
        h.update(repr(row).encode())
    return h.hexdigest()


def record_revision() -> str:
    """Store the catalogue's revision (after a load, in its transaction); returns it."""
    digest = compute_revision()
    CatalogueRevision.objects.update_or_create(pk=1, defaults={"digest": digest})
    return digest


def revision() -> str:
    """The catalogue's revision as last recorded (one query), or computed when none is."""
    digest = CatalogueRevision.objects.filter(pk=1).values_list("digest", flat=True).first()
    return digest or compute_revision()


def etag(*parts: str) -> str:
    """A strong ETag (RFC 9110 §8.8.3) for a representation made from the catalogue's
    :func:`revision` and ``parts`` (the resource and its query)."""
    h = hashlib.sha256(revision().encode())
    for part in parts:
        h.update(b"\0" + part.encode())
    return '"' + h.hexdigest()[:32] + '"'
