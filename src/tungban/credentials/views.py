"""Public documents the credentials name (issuer keys, type metadata, status lists); the
认证易 verify page and the officers' pages are in :mod:`.pages`."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from tungban.core.errors import DomainError

from . import services
from .models import CredentialType, Issuer


def _public_json(data: dict, max_age: int = 3600) -> JsonResponse:
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = f"public, max-age={max_age}"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def issuer_metadata(request, issuer_id: str):
    """JWT VC Issuer Metadata (SD-JWT VC §5): ``/.well-known/jwt-vc-issuer/issuers/{id}``."""
    return _public_json(services.issuer_metadata(get_object_or_404(Issuer, id=issuer_id)), 300)


@require_GET
def issuer_jwks(request, issuer_id: str):
    return _public_json(services.issuer_jwks(get_object_or_404(Issuer, id=issuer_id)), 300)


@require_GET
def issuer_did(request, issuer_id: str):
    """The issuer's did:web document (``did:web:<host>:issuers:<id>`` → ``/issuers/<id>/did.json``)."""
    return _public_json(services.did_document(get_object_or_404(Issuer, id=issuer_id)), 300)


@require_GET
def type_metadata(request, type_id: str):
    """SD-JWT VC Type Metadata at the ``vct`` URL."""
    return _public_json(
        services.type_metadata(get_object_or_404(CredentialType.objects.select_related("issuer"), id=type_id))
    )


@require_GET
def status_list(request, issuer_id: str, number: int):
    """The Status List Token (``application/statuslist+jwt``, Token Status List §8.1),
    cacheable for ``TUNGBAN_STATUS_LIST_TTL`` seconds, with an ETag."""
    try:
        token, _row = services.status_list_token(issuer_id, number)
    except DomainError:
        raise Http404 from None
    etag = '"' + hashlib.sha256(token.encode()).hexdigest()[:32] + '"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(token, content_type="application/statuslist+jwt")
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={settings.TUNGBAN_STATUS_LIST_TTL}"
    response["Access-Control-Allow-Origin"] = "*"
    return response
