"""``tungban seed_hotline``: case types, rules, officers and sample cases in every state; idempotent."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from tungban.hotline import seed
from tungban.hotline.constants import CaseState
from tungban.hotline.models import Case, CaseEvent, CaseOfficer, CaseType, RoutingRule
from tungban.hotline.services import cases


@pytest.fixture
def loaded(db, settings, tmp_path):
    from tungban.credentials import catalogue as credential_catalogue
    from tungban.eservices import services as eservices
    from tungban.payments import services as payments

    settings.TUNGBAN_HOTLINE_FILES = tmp_path / "hotline"
    settings.TUNGBAN_ESERVICES_FILES = tmp_path / "files"
    credential_catalogue.register_bundled()
    payments.load_fees()
    eservices.load_catalogue()


def test_seed_makes_every_state_and_is_idempotent(loaded):
    out = json.loads(call_command("seed_hotline", "--reset-logins", "--json", stdout=__import__("io").StringIO()))
    assert out["case_types"] == len(seed.CASE_TYPES) >= 25
    assert CaseType.objects.count() == len(seed.CASE_TYPES)
    assert RoutingRule.objects.count() == len(seed.ROUTING_RULES)
    assert {s["username"] for s in out["staff"]} >= {"hotline-coordinator", "fehd-case-officer", "hyd-case-officer"}
    assert all(s["password"] and s["totp_secret"] for s in out["staff"])
    assert out["cases"] == Case.objects.count() == len(seed.SAMPLES)
    states = set(Case.objects.values_list("state", flat=True))
    assert states == set(CaseState.values) - {CaseState.SUBMITTED}
    assert Case.objects.filter(reopened_count=1, state=CaseState.ACCEPTED).exists()
    assert Case.objects.exclude(lead_decided_by="").exists()
    slugs = set(CaseType.objects.exclude(service_slug="").values_list("service_slug", flat=True))
    from tungban.eservices.models import Service

    assert slugs and slugs <= set(Service.objects.values_list("slug", flat=True))
    events, officers = CaseEvent.objects.count(), CaseOfficer.objects.count()
    again = json.loads(call_command("seed_hotline", "--json", stdout=__import__("io").StringIO()))
    assert again["cases"] == 0 and again["staff"] == []
    assert Case.objects.count() == len(seed.SAMPLES)
    assert CaseEvent.objects.count() == events and CaseOfficer.objects.count() == officers
    # the sample history lies in the past, and a closed sample's closure is after its submission
    closed = Case.objects.filter(state=CaseState.CLOSED).first()
    assert closed.closed_at >= closed.submitted_at
    role, depts = cases.role_of(CaseOfficer.objects.get(department_id="HYD").user)
    assert role == "department" and depts == ("HYD",)
