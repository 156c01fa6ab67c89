from django.core.management import BaseCommand, call_command

from tungban.oidc import keys
from tungban.oidc.models import SigningKey


class Command(BaseCommand):
    help = "Migrate the database, create the ID-token signing key and (--demo) the demo data."

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true", help="seed demo data (officer, residents, sample service)")

    def handle(self, *args, demo=False, **opts):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("compilemessages_if_needed")
        if not SigningKey.objects.filter(retired_at__isnull=True).exists():
            keys.create_key()
        if demo:
            from tungban.core.demo import seed

            out = seed()
            self.stdout.write(self.style.SUCCESS("Demo data ready."))
            self.stdout.write(f"  Officer login:      {out['officer']['username']} / {out['officer']['password']}")
            for r in out["residents"]:
                self.stdout.write(f"  Resident:           {r['name']}  HKID {r['hkid']}  activation code {r['activation_code']}")
            self.stdout.write(f"  Sample service:     client_id {out['client']['client_id']} (secret in var/demo-clients.json)")
