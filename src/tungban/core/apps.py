from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tungban.core"
    label = "core"
    verbose_name = "tungban core"
