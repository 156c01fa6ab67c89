from django.core.management import BaseCommand

from tungban.oidc import keys


class Command(BaseCommand):
    help = "Rotate the ID-token signing key: retire the active key, create a new one."

    def handle(self, *args, **opts):
        key = keys.rotate()
        self.stdout.write(f"new signing key {key.kid}")
