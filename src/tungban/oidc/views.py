"""HTTP endpoints of the OpenID Provider. Thin: protocol work is in :mod:`.server`,
domain rules in :mod:`.services`."""

from __future__ import annotations

import copy
import hmac
import secrets
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from django.conf import settings
from django.db import transaction
from django.http import JsonResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from tungban.core import ratelimit
from tungban.core.errors import DomainError
from tungban.identity import eme
from tungban.keys import services as keys
from tungban.wallet import errors as wallet_errors
from tungban.wallet import services as wallet
from tungban.wallet.models import RequestStatus

from . import services
from .models import Client
from .resource import bearer_token
from .server import Subject, server

SESSION_KEY = "tungban_authz"


def _cors(response):
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def discovery(request):
    return _cors(JsonResponse(services.discovery()))


@require_GET
def jwks(request):
    response = JsonResponse(keys.public_jwks())
    response["Cache-Control"] = "public, max-age=300"
    return _cors(response)


def _error_page(request, title, message, status=400, return_url=None):
    return render(
        request, "oidc/error.html", {"title": title, "message": message, "return_url": return_url}, status=status
    )


@csrf_exempt  # OIDC Core §3.1.2.1: the authorization endpoint accepts form POSTs from any RP
@never_cache
@require_http_methods(["GET", "POST"])
def authorize(request):
    """Authorization endpoint (OIDC Core §3.1.2). Validates the request with Authlib, then
    shows the QR code / "Open the app" page and waits for the resident's app approval."""
    try:
        grant = server.get_consent_grant(request, end_user=None)
    except OAuth2Error as error:
        if error.redirect_uri:
            return server.handle_error_response(request, error)
        # Unknown client or unregistered redirect URI: never redirect (RFC 6749 §4.1.2.1).
        return _error_page(
            request,
            _("This sign-in request is not valid"),
            _(
                "The online service sent a request we cannot accept (%(error)s). Please go back to the service and try again."
            )
            % {"error": error.description or error.error},
        )
    client: Client = grant.request.client
    # Exactly the parameters Authlib validated (GET and POST together), replayed at completion.
    query = urlencode([(k, v) for k, values in grant.request.payload.datalist.items() for v in values])
    secret = secrets.token_urlsafe(24)
    try:
        approval = services.open_authorization(
            client, grant.request.scope, grant.request.payload.data.get("claims"), query, secret
        )
    except DomainError as exc:
        return _error_page(request, _("This sign-in request is not valid"), exc.message)
    pending = request.session.get(SESSION_KEY, {})
    pending = {k: v for k, v in list(pending.items())[-4:]}  # keep the session small
    pending[str(approval.id)] = secret
    request.session[SESSION_KEY] = pending
    app_url = f"{settings.TUNGBAN_ISSUER}/app/approve/{approval.id}"
    return render(
        request,
        "oidc/authorize.html",
        {
            "client": client,
            "approval": approval,
            "claims": [{"label": eme.label(c["name"]), **c} for c in approval.requested_claims],
            "app_url": app_url,
            "status_url": reverse("oidc:authorize-status", args=[approval.id]),
            "complete_url": reverse("oidc:authorize-complete", args=[approval.id]),
            "ttl": settings.TUNGBAN_APPROVAL_TTL,
        },
    )


def _bound_approval(request, approval_id):
    """The approval if this browser started it, else ``None``."""
    secret = request.session.get(SESSION_KEY, {}).get(str(approval_id))
    try:
        approval = wallet.get_request(approval_id)
    except DomainError:
        return None
    if not secret or not hmac.compare_digest(secret, approval.context.get("browser", "")):
        return None
    return approval


@never_cache
@require_GET
def authorize_status(request, approval_id):
    """Polled by the authorization page: ``{"status": pending|approved|declined|expired|completed}``."""
    approval = _bound_approval(request, approval_id)
    if approval is None:
        return JsonResponse(wallet_errors.NoRequest().as_dict(), status=404)
    return JsonResponse({"status": approval.effective_status()})


def _replayed(request, query: str):
    clone = copy.copy(request)
    clone.method = "GET"
    clone.GET = QueryDict(query)
    clone.POST = QueryDict()
    return clone


@never_cache
@require_GET
def authorize_complete(request, approval_id):
    """Where the authorization page goes once the app answered: redirect to the service
    with the code, or a clear declined / expired page."""
    approval = _bound_approval(request, approval_id)
    if approval is None:
        return _error_page(
            request,
            _("Sign-in request not found"),
            _(
                "This sign-in request was started in another browser or no longer exists. Please start again from the service."
            ),
            status=404,
        )
    status = approval.effective_status()
    if status == RequestStatus.PENDING:
        return _error_page(
            request,
            _("Waiting for your approval"),
            _("Answer the request in the tungban app; this page continues by itself."),
            status=200,
        )
    if status == RequestStatus.COMPLETED:
        return _error_page(
            request,
            _("Sign-in already completed"),
            _("This request was already used. Please start again from the service."),
            status=200,
        )
    original = _replayed(request, approval.context["query"])
    try:
        grant = server.get_consent_grant(original, end_user=None)
    except OAuth2Error as error:
        return _error_page(request, _("This sign-in request is not valid"), error.description or error.error)
    client = grant.request.client
    if status == RequestStatus.APPROVED and services.acr_satisfied(approval.resident, approval.context.get("acr", [])):
        try:
            with transaction.atomic():  # used, session and code together or not at all
                approval = wallet.complete(approval.id)
                session = services.start_login_session(approval, client)
                subject = Subject(resident=approval.resident, approval=approval, session=session)
                response = server.create_authorization_response(original, grant_user=subject, grant=grant)
                if "code=" not in response.get("Location", ""):
                    transaction.set_rollback(True)  # Authlib answered with an error: store nothing
                return response
        except DomainError as exc:
            return _error_page(request, _("Sign-in already completed"), exc.message, status=409)
    denied = server.create_authorization_response(original, grant_user=None, grant=grant)
    return_url = denied.get("Location")
    if status == RequestStatus.EXPIRED:
        title, message = (
            _("The request has expired"),
            _(
                "You did not answer in the app within 2 minutes. Nothing was shared. Please start again from %(service)s."
            ),
        )
    elif status == RequestStatus.APPROVED:  # approved, but the account's tier is below what the service requires
        title, message = (
            _("iAM Smart+ is needed"),
            _(
                "%(service)s needs an iAM Smart+ login. Upgrade your account at a registration counter. Nothing was shared."
            ),
        )
    else:
        title, message = (
            _("You declined"),
            _("You declined the request in the app. Nothing was shared with %(service)s."),
        )
    name = client.name_zh if request.LANGUAGE_CODE.startswith("zh") else client.name_en
    return _error_page(request, title, message % {"service": name}, status=200, return_url=return_url)


@csrf_exempt
@require_http_methods(["POST"])
@ratelimit.limit("token")
def token(request):
    """Token endpoint (RFC 6749 §3.2, OIDC Core §3.1.3)."""
    return _cors(server.create_token_response(request))


@csrf_exempt
@require_http_methods(["POST"])
def revoke(request):
    """Revocation endpoint (RFC 7009)."""
    return server.create_endpoint_response("revocation", request)


def _bearer(request, scope=None):
    """The token, or the RFC 6750 §3 error response (``error`` / ``error_description``)."""
    try:
        return bearer_token(request, scope)
    except DomainError as error:
        response = JsonResponse({"error": error.code, "error_description": str(error.message)}, status=error.status)
        response["WWW-Authenticate"] = error.details["www_authenticate"]
        return response


def _release(request, *, scope, with_subject):
    tok = _bearer(request, scope)
    if isinstance(tok, JsonResponse):
        return _cors(tok)
    try:
        return _cors(JsonResponse(services.release(tok, with_subject=with_subject)))
    except DomainError as exc:
        return _cors(JsonResponse(exc.as_dict(), status=exc.status))


@csrf_exempt
@require_http_methods(["GET", "POST"])
def userinfo(request):
    """UserInfo endpoint (OIDC Core §5.3): ``sub`` and the approved e-ME claims."""
    return _release(request, scope="openid", with_subject=True)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def formdata(request):
    """e-ME form data for anonymous form filling: the approved fields, no ``sub``."""
    return _release(request, scope=None, with_subject=False)


@never_cache
@require_http_methods(["GET", "POST"])
def logout(request):
    """RP-Initiated Logout 1.0. Without a valid ``id_token_hint`` the resident confirms."""
    try:
        req = server.validate_endpoint_request("end_session", request)
    except OAuth2Error as error:
        return _error_page(request, _("Sign-out request not valid"), error.description or error.error)
    if req.needs_confirmation and not (request.method == "POST" and request.POST.get("confirm") == "yes"):
        return render(request, "oidc/logout_confirm.html", {"client": req.client})
    response = server.create_endpoint_response("end_session", req)
    request.session.pop(SESSION_KEY, None)
    if response is not None:
        return response
    return render(request, "oidc/logged_out.html", {"client": req.client})
