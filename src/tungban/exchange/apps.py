from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "tungban.exchange"
    verbose_name = _("Consented Data Exchange Gateway")

    def ready(self):
        from tungban.oidc import scopes
        from tungban.wallet import kinds

        from . import receivers  # noqa: F401  (connects to the app's approval signals)
        from .constants import CDEG_SCOPE, CONSENT_KIND

        scopes.register(CDEG_SCOPE, _("Exchange data under a resident's consent"), key_only=True, app=self.label)
        kinds.register(
            CONSENT_KIND,
            _("Consent to share data"),
            binds=("terms",),
            app=self.label,
            # the title of the lines a consent for a company shows (issue 19; a resident's has none)
            question=_("Consent on behalf of a company"),
        )

        from tungban.wallet import cards as panel_cards

        from . import cards

        panel_cards.register(
            "exchange.water-bill",
            _("Water bill (Water Supplies Department)"),
            load=cards.water_bill_card,
            act=cards.water_bill_action,
            description=_(
                "Your water bill balance and due date, from the Water Supplies Department with your consent."
            ),
            app=self.label,
        )
        panel_cards.register(
            "exchange.recent-uses",
            _("Recent uses of my data"),
            load=cards.recent_uses_card,
            description=_("Which services and organisations received your data lately."),
            app=self.label,
        )

        from tungban.core import retention

        from . import nonces, services

        retention.register("exchange_nonces", nonces.purge_expired)  # request ids' window (issue 14 item 2)
        retention.register("exchange_answers", services.forget_ended_answers)  # kept answers (review M1)
        retention.register("assistant_answers", cards.purge_kept_answers)  # the panel's kept answers (M5)

        from tungban.core import front

        from . import lane

        front.register_lane(lane.PATH, lane.lane, max_body=lane.MAX_BODY)  # issue 15, fourth round
