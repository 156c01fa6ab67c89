"""``tungban register_subsidy_system CLIENT_ID``: let an OpenID Connect client (already
registered with its JWKS) act as the AI Subsidy Scheme's secretariat system (Cyberport) on
``/api/v1/subsidy/secretariat/…``: scope ``subsidy``, ``client_credentials`` with
``private_key_jwt`` only (:func:`tungban.subsidy.services.systems.register_secretariat_system`)."""

from django.core.management import BaseCommand, CommandError

from tungban.core.errors import DomainError
from tungban.eservices.models import Department
from tungban.oidc.models import Client
from tungban.subsidy.services import systems


class Command(BaseCommand):
    help = "Register an OpenID Connect client as Cyberport's system for the AI Subsidy Scheme's API (scope subsidy)."

    def add_arguments(self, parser):
        parser.add_argument("client_id")

    def handle(self, *args, client_id, **opts):
        client = Client.objects.filter(client_id=client_id).first()
        if client is None:
            raise CommandError(f"no client {client_id!r}: register it first (with its public keys)")
        if not (client.jwks or {}).get("keys"):
            raise CommandError(f"client {client_id!r} has no public keys: the scope needs private_key_jwt")
        if not Department.objects.filter(code=systems.SECRETARIAT).exists():
            raise CommandError(f"no department {systems.SECRETARIAT!r}: load the catalogue first")
        try:
            system = systems.register_secretariat_system(client)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(
            f"{client_id} acts for the secretariat {system.department_id} (service account {system.user.username}); "
            f"scope {systems.SCOPE}"
        )
