from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SigningConfig(AppConfig):
    name = "tungban.signing"
    verbose_name = _("Digital signing")

    def ready(self):
        from tungban.core import retention
        from tungban.oidc import scopes
        from tungban.wallet import kinds

        from . import receivers, services  # noqa: F401  (receivers connects to wallet and identity signals)
        from .constants import SIGN_KIND, SIGNING_SCOPE

        # Keys in the token that no row knows, and reserved keys never used (issue 14 item 3);
        # the sweep commits each row change before it destroys a key: not in one transaction.
        retention.register("signing_keys", services.sweep_keys, own_transactions=True)

        scopes.register(SIGNING_SCOPE, _("Ask you to sign documents"), app=self.label)
        kinds.register(SIGN_KIND, _("Sign documents"), binds=("documents",), app=self.label)
