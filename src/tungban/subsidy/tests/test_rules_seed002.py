"""Rules of seed 002 (the 2025-26 budget replies) that no other test proved as behaviour with
the paragraph in its docstring (issue 20, acceptance 2): only organisations apply (ITIB229) and
the list price every award starts from (ITIB229)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tungban.core.errors import DomainError
from tungban.subsidy.constants import ApplicantCategory
from tungban.subsidy.models import ServiceClass
from tungban.subsidy.services import awards, eligibility, prices

from .conftest import terms
from .rulebook import covers


@pytest.mark.django_db(transaction=True)
@covers("R14", "B02")
def test_an_individual_cannot_apply(client, settings, tmp_path, resident):
    """Seed 002 ITIB229: individuals do not apply themselves (they work with an institution or
    arrange other compute with Cyberport). The e-service starts only for an organisation, under
    no category is a person without a BRN eligible, nothing is stored, and the scheme's page
    says so in both languages."""
    from tungban.eservices import services as eservices
    from tungban.eservices.models import Application as EServicesApplication
    from tungban.subsidy.services import intake

    from .intake_helpers import setup_scheme

    setup_scheme(settings, tmp_path)
    before = EServicesApplication.objects.count()
    with pytest.raises(DomainError) as refused:
        eservices.start_application(resident, eservices.get_service(intake.SLUG), portal_sub="s")
    assert refused.value.code == "company_login_required"
    assert EServicesApplication.objects.count() == before
    for category in ApplicantCategory.values:
        assert not eligibility.check(category, "").eligible, category
    for lang, words in (("en", "Individuals cannot apply"), ("zh-hant", "個人不可申請")):
        assert words in client.get("/subsidy/", HTTP_ACCEPT_LANGUAGE=lang).content.decode()


@covers("R21")
def test_an_award_starts_from_the_list_price_in_force(application):
    """Seed 002 ITIB229: HK$320,000 per server node per month, from the bundled scheme file's
    price book; the subsidy is the rate's share of node-months × price, and a later list price
    (seed 000 §14) reaches only awards decided once it is in force."""
    h800 = ServiceClass.objects.get(code="h800")
    today = timezone.localdate()
    assert awards.list_price(h800, today).list_price == Decimal("320000")
    award = awards.make_award(application, terms(price=Decimal("300000")), decided_at=timezone.now(), actor="c")
    assert award.list_price == Decimal("320000") and award.price == Decimal("300000")
    assert award.subsidy_cap == award.node_months * Decimal("300000") * Decimal("0.70")
    later = today + dt.timedelta(days=30)
    prices.add_price(h800, Decimal("280000"), later, basis="market estimate")
    assert awards.list_price(h800, today).list_price == Decimal("320000")
    assert awards.list_price(h800, later).list_price == Decimal("280000")
    award.refresh_from_db()
    assert award.list_price == Decimal("320000")
