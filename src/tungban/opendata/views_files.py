"""Resource files and the historical archive over HTTP (issue 21; logic in
:mod:`tungban.opendata.services.archive`).

Caching (RFC 9111, RFC 9110 §13):

* current file ``/data/files/<uuid>/<filename>``: ``Cache-Control: public, max-age=60``;
* a version ``/data/files/<uuid>/v/<sha256>/<filename>``: ``public, max-age=31536000,
  immutable`` — the same bytes for ever.

Both carry a strong ``ETag``: ``"<sha256>"`` for the file, ``"<sha256>.json"`` /
``"<sha256>.xml"`` for a tabular resource's derived forms, and ``Last-Modified`` (when the
version was published). ``If-None-Match`` (a list, or ``*``; weak comparison, RFC 9110
§13.1.2) answers ``304 Not Modified`` before any file is opened — the current-file path is
one indexed query and no template; without ``If-None-Match``, ``If-Modified-Since`` is
honoured. ``HEAD`` answers the headers. Files are streamed (``FileResponse``) and sent as
attachments with their file name. A ``GET`` answered 200 counts one download
(:mod:`tungban.opendata.services.usage`); a 304 or ``HEAD`` does not.

Archive errors are JSON ``{"error", "message", "field"}`` (:mod:`tungban.core.errors`), e.g.
400 ``invalid_parameter`` “invalid start parameter” (data.gov.hk's message), 404
``unknown_file_url``.
"""

from __future__ import annotations

from django.http import FileResponse, HttpResponse, HttpResponseNotModified, HttpResponseRedirect, JsonResponse
from django.utils import translation
from django.utils.http import content_disposition_header, http_date, parse_etags, parse_http_date_safe
from django.views.decorators.http import require_safe

from tungban.core.errors import DomainError
from tungban.core.middleware import api_language, shared_cacheable

from . import storage, tabular
from .constants import UsageKind
from .services import archive, usage

SHORT = "public, max-age=60"
IMMUTABLE = "public, max-age=31536000, immutable"


def _etag(version, kind: str) -> str:
    return f'"{version.sha256}.{kind}"' if kind else f'"{version.sha256}"'


def _none_match(header: str, etag: str) -> bool:
    """Whether ``If-None-Match: header`` matches ``etag`` (weak comparison: ``W/`` ignored)."""
    tags = parse_etags(header)
    if tags == ["*"]:
        return True
    return any(t.removeprefix("W/") == etag for t in tags)


def _not_modified_since(request, version) -> bool:
    since = parse_http_date_safe(request.META.get("HTTP_IF_MODIFIED_SINCE", ""))
    return since is not None and version.published_at is not None and int(version.published_at.timestamp()) <= since


def _serve(request, resource, version, kind: str, cache_control: str):
    """The bytes of ``version`` (or its JSON/XML form): the same for every reader, so a shared
    cache keeps one copy (no ``Vary``: :func:`tungban.core.middleware.shared_cacheable`)."""
    etag = _etag(version, kind)
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if version.published_at is not None:
        headers["Last-Modified"] = http_date(version.published_at.timestamp())
    inm = request.META.get("HTTP_IF_NONE_MATCH")
    if (inm is not None and _none_match(inm, etag)) or (inm is None and _not_modified_since(request, version)):
        response = HttpResponseNotModified()
        for k, v in headers.items():
            response[k] = v
        return shared_cacheable(response)
    if kind:
        schema = version.table_schema or resource.table_schema
        try:
            path = tabular.derived_path(version.sha256, schema, kind)
        except DomainError:  # an old version that does not fit the resource's schema of today
            return HttpResponse(status=404)
        media_type = tabular.DERIVED_MEDIA_TYPES[kind]
    else:
        path = storage.path_of(version.sha256)
        media_type = version.media_type
    filename = archive.variant_filename(resource, kind)
    if request.method == "HEAD":
        response = HttpResponse(content_type=media_type)
        response["Content-Length"] = str(path.stat().st_size)
        response["Content-Disposition"] = content_disposition_header(True, filename)
    else:
        response = FileResponse(path.open("rb"), as_attachment=True, filename=filename, content_type=media_type)
        usage.record(resource.dataset_id, resource.pk, UsageKind.DOWNLOAD)
    for k, v in headers.items():
        response[k] = v
    return shared_cacheable(response)


@require_safe
def current_file(request, resource_id, filename: str):
    """The current file of a published dataset's resource (or its JSON/XML form); 404 for an
    unknown resource, a draft or withdrawn dataset's, or a file name the resource has not."""
    resource = archive.current(resource_id)
    kind = archive.variant(resource, filename) if resource is not None else None
    if kind is None:
        return HttpResponse(status=404)
    return _serve(request, resource, resource.current, kind, SHORT)


@require_safe
def version_file(request, resource_id, sha256: str, filename: str):
    """One published version (immutable). 404 for a pending or rejected version or an unknown
    one; a withdrawn dataset's published versions stay served."""
    version = archive.version(resource_id, sha256)
    kind = archive.variant(version.resource, filename) if version is not None else None
    if kind is None:
        return HttpResponse(status=404)
    return _serve(request, version.resource, version, kind, IMMUTABLE)


def _json(fn):
    """An archive endpoint: GET only, domain errors as JSON with their status, in the API's
    language (:func:`tungban.core.middleware.api_language`: English unless the client asks)."""

    @require_safe
    def view(request):
        with translation.override(api_language(request)):  # the API's language, English by default
            try:
                return fn(request)
            except DomainError as exc:
                return JsonResponse(exc.as_dict(), status=exc.status)

    view.__name__ = fn.__name__
    view.__doc__ = fn.__doc__
    return view


@_json
def list_files(request):
    """``list-files?start=YYYYMMDD&end=YYYYMMDD[&category&provider&format&search&order&skip]``
    → ``{"file-count", "files": [{"url", …}]}`` (absolute URLs; at most 10,000 files)."""
    g = request.GET
    body = archive.list_files(
        start=g.get("start"),
        end=g.get("end"),
        category=g.get("category", ""),
        provider=g.get("provider", ""),
        format=g.get("format", ""),
        search=g.get("search", ""),
        order=g.get("order", ""),
        skip=g.get("skip", 0),
    )
    for f in body["files"]:
        f["url"] = request.build_absolute_uri(f["url"])
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False})


@_json
def list_file_versions(request):
    """``list-file-versions?url=<file URL>[&start=YYYYMMDD&end=YYYYMMDD]`` →
    ``{"version-count": N, "timestamps": ["YYYYMMDD-HHMM", …]}``."""
    g = request.GET
    return JsonResponse(archive.list_file_versions(g.get("url"), g.get("start"), g.get("end")))


@_json
def get_file(request):
    """``get-file?url=<file URL>&time=YYYYMMDD-HHMM`` → 302 to the version URL current then."""
    return HttpResponseRedirect(archive.get_file(request.GET.get("url"), request.GET.get("time")))


@_json
def get_schema(request):
    """``get-schema?url=<file URL>[&date=YYYYMMDD|&time=YYYYMMDD-HHMM]`` → the version's Table
    Schema (JSON)."""
    g = request.GET
    return JsonResponse(
        archive.schema_at(g.get("url"), g.get("date"), g.get("time")), json_dumps_params={"ensure_ascii": False}
    )


@_json
def get_data_dictionary(request):
    """``get-data-dictionary?url=<file URL>&date=YYYYMMDD`` → the Table Schema (the data
    dictionary) of the version current at the end of that day (JSON)."""
    g = request.GET
    return JsonResponse(
        archive.schema_at(g.get("url"), g.get("date") or None, g.get("time")), json_dumps_params={"ensure_ascii": False}
    )
