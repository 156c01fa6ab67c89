from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def member_no(resident) -> str:
    """The resident's sample membership number, derived from the public id: ``M-`` + 8 hex."""
    return f"M-{resident.public_id.hex[:8].upper()}"


class SampleDomainConfig(AppConfig):
    name = "tungban.testing.sampledomain"
    label = "sampledomain"
    verbose_name = _("Sample domain (tests only)")

    def ready(self):
        from tungban.identity import eme
        from tungban.oidc import scopes
        from tungban.wallet import kinds

        from . import receivers  # noqa: F401  (reacts to decisions on its kind)
        from .constants import MEMBER_NO_CLAIM, MEMBERSHIP_SCOPE, PLEDGE_KIND

        kinds.register(PLEDGE_KIND, _("Make a pledge"), binds=("pledge",), app=self.label)
        scopes.register(
            MEMBERSHIP_SCOPE,
            _("Your sample membership number"),
            claims=[eme.Claim(MEMBER_NO_CLAIM, MEMBERSHIP_SCOPE, _("Sample membership number"), member_no)],
            app=self.label,
        )
