from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FederationConfig(AppConfig):
    """Cross-boundary login (跨境通辦, issue 23) on OpenID Federation 1.0: entity configurations,
    subordinate statements, trust chains, metadata policy and trust marks; the OpenID provider's
    automatic registration of a partner's services with the resident's consented binding; hosted
    services that accept a partner platform's identities. Floor 6: it imports oidc, wallet,
    identity and keys through their services."""

    name = "tungban.federation"
    label = "federation"
    verbose_name = _("Cross-boundary login")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tungban.oidc import federated
        from tungban.wallet import cards as panel_cards
        from tungban.wallet import kinds
        from tungban.wallet.signals import approval_decided

        from .cards import CARD_KIND, bindings_card
        from .services import bindings, registration

        # The OpenID provider's automatic registration of federation RPs (§12.1) and their releases.
        federated.register_client_source(registration.source())
        # A live binding waives the login's cross-boundary consent; an approval makes the binding.
        kinds.register_waiver(registration.BIND, bindings.waiver)
        approval_decided.connect(bindings.on_approval_decided, dispatch_uid="federation.bindings")
        panel_cards.register(
            CARD_KIND,
            _("Cross-boundary bindings"),
            load=bindings_card,
            description=_("The partner platforms your account is bound to for cross-boundary services (跨境通辦)."),
            app=self.label,
        )
        # Part frp: logins at hosted services that were started and never finished (their
        # nonce and PKCE verifier) are deleted by the worker's periodic purge.
        from tungban.core import retention

        from .services import rp

        retention.register("federation.rp", rp.purge_abandoned_logins)
