"""The Companies Registry stand-in: the register of companies and their officers, loaded from
the register file — the one file the demo CR data provider (``examples/providers``) also
serves ``cr.company-particulars.v1`` from, so the sample data exists once.

File shape (JSON)::

    {"companies": [{"br_number": "21812345", "company_number": "0812345",
                    "name_en": str, "name_zh": str, "company_type": str,
                    "status": "live" | "dissolved" | "in_liquidation",
                    "incorporated_on": "YYYY-MM-DD", "registered_office": str,
                    "officers": [{"hkid": "A1234563", "role": "director" | "secretary"}]}]}
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from django.db import transaction

from tungban.core.errors import DomainError
from tungban.core.fields import lookup_hash
from tungban.identity import hkid as hkid_mod

from .. import brn, errors
from ..constants import OfficerRole
from ..models import RegisteredCompany, RegisteredOfficer

STATUSES = ("live", "dissolved", "in_liquidation")


def _company_fields(raw: dict) -> dict:
    try:
        fields = {
            "br_number": brn.normalize(raw["br_number"]),
            "company_number": str(raw.get("company_number", "")),
            "name_en": str(raw["name_en"]).strip(),
            "name_zh": str(raw.get("name_zh", "")).strip(),
            "company_type": str(raw.get("company_type", "")),
            "status": str(raw["status"]),
            "incorporated_on": dt.date.fromisoformat(raw["incorporated_on"]),
            "registered_office": str(raw.get("registered_office", "")),
        }
    except (KeyError, TypeError, ValueError, DomainError) as exc:
        raise errors.InvalidRegister(reason=f"company {raw!r:.60}: {exc}") from None
    if not fields["name_en"] or fields["status"] not in STATUSES:
        raise errors.InvalidRegister(reason=f"company {fields['br_number']}: name or status")
    return fields


def _officers(raw: dict) -> list[tuple[str, str]]:
    found = []
    for officer in raw.get("officers", []):
        try:
            canonical = hkid_mod.normalize(officer["hkid"])
        except (KeyError, TypeError, DomainError):
            raise errors.InvalidRegister(reason=f"an officer of {raw.get('br_number')}: HKID number") from None
        if officer.get("role") not in OfficerRole.values:
            raise errors.InvalidRegister(reason=f"an officer of {raw.get('br_number')}: role")
        found.append((canonical, officer["role"]))
    return found


def read_register(path: str | Path) -> list[dict]:
    """The companies of the register file at ``path`` (see the module's docstring).

    :raises DomainError: ``invalid_register`` (unreadable, or a company or officer not valid).
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return list(data["companies"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise errors.InvalidRegister(reason=str(exc)) from None


@transaction.atomic
def load_register(path: str | Path) -> int:
    """Load the register file into CorpID's copy of the register, all or nothing: each company
    is created or updated and its officers replaced. Companies no longer in the file are left
    as they are (an organisation may refer to them). Returns the number of companies.

    :raises DomainError: ``invalid_register`` (nothing stored).
    """
    companies = read_register(path)
    parsed = [(_company_fields(raw), _officers(raw)) for raw in companies]
    for fields, officers in parsed:
        company, _created = RegisteredCompany.objects.update_or_create(br_number=fields["br_number"], defaults=fields)
        company.officers.all().delete()
        RegisteredOfficer.objects.bulk_create(
            RegisteredOfficer(company=company, hkid=h, role=role) for h, role in dict.fromkeys(officers)
        )
    return len(parsed)


def company(br_number: str) -> RegisteredCompany:
    """The registered company with this BRN (any spelling :func:`tungban.corpid.brn.normalize`
    accepts).

    :raises DomainError: ``br_number_format`` (400), ``br_number_not_registered`` (404).
    """
    canonical = brn.normalize(br_number)
    found = RegisteredCompany.objects.filter(br_number=canonical).first()
    if found is None:
        raise errors.BrNumberNotRegistered()
    return found


def is_director(company: RegisteredCompany, canonical_hkid: str) -> bool:
    """Whether the person with this (canonical) HKID number is a director of ``company``."""
    return company.officers.filter(hkid_hash=lookup_hash(canonical_hkid), role=OfficerRole.DIRECTOR).exists()
