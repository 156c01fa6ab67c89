"""Issue 20's bad input (acceptance 2), each refused twice: by the service with its documented
code and nothing stored (row counts before and after), and by the page that takes it, with the
message in the page's language — tried in English and in Traditional Chinese. The committee's
decision page (``/staff/committees/items/<id>/``, the kind ``subsidy.application``) takes the
award's terms; the secretariat's console takes an ineligible organisation's application; the
grantee's pages take a person without a mandate."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tungban.committees import services as committees
from tungban.committees.management.commands.load_committee import DEFAULT
from tungban.committees.models import Member, Score
from tungban.committees.tests.conftest import add_member
from tungban.core.errors import DomainError
from tungban.subsidy.committee import APPLICATION_KIND
from tungban.subsidy.constants import ApplicationState
from tungban.subsidy.models import Agreement, Application, Award, AwardMonth, CostItem, LedgerEntry, ServiceClass
from tungban.subsidy.services import awards, capacity
from tungban.testing.factories import login_staff

from .conftest import BRN, make_application, terms
from .rulebook import covers

JAN = dt.date(2025, 1, 1)
LANGS = ["en", "zh-hant"]


def _rows():
    return (
        Award.objects.count(),
        AwardMonth.objects.count(),
        LedgerEntry.objects.count(),
        Agreement.objects.count(),
        Score.objects.count(),
    )


@pytest.fixture
def agenda(loaded):
    """An application of BRN 21812345 on the agenda of an open meeting; the chair (no conflict)
    and a member of the applicant's own organisation (recused at once)."""
    application = make_application()
    committee = committees.load_committee(DEFAULT)
    chair = add_member(committee, role="chair", brn="20000000", name="Chair Person")
    Member.objects.filter(committee=committee, role="chair").exclude(pk=chair.pk).update(role="member")
    conflicted = add_member(committee, brn=BRN, name="Member of the applicant")
    meeting = committees.create_meeting(committee, "2025-B1", dt.date(2025, 1, 10), quorum=1)
    item = committees.add_item(meeting, APPLICATION_KIND, str(application.public_id))
    committees.open_meeting(meeting, actor=chair.user)
    return application, item, chair, conflicted


def _big_award_first():
    """Another award taking all but HK$3.56M of FY 2024-25's released HK$857M: the price may not
    exceed the list price (seed 000 §14), so a big schedule on a bigger centre (3,810 node-months
    × 320,000 × 70% = 853.44M)."""
    sc = ServiceClass.objects.get(code="h800")
    months = {JAN: 1270, dt.date(2025, 2, 1): 1270, dt.date(2025, 3, 1): 1270}
    for month in months:
        capacity.set_capacity(sc, month, 1500)
    big = make_application("AISS-0002", months=months)
    awards.make_award(big, terms(schedule=months), decided_at=timezone.now(), actor="chair")


def _double_funded(application):
    CostItem.objects.create(
        application=application,
        position=1,
        description="Training",
        amount=1,
        other_funding=True,
        other_funding_source="RAISe+",
    )


def _beyond_capacity(application):
    capacity.set_capacity(ServiceClass.objects.get(code="h800"), JAN, 8)  # 90%: 7 nodes may be subsidised


EXCEPTIONAL = {"exceptional": True, "exceptional_reason_en": "Unique.", "exceptional_reason_zh": "獨特。"}
#: (rule ids, the terms, a set-up, the documented code, the message's words in English / Chinese)
CASES = {
    "B03": (
        ("B03", "R08"),
        {},
        _beyond_capacity,
        "capacity_exceeded",
        ("only 7 nodes may still be subsidised", "只餘7個節點可獲資助"),
    ),
    "B04": (
        ("B04", "R24"),
        {"rate": Decimal("0.71")},
        None,
        "rate_needs_exceptional_decision",
        ("A subsidy above 70 per cent of the price needs the committee", "須由委員會決定屬特殊及例外個案"),
    ),
    "B05": (
        ("B05", "R25"),
        {"rate": Decimal("0.91"), **EXCEPTIONAL},
        None,
        "rate_above_exceptional_ceiling",
        ("A subsidy may never exceed 90 per cent of the price", "資助亦不得超過定價九成"),
    ),
    "B06": (
        ("B06", "R03"),
        {},
        lambda application: _big_award_first(),
        "commitment_beyond_release",
        ("is more than the funds released and not yet", "多於已發放而未承擔的款項"),
    ),
    "B07": (
        ("B07", "R27"),
        {},
        _double_funded,
        "double_funded",
        ("already receives other government funding (RAISe+)", "已接受其他政府資助（RAISe+）"),
    ),
}


def _form(t: awards.AwardTerms) -> dict:
    post = {
        "terms-schedule": "\n".join(f"{m:%Y-%m} {n}" for m, n in sorted(t.schedule.items())),
        "terms-price": str(t.price),
        "terms-rate_percent": f"{t.rate * 100:.1f}",
        "terms-exceptional_reason_en": t.exceptional_reason_en,
        "terms-exceptional_reason_zh": t.exceptional_reason_zh,
    }
    if t.exceptional:
        post["terms-exceptional"] = "on"
    return post


def _terms_for(case: str, application) -> awards.AwardTerms:
    _ids, changes, setup, _code, _words = CASES[case]
    if setup:
        setup(application)
    if case == "B03":
        return terms(schedule={JAN: 8})
    return terms(**changes)


def _undecided(application, item) -> None:
    application.refresh_from_db()
    item.refresh_from_db()
    assert application.state == ApplicationState.ON_AGENDA and item.outcome == ""
    assert not Award.objects.filter(application=application).exists()


@pytest.mark.parametrize("case", sorted(CASES))
@covers("B03", "B04", "B05", "B06", "B07")
def test_the_committees_decision_service_refuses_and_stores_nothing(agenda, case):
    """Seed 000 §10 (capacity), §13 (70% / 90%), §16 (the year's release), fn 6 (double
    funding): the committee's decision through ``committees.services.decide`` is refused with
    the documented code; no award, month, ledger entry nor decision is stored."""
    application, item, chair, _conflicted = agenda
    t = _terms_for(case, application)
    before = _rows()
    with pytest.raises(DomainError) as refused:
        committees.decide(
            item,
            outcome="approve",
            terms=awards.terms_to_dict(t),
            reasons_en="Strong.",
            reasons_zh="優秀。",
            actor=chair.user,
        )
    assert refused.value.code == CASES[case][3], refused.value.as_dict()
    assert _rows() == before
    _undecided(application, item)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", sorted(CASES))
@covers("B03", "B04", "B05", "B06", "B07")
def test_the_committees_decision_page_refuses_in_the_pages_language(client, agenda, case, lang):
    """Seed 000 §10, §13, §16, fn 6: the chair approves on the item's page with bad terms; the
    page says why in its language (the rule's message, not the form's), nothing is stored."""
    application, item, chair, _conflicted = agenda
    t = _terms_for(case, application)
    login_staff(client, chair.user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = lang
    before = _rows()
    post = {"decision-outcome": "approve", "decision-reasons_en": "Strong.", "decision-reasons_zh": "優秀。"}
    response = client.post(f"/staff/committees/items/{item.pk}/decide", post | _form(t))
    assert response.status_code in (400, 409)
    words = CASES[case][4][0 if lang == "en" else 1]
    assert words in response.content.decode()
    assert _rows() == before
    _undecided(application, item)


@pytest.mark.parametrize("lang", LANGS)
@covers("B08")
def test_a_member_of_the_applicants_organisation_cannot_score(client, agenda, lang):
    """Seed 000 §12 (the independent committee): the member of the applicant's organisation is
    recused when the item is added; scoring is refused by the service (``member_conflicted``)
    and by the page in its language; no score is stored."""
    application, item, _chair, conflicted = agenda
    before = _rows()
    with pytest.raises(DomainError) as refused:
        committees.score(item, conflicted.user, "a", 9)
    assert refused.value.code == "member_conflicted"
    login_staff(client, conflicted.user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = lang
    response = client.post(f"/staff/committees/items/{item.pk}/score", {f"score-c_{c}": "9" for c in "abcd"})
    assert response.status_code == 403
    words = "You are recused from this item" if lang == "en" else "你因利益衝突須就這個項目避席"
    assert words in response.content.decode()
    assert _rows() == before and not Score.objects.exists()


@pytest.mark.parametrize("lang", LANGS)
@covers("B09")
def test_a_decision_without_reasons_in_both_languages_is_refused(client, agenda, lang):
    """Seed 000 §13 (the committee decides; its reasons are recorded): a rejection with its
    reasons in one language only is refused by the service (``reasons_required``) and
    by the page in its language; the application stays on the agenda."""
    application, item, chair, _conflicted = agenda
    before = _rows()
    with pytest.raises(DomainError) as refused:
        committees.decide(item, outcome="reject", terms={}, reasons_en="Weak.", reasons_zh=" ", actor=chair.user)
    assert refused.value.code == "reasons_required"
    login_staff(client, chair.user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = lang
    post = {"decision-outcome": "reject", "decision-reasons_en": "", "decision-reasons_zh": "不足。"}
    response = client.post(f"/staff/committees/items/{item.pk}/decide", post)
    assert response.status_code == 400
    words = (
        "Give the reasons for the decision in English and in Chinese."
        if lang == "en"
        else "請以英文及中文說明決定的理由。"
    )
    assert words in response.content.decode()
    assert _rows() == before
    _undecided(application, item)


@pytest.mark.parametrize("lang", LANGS)
@covers("B02")
def test_a_person_without_the_grantees_mandate_is_refused(client, loaded, director, officer, lang):
    """Seed 002 ITIB229 (organisations apply, not individuals), seed 000 §21 (the grantee signs):
    a resident without the grantee's CorpID mandate cannot sign (``no_mandate``, nothing
    stored) and the grantee's pages refuse them with the reason in the page's language."""
    from tungban.eservices import login
    from tungban.testing.factories import make_resident

    award = awards.make_award(make_application(), terms(), decided_at=timezone.now(), actor="chair")
    stranger = make_resident(officer, hkid="G123456A")
    before = _rows()
    with pytest.raises(DomainError) as refused:
        awards.sign_agreement(award, stranger, BRN)
    assert refused.value.code == "no_mandate"
    session = client.session
    session[login.SESSION_KEY] = {"resident": str(stranger.public_id), "sub": "sub-for-tests"}
    session.save()
    response = client.get(f"/subsidy/grants/{award.public_id}/reports/", HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 403
    words = "You have no mandate to act for this company." if lang == "en" else "你沒有代表此公司行事的授權。"
    assert words in response.content.decode()
    assert _rows() == before
    award.refresh_from_db()
    assert award.state == "offered"


@pytest.mark.django_db(transaction=True)
@covers("B01")
def test_an_ineligible_organisations_application_goes_no_further(client, settings, tmp_path, officer):
    """Seed 000 §11 (the five categories): a trading company that is none of them is taken in
    as ineligible; the secretariat cannot mark it complete (``subsidy_state_refused``) nor the
    committee award it (``application_not_decidable``), nothing stored; the console says why in
    English and in Chinese."""
    from .intake_helpers import TRADING, apply, director_of, secretariat, setup_scheme

    setup_scheme(settings, tmp_path)
    person, mandate = director_of(officer, TRADING)
    app = Application.objects.get(reference=apply(person, mandate, TRADING, category="ai_startup").reference)
    assert app.state == ApplicationState.INELIGIBLE
    staff = secretariat()
    from tungban.subsidy.services import intake

    before = _rows()
    with pytest.raises(DomainError) as refused:
        intake.mark_complete(app, staff)
    assert refused.value.code == "subsidy_state_refused"
    with pytest.raises(DomainError) as refused:
        awards.make_award(app, terms(), decided_at=timezone.now(), actor="chair")
    assert refused.value.code == "application_not_decidable"
    login_staff(client, staff)
    for lang, words in (("en", "This cannot be done to an application that is"), ("zh-hant", "的申請不能進行此操作")):
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = lang
        response = client.post(f"/staff/subsidy/applications/{app.public_id}/complete", follow=True)
        assert words in response.content.decode()
    app.refresh_from_db()
    assert app.state == ApplicationState.INELIGIBLE and app.complete_at is None
    assert _rows() == before
