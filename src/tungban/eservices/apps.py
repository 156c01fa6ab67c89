from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EservicesConfig(AppConfig):
    name = "tungban.eservices"
    label = "eservices"
    verbose_name = _("e-Services")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tungban.core import retention
        from tungban.oidc import scopes

        from . import (
            receivers,  # noqa: F401 - connects the resident's notifications and the webhooks
            services,
        )
        from .services.webhooks import SCOPE

        retention.register(self.label, services.purge_expired, own_transactions=True)
        # Paying an application's fees (issue 18): the payments app runs on_paid once an order is paid,
        # and on_reversed when the bank takes a payment back.
        from tungban.payments import purposes

        purposes.register(
            services.payment.PURPOSE,
            on_paid=services.payment.receive_payment,
            describe=services.payment.describe_payment,
            on_reversed=services.payment.payment_reversed,
            app=self.label,
        )
        # Who acts for a department on payments (refunds, the payment counter): its officers here.
        from . import payments_officers

        payments_officers.register()
        # The payment page shows receipts to the order's payer only: a resident is logged in here.
        from tungban.payments import web as payment_pages

        from . import login

        payment_pages.register_viewer(login.resident_of)
        # CorpID's pages (issue 19) are behind the same portal login.
        from tungban.corpid import web as corpid_pages

        corpid_pages.register_login(login.resident_of, login.login_url)
        # Corporate login (issue 19 A): the portal's client may name any e-service that takes CorpID.
        from tungban.corpid.services import login as corpid_login

        from . import portal

        corpid_login.register_client_services(portal.CLIENT_ID, portal.takes_corpid)
        # The department systems' scope (client_credentials with private_key_jwt only).
        scopes.register(SCOPE, _("Process a department's e-services applications"), key_only=True, app=self.label)

        # The catalogue in the one search (issue 22): services, forms and the forms' field help.
        from . import search_sources

        search_sources.register_sources()

        from tungban.wallet import cards as panel_cards

        from . import cards

        panel_cards.register(
            "eservices.applications",
            _("My e-services applications"),
            load=cards.applications_card,
            description=_(
                "Drafts you can continue, applications waiting for information from you, "
                "the others in progress and the e-licences issued."
            ),
            app=self.label,
        )
