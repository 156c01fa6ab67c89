"""The CKAN Action API v3, read subset (issue 21, part oapi), so that CKAN's clients
(``ckanapi``, data.gov.hk's own scripts, harvesters) read the catalogue unchanged.

``/api/3/action/<action>`` (and ``/api/action/<action>``, which ``ckanapi`` calls) answer in
English; ``/en-data/api/3/action/…`` in English, ``/tc-data/…`` in Traditional Chinese and
``/sc-data/…`` in Simplified Chinese (OpenCC ``t2s`` of the Chinese text), as data.gov.hk's
prefixes do. GET with query parameters or POST with a JSON object body (or a form), as CKAN
accepts. The answer is CKAN's envelope (CKAN 2.10 docs, "API guide", *Making an API
request*)::

    {"help": "<help_show URL>", "success": true, "result": ...}
    {"help": ..., "success": false,
     "error": {"__type": "Not Found Error" | "Validation Error" | "Authorization Error",
               "message": "...", "code": "<our error code>", "<field>": ["..."]}}

with CKAN's statuses: 404 not found, 409 validation, 403 authorization, 400 for an unknown
action (``Bad request - Action name not known: <name>``). GET answers carry
``Access-Control-Allow-Origin: *``; ``package_show`` and ``package_search`` answers carry a
strong ETag (SHA-256 of the body) and answer ``If-None-Match`` with 304.

Actions: ``package_list``, ``package_show``, ``package_search``, ``resource_show``,
``organization_list``, ``organization_show``, ``group_list``, ``group_show``, ``tag_list``,
``status_show``, ``help_show``, ``datastore_search`` — each documented below and in
``docs/integrators.md``; the OpenAPI document is ``/api/3/openapi.json``.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import re
from collections.abc import Callable
from urllib.parse import urlencode

from django.db.models import Count, Prefetch
from django.http import HttpResponse, JsonResponse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt

from tungban.core.api import conditional
from tungban.core.errors import DomainError, Forbidden, NotFound

from . import errors, storage
from .constants import DatasetState, Format, UsageKind, VersionState
from .models import Dataset, Group, Organization, Resource, Tag
from .services import search, usage

#: CKAN's limits: ``package_search`` ``rows`` (CKAN's ``ckan.search.rows_max``) and
#: ``datastore_search`` ``limit`` (CKAN's ``ckan.datastore.search.rows_max``).
ROWS_MAX = 1000
DATASTORE_LIMIT_DEFAULT = 100
DATASTORE_LIMIT_MAX = 32000
#: Fields an ``fq`` clause may name (Solr's ``field:value``); ``dataset_type:dataset`` and
#: ``state:active``, which CKAN's own front end sends, are accepted and match everything.
FQ_FIELDS = (*search.FACET_FIELDS, "name")
_FQ_NOOP = {"dataset_type": "dataset", "state": "active"}
_FQ_CLAUSE = re.compile(r'\s*(?:(AND)(?=\s)|\+?([a-z_]+):(?:"((?:[^"\\]|\\.)*)"|([^\s"()]+)))\s*')

#: Languages of the URL prefixes: ``en`` English, ``zh`` Traditional, ``sc`` Simplified.
PREFIXES = {"": "en", "en-data/": "en", "tc-data/": "zh", "sc-data/": "sc"}

ACTIONS: dict[str, Callable] = {}


def action(fn):
    ACTIONS[fn.__name__] = fn
    return fn


class Call:
    """One action call: its parameters, language and request (for absolute URLs)."""

    def __init__(self, request, params: dict, lang: str, prefix: str):
        self.request, self.params, self.lang, self.prefix = request, params, lang, prefix

    # --- parameters -----------------------------------------------------------------------
    def get(self, name: str, default=None):
        value = self.params.get(name, default)
        return default if value == "" else value

    def required(self, name: str) -> str:
        value = self.get(name)
        if value in (None, ""):
            raise errors.MissingParameter(field=name)
        return str(value)

    def integer(self, name: str, default: int, lo: int = 0, hi: int = 2**31 - 1) -> int:
        value = self.get(name, default)
        try:
            n = int(value)
            if isinstance(value, float | bool) or not lo <= n <= hi:
                raise ValueError
        except (TypeError, ValueError):
            raise errors.InvalidInteger(min=lo, max=hi, field=name) from None
        return n

    def boolean(self, name: str, default: bool) -> bool:
        value = self.get(name, default)
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "1", "yes", "on")

    def json(self, name: str, kind: type, default):
        value = self.get(name, default)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise errors.InvalidJSON(kind=kind.__name__, field=name) from None
        if not isinstance(value, kind):
            raise errors.InvalidJSON(kind=kind.__name__, field=name)
        return value

    # --- language and URLs ----------------------------------------------------------------
    def text(self, en: str, zh: str) -> str:
        if self.lang == "en":
            return en or zh
        zh = zh or en
        return search.to_simplified(zh) if self.lang == "sc" else zh

    def absolute(self, path: str) -> str:
        return self.request.build_absolute_uri(path)

    def help_url(self, name: str) -> str:
        return self.absolute(f"/{self.prefix}api/3/action/help_show?name={name}")


# --- dictionaries in CKAN's shapes -----------------------------------------------------------


def _iso(dt) -> str | None:
    return dt.replace(tzinfo=None).isoformat() if dt else None  # CKAN: naive UTC ISO 8601


def _org_dict(call: Call, org: Organization, package_count: int | None = None) -> dict:
    d = {
        "id": str(org.id),
        "name": org.name,
        "title": call.text(org.title_en, org.title_zh),
        "display_name": call.text(org.title_en, org.title_zh),
        "description": call.text(org.description_en, org.description_zh),
        "title_en": org.title_en,
        "title_zh": org.title_zh,
        "image_url": "",
        "created": _iso(org.created),
        "is_organization": True,
        "type": "organization",
        "state": "active",
        "approval_status": "approved",
    }
    if package_count is not None:
        d["package_count"] = package_count
    return d


def _group_dict(call: Call, g: Group, package_count: int | None = None) -> dict:
    d = {
        "id": str(g.id),
        "name": g.name,
        "title": call.text(g.title_en, g.title_zh),
        "display_name": call.text(g.title_en, g.title_zh),
        "description": call.text(g.description_en, g.description_zh),
        "title_en": g.title_en,
        "title_zh": g.title_zh,
        "image_display_url": "",
        "is_organization": False,
        "type": "group",
        "state": "active",
        "approval_status": "approved",
    }
    if package_count is not None:
        d["package_count"] = package_count
    return d


def _public(r: Resource) -> bool:
    """A resource is public once it has a published current version, or is an API address
    (a resource added to a published dataset waits, unseen, for its approval)."""
    return r.current_id is not None or bool(r.api_url)


def _resource_dict(call: Call, r: Resource) -> dict:
    v = r.current
    url = r.api_url if r.format == Format.API or (r.api_url and v is None) else ""
    if not url:
        url = call.absolute(f"/data/files/{r.id}/{r.filename}")
    return {
        "id": str(r.id),
        "package_id": str(r.dataset_id),
        "name": call.text(r.name_en, r.name_zh),
        "description": call.text(r.description_en, r.description_zh),
        "name_en": r.name_en,
        "name_zh": r.name_zh,
        "url": url,
        "format": r.format,
        "mimetype": v.media_type if v else None,
        "size": v.size if v else None,
        "hash": f"sha256:{v.sha256}" if v else "",
        "created": _iso(r.created),
        "last_modified": _iso(r.last_modified),
        "position": r.position,
        "datastore_active": bool(v) and r.format == Format.CSV,
        "state": "active",
        "url_type": None,
    }


def _package_dict(call: Call, ds: Dataset) -> dict:
    tags = sorted(ds.tags.all(), key=lambda t: t.name)
    resources = sorted((r for r in ds.resources.all() if _public(r)), key=lambda r: (r.position, r.created))
    groups = list(ds.groups.all())
    return {
        "id": str(ds.id),
        "name": ds.name,
        "type": "dataset",
        "title": call.text(ds.title_en, ds.title_zh),
        "notes": call.text(ds.notes_en, ds.notes_zh),
        "title_en": ds.title_en,
        "title_zh": ds.title_zh,
        "notes_en": ds.notes_en,
        "notes_zh": ds.notes_zh,
        "owner_org": str(ds.organization_id),
        "organization": _org_dict(call, ds.organization),
        "groups": [_group_dict(call, g) for g in groups],
        "tags": [{"id": str(t.pk), "name": t.name, "display_name": t.name, "state": "active"} for t in tags],
        "resources": [_resource_dict(call, r) for r in resources],
        "license_id": ds.license_id,
        "license_title": str(ds.get_license_id_display()),
        "update_frequency": ds.update_frequency,
        "maintainer_email": ds.maintainer_email or None,
        "private": False,
        "isopen": True,
        "state": ds.state,
        "metadata_created": _iso(ds.metadata_created),
        "metadata_modified": _iso(ds.metadata_modified),
        "num_resources": len(resources),
        "num_tags": len(tags),
        "url": call.absolute(f"/data/dataset/{ds.name}/"),
    }


def _datasets():
    resources = Resource.objects.select_related("current")
    return (
        Dataset.objects.filter(state=DatasetState.ACTIVE)
        .select_related("organization")
        .prefetch_related("groups", "tags", Prefetch("resources", queryset=resources))
    )


# --- actions ---------------------------------------------------------------------------------


@action
def package_list(call: Call) -> list[str]:
    """The names of the published datasets, by name. ``limit`` (default all), ``offset``."""
    offset = call.integer("offset", 0)
    names = Dataset.objects.filter(state=DatasetState.ACTIVE).order_by("name").values_list("name", flat=True)
    limit = call.get("limit")
    if limit is None:
        return list(names[offset:])
    limit = call.integer("limit", 0)
    return list(names[offset : offset + limit])


def _dataset(call: Call, ident: str) -> Dataset:
    qs = _datasets()
    ds = qs.filter(name=ident).first()
    if ds is None and re.fullmatch(r"[0-9a-fA-F-]{32,36}", ident):
        ds = qs.filter(id=ident).first()
    if ds is None:
        raise errors.UnknownDataset(name=ident, field="id")
    return ds


@action
def package_show(call: Call) -> dict:
    """A published dataset: ``id`` is its name or UUID (counted as an API use of the dataset).
    :raises: Not Found Error."""
    ds = _dataset(call, call.required("id"))
    usage.record(ds.pk, None, UsageKind.API)
    return _package_dict(call, ds)


def parse_fq(fq: str) -> dict[str, list[str]]:
    """Solr-style filter clauses ``field:value`` / ``field:"quoted value"``, separated by
    spaces or ``AND`` (a leading ``+`` allowed), ``field`` in :data:`FQ_FIELDS` →
    ``{field: [value, ...]}`` (all must hold). ``dataset_type:dataset`` and ``state:active``
    are accepted and add nothing; another value of theirs matches nothing (``name`` filter
    ``""``). :raises Conflict: ``invalid_fq`` (a clause that is not one of these)."""
    out: dict[str, list[str]] = {}
    pos, fq = 0, (fq or "").strip()
    fields = ", ".join(FQ_FIELDS)
    while pos < len(fq):
        m = _FQ_CLAUSE.match(fq, pos)
        if not m or m.end() == pos:
            raise errors.InvalidFq(clause=fq[pos:][:60], fields=fields)
        pos = m.end()
        if m.group(1):
            continue
        name = m.group(2)
        value = m.group(3) if m.group(3) is not None else m.group(4)
        value = re.sub(r"\\(.)", r"\1", value)
        if name in _FQ_NOOP:
            if value.strip('"') != _FQ_NOOP[name]:
                out.setdefault("name", []).append("")
            continue
        if name not in FQ_FIELDS:
            raise errors.InvalidFq(clause=m.group(0).strip(), fields=fields)
        out.setdefault(name, []).append(value)
    return out


_Q_FIELD = re.compile(r'(?<!\S)\+?([a-z_]+):(?:"((?:[^"\\]|\\.)*)"|([^\s"()]+))')


def _fields_of_q(q: str) -> tuple[str, dict[str, list[str]]]:
    """``q`` without its ``field:value`` terms for the :data:`FQ_FIELDS` (CKAN's clients send
    ``q=tags:economy``), and those terms as filters; other text is left to the search."""
    found: dict[str, list[str]] = {}

    def take(m: re.Match) -> str:
        if m.group(1) not in FQ_FIELDS:
            return m.group(0)
        value = m.group(2) if m.group(2) is not None else m.group(3)
        found.setdefault(m.group(1), []).append(re.sub(r"\\(.)", r"\1", value))
        return " "

    return _Q_FIELD.sub(take, q).strip(), found


def _display(call: Call, field: str, values: list[str]) -> dict[str, str]:
    if field == "organization":
        rows = Organization.objects.filter(name__in=values).values_list("name", "title_en", "title_zh")
    elif field == "groups":
        rows = Group.objects.filter(name__in=values).values_list("name", "title_en", "title_zh")
    else:
        return {v: v for v in values}
    return {name: call.text(en, zh) for name, en, zh in rows}


@action
def package_search(call: Call) -> dict:
    """Search the published datasets. ``q`` (English, Traditional or Simplified Chinese;
    its ``field:value`` terms for the ``fq`` fields filter as ``fq`` does),
    ``fq`` (:func:`parse_fq`), ``rows`` (0–1000, default 10), ``start``, ``sort`` (``score
    desc``, ``metadata_modified desc``, ``name asc``, ``title_string asc``), ``facet``
    (default true), ``facet.field`` (a JSON list of ``organization``, ``groups``,
    ``res_format``, ``tags``, ``license_id``), ``facet.limit`` (default 50, −1 all),
    ``facet.mincount`` (default 1). Result ``{count, sort, facets, search_facets, results}``.
    :raises: Validation Error (rows over 1000, bad ``fq``, sort, facet field, JSON)."""
    q, in_q = _fields_of_q(str(call.get("q", "") or ""))
    filters = parse_fq(str(call.get("fq", "") or ""))
    for name, values in in_q.items():
        filters.setdefault(name, []).extend(values)
    rows = call.integer("rows", 10, 0, ROWS_MAX)
    start = call.integer("start", 0)
    sort = str(call.get("sort", "") or "").strip()
    sort = re.sub(r"\s+", " ", sort)
    if sort and sort not in search.SORTS:
        raise errors.InvalidSort(sorts=", ".join(search.SORTS))
    facet_fields = call.json("facet.field", list, []) if call.boolean("facet", True) else []
    if any(f not in search.FACET_FIELDS for f in facet_fields):
        raise errors.InvalidFacetField(fields=", ".join(search.FACET_FIELDS))
    facet_limit = call.integer("facet.limit", 50, -1)
    mincount = call.integer("facet.mincount", 1)
    result = search.query(
        q,
        filters=filters,
        sort=sort,
        rows=rows,
        start=start,
        facet_fields=facet_fields,
        language="en" if call.lang == "en" else "zh",
    )
    facets, search_facets = {}, {}
    for f in facet_fields:
        items = [(v, n) for v, n in result.facets.get(f, []) if n >= mincount]
        if facet_limit >= 0:
            items = items[:facet_limit]
        names = _display(call, f, [v for v, _n in items])
        facets[f] = dict(items)
        search_facets[f] = {
            "title": f,
            "items": [{"name": v, "display_name": names.get(v, v), "count": n} for v, n in items],
        }
    return {
        "count": result.count,
        "sort": sort or ("score desc, metadata_modified desc" if q.strip() else "metadata_modified desc"),
        "facets": facets,
        "search_facets": search_facets,
        "results": [_package_dict(call, ds) for ds in result.datasets],
    }


def _resource(ident: str) -> Resource:
    r = None
    if re.fullmatch(r"[0-9a-fA-F-]{32,36}", ident or ""):
        r = (
            Resource.objects.select_related("current", "dataset")
            .filter(id=ident, dataset__state=DatasetState.ACTIVE)
            .first()
        )
    if r is None or not _public(r):
        raise errors.UnknownResource(id=ident, field="id")
    return r


@action
def resource_show(call: Call) -> dict:
    """A resource of a published dataset, by ``id`` (UUID). :raises: Not Found Error."""
    return _resource_dict(call, _resource(call.required("id")))


def _list(call: Call, model, counts_of: Callable, as_dict: Callable) -> list:
    offset = call.integer("offset", 0)
    limit = call.integer("limit", 1000, 0, ROWS_MAX)
    rows = model.objects.order_by("name")[offset : offset + limit]
    if not call.boolean("all_fields", False):
        return [r.name for r in rows]
    counts = counts_of()
    return [as_dict(call, r, counts.get(r.pk, 0)) for r in rows]


def _org_counts() -> dict:
    qs = Dataset.objects.filter(state=DatasetState.ACTIVE).values_list("organization").annotate(n=Count("pk"))
    return dict(qs.order_by())


def _group_counts() -> dict:
    through = Dataset.groups.through.objects.filter(dataset__state=DatasetState.ACTIVE)
    return dict(through.values_list("group").annotate(n=Count("dataset")).order_by())


@action
def organization_list(call: Call) -> list:
    """The data providers' names by name (``all_fields``: their dicts with ``package_count``);
    ``limit`` (0–1000, default 1000), ``offset``."""
    return _list(call, Organization, _org_counts, _org_dict)


@action
def group_list(call: Call) -> list:
    """The categories' names by name (``all_fields``: their dicts with ``package_count``);
    ``limit`` (0–1000, default 1000), ``offset``."""
    return _list(call, Group, _group_counts, _group_dict)


def _show(call: Call, model, error, filter_name: str) -> dict:
    ident = call.required("id")
    obj = model.objects.filter(name=ident).first()
    if obj is None and re.fullmatch(r"[0-9a-fA-F-]{32,36}", ident):
        obj = model.objects.filter(id=ident).first()
    if obj is None:
        raise error(name=ident, field="id")
    include = call.boolean("include_datasets", False)
    result = search.query(filters={filter_name: [obj.name]}, rows=ROWS_MAX if include else 0, sort="name asc")
    as_dict = _org_dict if model is Organization else _group_dict
    d = as_dict(call, obj, result.count)
    if include:
        d["packages"] = [_package_dict(call, ds) for ds in result.datasets]
    return d


@action
def organization_show(call: Call) -> dict:
    """A data provider by ``id`` (name or UUID) with ``package_count``; ``include_datasets``
    (default false) adds up to 1000 of its datasets. :raises: Not Found Error."""
    return _show(call, Organization, errors.UnknownOrganization, "organization")


@action
def group_show(call: Call) -> dict:
    """A category by ``id`` (name or UUID), as :func:`organization_show`."""
    return _show(call, Group, errors.UnknownGroup, "groups")


@action
def tag_list(call: Call) -> list:
    """The tags of published datasets, by name; ``query``: only names containing it;
    ``all_fields``: ``{id, name}`` dicts."""
    qs = Tag.objects.filter(datasets__state=DatasetState.ACTIVE).distinct().order_by("name")
    query = str(call.get("query", "") or "")
    if query:
        qs = qs.filter(name__icontains=query)
    if call.boolean("all_fields", False):
        return [{"id": str(t.pk), "name": t.name, "display_name": t.name} for t in qs]
    return [t.name for t in qs]


@action
def status_show(call: Call) -> dict:
    """The site: CKAN API version 3 (the read subset of CKAN 2.10's actions this module
    implements), title, URL, default locale."""
    return {
        "api_version": 3,
        "ckan_version": "2.10.0",
        "site_title": call.text("DATA.GOV.HK (tungban)", "資料一線通 (通辦)"),
        "site_url": call.absolute("/").rstrip("/"),
        "site_description": "",
        "locale_default": {"en": "en", "zh": "zh_Hant_TW", "sc": "zh_Hans_CN"}[call.lang],
        "extensions": ["datastore"],
        "actions": sorted(ACTIONS),
    }


@action
def help_show(call: Call) -> str:
    """The documentation of the action ``name``. :raises: Not Found Error."""
    name = call.required("name")
    fn = ACTIONS.get(name)
    if fn is None:
        raise errors.NoSuchAction(name=name, field="name")
    return (fn.__doc__ or "").strip()


# --- DataStore -------------------------------------------------------------------------------

_CKAN_TYPES = {
    "string": "text",
    "integer": "int",
    "number": "numeric",
    "date": "date",
    "datetime": "timestamp",
    "time": "time",
    "boolean": "bool",
    "year": "int",
}


@functools.lru_cache(maxsize=32)
def parsed_table(sha256: str, schema_json: str) -> tuple[list[dict], list[dict]]:
    """``(fields, records)`` of the CSV file ``sha256`` under its Table Schema
    (``schema_json``; fields typed as CKAN's DataStore types, integers and numbers
    converted). Cached per process by content digest and schema only: immutable inputs, so
    two workers never disagree."""
    text = storage.read(sha256).decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    declared = {f.get("name"): f for f in (json.loads(schema_json) or {}).get("fields", [])}
    fields = [{"id": "_id", "type": "int"}]
    kinds = []
    for name in header:
        kind = (declared.get(name) or {}).get("type", "string")
        kinds.append(kind)
        info = {"id": name, "type": _CKAN_TYPES.get(kind, "text")}
        if (declared.get(name) or {}).get("title"):
            info["info"] = {"label": declared[name]["title"]}
        fields.append(info)
    records = []
    for n, row in enumerate(reader, start=1):
        rec: dict = {"_id": n}
        for name, kind, value in zip(header, kinds, row + [""] * (len(header) - len(row)), strict=False):
            rec[name] = _typed(kind, value)
        records.append(rec)
    return fields, records


def _typed(kind: str, value: str):
    if value == "":
        return None
    try:
        if kind in ("integer", "year"):
            return int(value)
        if kind == "number":
            f = float(value)
            return int(f) if f.is_integer() and "." not in value else f
    except ValueError:
        return value
    return value


def _sort_key(value):
    return (value is None, isinstance(value, str), value if value is not None else 0)


@action
def datastore_search(call: Call) -> dict:
    """Rows of a published CSV resource's current version (CKAN's DataStore). ``resource_id``
    (or ``id``); ``filters``: a JSON object ``{field: value | [values]}`` (equality);
    ``q``: text every matching row contains (case-insensitive, any field), or a JSON object
    ``{field: text}``; ``limit`` (0–32000, default 100), ``offset``; ``fields`` (comma
    separated or a list); ``sort`` (``"field [asc|desc], ..."``). Result ``{resource_id,
    fields, records, total, limit, offset, _links: {start, next}}``.
    :raises: Not Found Error (no such resource or not a CSV table), Validation Error."""
    rid = str(call.get("resource_id") or call.required("id"))
    r = _resource(rid)
    if r.format != Format.CSV or r.current is None or r.current.state != VersionState.PUBLISHED:
        raise errors.NotDatastore(id=rid, field="resource_id")
    usage.record(r.dataset_id, r.pk, UsageKind.API)
    fields, records = parsed_table(r.current.sha256, json.dumps(r.table_schema or {}, sort_keys=True))
    names = [f["id"] for f in fields]
    filters = call.json("filters", dict, {})
    for name in filters:
        if name not in names:
            raise errors.UnknownDatastoreField(name=name, field="filters")
    q = call.get("q", "")
    if isinstance(q, str) and q.strip().startswith("{"):
        q = call.json("q", dict, {})
    limit = call.integer("limit", DATASTORE_LIMIT_DEFAULT, 0, DATASTORE_LIMIT_MAX)
    offset = call.integer("offset", 0)
    wanted = call.get("fields")
    if isinstance(wanted, str):
        wanted = [w.strip() for w in wanted.split(",") if w.strip()]
    for name in wanted or ():
        if name not in names:
            raise errors.UnknownDatastoreField(name=name, field="fields")
    order = []
    for part in str(call.get("sort", "") or "").split(","):
        bits = part.split()
        if not bits:
            continue
        if (
            bits[0].strip('"') not in names
            or len(bits) > 2
            or (len(bits) == 2 and bits[1].lower() not in ("asc", "desc"))
        ):
            raise errors.UnknownDatastoreField(name=part.strip(), field="sort")
        order.append((bits[0].strip('"'), len(bits) == 2 and bits[1].lower() == "desc"))

    def keep(rec: dict) -> bool:
        for name, want in filters.items():
            allowed = want if isinstance(want, list) else [want]
            if str(rec.get(name)) not in [str(a) for a in allowed]:
                return False
        if isinstance(q, dict):
            return all(str(text).lower() in str(rec.get(name, "")).lower() for name, text in q.items())
        if q:
            needle = str(q).lower()
            return any(needle in str(v).lower() for k, v in rec.items() if k != "_id" and v is not None)
        return True

    rows = [rec for rec in records if keep(rec)] if (filters or q) else list(records)
    for name, desc in reversed(order):
        rows.sort(key=lambda rec, n=name: _sort_key(rec.get(n)), reverse=desc)
    page = rows[offset : offset + limit]
    if wanted:
        page = [{k: rec.get(k) for k in wanted} for rec in page]
        fields = [f for f in fields if f["id"] in wanted]
    base = f"/{call.prefix}api/3/action/datastore_search"
    link_params = {"resource_id": rid}
    if limit != DATASTORE_LIMIT_DEFAULT:
        link_params["limit"] = limit
    return {
        "resource_id": rid,
        "fields": fields,
        "records": page,
        "records_format": "objects",
        "total": len(rows),
        "limit": limit,
        "offset": offset,
        "_links": {
            "start": f"{base}?{urlencode(link_params)}",
            "next": f"{base}?{urlencode({**link_params, 'offset': offset + limit})}",
        },
    }


# --- the view --------------------------------------------------------------------------------

_LANGUAGES = {"en": "en", "zh": "zh-hant", "sc": "zh-hant"}
_CONDITIONAL = {"package_show", "package_search"}


def _error_body(call: Call, name: str, exc: DomainError) -> tuple[dict, int]:
    message = str(exc.message)
    if call.lang == "sc":
        message = search.to_simplified(message)
    if isinstance(exc, errors.UnknownAction):
        error = {"message": message, "code": exc.code}
        return {"help": call.help_url("help_show"), "success": False, "error": error}, 400
    if isinstance(exc, NotFound):
        kind, status = "Not Found Error", 404
    elif isinstance(exc, Forbidden):
        kind, status = "Authorization Error", 403
    else:
        kind, status = "Validation Error", 409
    error = {"__type": kind, "message": message, "code": exc.code}
    if kind == "Validation Error" and exc.field:
        error[exc.field] = [message]
    return {"help": call.help_url(name), "success": False, "error": error}, status


def _params(request) -> dict:
    if request.method != "POST":
        return {k: request.GET.get(k) for k in request.GET}
    ctype = request.content_type or ""
    if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return {k: request.POST.get(k) for k in request.POST}
    if not request.body.strip():
        return {}
    try:
        body = json.loads(request.body)
    except ValueError:
        raise errors.InvalidBody() from None
    if not isinstance(body, dict):
        raise errors.InvalidBody()
    return body


def _cors(response: HttpResponse) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    return response


@csrf_exempt
def dispatch(request, name: str, prefix: str = ""):
    """``/[{en,tc,sc}-data/]api/3/action/<name>``: run the action, answer in CKAN's envelope."""
    lang = PREFIXES[prefix]
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type, Authorization, If-None-Match"
        response["Access-Control-Max-Age"] = "86400"
        return _cors(response)
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, POST, OPTIONS"})
    call = Call(request, {}, lang, prefix)
    with translation.override(_LANGUAGES[lang]):
        try:
            fn = ACTIONS.get(name)
            if fn is None:
                raise errors.UnknownAction(action=name)
            call.params = _params(request)
            body, status = {"help": call.help_url(name), "success": True, "result": fn(call)}, 200
        except DomainError as exc:
            body, status = _error_body(call, name, exc)
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    response = HttpResponse(data, status=status, content_type="application/json; charset=utf-8")
    response["Vary"] = "Accept-Encoding"
    if request.method != "POST":
        _cors(response)
        if status == 200 and name in _CONDITIONAL:
            tag = '"' + hashlib.sha256(data).hexdigest()[:40] + '"'
            not_modified = conditional(request, response, tag)
            if not_modified is not None:
                return _cors(not_modified)
    return response


def openapi(request):
    """``/api/3/openapi.json``: the OpenAPI 3.1 document of the actions and the envelope."""
    from .openapi_ckan import document

    return _cors(JsonResponse(document(request.build_absolute_uri("/").rstrip("/"), ACTIONS)))
