"""HTTP endpoints of the OpenID Provider. Thin: protocol work is in :mod:`.server`,
domain rules in :mod:`.services`."""

from __future__ import annotations

import copy
import hmac
import secrets
import uuid
from functools import wraps
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import AccessDeniedError, InvalidRequestError
from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_safe

from tungban.core import ratelimit
from tungban.core.errors import DomainError
from tungban.identity import eme
from tungban.wallet import choices as wallet_choices
from tungban.wallet import errors as wallet_errors
from tungban.wallet import services as wallet
from tungban.wallet.models import RequestStatus

from . import binding, errors, federated, hot, pages, par, plainwords, services, stepup
from .constants import LOGIN_KIND
from .memo import active_client, request_memo
from .models import Client
from .resource import NO_TOKEN_CHALLENGE, bearer_token
from .server import CLIENT_AUTH_METHODS, Subject, server


def _cors(response):
    response["Access-Control-Allow-Origin"] = "*"
    return response


discovery = require_safe(hot.discovery)  # precomputed (issue 15); GET and HEAD (RFC 9110 §9.3.2)
jwks = require_safe(hot.jwks)


#: What the + tier is and how to get it, where a basic-tier resident meets it (issue 16).
PLUS_TIER_HELP = gettext_lazy(
    "A tungban+ account means an officer checked your identity in person at a registration counter; it lets you sign "
    "documents and use services that need a stronger check. To upgrade, visit a registration counter with your "
    "Hong Kong identity card and the phone that has the tungban 通辦 app. It is free and takes a few minutes."
)


def _error_page(request, title, message, status=400, return_url=None, *, code=None, next_step=None):
    return render(
        request,
        "oidc/error.html",
        {"title": title, "message": message, "return_url": return_url, "code": code, "next_step": next_step},
        status=status,
    )


def _protocol_error_page(request, code: str | None, status=400, return_url=None):
    """An OAuth/OIDC error in plain words in the page's language (:func:`.plainwords.plain`),
    with what to do next; the code only in small print, never a library's English text
    (issue 16)."""
    words = plainwords.plain(code)
    return _error_page(
        request, words["title"], words["message"], status, return_url, code=code or None, next_step=words["next"]
    )


def ui_language(request, ui_locales: str | None) -> str | None:
    """The language of a login page for ``ui_locales`` (OIDC Core §3.1.2.1: space-separated
    BCP 47 tags in order of preference, e.g. ``"zh-HK en"``): the first one the platform
    speaks (``zh-HK``, ``zh-Hant`` → ``zh-hant``; ``en``), or ``None`` for Django's usual
    choice. The resident's own choice on the platform (the language cookie) comes first, as
    in Keycloak: ``ui_locales`` is the service's hint."""
    if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME):
        return None
    for tag in (ui_locales or "").split()[:10]:
        try:
            return translation.get_supported_language_variant(tag.lower())
        except LookupError:
            continue
    return None


def honour_ui_locales(find_ui_locales):
    """Decorate a login-page view: render it in :func:`ui_language` of the ``ui_locales``
    that ``find_ui_locales(request, *args, **kwargs)`` returns (issue 13 item 16)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            language = ui_language(request, find_ui_locales(request, *args, **kwargs))
            if language is None:
                return view(request, *args, **kwargs)
            outer = request.LANGUAGE_CODE
            with translation.override(language):
                request.LANGUAGE_CODE = language
                try:
                    response = view(request, *args, **kwargs)
                finally:
                    request.LANGUAGE_CODE = outer
            response["Content-Language"] = language  # LocaleMiddleware only sets it when absent
            return response

        return wrapper

    return decorate


def memoized_lookups(view):
    """Decorate a view: Authlib's repeated client and nonce lookups answered once per
    request (:func:`.server.request_memo`)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        with request_memo():
            return view(request, *args, **kwargs)

    return wrapper


def _asked_ui_locales(request):
    return request.POST.get("ui_locales") or request.GET.get("ui_locales")


def _approval_ui_locales(request, approval_id):
    approval = _bound_approval(request, approval_id)
    return QueryDict(approval.context.get("query", "")).get("ui_locales") if approval else None


@csrf_exempt  # OIDC Core §3.1.2.1: the authorization endpoint accepts form POSTs from any RP
@never_cache
@require_http_methods(["GET", "POST"])
@memoized_lookups
@honour_ui_locales(_asked_ui_locales)
def authorize(request):
    """Authorization endpoint (OIDC Core §3.1.2). Validates the request with Authlib, then
    shows the QR code / "Open the app" page and waits for the resident's app approval.
    A pushed ``request_uri`` or a signed ``request`` is resolved first (:func:`.par.resolve`).
    A federated ``client_id`` (an entity identifier, :mod:`.federated`) is registered before
    that (OpenID Federation 1.0 §12.1); a refusal is a page, never a redirect."""
    client_id = request.GET.get("client_id") or request.POST.get("client_id")
    if client_id and federated.is_federated(client_id):
        try:
            # Each such request may start a trust chain resolution (many outbound fetches):
            # limited per client address (group "federation_resolve"; issue 23 review).
            ratelimit.count(federated.RATE_LIMIT_GROUP, ratelimit.client_ip(request))
        except ratelimit.RateLimited as exc:
            return ratelimit.too_many_response(request, exc)
        try:
            federated.register(client_id, params={**request.GET.dict(), **request.POST.dict()}, endpoint="authorize")
        except DomainError as exc:
            # The error's own text in the resident's language; a detail in English (e.g. which
            # statement failed) is for the service's operators, not for this page.
            message = getattr(exc, "default_message", None) or exc.message
            if "%(" in str(message):
                message = exc.message
            return _error_page(
                request, _("This cross-boundary sign-in was refused"), message, status=exc.status, code=exc.code
            )
    try:
        request = par.resolve(request)
        grant = server.get_consent_grant(request, end_user=None)
    except OAuth2Error as error:
        if error.redirect_uri:
            return par.add_issuer(server.handle_error_response(request, error))  # RFC 9207 §2
        redirected = par.error_response(request, error) if error.error != "invalid_client" else None
        if redirected is not None:
            return redirected
        # Unknown client or unregistered redirect URI: never redirect (RFC 6749 §4.1.2.1).
        return _protocol_error_page(request, error.error)
    client: Client = grant.request.client
    if len(grant.request.payload.data.get("nonce") or "") > par.nonce_max_length():
        # Stored with the code: refuse it now rather than fail when the app has answered (issue 13 item 11).
        too_long = InvalidRequestError(
            f"The 'nonce' must be at most {par.nonce_max_length()} characters.",
            redirect_uri=grant.redirect_uri,
            state=grant.request.payload.state,
        )
        return par.add_issuer(server.handle_error_response(request, too_long))  # RFC 9207 §2
    # Exactly the parameters Authlib validated (GET and POST together), replayed at completion.
    query = urlencode([(k, v) for k, values in grant.request.payload.datalist.items() for v in values])
    secret = secrets.token_urlsafe(24)
    try:
        data = grant.request.payload.data
        approval = services.open_authorization(
            client,
            grant.request.scope,
            data.get("claims"),
            query,
            secret,
            origin={"user_agent": request.headers.get("User-Agent", ""), "ip": request.META.get("REMOTE_ADDR", "")},
            acr_values=data.get("acr_values"),
        )
    except (errors.InvalidScopeRequest, errors.InvalidAuthorizationRequest) as exc:
        # A registered scope refused the request (e.g. corpid without openid, a service the
        # client may not name): to the service, as RFC 6749 §4.1.2.1 says; nothing was stored.
        with translation.override("en"):
            description = str(exc.message)
        refused = OAuth2Error(
            description=description, redirect_uri=grant.redirect_uri, state=grant.request.payload.state
        )
        refused.error = errors.OAUTH_ERRORS[exc.code]
        return par.add_issuer(server.handle_error_response(request, refused))  # RFC 9207 §2
    except DomainError as exc:
        return _error_page(request, _("This sign-in request is not valid"), exc.message)
    app_url = f"{settings.TUNGBAN_ISSUER}/app/approve/{approval.id}"
    response = pages.authorize_page(  # oidc/authorize.html, rendered once per shape (issue 15)
        request,
        client=client,
        approval=approval,
        claims=[{"label": eme.label(c["name"]), **c} for c in approval.requested_claims],
        app_url=app_url,
        status_url=reverse("oidc:authorize-status", args=[approval.id]),
        complete_url=reverse("oidc:authorize-complete", args=[approval.id]),
    )
    binding.remember(request, response, str(approval.id), secret)  # this browser's, no server session
    return response


def _bound_approval(request, approval_id):
    """The approval if this browser started it, else ``None``. Read once per request (the
    ``ui_locales`` decorator and the view both ask)."""
    found = request.__dict__.setdefault("_tungban_bound_approvals", {})
    key = str(approval_id)
    if key not in found:
        found[key] = _read_bound_approval(request, key)
    return found[key]


def _read_bound_approval(request, approval_id: str):
    secret = binding.secret_for(request, approval_id)
    if not secret:
        return None  # not started in this browser: no need to read it
    try:
        approval = wallet.get_request_to_complete(approval_id)  # the resident's status and tier only
    except DomainError:
        return None
    if not hmac.compare_digest(secret, approval.context.get("browser", "")):
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


@never_cache
@require_http_methods(["POST"])
def authorize_extend(request, approval_id):
    """ "More time" on the authorization page (issue 16; WCAG 2.2.1 Timing Adjustable): the
    pending approval this browser started gets a fresh ``TUNGBAN_APPROVAL_TTL``, within
    ``TUNGBAN_APPROVAL_MAX_LIFETIME`` seconds of its creation. Answers ``{"expires_in":
    seconds, "can_extend": bool}``; errors ``no_request`` (404, also for another browser's),
    ``request_already_decided`` (409), ``request_expired`` (410). CSRF-protected (the page
    sends its token)."""
    approval = _bound_approval(request, approval_id)
    if approval is None:
        return JsonResponse(wallet_errors.NoRequest().as_dict(), status=404)
    try:
        expires_at, again = wallet.extend_pending(
            approval.id, ttl=settings.TUNGBAN_APPROVAL_TTL, max_lifetime=settings.TUNGBAN_APPROVAL_MAX_LIFETIME
        )
    except DomainError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    left = max(0, int((expires_at - timezone.now()).total_seconds()))
    return JsonResponse({"expires_in": left, "can_extend": again})


def _replayed(request, query: str):
    clone = copy.copy(request)
    clone.method = "GET"
    clone.GET = QueryDict(query)
    clone.POST = QueryDict()
    return clone


@never_cache
@require_GET
@memoized_lookups
@honour_ui_locales(_approval_ui_locales)
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
    if isinstance(original.GET.get("client_id"), str):  # the client and the nonce check in one read
        active_client(original.GET["client_id"], original.GET.get("nonce"))
    try:
        grant = server.get_consent_grant(original, end_user=None)
    except OAuth2Error as error:
        return _protocol_error_page(request, error.error)
    client = grant.request.client
    if status == RequestStatus.APPROVED and services.acr_satisfied(approval):
        try:
            if approval.kind == LOGIN_KIND:
                # The approval marked used in the statement that writes the login session and
                # its code (issue 15, third round): one statement on PostgreSQL, atomic on its
                # own (no BEGIN/COMMIT); a refused completion raises and writes nothing.
                completes = wallet.completion_guard(approval)
                session = services.start_login_session(approval, client, deferred=True)
                subject = Subject(resident=approval.resident, approval=approval, session=session, completes=completes)
                response = server.create_authorization_response(original, grant_user=subject, grant=grant)
                if "code=" in response.get("Location", ""):
                    approval.status = RequestStatus.COMPLETED
                return response
            with transaction.atomic():  # used and code together or not at all
                approval = wallet.complete(approval.id, read=approval)
                session = services.start_login_session(approval, client, deferred=True)  # written with the code
                subject = Subject(resident=approval.resident, approval=approval, session=session)
                response = server.create_authorization_response(original, grant_user=subject, grant=grant)
                if "code=" not in response.get("Location", ""):
                    transaction.set_rollback(True)  # Authlib answered with an error: store nothing
                return response
        except wallet_errors.RequestExpired:
            # Approved, but this page came back after the completion grace: nothing was
            # completed, so say it expired, and tell the service (issue 14 item 9).
            status = "approved_too_late"
        except DomainError as exc:
            return _error_page(request, _("Sign-in already completed"), exc.message, status=409)
    refused_choice = (
        wallet_choices.get(approval.context["choice"])
        if status == RequestStatus.FAILED and approval.context.get("choice") and approval.failure_code
        else None
    )
    if refused_choice is not None:
        # The answer to the app's question was refused (e.g. no company to act for): the
        # service gets access_denied with the reason (RFC 6749 §4.1.2.1), in English.
        with translation.override("en"):
            description = f"{refused_choice.explain(approval.failure_code)} ({approval.failure_code})"
        error = AccessDeniedError(
            description=description, redirect_uri=grant.redirect_uri, state=grant.request.payload.state
        )
        denied = par.add_issuer(server.handle_error_response(original, error))
    else:
        denied = server.create_authorization_response(original, grant_user=None, grant=grant)
    return_url = denied.get("Location")
    next_step = None
    if refused_choice is not None:
        title, message = str(refused_choice.refused_title), refused_choice.explain(approval.failure_code)
        gap = "" if request.LANGUAGE_CODE.startswith("zh") else " "
        message = message.replace("%", "%%") + gap + _("Nothing was shared with %(service)s.")
        next_step = refused_choice.next_step or None
    elif status == RequestStatus.EXPIRED:
        title, message = (
            _("The request has expired"),
            _(
                "You did not answer in the app within 2 minutes. Nothing was shared. Please start again from %(service)s."
            ),
        )
    elif status == "approved_too_late":
        title, message = (
            _("This sign-in request expired"),
            _(
                "You approved in the app, but this page was not back in time to finish the sign-in. Nothing was shared. Please start again from %(service)s."
            ),
        )
    elif status == RequestStatus.FAILED and approval.failure_code == wallet_errors.CodeAttemptsExceeded.code:
        title, message = (
            _("The number did not match"),
            _(
                "The number typed in the app was not the one shown on this page, so the request was cancelled. Nothing was shared. Please start again from %(service)s."
            ),
        )
    elif status == RequestStatus.APPROVED and services.only_second_factor_missing(approval):
        # approved with the device key only, but the service requires two factors (issue 16 item 3)
        title, message = (
            _("Confirm with your passkey"),
            _(
                "%(service)s needs a login confirmed with two factors: approve in the tungban app on your phone, "
                "which asks for your passkey (fingerprint, face or screen lock). The command-line app confirms "
                "with its device key only. Nothing was shared."
            ),
        )
    elif status == RequestStatus.APPROVED:  # approved, but the account's tier is below what the service requires
        title, message = (
            _("A tungban+ account is needed"),
            _(
                "%(service)s needs a login with a tungban+ account. Upgrade your account at a registration counter. "
                "Nothing was shared."
            ),
        )
        next_step = PLUS_TIER_HELP
    else:
        title, message = (
            _("You declined"),
            _("You declined the request in the app. Nothing was shared with %(service)s."),
        )
    name = client.name_zh if request.LANGUAGE_CODE.startswith("zh") else client.name_en
    return _error_page(
        request, title, message % {"service": name}, status=200, return_url=return_url, next_step=next_step
    )


def hot_authorize_complete(request, id: str):
    """:func:`authorize_complete` as a page hot path (``/oidc/authorize/{id}/complete``,
    :mod:`tungban.core.hotpaths`, issue 15): ``None`` (the URL conf's 404) for a segment
    that is not a UUID, as its ``<uuid:…>`` converter refuses it."""
    try:
        approval_id = uuid.UUID(id)
    except ValueError:
        return None
    if str(approval_id) != id:
        return None  # the converter takes the canonical lowercase form only
    return authorize_complete(request, approval_id=approval_id)


@csrf_exempt
@require_http_methods(["POST"])
@ratelimit.limit_failures("token")
def token(request):
    """Token endpoint (RFC 6749 §3.2, OIDC Core §3.1.3). Its rate limit counts failed
    requests only (argued in :mod:`.fasttoken`)."""
    return _cors(server.create_token_response(request))


@csrf_exempt
@require_http_methods(["POST"])
def pushed_authorization_request(request):
    """Pushed authorization request endpoint (RFC 9126 §2)."""
    return par.push(server, request, CLIENT_AUTH_METHODS)


@csrf_exempt
@require_http_methods(["POST"])
def revoke(request):
    """Revocation endpoint (RFC 7009)."""
    return server.create_endpoint_response("revocation", request)


def _oauth_error(error: DomainError) -> HttpResponse:
    """A resource-server error in the one format of RFC 6750 §3: ``{"error",
    "error_description"}`` (ASCII, so English: RFC 6750 §3) and a Bearer challenge naming the
    code. A request with no bearer token gets the bare challenge and an empty body
    (§3.1: no error code or other error information) — issue 13 item 17. A DPoP error
    carries the ``DPoP-Nonce`` header (RFC 9449 §9)."""
    challenge = (error.details or {}).get("www_authenticate")
    if challenge == NO_TOKEN_CHALLENGE:
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = challenge
        return response
    with translation.override("en"):
        description = str(error.message)
    response = JsonResponse({"error": error.code, "error_description": description}, status=error.status)
    if challenge or error.status == 401:
        response["WWW-Authenticate"] = challenge or f'Bearer realm="tungban", error="{error.code}"'
    if (error.details or {}).get("dpop_nonce"):
        response["DPoP-Nonce"] = error.details["dpop_nonce"]  # RFC 9449 §9: with use_dpop_nonce
    return response


def _release(request, *, scope, with_subject):
    """UserInfo / form data by the reference path: the bearer token (RFC 6750), then step-up
    (RFC 9470 §3, issue 16 security review M3: as on every API called with a resident's token,
    the login must reach the level the client registers now, ``Client.required_acr``), then
    the release (:func:`.services.release`).

    Errors as RFC 6750 §3 (:func:`_oauth_error`): ``invalid_token`` (401),
    ``insufficient_scope`` (403), ``insufficient_user_authentication`` (401 with its
    ``WWW-Authenticate`` challenge naming ``acr_values``), ``account_suspended``."""
    try:
        tok = bearer_token(request, scope)
        stepup.require(tok, floor=tok.client.required_acr)
        return _cors(JsonResponse(services.release(tok, with_subject=with_subject)))
    except DomainError as exc:
        return _cors(_oauth_error(exc))


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
        return _protocol_error_page(request, error.error)
    if req.needs_confirmation and not (request.method == "POST" and request.POST.get("confirm") == "yes"):
        return render(request, "oidc/logout_confirm.html", {"client": req.client})
    response = server.create_endpoint_response("end_session", req)
    if response is None:
        response = render(request, "oidc/logged_out.html", {"client": req.client})
    binding.forget(response)  # the pending sign-ins of this browser
    return response
