"""Mini-programs (小程序平台, issue 16): departments' static mini-apps that the resident's app
runs in a sandboxed iframe, talking to the app only through a MessageChannel bridge."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MiniAppsConfig(AppConfig):
    name = "tungban.miniapps"
    label = "miniapps"
    verbose_name = _("Mini-programs")

    def ready(self):
        from tungban.wallet import kinds

        from .constants import RELEASE_KIND

        # A data release to a mini-app is recorded in the resident's history under this kind.
        kinds.register(RELEASE_KIND, _("Mini-program"), app=self.label)
