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
        self._ready_departments()

    def _ready_departments(self):
        """The departments' side (issue 18 part 4): their systems' scope, the purposes of the
        payments they create and of bills, webhooks on every payment event, the water bill."""
        from tungban.oidc import scopes

        from . import (
            purposes,
            receivers_api,  # noqa: F401 - connects the webhooks and the water bill
        )
        from .services import bills, departments
        from .services.webhooks import SCOPE

        scopes.register(SCOPE, _("Take payments and post bills for a department"), key_only=True, app=self.label)
        purposes.register(departments.PURPOSE, on_paid=departments.on_paid, app=self.label)
        purposes.register(bills.PURPOSE, on_paid=bills.on_paid, describe=bills.describe, app=self.label)
