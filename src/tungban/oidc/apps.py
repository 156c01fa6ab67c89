"""The OpenID Provider app: registers its own scopes (OIDC Core §5.4, §11) and approval kinds."""

from importlib import import_module

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OidcConfig(AppConfig):
    name = "tungban.oidc"
    verbose_name = _("Online services (OpenID Connect)")
    label = "oidc"

    def ready(self):

        from tungban.core import front, hotpaths, retention
        from tungban.identity import eme
        from tungban.keys import services as keys
        from tungban.wallet import kinds

        from . import constants as c
        from . import fastrelease, hot, scopes, services

        descriptions = {
            "openid": _("Log in with your digital identity"),
            "profile": _("Your name, gender and date of birth"),
            "hkid": _("Your HKID number"),
            "address": _("Your residential address"),
            "billing_address": _("Your billing address"),
            "phone": _("Your phone number"),
            "email": _("Your email address"),
        }
        for name in c.EME_SCOPES:
            scopes.register(name, descriptions[name], claims=eme.SCOPES.get(name, []), app=self.label)
        scopes.register(c.OFFLINE_ACCESS_SCOPE, _("Stay signed in (refresh tokens)"), app=self.label)
        # A federated client's login binds its cross-boundary consent (issue 23, .federated).
        kinds.register(c.LOGIN_KIND, _("Log in"), app=self.label, optional_binds=("cross_boundary",))
        kinds.register(c.FORMFILL_KIND, _("Fill a form"), app=self.label)
        retention.register(self.label, services.purge_expired)
        # Precomputed documents (issue 15); GET and HEAD: the rest get the URL conf's 405.
        hotpaths.register("/.well-known/openid-configuration", hot.discovery, methods=("GET", "HEAD"))
        hotpaths.register("/oidc/jwks", hot.jwks, methods=("GET", "HEAD"))
        # ... and before Django, from bytes (tungban.core.front): the same answers.
        front.register("/.well-known/openid-configuration", services.discovery_document)
        front.register("/oidc/jwks", keys.served_jwks, cache_control=hot.JWKS_CACHE_CONTROL)
        # The token endpoint uses no session, user or CSRF: answered before the page middleware (issue 15).
        hotpaths.register("/oidc/token", token, methods=("POST",))
        # ... and its common valid client_credentials and refresh_token requests before Django
        # (oidc.fasttoken).
        front.register_lane("/oidc/token", token_lane)
        # issue 15: userinfo and form data before the page middleware (fall through on errors)
        hotpaths.register("/oidc/userinfo", fastrelease.hot_userinfo, methods=("GET", "POST"))
        hotpaths.register("/oidc/formdata", fastrelease.hot_formdata, methods=("GET", "POST"))
        # The login's pages for a browser without a session (issue 15, third round).
        hotpaths.register("/oidc/authorize", authorize, methods=("GET",), page=True)
        hotpaths.register("/oidc/authorize/{id}/complete", authorize_complete, methods=("GET",), page=True)
        # WSGI: before Django (issue 15, third round); the hot paths above serve ASGI.
        front.register_lane("/oidc/userinfo", fastrelease.lane_userinfo, methods=("GET", "POST"), max_body=0)
        front.register_lane("/oidc/formdata", fastrelease.lane_formdata, methods=("GET", "POST"), max_body=0)


class _OnFirstCall:
    """``module.name`` of this package, imported on the first call only: the views build the
    Authlib server, which needs the settings of a full set-up (not those of the verifier
    children), so nothing here imports them when the app is loaded."""

    def __init__(self, module: str, name: str, **attrs):
        self.module, self.name, self.loaded = module, name, None
        self.__doc__ = f":func:`tungban.oidc.{module}.{name}`, imported on first use."
        self.__dict__.update(attrs)

    def __call__(self, *args, **kwargs):
        if self.loaded is None:
            self.loaded = import_module(f"{__package__}.{self.module}")
        return getattr(self.loaded, self.name)(*args, **kwargs)  # looked up per call, as a test may patch it


_hot_token = _OnFirstCall("fasttoken", "hot_token")
_reference_token = _OnFirstCall("views", "token")
token_lane = _OnFirstCall("fasttoken", "lane")
#: The authorization page; ``csrf_exempt`` as the view: OIDC Core §3.1.2.1 (form POSTs from any service).
authorize = _OnFirstCall("views", "authorize", csrf_exempt=True)
#: The browser's completion.
authorize_complete = _OnFirstCall("views", "hot_authorize_complete")


def token(request):
    """The token endpoint's view (:func:`tungban.oidc.views.token`); the common valid
    ``client_credentials`` and ``refresh_token`` requests are answered first by
    :func:`tungban.oidc.fasttoken.hot_token`."""
    return _hot_token(request) or _reference_token(request)
