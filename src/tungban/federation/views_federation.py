"""The federation endpoints (OpenID Federation 1.0 draft 45 §8, §9). Part fcore. Thin: the
statements come from :mod:`.services.entities`, :mod:`.services.trustmarks` and
:mod:`.services.chain`.

Errors are JSON ``{"error", "error_description"}`` with §8.9's codes and statuses
(``invalid_request`` 400, ``invalid_issuer`` 404, ``invalid_subject`` 404, ``not_found`` 404,
``invalid_trust_anchor`` 404, ``invalid_trust_chain`` 400, ``invalid_metadata`` 400,
``unsupported_parameter`` 400; unreachable members ``temporarily_unavailable`` 503).
"""

from __future__ import annotations

import time

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from tungban.core import ratelimit
from tungban.core.errors import DomainError

from . import errors
from .constants import (
    ENTITY_STATEMENT_MEDIA_TYPE,
    RESOLVE_RESPONSE_MEDIA_TYPE,
    RESOLVE_RESPONSE_TYP,
    TRUST_MARK_STATUS_MEDIA_TYPE,
    Role,
)
from .models import TrustAnchor
from .services import chain, entities, trustmarks

#: §8.9: the HTTP status of each error code at the federation endpoints.
STATUS = {
    "invalid_request": 400,
    "invalid_issuer": 404,
    "invalid_subject": 404,
    "not_found": 404,
    "invalid_trust_anchor": 404,
    "invalid_trust_chain": 400,
    "invalid_metadata": 400,
    "invalid_trust_mark": 400,
    "unsupported_parameter": 400,
    "temporarily_unavailable": 503,
}
TRUST_MARK_MEDIA_TYPE = "application/trust-mark+jwt"


def error_response(code: str, description: str) -> JsonResponse:
    """A §8.9 error body with its status; never cached."""
    response = JsonResponse({"error": code, "error_description": description}, status=STATUS.get(code, 400))
    response["Cache-Control"] = "no-store"
    return response


def _from_domain(e: DomainError) -> JsonResponse:
    code = "temporarily_unavailable" if isinstance(e, errors.FetchFailed) else e.code
    return error_response(code, str(e))


def _jwt(token: str, media_type: str, cache_control: str) -> HttpResponse:
    response = HttpResponse(token, content_type=media_type)
    response["Cache-Control"] = cache_control
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _entity_configuration(entity) -> HttpResponse:
    token = entities.entity_configuration(entity)
    max_age = min(entity.lifetime or entities.entity_lifetime(), entities.entity_lifetime(), 600)
    return _jwt(token, ENTITY_STATEMENT_MEDIA_TYPE, f"public, max-age={max(max_age, 0)}")


def _root():
    top = entities.root()
    if top is None or not top.is_active:
        raise errors.EntityNotFound("this instance has no federation entity yet")
    return top


@require_GET
def root_configuration(request):
    """``GET /.well-known/openid-federation`` (§9): the root entity's configuration."""
    try:
        return _entity_configuration(_root())
    except DomainError as e:
        return _from_domain(e)


@require_GET
def service_configuration(request, slug: str):
    """``GET /federation/services/<slug>/.well-known/openid-federation`` (§9)."""
    entity = entities.service(slug)
    if entity is None:
        return error_response("not_found", "there is no such service here")
    return _entity_configuration(entity)


@require_GET
def fetch(request):
    """``GET /federation/fetch?sub=`` (§8.1): the root's subordinate statement about ``sub``
    (``no-cache``: a revocation shows at the next fetch)."""
    try:
        top = _root()
        iss = request.GET.get("iss")
        if iss and iss.rstrip("/") != top.entity_id:
            raise errors.InvalidIssuer(f"this endpoint issues as {top.entity_id}")
        sub = request.GET.get("sub", "")
        if not sub:
            raise errors.InvalidRequest("the sub parameter is required")
        token = entities.subordinate_statement(top, sub)
    except DomainError as e:
        return _from_domain(e)
    return _jwt(token, ENTITY_STATEMENT_MEDIA_TYPE, "no-cache")


@require_GET
def list_subordinates(request):
    """``GET /federation/list`` (§8.2): the root's live subordinates, optionally of one
    ``entity_type``. ``trust_marked``, ``trust_mark_type`` and ``intermediate`` are
    ``unsupported_parameter``."""
    try:
        top = _root()
        for name in ("trust_marked", "trust_mark_type", "intermediate"):
            if name in request.GET:
                raise errors.UnsupportedParameter(f"{name} is not supported")
        ids = entities.list_subordinates(top, entity_type=request.GET.get("entity_type") or None)
    except DomainError as e:
        return _from_domain(e)
    response = JsonResponse(ids, safe=False)
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
@ratelimit.limit("federation_resolve", methods=("GET",))
def resolve(request):
    """``GET /federation/resolve?sub=&trust_anchor=[&entity_type=]`` (§8.3): the resolved
    metadata, verified trust marks and the complete trust chain (leaf configuration, every
    subordinate statement including the anchor's, the anchor's configuration), signed by the root
    entity (``typ`` ``resolve-response+jwt``). The anchor must be one this instance trusts
    (pinned) or the root itself when it is an anchor."""
    try:
        top = _root()
        sub, anchor = request.GET.get("sub", ""), request.GET.get("trust_anchor", "").rstrip("/")
        if not sub or not anchor:
            raise errors.InvalidRequest("sub and trust_anchor are required")
        types = request.GET.getlist("entity_type")
        if len(types) > 1:
            raise errors.UnsupportedParameter("give at most one entity_type")
        anchors = {a.entity_id: a.jwks for a in TrustAnchor.objects.filter(is_active=True, entity_id=anchor)}
        if not anchors and top.role == Role.ANCHOR and anchor == top.entity_id:
            anchors = {top.entity_id: entities.federation_jwks(top)}
        if not anchors:
            raise errors.InvalidTrustAnchor(f"{anchor} is not a trust anchor this resolver trusts")
        found = chain.resolve(sub, entity_type=types[0] if types else None, anchors=anchors)
        now = int(time.time())
        metadata = found.metadata if not types else {t: found.metadata[t] for t in types if t in found.metadata}
        claims = {
            "iss": top.entity_id,
            "sub": found.subject,
            "iat": now,
            "exp": found.expires_at,
            "metadata": metadata,
            "trust_chain": list(found.statements),
        }
        if found.trust_marks:
            claims["trust_marks"] = [
                {"trust_mark_type": m["trust_mark_type"], "id": m["trust_mark_type"], "trust_mark": m["trust_mark"]}
                for m in found.trust_marks
            ]
        token = entities.sign(top, claims, typ=RESOLVE_RESPONSE_TYP)
    except DomainError as e:
        return _from_domain(e)
    return _jwt(token, RESOLVE_RESPONSE_MEDIA_TYPE, "no-store")


@csrf_exempt  # §8.6: called by any federation member's resolver, no browser session involved
@require_POST
def trust_mark_status(request):
    """``POST /federation/trust_mark_status`` with ``trust_mark`` (§8.6, draft 45): a signed
    status response (``active``, ``revoked``, ``expired``, ``invalid``)."""
    try:
        top = _root()
        token = request.POST.get("trust_mark", "").strip()
        if not token:
            raise errors.InvalidRequest("the trust_mark parameter is required")
        answer = trustmarks.status_response(top, token)
    except DomainError as e:
        return _from_domain(e)
    return _jwt(answer, TRUST_MARK_STATUS_MEDIA_TYPE, "no-store")


@require_GET
def trust_mark(request):
    """``GET /federation/trust_mark?trust_mark_type=&sub=`` (§8.5): the current trust mark of that
    type issued to ``sub`` (``trust_mark_id`` accepted for earlier drafts)."""
    try:
        mark_type_id = request.GET.get("trust_mark_type") or request.GET.get("trust_mark_id") or ""
        sub = request.GET.get("sub", "")
        if not mark_type_id or not sub:
            raise errors.InvalidRequest("trust_mark_type and sub are required")
        mark_type = entities.trust_mark_type(mark_type_id)
        if mark_type is None:
            raise errors.EntityNotFound("this entity issues no trust mark of that type")
        token = trustmarks.reissue(trustmarks.current(mark_type, sub))
    except DomainError as e:
        return _from_domain(e)
    return _jwt(token, TRUST_MARK_MEDIA_TYPE, "no-store")
