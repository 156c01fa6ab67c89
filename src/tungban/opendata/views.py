"""The public pages of 資料一線通 under ``/data/`` (issue 21): search with facets, a dataset's
page (with schema.org ``Dataset`` JSON-LD), the providers and the categories, and the
catalogue in DCAT-AP 3 (:mod:`.dcat`). Bilingual (the active language picks ``*_zh`` or
``*_en``), no JavaScript needed; an unknown dataset, provider or category is a 404 page in
the user's language. Only active datasets are shown."""

from __future__ import annotations

import csv
import json
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.http import condition, require_GET

from tungban.core.errors import NotFound

from . import dcat, errors, storage
from .constants import LICENCE_URLS, DatasetState, Licence, UpdateFrequency
from .models import Group, Organization
from .services import publishing, search

#: Results per page of the search and list pages.
PAGE_SIZE = 20
#: Rows shown in a tabular resource's preview.
PREVIEW_ROWS = 10
FACETS = ("groups", "organization", "res_format")


def zh() -> bool:
    return (get_language() or "").startswith("zh")


def pick(obj, field: str) -> str:
    """``obj.<field>_zh`` in Chinese pages, ``obj.<field>_en`` otherwise (the other language
    when that one is blank)."""
    first, second = ("zh", "en") if zh() else ("en", "zh")
    return getattr(obj, f"{field}_{first}", "") or getattr(obj, f"{field}_{second}", "")


def base_url(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def not_found(request, exc: NotFound):
    return render(request, "opendata/not_found.html", {"message": str(exc.message)}, status=404)


def _page_number(request) -> int:
    try:
        # Bounded: a page past the end shows the last one; past 10**6 the OFFSET could overflow.
        return min(max(1, int(request.GET.get("page", "1"))), 10**6)
    except ValueError:
        return 1


def _summary(ds) -> dict:
    return {
        "ds": ds,
        "title": pick(ds, "title"),
        "notes": pick(ds, "notes"),
        "organization": pick(ds.organization, "title"),
        "formats": sorted({r.format for r in ds.resources.all()}),
    }


def _pages(request, count: int, page: int) -> dict:
    pages = max(1, -(-count // PAGE_SIZE))

    def link(n):
        params = [(k, v) for k, v in request.GET.lists() if k != "page" for v in v]
        return "?" + urlencode([*params, ("page", n)])

    return {
        "page": page,
        "pages": pages,
        "previous": link(page - 1) if page > 1 else "",
        "next": link(page + 1) if page < pages else "",
    }


def _search(request, *, fixed: dict | None = None):
    """Run the search of ``request.GET`` (``q``, facet filters, ``page``) with ``fixed``
    filters added; returns the template context."""
    q = request.GET.get("q", "").strip()[:200]
    filters = {f: [v for v in request.GET.getlist(f) if v] for f in FACETS}
    for key, values in (fixed or {}).items():
        filters[key] = values
    filters = {k: v for k, v in filters.items() if v}
    page = _page_number(request)

    def run(page):
        return search.query(
            q,
            filters=filters,
            rows=PAGE_SIZE,
            start=(page - 1) * PAGE_SIZE,
            facet_fields=list(FACETS),
            language="zh" if zh() else "en",
            any_within_field=True,
        )

    result = run(page)
    if result.count and not result.datasets and page > 1:  # past the last page: show the last one
        page = -(-result.count // PAGE_SIZE)
        result = run(page)
    names = {
        "organization": {o.name: pick(o, "title") for o in Organization.objects.all()},
        "groups": {g.name: pick(g, "title") for g in Group.objects.all()},
    }
    facets = []
    for f in FACETS:
        if fixed and f in fixed:
            continue
        items = [
            {
                "value": value,
                "label": names.get(f, {}).get(value, value),
                "count": count,
                "checked": value in filters.get(f, []),
                "id": f"f-{f}-{i}",
            }
            for i, (value, count) in enumerate(result.facets.get(f, []))
        ]
        facets.append({"field": f, "items": items})
    return {
        "q": q,
        "result": result,
        "rows": [_summary(ds) for ds in result.datasets],
        "facets": facets,
        "filtered": bool(q or any(filters.get(f) for f in FACETS if not (fixed and f in fixed))),
        **_pages(request, result.count, page),
    }


@require_GET
def search_page(request):
    return render(request, "opendata/search.html", _search(request))


def _preview(resource, rows: int = PREVIEW_ROWS) -> dict | None:
    """The header and first ``rows`` rows of a tabular resource's current file."""
    if not (resource.tabular and resource.current_id):
        return None
    # Only the first rows are read (the file may be tens of megabytes; this is a public page).
    try:
        with storage.path_of(resource.current.sha256).open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            body = [row for _i, row in zip(range(rows), reader, strict=False)]
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return {"header": header, "rows": body}


_SCRIPT_SAFE = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def _json_ld(request, ds, resources: list[dict]) -> str:
    """schema.org ``Dataset`` (https://schema.org/Dataset; Google's dataset guidelines)."""
    base = base_url(request)
    licence = LICENCE_URLS.get(ds.license_id, "")
    org_url = f"{base}/data/organization/{ds.organization.name}/"
    provider = {"@type": "Organization", "name": pick(ds.organization, "title"), "url": org_url}
    doc = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "name": pick(ds, "title"),
        "alternateName": ds.title_en if zh() else ds.title_zh,
        "description": pick(ds, "notes") or pick(ds, "title"),
        "url": f"{base}/data/dataset/{ds.name}/",
        "identifier": str(ds.id),
        "inLanguage": ["en", "zh-Hant"],
        "license": licence if licence.startswith("http") else f"{base}{licence}",
        "isAccessibleForFree": True,
        "creator": provider,
        "publisher": provider,
        "keywords": [t.name for t in ds.tags.all()] + [pick(g, "title") for g in ds.groups.all()],
        "dateModified": ds.metadata_modified.isoformat(),
        "distribution": [
            {"@type": "DataDownload", "name": r["name"], "encodingFormat": d["media"], "contentUrl": d["url"]}
            for r in resources
            for d in r["downloads"]
        ],
    }
    if ds.published_at:
        doc["datePublished"] = ds.published_at.isoformat()
    # Inside <script>, "<", ">" and "&" as JSON escapes (as Django's json_script): neither
    # "</script>" nor "<!--<script>" (the "double escaped" state, HTML §13.2.5.20) can change
    # where the element ends.
    return json.dumps(doc, ensure_ascii=False).translate(_SCRIPT_SAFE)


@require_GET
def dataset_page(request, name: str):
    try:
        ds = publishing.dataset(name)
    except NotFound as exc:
        return not_found(request, exc)
    base = base_url(request)
    resources = []
    for r in ds.resources.select_related("current").order_by("position", "created"):
        downloads = []
        if r.current_id:
            for fmt, url in dcat.file_urls(base, r):
                downloads.append({"format": fmt, "url": url, "media": dcat.MEDIA_TYPES.get(fmt, "").split(";")[0]})
        archive = archive_url(base, r) if r.current_id else ""
        resources.append(
            {
                "r": r,
                "name": pick(r, "name"),
                "description": pick(r, "description"),
                "downloads": downloads,
                "fields": (r.table_schema or {}).get("fields", []) if r.tabular else [],
                "preview": _preview(r),
                "archive": archive,
                "size": r.current.size if r.current_id else None,
            }
        )
    context = {
        "ds": ds,
        "title": pick(ds, "title"),
        "notes": pick(ds, "notes"),
        "organization": pick(ds.organization, "title"),
        "groups": [{"g": g, "title": pick(g, "title")} for g in ds.groups.all()],
        "tags": [t.name for t in ds.tags.all()],
        "licence": Licence(ds.license_id).label if ds.license_id in Licence.values else ds.license_id,
        "licence_url": LICENCE_URLS.get(ds.license_id, ""),
        "frequency": UpdateFrequency(ds.update_frequency).label,
        "resources": resources,
        "json_ld": _json_ld(request, ds, resources),
        "api_url": f"/api/3/action/package_show?{urlencode({'id': ds.name})}",
    }
    return render(request, "opendata/dataset.html", context)


def archive_url(base: str, resource) -> str:
    """The historical archive's list of the resource's versions (data.gov.hk's
    ``list-file-versions`` for the file's ``url``; no date range: all of them)."""
    url = f"{base}/data/files/{resource.id}/{resource.filename}"
    return reverse("opendata_files:list_file_versions") + "?" + urlencode({"url": url})


def _active_count(prefix: str = ""):
    return Count(f"{prefix}datasets", filter=Q(**{f"{prefix}datasets__state": DatasetState.ACTIVE}), distinct=True)


@require_GET
def organization_list(request):
    orgs = Organization.objects.annotate(n=_active_count()).order_by("name")
    rows = sorted(({"o": o, "title": pick(o, "title"), "n": o.n} for o in orgs), key=lambda r: r["title"])
    return render(request, "opendata/organization_list.html", {"rows": rows})


@require_GET
def organization_page(request, name: str):
    org = Organization.objects.filter(name=name).first()
    if org is None:
        return not_found(request, errors.UnknownOrganization(name=name))
    context = _search(request, fixed={"organization": [org.name]})
    context.update(
        {"org": org, "title": pick(org, "title"), "description": pick(org, "description"), "kind": "organization"}
    )
    return render(request, "opendata/collection.html", context)


@require_GET
def group_list(request):
    groups = Group.objects.annotate(n=_active_count()).order_by("position", "name")
    rows = [{"g": g, "title": pick(g, "title"), "n": g.n} for g in groups]
    return render(request, "opendata/group_list.html", {"rows": rows})


@require_GET
def group_page(request, name: str):
    group = Group.objects.filter(name=name).first()
    if group is None:
        return not_found(request, errors.UnknownGroup(name=name))
    context = _search(request, fixed={"groups": [group.name]})
    context.update(
        {"group": group, "title": pick(group, "title"), "description": pick(group, "description"), "kind": "group"}
    )
    return render(request, "opendata/collection.html", context)


# DCAT-AP 3 ---------------------------------------------------------------------------------


def _rdf_response(body: bytes, fmt: str) -> HttpResponse:
    resp = HttpResponse(body, content_type=dcat.FORMATS[fmt][1])
    resp["Cache-Control"] = "public, max-age=60"
    resp["Access-Control-Allow-Origin"] = "*"
    return resp


def _catalog_etag(request, fmt: str) -> str:
    return dcat.catalog_etag(fmt, base_url(request))


@require_GET
@condition(etag_func=_catalog_etag)
def catalog(request, fmt: str):
    """The whole catalogue (``catalog.jsonld`` / ``catalog.ttl``), streamed from the datasets'
    cached fragments (:func:`.dcat.catalog_chunks`), with a strong ETag; a matching
    ``If-None-Match`` is answered 304 without reading them."""
    resp = StreamingHttpResponse(dcat.catalog_chunks(base_url(request), fmt), content_type=dcat.FORMATS[fmt][1])
    resp["Cache-Control"] = "public, max-age=60"
    resp["Access-Control-Allow-Origin"] = "*"
    return resp


def _dataset_etag(request, name: str, fmt: str) -> str | None:
    ds = publishing.Dataset.objects.filter(name=name, state=DatasetState.ACTIVE).values("metadata_modified").first()
    if ds is None:
        return None
    return dcat.hashlib.sha256(f"{fmt}|{base_url(request)}|{name}|{ds['metadata_modified']}".encode()).hexdigest()[:32]


@require_GET
@condition(etag_func=_dataset_etag)
def dataset_rdf(request, name: str, fmt: str):
    try:
        ds = publishing.dataset(name)
    except NotFound as exc:
        return not_found(request, exc)
    return _rdf_response(dcat.serialise(dcat.dataset_graph(base_url(request), ds), fmt), fmt)
