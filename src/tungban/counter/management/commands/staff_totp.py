"""``tungban staff_totp USERNAME``: give a staff user a new TOTP device (their second factor,
issue 13 item 3) and print its ``otpauth://`` URI and secret for an authenticator app. Replaces
an earlier device (a lost phone). For the first administrator, before anyone can log in."""

from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, CommandError

from tungban.counter.services import new_totp_device


class Command(BaseCommand):
    help = "Give a staff user a new TOTP device and print its provisioning URI."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **opts):
        user = get_user_model().objects.filter(username=username, is_staff=True).first()
        if user is None:
            raise CommandError(f"No staff user {username!r}.")
        otp = new_totp_device(user)
        self.stdout.write(f"{otp['totp_uri']}\nsecret: {otp['totp_secret']}")
