"""Open311 GeoReport v2 at ``/open311/v2/`` (issue 22): thin views over
:mod:`tungban.hotline.services.open311`, each in ``.json`` or ``.xml`` (the specification: XML
required, JSON optional; both UTF-8, the XML with its declaration). Errors in Open311's format:
JSON ``[{"code": <HTTP status>, "description": "<error code>: <message>"}]``, XML
``<errors><error><code>…</code><description>…</description></error></errors>``."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from django.db import transaction
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from tungban.core.errors import DomainError

from .services import open311

#: XML element names of a list's items, by the list's element name (the specification's).
ITEM = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
CONTENT_TYPE = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _build(parent: ET.Element, name: str, value) -> None:
    el = ET.SubElement(parent, name)
    if isinstance(value, list):
        for item in value:
            _build(el, ITEM.get(name, "item"), item)
    elif isinstance(value, dict):
        for k, v in value.items():
            _build(el, k, v)
    else:
        el.text = _text(value)


def to_xml(root: str, value) -> bytes:
    """``value`` (a list or dict) as the XML document ``<root>``; a list's items are named by
    :data:`ITEM`."""
    top = ET.Element(root)
    if isinstance(value, list):
        for item in value:
            _build(top, ITEM[root], item)
    else:
        for k, v in value.items():
            _build(top, k, v)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8", xml_declaration=False)


def render(fmt: str, root: str, value, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        body = to_xml(root, value)
    else:
        body = json.dumps(value, ensure_ascii=False).encode()
    response = HttpResponse(body, status=status, content_type=CONTENT_TYPE[fmt])
    response["Access-Control-Allow-Origin"] = "*"  # public reads from any web client
    return response


def error(fmt: str, exc: DomainError) -> HttpResponse:
    item = {"code": exc.status, "description": f"{exc.code}: {exc.message}"}
    return render(fmt, "errors", [item], status=exc.status)


def _client(request, *, required: bool = False):
    key = request.POST.get("api_key") if request.method == "POST" else request.GET.get("api_key")
    return open311.client_for(key, required=required)


@require_GET
def discovery(request, fmt: str):
    base = request.build_absolute_uri(reverse("open311:discovery", args=["json"])).rsplit("/", 1)[0]
    return render(fmt, "discovery", open311.discovery(base))


@require_GET
def services(request, fmt: str):
    return render(fmt, "services", open311.services())


@require_GET
def service_definition(request, service_code: str, fmt: str):
    try:
        return render(fmt, "service_definition", open311.service_definition(service_code))
    except DomainError as exc:
        return error(fmt, exc)


@csrf_exempt  # a machine API authenticated by its api_key, never by a browser's cookie
@require_http_methods(["GET", "POST"])
def requests_(request, fmt: str):
    try:
        if request.method == "POST":
            client = _client(request, required=True)
            with transaction.atomic():
                _case, item = open311.submit(
                    client,
                    request.POST,
                    language=get_language() or "zh-hant",
                    idempotency_key=request.headers.get("Idempotency-Key", "")[:200],
                )
            return render(fmt, "service_requests", [item], status=201)
        q = request.GET
        found = open311.find_requests(
            service_request_id=q.get("service_request_id", ""),
            service_code=q.get("service_code", ""),
            start_date=q.get("start_date", ""),
            end_date=q.get("end_date", ""),
            status=q.get("status", ""),
            client=_client(request),
        )
        return render(fmt, "service_requests", found)
    except DomainError as exc:
        return error(fmt, exc)


@require_GET
def request_detail(request, service_request_id: str, fmt: str):
    try:
        return render(fmt, "service_requests", [open311.get_request(service_request_id, client=_client(request))])
    except DomainError as exc:
        return error(fmt, exc)
