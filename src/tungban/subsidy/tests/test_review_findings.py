"""The reviewer's findings on the second wave of issue 20 (lapsed offers in the reports, the
public price range, cluster users, who is told how to pay, a zero price, the rate's precision),
each now a behaviour."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tungban.compute import services as compute
from tungban.compute.models import AccountUser
from tungban.core.errors import DomainError
from tungban.subsidy.api_applicant import award_out
from tungban.subsidy.api_public import scheme_data, statistics_data
from tungban.subsidy.constants import AwardState
from tungban.subsidy.forms import RecommendationForm
from tungban.subsidy.models import Award
from tungban.subsidy.services import awards, cluster_users, reports

from .conftest import make_application, terms
from .test_grant_users import client, signed  # noqa: F401
from .test_pages import _portal

pytestmark = pytest.mark.django_db


def _lapsed(application, settings):
    settings.TUNGBAN_SUBSIDY_OFFER_DAYS = 10
    decided = timezone.now()
    award = awards.make_award(application, terms(), decided_at=decided, actor="chair")
    assert awards.lapse_offers(decided + dt.timedelta(days=11))["subsidy.Award (lapsed offers)"] == 1
    award.refresh_from_db()
    assert award.state == AwardState.LAPSED
    return award


def test_seed000_s21_a_lapsed_offer_is_no_grant_in_the_statistics_nor_the_reports(application, settings):
    """Seed 000 §21 (the grantee signs an agreement): an offer not signed in time gave its
    commitment back, so the public statistics, the standard reports and the rates (seed 000 fn 6)
    count it nowhere and name nobody for it; the annual report's figures neither."""
    award = _lapsed(application, settings)
    body = statistics_data()
    total = next(r for r in body["amounts"] if r["code"] == "total")
    assert total["count"] == 0 and total["subsidy_cap"] == "0.00", total
    assert [p for p in body["projects"] if p["reference"] == award.application.reference] == []
    rows = {r["group"]: r for r in reports.rates_by_sector()["rows"]}
    assert rows["non_profit"]["count"] + rows["other"]["count"] == 0
    assert reports.awards_by_project() == []
    sc = next(s for s in scheme_data()["service_classes"] if s["code"] == application.service_class.code)
    assert sc["negotiated"] == {"awards": 0, "min": None, "max": None}


@pytest.mark.parametrize("name", ["root", "slurm", "munge", "daemon", "nobody"])
def test_a_system_account_is_never_a_grantees_cluster_user(name, settings):
    """The cluster's own accounts are refused (and the operator's additions)."""
    with pytest.raises(DomainError) as refused:
        compute.check_user_name(name)
    assert refused.value.code == "reserved_user_name"
    settings.TUNGBAN_COMPUTE_RESERVED_USERS = "backup_ops, ops"
    with pytest.raises(DomainError):
        compute.check_user_name("ops")
    assert compute.check_user_name("chan_tm") == "chan_tm"


def _other_award(reference: str, br_number: str, account: str) -> Award:
    day = dt.date(2025, 1, 1)
    award = awards.make_award(
        make_application(reference, br_number=br_number), terms(), decided_at=timezone.now(), actor="chair"
    )
    Award.objects.filter(pk=award.pk).update(state=AwardState.ACTIVE, account=account)
    compute.open_account(account, gpu_minutes=1000, starts_on=day, ends_on=day, owner=str(award.public_id))
    award.refresh_from_db()
    return award


def test_seed000_fn6_a_cluster_user_of_another_organisation_is_refused(signed, director, monkeypatch):  # noqa: F811
    """Seed 000 fn 6 (the subsidised part serves the approved project): a name that is a live
    user of another organisation's account is refused with nothing stored; the same
    organisation's own second grant may share its team's users."""
    other = _other_award("AISS-0002", "65201587", "aiss-other0001")
    compute.add_user(other.account, "chan_tm", actor="other")
    before = AccountUser.objects.count()
    with pytest.raises(DomainError) as refused:
        cluster_users.add(signed, director, "chan_tm")
    assert refused.value.code == "cluster_user_of_another_organisation"
    assert AccountUser.objects.count() == before
    own = _other_award("AISS-0003", signed.application.br_number, "aiss-own00001")
    compute.add_user(own.account, "lee_sm", actor="own")
    assert cluster_users.add(signed, director, "lee_sm").name == "lee_sm"


def test_no_cluster_user_is_named_on_an_award_that_is_not_active(signed, director, client, settings):  # noqa: F811
    """After the committee ends an award (its account closed later, by a task) nobody is added;
    the page says so and removing stays possible."""
    awards.end_award(signed, AwardState.TERMINATED, reason_en="conditions", reason_zh="條件", actor="chair")
    signed.refresh_from_db()
    with pytest.raises(DomainError) as refused:
        cluster_users.add(signed, director, "chan_tm")
    assert refused.value.code == "grant_not_active"
    _portal(client, director)
    client.post(f"/subsidy/grants/{signed.public_id}/users/", {"user": "chan_tm"})
    assert not AccountUser.objects.filter(name="chan_tm").exists()
    html = client.get(f"/subsidy/grants/{signed.public_id}/").content.decode()
    assert 'id="add-cluster-user"' not in html and "only while the grant is active" in html


def test_seed000_s13_only_a_payer_is_given_the_means_to_pay(signed, director):  # noqa: F811
    """Seed 000 §13 (the grantee pays the co-payment): the award's invoices in the API carry the
    order reference and the grant's pay link only for a caller whose mandate allows ``pay``."""
    issued = [i for i in award_out(signed, may_pay=True)["invoices"] if i["order_reference"]]
    assert issued, "an issued invoice"
    invoice = signed.invoices.get(order_reference=issued[0]["order_reference"])
    assert issued[0]["pay_url"] == f"/subsidy/grants/{signed.public_id}/invoices/{invoice.pk}/pay/"
    assert all(i["order_reference"] == "" and i["pay_url"] == "" for i in award_out(signed)["invoices"])


def test_seed000_s13_a_zero_price_is_refused(application):
    """Seed 000 §13: the subsidy is a share of a price the grantee pays the rest of; no
    subsidised capacity at HK$0."""
    with pytest.raises(DomainError) as refused:
        awards.check_terms(application, terms(price=Decimal("0")))
    assert refused.value.code == "price_invalid"


def test_seed000_s13_the_recommendation_takes_the_rate_the_award_keeps():
    """Seed 000 §13 and ``rules.quantize_rate``: the award keeps the rate to 0.1%, so the
    secretariat's form takes no finer rate (12.35% would silently become 12.4%)."""
    base = {"price": "300000", "reasons_en": "r", "reasons_zh": "理"}
    assert "rate" in RecommendationForm({**base, "rate": "12.35"}, months=[]).errors
    form = RecommendationForm({**base, "rate": "12.3"}, months=[])
    assert "rate" not in form.errors
