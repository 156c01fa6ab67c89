"""``tungban sweep_keys``: make every key in the PKCS#11 token one the platform knows (issue 14 item 3)."""

from django.core.management import BaseCommand

from tungban.signing import services


class Command(BaseCommand):
    help = (
        "Destroy keys in the PKCS#11 token that no database row knows (left by a worker killed while "
        "making one) and reserved keys never used after TUNGBAN_KEY_SWEEP_GRACE seconds. The scheduled "
        "purge runs the same sweep."
    )

    def add_arguments(self, parser):
        parser.add_argument("--grace", type=float, help="seconds instead of TUNGBAN_KEY_SWEEP_GRACE")

    def handle(self, *args, grace=None, **opts):
        counts = services.sweep_keys(grace=grace)
        if not counts:
            self.stdout.write("The software keystore keeps no keys outside the database: nothing to sweep.")
        for name, count in counts.items():
            self.stdout.write(f"{name}: {count}")
