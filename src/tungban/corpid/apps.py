from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CorpidConfig(AppConfig):
    name = "tungban.corpid"
    label = "corpid"
    verbose_name = _("CorpID (business identity)")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tungban.core import retention
        from tungban.credentials import summaries
        from tungban.signing import behalf
        from tungban.wallet import cards as panel_cards
        from tungban.wallet import kinds

        from . import cards, receivers, services  # noqa: F401  (receivers: the app's decisions on mandates)
        from .constants import CARD_KIND, MANDATE_KIND
        from .services import credential

        # What 認證易, the offline verifier and the holder's app say of a mandate credential.
        summaries.register(credential.TYPE_ID, describe=credential.describe, title=credential.title)
        # An administrator's mandate that ends by its date suspends the organisation (and its
        # mandates' credentials) on the worker's schedule, not only at the next change.
        retention.register("corpid", services.sweep_suspensions)
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
        from .services import consents

        consents.register_subject_kind()  # the exchange's organisations (issue 19, second wave)
        # Corporate login (issue 19 A): the OpenID Provider's scope and claim, the app's question.
        from tungban.identity import eme
        from tungban.oidc import scopes
        from tungban.wallet import choices

        from .services import login

        scopes.register(
            login.SCOPE,
            _("Act for a company you hold a CorpID mandate for"),
            claims=[eme.Claim(login.CLAIM, login.SCOPE, _("The company you act for"), _no_personal_value)],
            essential=True,
            prepare=login.prepare,
            resolve=login.resolve,
            describe=login.describe,
            metadata={"authority_claims_supported": True},
            app=self.label,
        )
        choices.register(
            login.CHOICE,
            legend=_("Which company do you act for?"),
            options=login.choice_options,
            check=login.choice_check,
            none=_(
                "You hold no mandate in force that covers this service for any company. Decline, and ask "
                "an administrator of your company to give you a mandate for it."
            ),
            claim=login.CLAIM,
            refused_title=_("You cannot act for a company here"),
            explain=login.explain,
            next_step=_(
                "A company's administrators give mandates on the company's CorpID page; you accept a mandate "
                "in the tungban app. Then sign in again from the service."
            ),
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


def _no_personal_value(resident):
    """The ``authority`` claim has no value of the resident's own: it is the company chosen in
    the approval (``tungban.corpid.services.login.resolve``)."""
    return
