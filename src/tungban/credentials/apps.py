from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CredentialsConfig(AppConfig):
    name = "tungban.credentials"
    verbose_name = _("e-Licences (電子證照)")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tungban.core import hotpaths, retention
        from tungban.oidc import scopes

        from . import services
        from .constants import CREDENTIALS_SCOPE

        scopes.register(CREDENTIALS_SCOPE, _("Issue and revoke e-Licences"), key_only=True, app=self.label)
        retention.register("credentials", services.purge_expired)
        from . import hot

        hotpaths.register(hot.PATH, hot.verify_view, methods=("POST",))  # issue 15
        from django.conf import settings

        from tungban.core import front

        # register_lane reads the path's size limit; the signing isolation's children set up
        # Django with a minimal configuration (no such setting) and serve no requests.
        if hasattr(settings, "TUNGBAN_MAX_REQUEST_BYTES"):
            front.register_lane(hot.PATH, hot.verify_lane, max_body=hot.MAX_BODY)  # issue 15, third round
