"""The platform key ring: the signing keys ledger, exchange, credentials and the OpenID
Provider sign with, and the one helper that seals private keys at rest."""

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


def _key_changed(sender, **kwargs):
    """A signing key saved or deleted through the model (the services, the admin's delete):
    a new version of the published JWKS, in the caller's transaction (issue 15)."""
    from . import services

    services.bump_version()


class KeysConfig(AppConfig):
    name = "tungban.keys"
    label = "keys"
    verbose_name = _("Key ring")

    def ready(self):
        from .models import SigningKey

        post_save.connect(_key_changed, sender=SigningKey, dispatch_uid="keys.signing_key_saved")
        post_delete.connect(_key_changed, sender=SigningKey, dispatch_uid="keys.signing_key_deleted")
