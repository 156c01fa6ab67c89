from django.conf import settings
from django.core.management import BaseCommand, call_command

from tungban.core import files
from tungban.core.db import unbounded
from tungban.credentials import catalogue
from tungban.eservices import portal as eservices_portal
from tungban.eservices import services as eservices
from tungban.identity.hkid import check_digit
from tungban.keys import services as keys
from tungban.keys.models import SigningKey
from tungban.notify import services as notify
from tungban.opendata.services import taxonomy as opendata_taxonomy
from tungban.opendata.services import usage_report as opendata_usage
from tungban.payments import services as payments
from tungban.setup.demo import seed
from tungban.signing import ca, keystore
from tungban.subsidy.services import eligibility as subsidy_eligibility
from tungban.subsidy.services import intake as subsidy_intake
from tungban.subsidy.services import scheme as subsidy_scheme


class Command(BaseCommand):
    help = "Migrate the database, create the ID-token signing key and (--demo) the demo data."

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true", help="seed demo data (staff, residents, sample service)")
        parser.add_argument(
            "--service-url", default="http://127.0.0.1:8100", help="base URL of the sample online service"
        )

    def handle(self, *args, demo=False, service_url="http://127.0.0.1:8100", **opts):
        # Migrations and demo data may run long: no web statement bounds (issue 14 item 8).
        with unbounded():
            self._setup(demo=demo, service_url=service_url)

    def _setup(self, *, demo: bool, service_url: str) -> None:
        call_command("migrate", interactive=False, verbosity=0)  # also creates the rate limiter's cache table
        files.tighten(settings.VAR_DIR)  # database, keys, secrets: owner-only (issue 13 item 10)
        call_command("compilemessages_if_needed")
        if not SigningKey.objects.filter(retired_at__isnull=True).exists():
            keys.create_key()
        ca.ensure_hierarchy()  # root CA, signing CA and TSA (issue #3)
        catalogue.register_bundled()  # issuers and credential types (issue #5)
        notify.ensure_vapid_key()  # Web Push application server key (RFC 8292), sealed in the database (issue 16)
        payments.load_fees()  # the fee schedule (issue 18): what the catalogue's fee items cost
        eservices.load_catalogue()  # the e-services catalogue files (issue 17)
        # The 1823 FAQ (issue 22): hotline is above setup's floor, so by command name, not import.
        call_command("load_faqs", verbosity=0)
        subsidy_scheme.load_scheme(release_started=demo)  # the AI Subsidy Scheme's figures (issue 20)
        subsidy_eligibility.load_institutions()  # its register of eligible institutions (seed 000 §11)
        subsidy_intake.load_demo_scheme()  # its call, with a batch a quarter (seed 000 §15)
        eservices_portal.ensure_portal()  # the e-services portal: its OIDC client, data user and sender
        opendata_taxonomy.load_groups()  # the open-data portal's 19 categories (issue 21)
        opendata_usage.ensure_scheduled()  # its monthly usage statistics, published by the worker
        self.stdout.write(f"Signing keys: {keystore.get_keystore().kind} keystore")
        if demo:
            out = seed(service_url=service_url)
            self.stdout.write(self.style.SUCCESS("Demo data ready."))
            for person in out["staff"]:
                self.stdout.write(
                    f"  Staff login:        {person['username']} / {person['password']}  ({person['role']})"
                )
            self.stdout.write(
                "  Staff second factor: add each TOTP secret to an authenticator app, or run"
                " `tungban demo_totp USERNAME` for the current code"
                f" (secrets and otpauth:// URIs in {settings.VAR_DIR / 'demo-credentials.json'})"
            )
            for r in out["residents"]:
                self.stdout.write(
                    f"  Resident:           {r['name']}  HKID {r['hkid']}  activation code {r['activation_code']}"
                )
            self.stdout.write(
                f"  Sample service:     client_id {out['client']['client_id']} (secret in {settings.VAR_DIR / 'demo-clients.json'})"
            )
            self.stdout.write(
                f"  Demo bank (FAPI 2.0): client_id {out['fapi_client']['client_id']} (private key in {settings.VAR_DIR / 'demo-bank-fapi.json'}; docs/integrators.md §5a)"
            )
            self.stdout.write(
                f"  e-Licences:         /staff/credentials/ (issue a Senior Citizen Card to {out['residents'][0]['name']} once the app is bound); verify at /verify/"
            )
            self.stdout.write(
                "  e-Services:         /staff/eservices/ (officer: SWD, FSD, FEHD, IRD; supervisor approves;"
                " issuer gives FEHD's second approval)"
            )
            self.stdout.write(
                f"  Messages:           `tungban notify send td licence-expiry --hkid '{out['residents'][0]['hkid']}' --value plate='AB 1234' --value date=2027-03-01` (API key in {out['notify']['key_file']})"
            )
            self.stdout.write(
                f"  Open data:          /data/ ({out['opendata']['datasets']} datasets added; README step 17);"
                " catalogues at /staff/data/catalogue/ (td-data-officer, td-ddo, dpo-data-officer, dpo-ddo)"
            )
            self.stdout.write(
                f"  Self-registration:  try the population register entry WONG Siu Ling, born 1990-07-02, HKID {self._hkid('G123456')}"
            )
            self.stdout.write(
                f"  CorpID:             /business/{out['corpid']['br_number']}/ ({out['residents'][0]['name']}, its director, is"
                ' the administrator: offer WONG Siu Ling a mandate; she accepts in her app, card "Companies I act for")'
            )
            if out["corpid"].get("mandate_offer"):
                self.stdout.write(
                    "  For a company:      /services/certificate-of-resident-status-company/apply, "
                    '"Apply for a company" (Keung Kee Sample Engineering offers the demo resident a mandate:'
                    ' accept it in the app, card "Companies I act for")'
                )

    @staticmethod
    def _hkid(body: str) -> str:
        return f"{body}({check_digit(body[:-6], body[-6:])})"
