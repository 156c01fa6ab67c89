"""The OpenID Provider app: registers its own scopes (OIDC Core §5.4, §11) and approval kinds."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OidcConfig(AppConfig):
    name = "tungban.oidc"
    label = "oidc"

    def ready(self):
        from tungban.core import hotpaths, retention
        from tungban.identity import eme
        from tungban.wallet import kinds

        from . import constants as c
        from . import fastrelease, scopes, services

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
        kinds.register(c.LOGIN_KIND, _("Log in"), app=self.label)
        kinds.register(c.FORMFILL_KIND, _("Fill a form"), app=self.label)
        retention.register(self.label, services.purge_expired)
        # issue 15: userinfo and form data before the page middleware (fall through on errors)
        hotpaths.register("/oidc/userinfo", fastrelease.hot_userinfo, methods=("GET", "POST"))
        hotpaths.register("/oidc/formdata", fastrelease.hot_formdata, methods=("GET", "POST"))
