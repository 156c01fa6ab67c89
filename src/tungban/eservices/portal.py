"""The e-services portal as a first-party relying party of tungban's own OpenID Provider
(issue 17): its OIDC client, its data-user organisation at the exchange gateway, and its
notification sender. :func:`ensure_portal` makes (or updates) all three; ``tungban setup``
calls it.

The portal logs residents in like any online service — authorization code with PKCE through
the normal authorization page, the resident approving the e-ME fields in the app — with
Authlib's Django client (:func:`oauth_client`). Its client secret is derived from
``SECRET_KEY`` (``salted_hmac``), so every worker knows it without storing it; ``tungban
setup`` after a ``SECRET_KEY`` rotation registers the new one. Its pairwise sector is its own
(``client:<pk>``); ``oidc.services.first_party_login`` resolves its ``sub`` because it is
listed in ``TUNGBAN_FIRST_PARTY_CLIENTS``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.crypto import salted_hmac

from tungban.exchange import services as exchange
from tungban.identity import eme
from tungban.keys import services as keys
from tungban.notify import services as notify
from tungban.oidc import services as oidc

CLIENT_ID = "tungban-eservices"
ORGANISATION_ID = "eservices"
SENDER_ID = "eservices"
NAME_EN = "tungban e-Services"
NAME_ZH = "通辦一網通辦"
CALLBACK_PATH = "/services/login/callback"
#: e-ME scopes the portal may ask for (each login asks only what the form maps).
SCOPES = ["openid", "profile", "hkid", "address", "phone", "email"]
#: The corporate login's scope (CorpID registers it with the OpenID Provider): "Apply for a
#: company" asks for it, with the e-service's slug in the ``claims`` request.
CORPID_SCOPE = "corpid"

#: The resident's notifications (``((placeholders))`` as notify's templates).
TEMPLATES = {
    "information_requested": {
        "subject_en": "Your application ((reference)) needs more information",
        "subject_zh": "你的申請 ((reference)) 需要更多資料",
        "body_en": "The department asks for more information about your application ((reference)). "
        "Read the request and answer it on the application's page in tungban e-Services.",
        "body_zh": "部門要求你就申請 ((reference)) 提供更多資料。請在通辦一網通辦的申請頁面查看要求並回覆。",
    },
    "rejected": {
        "subject_en": "Your application ((reference)) was not approved",
        "subject_zh": "你的申請 ((reference)) 不獲批准",
        "body_en": "The department did not approve your application ((reference)). "
        "The reasons are on the application's page in tungban e-Services.",
        "body_zh": "部門不批准你的申請 ((reference))。原因載於通辦一網通辦的申請頁面。",
    },
    "licence_issued": {
        "subject_en": "Your e-licence for application ((reference)) is in your app",
        "subject_zh": "你的申請 ((reference)) 的電子證照已發到應用程式",
        "body_en": "Your application ((reference)) was approved. The e-licence is in your app's e-licences.",
        "body_zh": "你的申請 ((reference)) 已獲批准。電子證照已放在應用程式的「電子證照」內。",
    },
    "payment_reversed": {
        "subject_en": "Pay again for application ((reference))",
        "subject_zh": "請再次繳付申請 ((reference)) 的費用",
        "body_en": "Your bank reversed the payment for your application ((reference)), so the fee is due again. "
        "Pay it on the application's page in tungban e-Services.",
        "body_zh": "你的銀行已撤回申請 ((reference)) 的付款，費用須再次繳付。請在通辦一網通辦的申請頁面付款。",
    },
}
#: Only the reference goes into a message (it is pushed to the phone): the department's
#: words stay on the application's page, behind the portal's login.


def client_secret() -> str:
    """The portal client's secret: an HMAC of ``SECRET_KEY`` (hex)."""
    return salted_hmac("tungban.eservices.portal", CLIENT_ID, algorithm="sha256").hexdigest()


def redirect_uri() -> str:
    return f"{settings.TUNGBAN_ISSUER}{CALLBACK_PATH}"


def scopes_for_claims(claims: list[str]) -> list[str]:
    """The e-ME scopes that cover ``claims`` (``family_name``/``given_name`` are ``profile``)."""
    out = ["openid"]
    for claim in claims:
        scope = eme.CLAIMS[claim].scope if claim in eme.CLAIMS else "profile"
        if scope in SCOPES and scope not in out:
            out.append(scope)
    return out


def takes_corpid(slug: str) -> bool:
    """Whether the e-service ``slug`` takes CorpID (its catalogue entry's ``corpid`` is
    ``required`` or ``allowed``): the services the portal's client may name in a corporate
    login's ``authority`` claims request (``tungban.corpid.services.login``)."""
    from .models import Requirement, Service

    return Service.objects.filter(slug=slug).exclude(corpid=Requirement.NO).exists()


@transaction.atomic
def ensure_portal() -> dict:
    """Register (or update) the portal's OIDC client (redirect URI on ``TUNGBAN_ISSUER``), its
    data-user organisation (the platform's key ring as its JWKS: the portal is the platform
    and calls the gateway in-process) and its notification sender with :data:`TEMPLATES`.
    Idempotent. Returns ``{"client_id", "organisation", "sender"}``."""
    if not keys.public_jwks().get("keys"):
        keys.create_key()
    client, _secret = oidc.register_client(
        client_id=CLIENT_ID,
        name_en=NAME_EN,
        name_zh=NAME_ZH,
        redirect_uris=[redirect_uri()],
        post_logout_redirect_uris=[f"{settings.TUNGBAN_ISSUER}/services/"],
        allowed_scopes=[*SCOPES, CORPID_SCOPE],
        jwks=keys.public_jwks(),
        secret=client_secret(),
    )
    exchange.register_organisation(id=ORGANISATION_ID, name_en=NAME_EN, name_zh=NAME_ZH, client=client)
    sender = notify.create_sender(SENDER_ID, NAME_EN, NAME_ZH, CLIENT_ID)
    notify.ensure_templates(sender, TEMPLATES)
    return {"client_id": CLIENT_ID, "organisation": ORGANISATION_ID, "sender": SENDER_ID}


def sender():
    """The portal's notification sender (``ensure_portal`` made it)."""
    return notify.get_sender(SENDER_ID)


def organisation():
    return exchange.get_organisation(ORGANISATION_ID)
