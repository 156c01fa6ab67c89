"""``tungban register_payments_system CLIENT_ID DEPT [--name-en … --name-zh …]``: let an OpenID
Connect client (already registered with its JWKS) act for a department through the payments API
(scope ``payments``, ``client_credentials`` with ``private_key_jwt``): create and read its
payments and bills, register webhooks. ``tungban register_department_system`` does this too,
with the department's names from the e-services catalogue."""

import re

from django.core.management import BaseCommand, CommandError

from tungban.oidc.models import Client
from tungban.payments.services import webhooks


class Command(BaseCommand):
    help = "Register an OpenID Connect client as a department's system for the payments API (scope payments)."

    def add_arguments(self, parser):
        parser.add_argument("client_id")
        parser.add_argument("department", help="department code, e.g. WSD")
        parser.add_argument("--name-en", default="", help="the department's name in English (shown on its bills)")
        parser.add_argument("--name-zh", default="", help="the department's name in Chinese")

    def handle(self, *args, client_id, department, name_en, name_zh, **opts):
        client = Client.objects.filter(client_id=client_id).first()
        if client is None:
            raise CommandError(f"no client {client_id!r}: register it first (with its public keys)")
        if not (client.jwks or {}).get("keys"):
            raise CommandError(f"client {client_id!r} has no public keys: the scope needs private_key_jwt")
        code = department.upper()
        if not re.fullmatch(r"[A-Z]{2,10}", code):
            raise CommandError(f"{department!r} is not a department code (2 to 10 letters)")
        system = webhooks.register_system(code, client, name_en=name_en, name_zh=name_zh)
        self.stdout.write(f"{client_id} acts for {system.department} in the payments API (scope payments)")
