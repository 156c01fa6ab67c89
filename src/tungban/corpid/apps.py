from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CorpidConfig(AppConfig):
    name = "tungban.corpid"
    label = "corpid"
    verbose_name = _("CorpID (business identity)")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tungban.signing import behalf
        from tungban.wallet import cards as panel_cards
        from tungban.wallet import kinds

        from . import cards, receivers  # noqa: F401  (receivers: the app's decisions on mandates)
        from .constants import CARD_KIND, MANDATE_KIND
        from .services import corporate_signing

        # Signing asks CorpID who may sign for a company (issue 19: the company chop's replacement).
        behalf.register(corporate_signing.SCHEME, corporate_signing.check)

        kinds.register(
            MANDATE_KIND,
            _("Accept a mandate to act for a company"),
            binds=("mandate", "mandate_sha256"),
            question=_("Accept this mandate to act for the company?"),
            app=self.label,
        )
        panel_cards.register(
            CARD_KIND,
            _("Companies I act for"),
            load=cards.companies_card,
            act=cards.answer_offer,
            description=_("The companies you hold a CorpID mandate for, and mandates waiting for your answer."),
            app=self.label,
        )
