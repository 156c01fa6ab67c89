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
        from tungban.wallet import cards as panel_cards

        from . import cards

        panel_cards.register(
            "credentials.expiring",
            _("e-Licences about to expire"),
            load=cards.expiring_card,
            description=_("Your e-licences that expire within the next 90 days."),
            app=self.label,
        )
        from tungban.core import front

        from . import hot

        hotpaths.register(hot.PATH, hot.verify_view, methods=("POST",))  # issue 15
        front.register_lane(hot.PATH, hot.verify_lane, max_body=hot.MAX_BODY)  # issue 15, third round
