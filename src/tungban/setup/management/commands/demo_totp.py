"""``tungban demo_totp USERNAME``: the current TOTP code of a demo staff account, computed from
the secret the demo wrote to ``var/demo-credentials.json`` (what an authenticator app would
show; RFC 6238, 30 s, 6 digits). It reads only that file: without it there is nothing to show."""

import base64
import json

from django.conf import settings
from django.core.management import BaseCommand, CommandError
from django_otp.oath import totp


class Command(BaseCommand):
    help = "Print the current TOTP code of a demo staff account (from var/demo-credentials.json)."

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?", default="officer")

    def handle(self, *args, username="officer", **opts):
        path = settings.VAR_DIR / "demo-credentials.json"
        try:
            staff = json.loads(path.read_text())["staff"]
        except (OSError, ValueError, KeyError):
            raise CommandError(f"No demo staff in {path}: run `tungban setup --demo` first.") from None
        person = next((s for s in staff if s["username"] == username), None)
        if person is None:
            raise CommandError(f"No demo staff account {username!r}: one of {', '.join(s['username'] for s in staff)}.")
        secret = person["totp_secret"]
        key = base64.b32decode(secret + "=" * (-len(secret) % 8))
        self.stdout.write(f"{totp(key):06d}")
