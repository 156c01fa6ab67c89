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
