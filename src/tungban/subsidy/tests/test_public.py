"""The scheme's public pages (issue 20, part D) in both languages: the scheme page (categories
of seed 000 §11, no individuals per seed 002 ITIB229, batches and cut-offs of seed 000 §15,
the link to the e-service) and "my organisation's applications" (only organisations the
person holds a mandate of, checked now)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from tungban.eservices import login
from tungban.subsidy.models import Application, Award, Batch, EligibleInstitution
from tungban.testing.factories import make_resident

from .intake_helpers import TRADING, UNIVERSITY, apply, director_of, setup_scheme

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scheme(settings, tmp_path):
    return setup_scheme(settings, tmp_path)


def _portal(client, resident):
    session = client.session
    session[login.SESSION_KEY] = {"resident": str(resident.public_id), "sub": "sub-for-tests"}
    session.save()
    return client


@pytest.mark.parametrize(
    "lang,words",
    [
        ("en", ["Artificial Intelligence Subsidy Scheme", "Individuals cannot apply", "Government department"]),
        ("zh-hant", ["人工智能資助計劃", "個人不可申請", "政府部門"]),
    ],
)
def test_the_scheme_page_in_both_languages(client, scheme, lang, words):
    page = client.get("/subsidy/", HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    for word in words:
        assert word in page
    assert page.count('data-category="') == 5
    assert 'href="/services/ai-subsidy-scheme/"' in page
    upcoming = Batch.objects.filter(cut_off__gte=timezone.now()).order_by("cut_off").first()
    if upcoming is None:  # the demo call is over
        assert 'id="no-batches"' in page
    else:  # the next cut-off, in Hong Kong time
        assert timezone.localtime(upcoming.cut_off).strftime("%Y-%m-%d %H:%M") in page


def test_my_organisations_applications_need_a_login_and_a_mandate(client, scheme, officer):
    assert client.get("/subsidy/mine/").status_code == 302  # to the portal's login
    person, mandate = director_of(officer, UNIVERSITY)
    app = Application.objects.get(reference=apply(person, mandate, UNIVERSITY).reference)
    other, other_mandate = director_of(officer, TRADING)
    ineligible = Application.objects.get(
        reference=apply(other, other_mandate, TRADING, category="ai_startup").reference
    )

    page = _portal(client, person).get("/subsidy/mine/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert app.reference in page and ineligible.reference not in page and "沙田樣本大學有限公司" in page
    assert "/subsidy/grants/" not in page  # no award yet
    award = Award.objects.create(
        application=app,
        starts_on=dt.date(2027, 1, 1),
        ends_on=dt.date(2027, 1, 31),
        node_months=1,
        list_price=Decimal(320000),
        price=Decimal(320000),
        rate=Decimal("0.7"),
        subsidy_cap=Decimal(224000),
        co_payment=Decimal(96000),
        decided_at=timezone.now(),
    )
    page = _portal(client, person).get("/subsidy/mine/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert f'href="/subsidy/grants/{award.public_id}/">資助及協議</a>' in page  # the grant's page, to sign
    page = _portal(client, other).get("/subsidy/mine/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert ineligible.reference in page and app.reference not in page
    assert "not on the register of eligible institutions" in page  # the reasons, in the page's language
    stranger = make_resident(officer, hkid="R2468017")
    page = _portal(client, stranger).get("/subsidy/mine/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="none"' in page


def test_the_load_command_loads_the_register_and_the_demo_call_once(db, capsys):
    call_command("load_subsidy_intake")
    first = (EligibleInstitution.objects.count(), Batch.objects.count())
    call_command("load_subsidy_intake")
    assert (EligibleInstitution.objects.count(), Batch.objects.count()) == first
    assert EligibleInstitution.objects.filter(kind="ugc_university").count() == 8  # seed 000 §11(a)
    assert "eligible institutions; call aiss-2024-2027 with 12 batches" in capsys.readouterr().out
