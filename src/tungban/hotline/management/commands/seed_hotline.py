"""``tungban seed_hotline``: 1823's demo data (:mod:`tungban.hotline.seed`) — case types in
groups, routing rules, the demo's case officers and coordinator, ~40 sample cases in every
state. Idempotent; ``tungban setup --demo`` runs it (``--reset-logins --json``)."""

import json

from django.core.management import BaseCommand, CommandError

from tungban.core.db import unbounded
from tungban.hotline import seed


class Command(BaseCommand):
    help = "Load 1823's demo case types, routing rules, officers and sample cases (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--resident", default="", help="HKID (canonical) of a resident to own three sample cases")
        parser.add_argument(
            "--reset-logins", action="store_true", help="give the demo officers new passwords and TOTP devices"
        )
        parser.add_argument(
            "--json", dest="as_json", action="store_true", help="print the result (with new credentials) as JSON"
        )

    def handle(self, *args, resident="", reset_logins=False, as_json=False, **opts):
        from tungban.identity.models import Resident

        person = None
        if resident:
            person = Resident.objects.by_hkid(resident.strip().upper()).first()
            if person is None:
                raise CommandError(f"no resident with HKID {resident}")
        with unbounded():
            out = seed.seed(person, reset_logins=reset_logins)
        if as_json:
            return json.dumps(out, ensure_ascii=False)
        self.stdout.write(
            f"1823: {out['case_types']} case types, {out['routing_rules']} routing rules, {out['cases']} sample cases"
            f" added; {len(out['staff'])} logins given new credentials"
            + "".join(f"\n  {s['username']}: password {s['password']}" for s in out["staff"])
        )
        return ""
