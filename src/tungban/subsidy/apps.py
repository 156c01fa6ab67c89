from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubsidyConfig(AppConfig):
    """The AI Subsidy Scheme (人工智能資助計劃, issue 20) of the Cyberport AI Supercomputing Centre
    (數碼港人工智能超算中心): calls and batches, applications by organisations through the
    e-services engine, the secretariat's first assessment, the committee's decisions (through
    :mod:`tungban.committees`), awards with their subsidy and co-payment, allocations on the
    centre's scheduler (through :mod:`tungban.compute`), the fund's ledger and the funder's
    reports. Floor 7: it imports e-services, payments, CorpID, committees and compute services.
    """

    name = "tungban.subsidy"
    label = "subsidy"
    verbose_name = _("AI Subsidy Scheme")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tungban.core import retention
        from tungban.eservices import checks
        from tungban.eservices.signals import application_changed

        from .services import intake

        # Intake (part D): the e-service's submissions become the scheme's applications; its
        # form refuses more nodes than the class of service has.
        application_changed.connect(intake.on_application_changed, dispatch_uid="subsidy-intake")
        checks.register(intake.SLUG, intake.form_check)
        # A strategic enterprise's conditions are re-checked during the award (seed 000 §11(e)).
        retention.register("subsidy_intake", intake.recheck_conditions)

        from tungban.payments import purposes

        from . import committee
        from .services import awards

        # The grantee's monthly co-payment (part A): an order of the payments app, paid on /pay/<order>/.
        purposes.register(
            awards.PURPOSE,
            on_paid=awards.receive_co_payment,
            describe=awards.describe_co_payment,
            on_reversed=awards.co_payment_reversed,
            app=self.label,
        )
        # Invoices of the months that start while an award is active (the worker's periodic run).
        retention.register("subsidy.co_payment_invoices", awards.issue_due_invoices, own_transactions=True)
        # Offers unsigned past their last day lapse: commitment and capacity given back (tmoney).
        retention.register("subsidy.offers", awards.lapse_offers, own_transactions=True)
        # The committee's subject kinds (part E's registry).
        from tungban.committees import subjects

        committee.register(subjects)
        # The JSON API's secretariat systems (branch tapi): client_credentials with private_key_jwt only.
        from tungban.oidc import scopes

        from .services import systems

        scopes.register(
            systems.SCOPE, _("Process the AI Subsidy Scheme's applications (Cyberport)"), key_only=True, app=self.label
        )
