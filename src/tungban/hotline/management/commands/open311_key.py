"""``tungban open311_key NAME [--contact TEXT]``: issue an Open311 client its ``api_key`` (a new
key replaces the client's old one, which stops working at once); ``--withdraw`` withdraws it.
The key is printed once and only its SHA-256 is stored (:class:`~tungban.hotline.models.Open311Client`)."""

from django.core.management import BaseCommand, CommandError

from tungban.hotline.services import open311


class Command(BaseCommand):
    help = "Issue (or withdraw) an Open311 GeoReport v2 client's api_key for POST /open311/v2/requests."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the client's name, e.g. 'fixmystreet-hk'")
        parser.add_argument("--contact", default="", help="who runs the client (e-mail or phone)")
        parser.add_argument("--withdraw", action="store_true", help="withdraw the client's key")

    def handle(self, *args, name, contact, withdraw, **opts):
        if withdraw:
            if not open311.withdraw_key(name):
                raise CommandError(f"no active key for {name!r}")
            self.stdout.write(f"The api_key of {name} is withdrawn.")
            return
        try:
            client, key = open311.issue_key(name, contact=contact)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"api_key for {client.name} (shown once, keep it secret):\n{key}")
