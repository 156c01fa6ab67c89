"""Pages of the hosted services (``/federation/services/<slug>/``: the service, login, callback,
logout) and the public list of cross-boundary services (``/cross-boundary/``). Part frp.

Thin: the protocol is :mod:`.services.rp`. A refused login shows a page in the resident's
language with what went wrong (the error's message, declared in :mod:`.errors`), never a
library's English text, and nothing is kept of it but the failed :class:`~.models.RemoteLogin`.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from tungban.core.errors import DomainError

from . import errors
from .services import directory, rp

#: The cookie that binds a login's state to the browser (its value is a random secret;
#: the database holds only its keyed digest). One per service: its path is the service's.
COOKIE = "tungban_rp"

log = logging.getLogger(__name__)

#: The chain's errors as the resident at a hosted service meets them: it is the partner
#: platform's membership that failed, not the service's (the declared messages are the
#: provider side's, :mod:`.errors`).
RP_MESSAGES = {
    "invalid_trust_chain": _(
        "The partner platform's membership of the federation could not be verified (a statement is expired, "
        "revoked or wrongly signed). You were not logged in and nothing was sent."
    ),
    "invalid_trust_anchor": _(
        "The partner platform does not belong to a federation this platform trusts. You were not logged in."
    ),
    "invalid_metadata": _(
        "The partner platform's registration breaks the federation's rules (metadata policy). You were not logged in."
    ),
    "unknown_partner": _("There is no agreement with that platform, so nobody may log in from there."),
    "federation_unreachable": _("The partner platform could not be reached. Please try again later."),
}


def _cookie_path(service) -> str:
    return f"/{service.path}/"


def _secret(request) -> str | None:
    value = request.COOKIES.get(COOKIE, "")
    return value if 20 <= len(value) <= 100 else None


def _refusal(request, exc: DomainError, *, service=None, status: int | None = None):
    """The refusal page: what went wrong in the page's language, what to do next. The message is
    the error's declared one (translated); a detail given at the raise site (the chain's
    technical reason, in English) goes to the log, not to the resident."""
    default = RP_MESSAGES.get(exc.code) or getattr(type(exc), "default_message", None)
    message = exc.message if default is None or isinstance(exc, errors.LoginRefused) else default
    if str(message) != str(exc.message):
        log.info("cross-boundary login refused (%s): %s", exc.code, exc.message)
    return render(
        request,
        "federation/refusal.html",
        {
            "service": service and directory.service_card(service),
            "message": message,
            "code": exc.code,
            "retry": service is not None and exc.code not in ("not_found",),
        },
        status=status or getattr(exc, "status", 400) or 400,
    )


@never_cache
@require_GET
def service_page(request, slug):
    """The service's start page: "Log in with your <partner> account", or, once logged in,
    what the service received (the pairwise identifier and the level) and a logout button."""
    try:
        service = rp.hosted_service(slug)
    except errors.EntityNotFound as exc:
        return _refusal(request, exc, status=404)
    login = rp.current_login(service, _secret(request))
    return render(
        request,
        "federation/service.html",
        {
            "service": directory.service_card(service),
            "login": login and directory.login_card(login),
            "partners": directory.partner_cards(),
        },
    )


@never_cache
@require_GET
def service_login(request, slug):
    """Start a login with the partner platform ``?provider=`` (its entity identifier): to its
    authorization page, or a refusal page (unknown partner, a chain that does not verify)."""
    try:
        service = rp.hosted_service(slug)
    except errors.EntityNotFound as exc:
        return _refusal(request, exc, status=404)
    secret = _secret(request) or rp.new_browser_secret()
    try:
        url = rp.start_login(
            service,
            request.GET.get("provider", ""),
            browser_secret=secret,
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )
    except DomainError as exc:
        return _refusal(request, exc, service=service)
    response = HttpResponseRedirect(url)
    response.set_cookie(
        COOKIE,
        secret,
        max_age=rp.SESSION_LIFETIME,
        path=_cookie_path(service),
        secure=request.is_secure() or settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",  # the provider's redirect back is a top-level GET: the cookie goes with it
    )
    return response


@never_cache
@require_GET
def service_callback(request, slug):
    """The redirect URI (OIDC Core §3.1.2.5/§3.1.2.6): finish the login and go to the service's
    page, or show why it was refused (declined in the app, wrong issuer, bad ID token, level too
    low, the provider's chain no longer verifies)."""
    try:
        service = rp.hosted_service(slug)
    except errors.EntityNotFound as exc:
        return _refusal(request, exc, status=404)
    params = request.GET
    try:
        if params.get("error"):
            rp.decline_login(
                service,
                state=params.get("state", ""),
                browser_secret=_secret(request) or "",
                error=params["error"],
                iss=params.get("iss"),
            )
        rp.finish_login(
            service,
            state=params.get("state", ""),
            code=params.get("code", ""),
            browser_secret=_secret(request) or "",
            iss=params.get("iss"),
        )
    except DomainError as exc:
        return _refusal(request, exc, service=service)
    return HttpResponseRedirect(reverse("federation:service", args=[slug]))


@require_POST
def service_logout(request, slug):
    """Log out of the service: the browser's secret is forgotten (its cookie deleted), so the
    page no longer finds the login."""
    try:
        service = rp.hosted_service(slug)
    except errors.EntityNotFound as exc:
        return _refusal(request, exc, status=404)
    response = HttpResponseRedirect(reverse("federation:service", args=[slug]))
    response.delete_cookie(COOKIE, path=_cookie_path(service), samesite="Lax")
    return response


@require_GET
def cross_boundary(request):
    """``/cross-boundary/``: this platform's cross-boundary services and the partner platforms'
    services a resident can log in to, each with its trust marks and a link to log in."""
    return render(
        request,
        "federation/cross_boundary.html",
        {
            "hosted": [directory.service_card(s) for s in directory.hosted_services()],
            "partners": directory.partner_directory(),
        },
    )
