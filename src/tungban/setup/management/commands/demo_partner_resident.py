"""``tungban demo_partner_resident``: a demo resident of this instance (issue 23: the Guangdong
partner platform's demo resident) registered at the counter, with an activation code for the
app; prints ``{"hkid", "name", "activation_code"}`` as JSON (and ``--json-out FILE``)."""

import json
import secrets
from pathlib import Path

from django.core.management import BaseCommand

from tungban.counter import roles
from tungban.counter import services as counter
from tungban.identity import hkid as hkid_mod
from tungban.identity import services as identity
from tungban.identity.models import Resident
from tungban.wallet import services as wallet

#: The partner platform's demo resident: an identity-card-shaped number (the instances share the
#: platform's code, whose residents have one), a Guangdong resident's name and address.
PARTNER_RESIDENT = {
    "body": ("R", "135790"),
    "family_name_en": "LIN",
    "given_name_en": "Xiao Ming",
    "name_zh": "林曉明",
    "gender": "male",
    "residential_address": "Room 1201, 88 Tianhe Road\nTianhe District, Guangzhou",
    "phone": "+86 138 0013 8000",
    "email": "xiaoming@example.cn",
}


class Command(BaseCommand):
    help = "Register this instance's demo resident (a partner platform's) and print an activation code."

    def add_arguments(self, parser):
        parser.add_argument("--json-out", help="also write the JSON answer to this file")

    def handle(self, *args, json_out=None, **opts):
        import datetime as dt

        prefix, digits = PARTNER_RESIDENT["body"]
        number = f"{prefix}{digits}{hkid_mod.check_digit(prefix, digits)}"
        officer, _otp = counter.provision_staff_user(
            "partner-officer", password=secrets.token_urlsafe(12), groups=[roles.COUNTER_OFFICERS]
        )
        resident = Resident.objects.by_hkid(hkid_mod.normalize(number)).first() or identity.register_at_counter(
            officer,
            hkid=number,
            date_of_birth=dt.date(1990, 8, 8),
            billing_address=PARTNER_RESIDENT["residential_address"],
            **{k: v for k, v in PARTNER_RESIDENT.items() if k != "body"},
        )
        out = {
            "hkid": resident.hkid_display,
            "name": f"{resident.name_en} {resident.name_zh}",
            "activation_code": wallet.issue_activation_code(resident, officer),
        }
        if json_out:
            Path(json_out).write_text(json.dumps(out, ensure_ascii=False))
        self.stdout.write(json.dumps(out, ensure_ascii=False))
