"""``tungban register_department_system CLIENT_ID DEPT``: let an OpenID Connect client (already
registered with its JWKS: the admin's "Clients" page or ``oidc.services.register_client``) act for a department through
the e-services API (scope ``eservices``) and the payments API (scope ``payments``, issue 18), both
``client_credentials`` with ``private_key_jwt``."""

from django.core.management import BaseCommand, CommandError

from tungban.eservices.models import Department
from tungban.eservices.services import webhooks
from tungban.oidc.models import Client
from tungban.payments.services import webhooks as payments


class Command(BaseCommand):
    help = (
        "Register an OpenID Connect client as a department's system for the e-services API (scope eservices) "
        "and the payments API (scope payments)."
    )

    def add_arguments(self, parser):
        parser.add_argument("client_id")
        parser.add_argument("department", help="department code, e.g. SWD")

    def handle(self, *args, client_id, department, **opts):
        client = Client.objects.filter(client_id=client_id).first()
        if client is None:
            raise CommandError(f"no client {client_id!r}: register it first (with its public keys)")
        if not (client.jwks or {}).get("keys"):
            raise CommandError(f"client {client_id!r} has no public keys: the scope needs private_key_jwt")
        code = department.upper()
        found = Department.objects.filter(code=code).first()
        if found is None:
            raise CommandError(f"no department {code!r}: load the catalogue first")
        system = webhooks.register_system(code, client)
        payments.register_system(code, client, name_en=found.name_en, name_zh=found.name_zh)
        self.stdout.write(
            f"{client_id} acts for {system.department_id} (service account {system.user.username}); "
            "scopes eservices and payments"
        )
