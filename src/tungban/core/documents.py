"""Precomputed public documents: response bytes built once, served with a strong ETag
(issue 15: "precomputed response bytes with strong ETags for what changes only on key
rotation").

A :class:`Document` is immutable and content-addressed (its ETag is a hash of its bytes), so a
worker may keep one in memory for as long as the key it was filed under names the same
content: the owning app decides that key (e.g. :func:`tungban.keys.services.published_jwks`
files the JWKS under a generation read from the database on every request, so every worker
follows a rotation at once). :func:`respond` answers a request with one: ``200`` with the
bytes, or ``304 Not Modified`` when ``If-None-Match`` names the ETag (RFC 9110 §13.1.2,
§15.4.5), through Django's :func:`~django.utils.cache.get_conditional_response`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Protocol

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response


@dataclass(frozen=True, slots=True)
class Document:
    """``body`` (bytes), its strong ``etag`` (``"<32 hex digits of SHA-256(body)>"``, quotes
    included, RFC 9110 §8.8.3) and its ``content_type``."""

    body: bytes
    etag: str
    content_type: str = "application/json"

    @classmethod
    def of_bytes(cls, body: bytes, content_type: str = "application/json") -> Document:
        return cls(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', content_type)

    @classmethod
    def of_json(cls, data) -> Document:
        """The bytes :class:`django.http.JsonResponse` writes for ``data`` (same encoder and
        separators, ASCII only), so a precomputed answer equals the one built per request."""
        return cls.of_bytes(json.dumps(data, cls=DjangoJSONEncoder).encode())


class Served(Protocol):
    """What :func:`respond` needs: a :class:`Document` or any object with these attributes
    (e.g. :class:`tungban.keys.services.Document`: ``keys`` imports nothing from ``core``)."""

    body: bytes
    etag: str
    content_type: str


def respond(request: HttpRequest, document: Served, *, cache_control: str | None = None, cors: bool = True):
    """``200`` with ``document`` (``ETag``, ``Cache-Control`` when given, and
    ``Access-Control-Allow-Origin: *`` when ``cors``, ``Content-Length``), or ``304`` with the same headers and no
    body when the request's ``If-None-Match`` names its ETag (or ``*``)."""
    response = HttpResponse(document.body, content_type=document.content_type)
    response["Content-Length"] = str(len(document.body))  # as CommonMiddleware would: keep-alive
    response["ETag"] = document.etag
    if cache_control:
        response["Cache-Control"] = cache_control
    if "HTTP_IF_NONE_MATCH" in request.META or "HTTP_IF_MATCH" in request.META:
        response = get_conditional_response(request, etag=document.etag, response=response)
    if cors:
        response["Access-Control-Allow-Origin"] = "*"
    return response
