"""The batch's award recommendation (issue 20 part C; anchor study §7.4) through the services
it reads — the secretariat's terms (part D), capacity under the 90 % cap (seed 000 §10) and the
money released for each financial year (seed 000 §16) (part A) — and its page for the
secretariat, in both languages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tungban.eservices.models import Department
from tungban.eservices.tests.helpers import department_user
from tungban.subsidy.constants import ApplicationState
from tungban.subsidy.models import Batch, Call, ServiceClass
from tungban.subsidy.models_intake import Assessment
from tungban.subsidy.optimiser import Reason
from tungban.subsidy.services import capacity, recommend
from tungban.subsidy.tests.conftest import make_application
from tungban.testing.factories import login_staff

JAN, FEB, MAR, APR, MAY = (dt.date(2025, m, 1) for m in (1, 2, 3, 4, 5))


def months(first, n, nodes):
    out, m = {}, first
    for _ in range(n):
        out[m] = nodes
        m = dt.date(m.year + m.month // 12, m.month % 12 + 1, 1)
    return out


@pytest.fixture
def batch(loaded):
    """FY 2024-25 released (part A's ``loaded``), FY 2025-26 not yet; 20 h800 nodes a month
    January–June 2025 (18 under the 90 % cap); five applications:

    * A (on the agenda), 8 nodes January–March, score 8 → 192;
    * B (recommended), 12 nodes January–March, score 7 → 252: with A, 20 > 18;
    * C (recommended), 10 nodes for 2 months, asked January–June, score 6: April onwards is in
      2025-26, which has no money, so it can start in January or February only; with A, 18 fit;
    * D (recommended), 9 nodes April–May: 2025-26 has no money, even on its own (and earlier
      starts, outside its months, do not fit beside A and C either);
    * E (recommended without terms) and F (complete, not recommended) are not optimised.

    {A, C} = 312 beats {B} = 252: A and C are recommended, B is left out for capacity.
    Scores are the secretariat's here (0–10, the committee's scale)."""
    call = Call.objects.create(
        code="aiss-test", title_en="Test call", title_zh="測試", opens_on=JAN, closes_on=dt.date(2027, 3, 31)
    )
    the_batch = Batch.objects.create(call=call, number=1, cut_off=timezone.now(), meeting_on=FEB)
    h800 = ServiceClass.objects.get(code="h800")
    for m in months(JAN, 6, 20):
        capacity.set_capacity(h800, m, 20)

    def app(ref, state, requested, schedule, score):
        a = make_application(ref, months=requested, state=state, batch=the_batch)
        rec = {}
        if schedule:
            rec = {
                "schedule": {m.isoformat(): n for m, n in schedule.items()},
                "price": "320000",
                "rate": "0.70",
                "score": score,
            }
        Assessment.objects.create(application=a, eligible=True, recommendation=rec)
        return a

    app("A", ApplicationState.ON_AGENDA, months(JAN, 3, 8), months(JAN, 3, 8), 8)
    app("B", ApplicationState.RECOMMENDED, months(JAN, 3, 12), months(JAN, 3, 12), 7)
    app("C", ApplicationState.RECOMMENDED, months(JAN, 6, 10), months(JAN, 2, 10), 6)
    app("D", ApplicationState.RECOMMENDED, months(APR, 2, 9), months(APR, 2, 9), 9)
    app("E", ApplicationState.RECOMMENDED, months(JAN, 1, 1), None, None)
    app("F", ApplicationState.COMPLETE, months(JAN, 1, 1), months(JAN, 1, 1), 9.9)
    return the_batch


def test_the_batch_recommendation_respects_capacity_and_each_year_s_money_seed_000_para_10_16(batch):
    view = recommend.explain(batch)
    rec = view.recommendation
    assert {c.ref: c.start for c in rec.chosen} == {"A": JAN, "C": JAN}
    assert rec.choice("A").cost_by_fy == {"2024-25": Decimal("5376000.00")}  # 3 × 8 × 320,000 × 0.70
    assert rec.reason("B").reason == Reason.CAPACITY and rec.reason("B").months == (JAN, FEB, MAR)
    assert rec.reason("D").reason == Reason.BUDGET and rec.reason("D").fiscal_years == ("2025-26",)
    assert rec.reason("D").alone
    assert [a.reference for a in view.without_terms] == ["E"]
    assert "F" not in view.applications and rec.reason("F") is None
    assert view.scored_by["A"] == "secretariat" and view.scores["A"] == 8
    assert recommend.for_batch(batch).chosen == rec.chosen


def test_the_minimum_score_leaves_the_lower_scores_out_seed_000_para_13(batch):
    rec = recommend.for_batch(batch, min_score=7.5)
    assert {c.ref for c in rec.chosen} == {"A"}
    assert rec.reason("B").reason == Reason.SCORE and rec.reason("C").reason == Reason.SCORE


def test_less_capacity_fits_fewer_seed_000_para_10(batch):
    # The centre has 11 nodes in January–March (9 under the cap): only A (8) still fits. B asked
    # for January–March only: capacity. C could run from April, but 2025-26 has no money.
    h800 = ServiceClass.objects.get(code="h800")
    for m in months(JAN, 3, 0):
        capacity.set_capacity(h800, m, 11)  # floor(0.9 × 11) = 9 under the cap
    rec = recommend.for_batch(batch)
    assert {c.ref for c in rec.chosen} == {"A"}
    assert rec.reason("B").reason == Reason.CAPACITY
    assert rec.reason("C").reason == Reason.BUDGET and rec.reason("C").fiscal_years == ("2025-26",)


@pytest.fixture
def cyberport(db):
    Department.objects.get_or_create(code="CYBERPORT", defaults={"name_en": "Cyberport", "name_zh": "數碼港"})
    Department.objects.get_or_create(
        code="DPO", defaults={"name_en": "Digital Policy Office", "name_zh": "數字政策辦公室"}
    )
    return department_user("cyberport-officer", "CYBERPORT", "officer")


@pytest.mark.parametrize(
    "lang,recommendation_words,capacity_words",
    [
        ("en", "A recommendation, never a decision", "Not enough nodes free under the 90% cap"),
        ("zh-hant", "只是建議，並非決定", "九成上限內的可用節點不足"),
    ],
)
def test_the_page_shows_the_recommendation_and_why_in_both_languages(
    client, batch, cyberport, lang, recommendation_words, capacity_words
):
    login_staff(client, cyberport)
    page = client.get(f"/staff/subsidy/recommend/{batch.pk}/", headers={"accept-language": lang})
    assert page.status_code == 200
    html = page.content.decode()
    assert recommendation_words in html and capacity_words in html
    assert 'data-reference="A" data-start="2025-01"' in html and 'data-reference="C" data-start="2025-01"' in html
    assert 'data-reference="B" data-reason="capacity"' in html
    assert 'data-reference="D" data-reason="budget"' in html
    assert "2025-26" in html


def test_a_bad_minimum_score_is_explained_on_the_page(client, batch, cyberport):
    login_staff(client, cyberport)
    page = client.get(f"/staff/subsidy/recommend/{batch.pk}/?min_score=abc", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert "The minimum score must be a number from 0 to 10." in page.content.decode()


def test_only_the_secretariat_and_committee_members_see_it(client, batch, cyberport):
    from tungban.committees import services as committees
    from tungban.committees.management.commands.load_committee import DEFAULT
    from tungban.committees.tests.conftest import add_member

    assert client.get(f"/staff/subsidy/recommend/{batch.pk}/").status_code == 302  # the staff login
    login_staff(client, department_user("dpo-officer", "DPO", "officer"))
    assert client.get(f"/staff/subsidy/recommend/{batch.pk}/").status_code == 403
    member = add_member(committees.load_committee(DEFAULT))
    login_staff(client, member.user)
    assert client.get(f"/staff/subsidy/recommend/{batch.pk}/").status_code == 200
    login_staff(client, cyberport)
    assert client.get("/staff/subsidy/recommend/999999/").status_code == 404


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("locale", ["en-GB", "zh-HK"])
def test_the_secretariat_reads_the_recommendation_in_chromium_on_a_phone(issuer, e2e_browser, batch, cyberport, locale):
    from tungban.testing.a11y import assert_no_violations
    from tungban.testing.browser import TIMEOUT
    from tungban.testing.factories import staff_login_page

    ctx = e2e_browser.new_context(locale=locale, viewport={"width": 390, "height": 844})
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    path = f"/staff/subsidy/recommend/{batch.pk}/"
    staff_login_page(page, issuer, cyberport, path)
    page.wait_for_selector('#chosen tr[data-reference="A"]')
    assert page.locator('#left-out tr[data-reference="B"]').get_attribute("data-reason") == "capacity"
    assert_no_violations(page, f"subsidy: the batch's recommendation ({locale})")
    page.fill("#min_score", "7.5")
    page.click("#run")
    page.wait_for_selector('#left-out tr[data-reference="C"][data-reason="score"]')
    assert page.locator("#chosen tbody tr").count() == 1
    assert_no_violations(page, f"subsidy: the batch's recommendation, minimum score 7.5 ({locale})")
    assert not errors, errors
    ctx.close()


@pytest.mark.parametrize("lang", ["zh-hant", "en"])
def test_an_unreadable_recommendation_is_explained_in_the_readers_language(client, batch, cyberport, monkeypatch, lang):
    """Seed 000 §13 (the committee decides; the page only recommends): when the terms cannot be
    read or the engine refuses them, the page explains it in the reader's language — never the
    optimiser's or Python's English text inside a Chinese page (review, branch tmoney)."""
    import re

    from tungban.subsidy import errors
    from tungban.subsidy.optimiser import InvalidInput

    login_staff(client, cyberport)
    cjk = re.compile(r"[\u3400-\u9fff]")
    unreadable = errors.SCHEDULE_PROBLEMS["unreadable"]
    for make in (
        lambda: InvalidInput("candidate A: nodes must be positive"),
        lambda: errors.ScheduleInvalid(reason=unreadable),  # raised in the request's language
    ):

        def refuse(*a, make=make, **kw):
            raise make()

        monkeypatch.setattr(recommend, "explain", refuse)
        text = client.get(f"/staff/subsidy/recommend/{batch.pk}/", headers={"accept-language": lang}).content.decode()
        assert "nodes must be positive" not in text
        if lang == "zh-hant":
            assert "未能作出建議" in text and "cannot be read" not in text
        else:
            assert "The recommendation cannot be made" in text and not cjk.search(text.split("<main", 1)[-1])
