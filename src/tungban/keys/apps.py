"""The platform key ring: the signing keys ledger, exchange, credentials and the OpenID
Provider sign with, and the one helper that seals private keys at rest."""

from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "tungban.keys"
    label = "keys"
    verbose_name = "tungban key ring"
