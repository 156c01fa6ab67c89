"""The registration counter: officers' pages that compose identity, wallet and signing."""

from django.apps import AppConfig


class CounterConfig(AppConfig):
    name = "tungban.counter"
    label = "counter"
    verbose_name = "tungban registration counter"
