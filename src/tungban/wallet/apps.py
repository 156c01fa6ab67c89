from django.apps import AppConfig


class WalletConfig(AppConfig):
    name = "tungban.wallet"
    label = "wallet"
