from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "tungban.payments"
    label = "payments"
    verbose_name = _("e-Payment")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.core import checks as django_checks

        from tungban.core import retention

        from . import checks, services

        # A non-ASCII payee name or city cannot be in an FPS QR code: refused at start-up.
        django_checks.register(checks.merchant_settings)
        django_checks.register(checks.bank_keys)
        django_checks.register(checks.camt_schemas)
        django_checks.register(checks.camt_schemas_deploy, deploy=True)

        # Unpaid orders past their expiry become ``expired`` on the worker's periodic run
        # (core.retention's schedule, TUNGBAN_PURGE_INTERVAL); it deletes nothing.
        retention.register("payments.expire_orders", services.expire_orders_scheduled, own_transactions=True)
        # Yesterday's statement fetched from the bank on the same schedule (a job of its own;
        # off unless TUNGBAN_PAYMENTS_STATEMENT_FETCH is set).
        retention.register("payments.fetch_statements", services.fetch_due_statements, own_transactions=True)
        # Refunds, receipts and the counter (pay-refund): the counter's orders need no
        # fulfilment; the resident's e-receipts are a card of the app's panel; a receipt task
        # whose workers died counts as a failed attempt.
        from tungban.wallet import cards as panel_cards

        from . import cards, counter, purposes, receivers  # noqa: F401 (receivers connects)

        purposes.register(counter.PURPOSE, on_paid=counter.on_paid, describe=counter.describe, app=self.label)
        # A void e-receipt (its payment reversed) says so on the signature verification page.
        from tungban.signing import document_status

        from . import receipts

        document_status.register("payments.receipts", receipts.document_status)
        panel_cards.register(
            "payments.receipts",
            _("My e-receipts and refunds"),
            load=cards.receipts_card,
            description=_("The signed receipts of what you paid, refunds in progress and their credit notes."),
            app=self.label,
        )
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
        purposes.register(
            bills.PURPOSE, on_paid=bills.on_paid, describe=bills.describe, on_reversed=bills.on_reversed, app=self.label
        )
