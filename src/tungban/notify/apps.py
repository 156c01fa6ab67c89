from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "tungban.notify"
    verbose_name = _("Notifications")

    def ready(self):
        from tungban.core import retention

        from . import services

        # Message texts are personal data: kept TUNGBAN_NOTIFY_RETENTION seconds (issue 16).
        retention.register("notify", services.purge_expired)
