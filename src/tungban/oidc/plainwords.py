"""Plain words for the OAuth 2.0 / OpenID Connect errors the platform's pages can show a
resident (issue 16: residents saw ``access_denied`` and Authlib's English descriptions inside
the Chinese page).

:func:`plain` maps an error code to ``{"title", "message", "next"}``, lazy translations in
English and Traditional Chinese: what happened and what to do next, never the code or a
library's text (the pages show the code only in small print, for a help desk). Codes: RFC 6749
§4.1.2.1 and §5.2, OpenID Connect Core 1.0 §3.1.2.6, RFC 9126 §2.3 (PAR), RFC 9101 §6.3 (JAR),
RFC 6750 §3.1, OpenID Connect RP-Initiated Logout 1.0; any other code gets the general words.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

_START_AGAIN = _("Go back to the online service and start again. If it happens again, contact the service.")
_SERVICE_FAULT = _(
    "The online service's request has a fault that you cannot fix. Go back to the service and try again later, "
    "or contact the service and tell them the error code below."
)

_BAD_REQUEST = {
    "title": _("This sign-in request is not valid"),
    "message": _("The online service sent a sign-in request that tungban 通辦 cannot accept. Nothing was shared."),
    "next": _SERVICE_FAULT,
}
_WORDS: dict[str, dict] = {
    "invalid_client": {
        "title": _("This online service is not known"),
        "message": _(
            "tungban 通辦 does not know the online service that sent you here, or its address. Nothing was shared."
        ),
        "next": _(
            "Check that you reached the service from its official website. If you did, contact the service and tell "
            "them the error code below."
        ),
    },
    "invalid_redirect_uri": {
        "title": _("This online service is not known"),
        "message": _(
            "tungban 通辦 does not know the online service that sent you here, or its address. Nothing was shared."
        ),
        "next": _(
            "Check that you reached the service from its official website. If you did, contact the service and tell "
            "them the error code below."
        ),
    },
    "unauthorized_client": {
        "title": _("This service cannot use this kind of sign-in"),
        "message": _("The online service is not allowed to ask for this kind of sign-in. Nothing was shared."),
        "next": _SERVICE_FAULT,
    },
    "access_denied": {
        "title": _("Nothing was shared"),
        "message": _("The request was declined or cancelled, so nothing was shared with the online service."),
        "next": _(
            "If you want to use the service, go back to it and start again; you can also fill in its form yourself."
        ),
    },
    "invalid_scope": {
        "title": _("The service asked for details it may not have"),
        "message": _("The online service asked for personal details it is not allowed to ask for. Nothing was shared."),
        "next": _SERVICE_FAULT,
    },
    "server_error": {
        "title": _("Something went wrong at tungban 通辦"),
        "message": _("tungban 通辦 had a problem and could not finish. Nothing was shared."),
        "next": _("Wait a few minutes, then go back to the online service and start again."),
    },
    "temporarily_unavailable": {
        "title": _("tungban 通辦 is busy"),
        "message": _("tungban 通辦 cannot take your request right now. Nothing was shared."),
        "next": _("Wait a few minutes, then go back to the online service and start again."),
    },
    "login_required": {
        "title": _("You need to sign in"),
        "message": _("The online service needs you to sign in with the tungban 通辦 app first."),
        "next": _START_AGAIN,
    },
    "interaction_required": {
        "title": _("You need to sign in"),
        "message": _("The online service needs you to sign in with the tungban 通辦 app first."),
        "next": _START_AGAIN,
    },
    "account_selection_required": {
        "title": _("You need to sign in"),
        "message": _("The online service needs you to sign in with the tungban 通辦 app first."),
        "next": _START_AGAIN,
    },
    "consent_required": {
        "title": _("Your approval is needed"),
        "message": _("The online service needs your approval in the tungban 通辦 app before it gets your details."),
        "next": _START_AGAIN,
    },
    "unmet_authentication_requirements": {
        "title": _("A stronger sign-in is needed"),
        "message": _(
            "The online service needs a higher level of identity check than this sign-in gave (for example "
            "a tungban+ account, checked at a registration counter). Nothing was shared."
        ),
        "next": _(
            "Upgrade your account at a registration counter (bring your Hong Kong identity card), then start "
            "again from the service."
        ),
    },
    "invalid_grant": {
        "title": _("This sign-in has expired or was already used"),
        "message": _(
            "The sign-in could not be finished because it has expired or was already used. Nothing was shared."
        ),
        "next": _START_AGAIN,
    },
    "invalid_request_uri": {
        "title": _("This sign-in request has expired"),
        "message": _("The sign-in request has expired or was already used. Nothing was shared."),
        "next": _START_AGAIN,
    },
    "invalid_token": {
        "title": _("This sign-in has expired"),
        "message": _("The online service's sign-in with tungban 通辦 has expired or was ended."),
        "next": _START_AGAIN,
    },
}
for _code in (
    "invalid_request",
    "unsupported_response_type",
    "unsupported_grant_type",
    "invalid_request_object",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
    "invalid_dpop_proof",
    "insecure_transport",
    "use_dpop_nonce",
):
    _WORDS[_code] = _BAD_REQUEST

_GENERAL = {
    "title": _("The request could not be completed"),
    "message": _("tungban 通辦 could not complete the online service's request. Nothing was shared."),
    "next": _START_AGAIN,
}


def plain(code: str | None) -> dict:
    """``{"title", "message", "next"}`` (lazy translations) for the OAuth/OIDC error ``code``
    (e.g. ``"access_denied"``); the general words for an unknown or empty code."""
    return _WORDS.get(code or "", _GENERAL)
