"""``tungban register_department_system CLIENT_ID DEPT``: let an OpenID Connect client (already
registered with its JWKS: the admin's "Clients" page or ``oidc.services.register_client``) act for a department through
the e-services API (scope ``eservices``, ``client_credentials`` with ``private_key_jwt``)."""

from django.core.management import BaseCommand, CommandError

from tungban.eservices.models import Department
from tungban.eservices.services import webhooks
from tungban.oidc.models import Client


class Command(BaseCommand):
    help = "Register an OpenID Connect client as a department's system for the e-services API (scope eservices)."

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
        if not Department.objects.filter(code=code).exists():
            raise CommandError(f"no department {code!r}: load the catalogue first")
        system = webhooks.register_system(code, client)
        self.stdout.write(f"{client_id} acts for {system.department_id} (service account {system.user.username})")
