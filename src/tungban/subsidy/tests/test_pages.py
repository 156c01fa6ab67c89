"""The fund's staff pages (/staff/subsidy/funds/) and the grantee's pages (/subsidy/grants/)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from tungban.eservices.models import Department
from tungban.eservices.tests.helpers import department_user
from tungban.subsidy.constants import AwardState
from tungban.subsidy.models import Agreement, FundRelease, LedgerEntry
from tungban.subsidy.services import awards
from tungban.subsidy.tests.rulebook import covers
from tungban.testing.factories import login_staff

from .conftest import terms

FUNDS = "/staff/subsidy/funds/"


@pytest.fixture
def client():
    """A browser asking for English (the platform's default is Chinese; one test asks for it)."""
    from django.test import Client

    return Client(headers={"Accept-Language": "en"})


@pytest.fixture
def departments(db):
    for code, en, zh in (("DPO", "Digital Policy Office", "數字政策辦公室"), ("CYBERPORT", "Cyberport", "數碼港")):
        Department.objects.get_or_create(code=code, defaults={"name_en": en, "name_zh": zh, "source_path": "test"})


@pytest.fixture
def dpo(client, departments):
    return login_staff(client, department_user("dpo-officer", "DPO"))


@pytest.fixture
def cyberport(client, departments):
    return login_staff(client, department_user("cp-officer", "CYBERPORT"))


def test_funder_sees_the_statement_and_releases_a_year(loaded, dpo):
    page = dpo.get(FUNDS + "?fy=2025-26")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="line-compute"' in html and "857,000,000.00" in html and "Release the planned amount" in html
    assert "h800" in html and "320,000.00" in html  # the price book and the capacity plan
    zh = dpo.get(FUNDS + "?fy=2025-26", headers={"Accept-Language": "zh-hant"}).content.decode()
    assert "人工智能資助計劃：撥款" in zh and "發放預算金額" in zh and "857,000,000.00" in zh
    response = dpo.post(FUNDS + "release/", {"fy": "2025-26", "line": "compute"})
    assert response.status_code == 302
    assert FundRelease.objects.get(fiscal_year="2025-26", line="compute").state == "released"
    entry = LedgerEntry.objects.filter(fiscal_year="2025-26", kind="release").get()
    assert entry.actor == "dpo-officer"


def test_a_bad_virement_shows_the_error_and_stores_nothing(loaded, dpo):
    response = dpo.post(
        FUNDS + "virement/",
        {
            "fy": "2024-25",
            "from_line": "ecosystem",
            "to_line": "compute",
            "amount": "9000000",
            "requested_by": "m",
            "reason_en": "r",
            "reason_zh": "理",
        },
        follow=True,
    )
    assert "has only HK$6,000,000.00 available" in response.content.decode()
    assert not LedgerEntry.objects.filter(kind="virement").exists()


def test_cyberport_sees_the_fund_but_does_not_release(loaded, cyberport):
    html = cyberport.get(FUNDS).content.decode()
    assert "Release the planned amount" not in html and 'id="virement-form"' not in html
    response = cyberport.post(FUNDS + "release/", {"fy": "2025-26", "line": "compute"})
    assert response.status_code == 403
    assert FundRelease.objects.get(fiscal_year="2025-26", line="compute").state == "planned"


def test_other_staff_are_refused(loaded, client, departments):
    Department.objects.get_or_create(code="SWD", defaults={"name_en": "SWD", "name_zh": "社署", "source_path": "t"})
    login_staff(client, department_user("swd-officer", "SWD"))
    assert client.get(FUNDS).status_code == 403
    client.logout()
    assert client.get(FUNDS).status_code == 302  # to the staff login


def test_application_page_shows_the_award(application, cyberport):
    awards.make_award(application, terms(), decided_at=timezone.now(), actor="chair")
    html = cyberport.get(f"{FUNDS}applications/{application.public_id}/").content.decode()
    assert "5,376,000.00" in html and "AISS-0001" in html


def _portal(client, resident):
    from tungban.eservices import login

    session = client.session
    session[login.SESSION_KEY] = {"resident": str(resident.public_id), "sub": "sub-for-tests"}
    session.save()
    return client


def test_grantee_signs_on_the_grant_page(application, director, client, monkeypatch, run_tasks):
    monkeypatch.setattr(awards, "compute_services", lambda: None)
    award = awards.make_award(application, terms(), decided_at=timezone.now(), actor="chair")
    url = f"/subsidy/grants/{award.public_id}/"
    assert client.get(url).status_code == 302  # the portal's login first
    _portal(client, director)
    html = client.get(url).content.decode()
    assert 'id="sign"' in html and "5,376,000.00" in html and "70%" in html
    response = client.post(url + "sign/", follow=True)
    assert response.status_code == 200
    award.refresh_from_db()
    assert award.state == AwardState.ACTIVE and Agreement.objects.filter(award=award).exists()
    run_tasks()
    html = client.get(url).content.decode()
    assert "Scheduler account pending" in html
    pay_links = re.findall(r'href="(/subsidy/grants/[0-9a-f-]+/invoices/\d+/pay/)"', html)
    assert len(pay_links) == 3  # through the mandate check (awards.require_payer) to /pay/<order>/
    assert re.fullmatch(r"/pay/[0-9a-f-]+/", client.get(pay_links[0])["Location"])


def test_a_stranger_gets_404_on_a_grant(application, client, officer, loaded):
    from tungban.testing.factories import make_resident

    award = awards.make_award(application, terms(), decided_at=timezone.now(), actor="chair")
    stranger = make_resident(
        officer, hkid="G123456A", family_name_en="WONG", given_name_en="Siu Ling", name_zh="黃小玲"
    )
    _portal(client, stranger)
    assert client.get(f"/subsidy/grants/{award.public_id}/").status_code == 404
    assert client.post(f"/subsidy/grants/{award.public_id}/sign/").status_code == 404
    assert client.get(f"/subsidy/grants/{dt.date.today().year:08x}-0000-0000-0000-000000000000/").status_code == 404


@covers("R22")
def test_seed000_s14_cyberport_adds_a_price_and_changes_capacity(application, cyberport):
    """Seed 000 §14: Cyberport re-estimates the price: a new version of the price book."""
    from tungban.subsidy.models import CapacityMonth, PriceVersion

    awards.make_award(application, terms(), decided_at=timezone.now(), actor="chair")
    later = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    cyberport.post(
        FUNDS + "prices/",
        {"service_class": "h800", "list_price": "300000", "effective_from": later, "basis": "market survey"},
    )
    assert PriceVersion.objects.filter(list_price=300000).count() == 1
    html = cyberport.post(
        FUNDS + "prices/",
        {"service_class": "h800", "list_price": "290000", "effective_from": "2024-01-01", "basis": "x"},
        follow=True,
    ).content.decode()
    assert "never before the price in force" in html and PriceVersion.objects.count() == 2
    html = cyberport.post(
        FUNDS + "capacity/", {"service_class": "h800", "month": "2025-01", "nodes": "8"}, follow=True
    ).content.decode()
    assert "8 nodes are already committed" in html  # 90% of 8 is 7: below the award's 8
    assert CapacityMonth.objects.get(month=dt.date(2025, 1, 1)).nodes == 179
    cyberport.post(FUNDS + "capacity/", {"service_class": "h800", "month": "2025-01", "nodes": "200"})
    assert CapacityMonth.objects.get(month=dt.date(2025, 1, 1)).nodes == 200


def test_the_funder_does_not_keep_the_price_book(loaded, dpo):
    response = dpo.post(FUNDS + "capacity/", {"service_class": "h800", "month": "2025-01", "nodes": "1"})
    assert response.status_code == 403
