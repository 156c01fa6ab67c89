"""The portal's login: an OpenID Connect relying party of tungban's own provider, with
Authlib's Django client (authorization code, PKCE S256, nonce, ID token checked against the
JWKS, claims from userinfo: each release is recorded by the provider as for any service).

The portal's session holds only the resident's public id and the pairwise ``sub``
(:data:`SESSION_KEY`), and after a corporate login (scope ``corpid``) the company it named
(:class:`~tungban.eservices.services.company.Company`); released claims are used at once to start an application and never
kept in the session.
"""

from __future__ import annotations

import functools

from authlib.integrations.django_client import OAuth
from django.conf import settings

from tungban.identity.models import Resident

from . import portal
from .services.company import Company

SESSION_KEY = "eservices_login"
INTENT_KEY = "eservices_intent"
#: Seconds a portal login lasts without activity.
IDLE_SECONDS = 30 * 60


@functools.lru_cache(maxsize=4)
def _registry(issuer: str, secret: str):
    oauth = OAuth()
    return oauth.register(
        name="tungban",
        client_id=portal.CLIENT_ID,
        client_secret=secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid",
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
        },
    )


def oauth_client():
    """Authlib's client for the platform at ``TUNGBAN_ISSUER`` (discovery fetched once per
    process and issuer: configuration, not state)."""
    return _registry(settings.TUNGBAN_ISSUER, portal.client_secret())


def log_in(request, resident: Resident, sub: str, company: Company | None = None) -> None:
    """Log ``resident`` in to the portal; ``company``: the company the corporate login named
    (its BR number, names, pairwise organisation id and mandate id, never the claims)."""
    request.session.cycle_key()  # a new session id at login (session fixation)
    request.session[SESSION_KEY] = {
        "resident": str(resident.public_id),
        "sub": sub,
        **({"company": company.as_dict()} if company else {}),
    }
    request.session.set_expiry(IDLE_SECONDS)


def log_out(request) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.pop(INTENT_KEY, None)


def login_url(next_path: str) -> str:
    """The portal's login page, coming back to ``next_path`` (a path on the platform)."""
    from urllib.parse import urlencode

    from django.urls import reverse

    return f"{reverse('eservices:login')}?{urlencode({'next': next_path})}"


def resident_of(request) -> Resident | None:
    """The logged-in resident of ``request`` (:func:`current`), or ``None``."""
    return current(request)[0]


def current(request) -> tuple[Resident | None, str]:
    """The logged-in resident and their pairwise ``sub`` at the portal, or ``(None, "")``.
    A page seen while logged in renews the login for :data:`IDLE_SECONDS` (the session is
    saved again, as ``SESSION_SAVE_EVERY_REQUEST`` would do for this session only)."""
    data = request.session.get(SESSION_KEY)
    if not data:
        return None, ""
    resident = Resident.objects.filter(public_id=data["resident"]).first()
    if resident is None or not resident.is_active:
        log_out(request)
        return None, ""
    request.session.set_expiry(IDLE_SECONDS)  # an idle limit: each page moves the end on
    return resident, data["sub"]
