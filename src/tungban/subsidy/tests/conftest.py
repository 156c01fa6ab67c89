"""Fixtures for the subsidy engine's tests (issue 20, part A): the scheme's bundled figures
(with the funds of financial year 2024-25 released), an application with its requested months,
and a company whose director may sign for it (CorpID)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone, translation

from tungban.subsidy.constants import ApplicantCategory, ApplicationState
from tungban.subsidy.models import Application, RequestedMonth, ServiceClass
from tungban.subsidy.services import awards, scheme

REGISTER = Path(__file__).resolve().parents[4] / "examples" / "providers" / "cr_register.json"
BRN = "21812345"  # on the register; director A1234563 CHAN Tai Man
OTHER_BRN = "65201587"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def loaded(db):
    """The scheme's figures; the funds of FY 2024-25 released (the funder's act on 1 April)."""
    return scheme.load_scheme(release_started=True, today=dt.date(2024, 4, 1))


def make_application(reference="AISS-0001", *, months=None, state=ApplicationState.ON_AGENDA, br_number=BRN, **kw):
    months = months or {dt.date(2025, 1, 1): 8, dt.date(2025, 2, 1): 8, dt.date(2025, 3, 1): 8}
    app = Application.objects.create(
        reference=reference,
        br_number=br_number,
        organisation_name_en=kw.pop("organisation_name_en", "Tai Man AI Limited"),
        organisation_name_zh="大文人工智能有限公司",
        category=kw.pop("category", ApplicantCategory.AI_STARTUP),
        project_title_en="A Cantonese speech model",
        project_title_zh="粵語語音模型",
        service_class=ServiceClass.objects.get(code="h800"),
        state=state,
        submitted_at=timezone.now(),
        **kw,
    )
    for m, n in months.items():
        RequestedMonth.objects.create(application=app, month=m, nodes=n)
    return app


@pytest.fixture
def application(loaded):
    return make_application()


def terms(**kw) -> awards.AwardTerms:
    base = {
        "schedule": {dt.date(2025, 1, 1): 8, dt.date(2025, 2, 1): 8, dt.date(2025, 3, 1): 8},
        "price": Decimal("320000"),
        "rate": Decimal("0.70"),
    }
    base.update(kw)
    return awards.AwardTerms(**base)


@pytest.fixture
def director(db, officer):
    from tungban.corpid import services as corpid
    from tungban.testing.factories import make_resident

    corpid.load_register(REGISTER)
    person = make_resident(officer, hkid="A1234563")
    corpid.bootstrap(person, BRN)
    return person
