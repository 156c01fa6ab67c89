from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "tungban.payments"
    label = "payments"
    verbose_name = _("e-Payment")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tungban.core import retention

        from . import services

        # Unpaid orders past their expiry become ``expired`` on the worker's periodic run
        # (core.retention's schedule, TUNGBAN_PURGE_INTERVAL); it deletes nothing.
        retention.register("payments.expire_orders", services.expire_orders_scheduled, own_transactions=True)
