"""``tungban rotate_keys``: retire the active platform signing key and make a new one."""

from django.core.management import BaseCommand

from tungban.keys import services as keys


class Command(BaseCommand):
    help = "Rotate the ID-token signing key: retire the active key, create a new one."

    def handle(self, *args, **opts):
        key = keys.rotate()
        self.stdout.write(f"new signing key {key.kid}")
