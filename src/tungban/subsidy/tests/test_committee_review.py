"""The committee's side of the scheme (issue 20, branch tcommittee): the applicant's withdrawal
reaches the scheme and the agenda (seed 000 §15), committee members read the application and a
reallocation proposal from the agenda item unless recused (seed 000 §12–§13), never see scores
they should not (the committee's pages and the optimiser's page alike), and read the grants'
progress reports with Cyberport's review (seed 000 §21)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tungban.committees import services as committees
from tungban.committees.management.commands.load_committee import DEFAULT
from tungban.committees.models import AgendaItem
from tungban.committees.tests.conftest import add_member
from tungban.core.errors import DomainError
from tungban.eservices import services as eservices
from tungban.subsidy import committee as kinds
from tungban.subsidy.constants import ApplicationState
from tungban.subsidy.models import Application, Award
from tungban.subsidy.services import capacity, intake
from tungban.testing.factories import login_staff

from .intake_helpers import UNIVERSITY, apply, director_of, secretariat, setup_scheme
from .rulebook import covers
from .test_pages import departments  # noqa: F401


def _on_agenda(settings, tmp_path, officer):
    """An application of a university, complete, recommended and on the agenda of its batch's
    meeting (the scheme's committee from the bundled file)."""
    setup_scheme(settings, tmp_path)
    person, mandate = director_of(officer, UNIVERSITY)
    e_app = apply(person, mandate, UNIVERSITY)
    app = Application.objects.get(reference=e_app.reference)
    staff = secretariat()
    intake.mark_complete(app, staff)
    rec = intake.Recommended(
        {dt.date(2027, 1, 1): 4}, Decimal(300000), Decimal("0.7"), reasons_en="Strong team.", reasons_zh="團隊實力強。"
    )
    intake.recommend(app, staff, rec)
    committee = committees.load_committee(DEFAULT)
    meeting = committees.create_meeting(committee, intake.batch_label(app.batch), timezone.localdate(), quorum=1)
    app = intake.put_on_agenda(app, staff)
    item = AgendaItem.objects.get(kind=kinds.APPLICATION_KIND, subject_id=str(app.public_id))
    _STAFF[0] = staff
    return person, e_app, app, committee, meeting, item


_STAFF = [None]


@pytest.mark.django_db(transaction=True)
def test_withdrawal_in_eservices_reaches_the_scheme_and_leaves_the_agenda(settings, tmp_path, officer, client):
    """seed 000 §15 (applications all year, taken in batches by the committee's meetings): the
    applicant withdraws in the e-services; the scheme's application is withdrawn, its agenda
    item is withdrawn with a record (no scoring or decision on it any more), no capacity is held
    (seed 000 §10) and the secretariat's queue shows it among the withdrawn."""
    person, e_app, app, committee, meeting, item = _on_agenda(settings, tmp_path, officer)
    member = add_member(committee)
    committees.open_meeting(meeting, actor=add_member(committee, role="chair").user)
    before = capacity.remaining(app.service_class, [dt.date(2027, 1, 1)])

    eservices.withdraw(e_app, person, reason="changed our plans")

    app.refresh_from_db()
    item.refresh_from_db()
    assert app.state == ApplicationState.WITHDRAWN
    assert (
        item.withdrawn and "withdrew" in item.withdrawal_reason_en and "changed our plans" in item.withdrawal_reason_en
    )
    assert "撤回" in item.withdrawal_reason_zh
    with pytest.raises(DomainError) as refused:
        committees.score(item, member.user, "a", 5)
    assert refused.value.code == "item_withdrawn"
    assert not Award.objects.filter(application=app).exists()
    assert capacity.remaining(app.service_class, [dt.date(2027, 1, 1)]) == before
    assert before[dt.date(2027, 1, 1)]["committed_subsidised"] == 0
    assert committees.minutes_record(meeting)["items"][0]["withdrawn_at"]
    # Idempotent: the same signal again changes nothing.
    assert intake.withdraw(app.reference).state == ApplicationState.WITHDRAWN

    login_staff(client, _STAFF[0])
    queue = client.get("/staff/subsidy/?state=withdrawn", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert app.reference in queue
    login_staff(client, member.user)
    page = client.get(f"/staff/committees/meetings/{meeting.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert 'data-state="withdrawn"' in page


@pytest.mark.django_db(transaction=True)
def test_a_committee_member_opens_the_application_from_the_item_and_a_recused_one_cannot(
    settings, tmp_path, officer, client
):
    """seed 000 §12–§13: the committee assesses criteria (a)–(d) on the application itself; its
    members read it (organisation, eligibility, the applicant's answers, compute by month, cost
    items with other funding, documents, the secretariat's recommendation and reasons) from the
    agenda item's link; a member recused for their own organisation gets a 403 page saying so,
    in both languages; staff who are not members get 403."""
    _person, _e_app, app, committee, _meeting, item = _on_agenda(settings, tmp_path, officer)
    member = add_member(committee)
    recused = add_member(committee, brn=UNIVERSITY[0])
    committees.detect_conflicts(item)
    link = kinds.describe_application(str(app.public_id), "en")["link"]
    assert link == f"/staff/subsidy/committee/applications/{app.public_id}/"

    login_staff(client, member.user)
    item_page = client.get(f"/staff/committees/items/{item.pk}/").content.decode()
    assert f'href="{link}"' in item_page
    r = client.get(link, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200
    html = r.content.decode()
    for shown in (UNIVERSITY[1], "Strong team.", 'id="cost-items"', "2027-01", 'id="answers"', "Local university"):
        assert shown in html, shown
    doc = eservices.get_application(app.reference).attachments.first()
    download = client.get(f"{link}documents/{doc.pk}")
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    assert "團隊實力強。" in client.get(link, HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert client.get("/staff/subsidy/committee/applications/00000000-0000-4000-8000-000000000009/").status_code == 404

    login_staff(client, recused.user)
    for lang, words in (("en", "You are recused from this subject"), ("zh-hant", "利益衝突")):
        r = client.get(link, HTTP_ACCEPT_LANGUAGE=lang)
        assert r.status_code == 403 and words in r.content.decode()
    assert client.get(f"{link}documents/{doc.pk}").status_code == 403

    login_staff(client, secretariat("someone-else"))
    assert client.get(link).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_the_recommend_page_hides_committee_scores_as_the_committee_pages_do(settings, tmp_path, officer, client):
    """seed 000 §13 (the committee scores criteria (a)–(d)): on the optimiser's page a member
    sees the committee's score of an application only once they scored it themselves (or it is
    decided), never while recused; the secretariat sees it."""
    _person, _e_app, app, committee, meeting, item = _on_agenda(settings, tmp_path, officer)
    chair = add_member(committee, role="chair")
    scorer, later = add_member(committee), add_member(committee)
    recused = add_member(committee, brn=UNIVERSITY[0])
    committees.detect_conflicts(item)
    committees.open_meeting(meeting, actor=chair.user)
    for code, value in zip("abcd", (8, 6, 7, 9), strict=True):
        committees.score(item, scorer.user, code, value)
    path = f"/staff/subsidy/recommend/{app.batch_id}/"

    def shown(user):
        login_staff(client, user)
        html = client.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert app.reference in html
        return "hidden until you have scored it" not in html and "(committee)" in html

    assert shown(scorer.user)
    assert not shown(later.user) and not shown(recused.user)
    assert shown(_STAFF[0])
    for code in "abcd":
        committees.score(item, later.user, code, 7)
    assert shown(later.user)
    assert not shown(recused.user)


# Reallocation to market-price users and the market commitments (seed 000 §17, §10; seed 002 ITIB229)


@pytest.fixture
def decided(application, director):
    """The application decided at a past meeting (2 months ago) of the scheme's committee, its
    award signed (scheduler account opened on compute with no scheduler), a later meeting
    planned; a market-price account and another subsidised one on compute."""
    from tungban.compute import services as compute
    from tungban.subsidy.services import awards

    from .conftest import terms

    committee = committees.load_committee(DEFAULT)
    today = timezone.localdate()
    past = committees.create_meeting(committee, "past", today - dt.timedelta(days=60), quorum=1)
    committees.add_item(past, kinds.APPLICATION_KIND, str(application.public_id))
    later = committees.create_meeting(committee, "later", today + dt.timedelta(days=30), quorum=1)
    award = awards.make_award(application, terms(), decided_at=timezone.now(), actor="chair")
    awards.sign_agreement(award, director, application.br_number)
    award.refresh_from_db()
    compute.open_account(
        award.account, gpu_minutes=10**7, starts_on=dt.date(2025, 1, 1), ends_on=dt.date(2025, 3, 31), owner="a"
    )
    for name, kind in (("mkt-buyer", "market"), ("aisc-other000000", "subsidised")):
        compute.open_account(
            name, gpu_minutes=1000, starts_on=dt.date(2025, 1, 1), ends_on=dt.date(2025, 3, 31), owner="b", kind=kind
        )
    return award, committee, later


@covers("R28")
def test_seed000_s17_reallocation_to_a_subsidised_account_is_refused_and_nothing_stored(decided):
    """seed 000 §17: compute may be moved only to projects paying the market price."""
    from tungban.subsidy.models import ReallocationProposal
    from tungban.subsidy.services import reallocation

    award, _committee, _later = decided
    for account in ("aisc-other000000", "no-such-account"):
        with pytest.raises(DomainError) as refused:
            reallocation.propose(award, to_account=account, gpu_minutes=1000, reason_en="r", reason_zh="理", actor="cp")
        assert refused.value.code == "reallocation_not_market"
    assert not ReallocationProposal.objects.exists()
    assert not AgendaItem.objects.filter(kind=kinds.REALLOCATION_KIND).exists()


@covers("R28")
def test_seed000_s17_a_proposal_goes_on_the_next_agenda_and_members_open_it(decided, client):
    """seed 000 §17 (Cyberport proposes, the committee decides): the proposal is an item of the
    committee's next meeting; its link opens the committee's read-only page of it; a member of the
    grantee's organisation is recused from it and gets 403."""
    from tungban.subsidy.services import reallocation

    from .conftest import BRN

    award, committee, later = decided
    p = reallocation.propose(
        award, to_account="mkt-buyer", gpu_minutes=1000, reason_en="Idle.", reason_zh="閒置。", actor="cp"
    )
    item = reallocation.agenda_item(p)
    assert item is not None and item.meeting == later and item.kind == kinds.REALLOCATION_KIND
    link = kinds.describe_reallocation(str(p.public_id), "en")["link"]
    member, recused = add_member(committee), add_member(committee, brn=BRN)
    login_staff(client, member.user)
    assert f'href="{link}"' in client.get(f"/staff/committees/items/{item.pk}/").content.decode()
    html = client.get(link, HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert "mkt-buyer" in html and "閒置。" in html and 'data-state="proposed"' in html
    login_staff(client, recused.user)
    assert client.get(link).status_code == 403


def test_seed000_s10_s17_market_commitments_at_the_list_price_outside_the_90_percent_cap(
    decided,
    client,
    departments,  # noqa: F811
):
    """seed 000 §17: after the committee approves moving compute to a market-price user, the
    nodes are committed to it at the list price in force (seed 002 ITIB229), counted apart from
    the subsidised nodes: the 90% cap of seed 000 §10 limits the awards only, never beyond the
    nodes in service."""
    from tungban.eservices.tests.helpers import department_user
    from tungban.subsidy.services import market, reallocation

    award, _committee, _later = decided
    sc = award.application.service_class
    jan = dt.date(2025, 1, 1)
    capacity.set_capacity(sc, jan, 10)  # the award holds 8; 90% of 10 = 9 may be subsidised
    p = reallocation.propose(
        award, to_account="mkt-buyer", gpu_minutes=1000, reason_en="Idle.", reason_zh="閒置。", actor="cp"
    )
    with pytest.raises(DomainError) as refused:  # not approved by the committee yet
        market.commit(sc, {jan: 1}, customer="Example AI Ltd", proposal=p, actor="cp")
    assert refused.value.code == "market_commitment_invalid"
    reallocation.decide(
        p, "approve", reasons_en="Low demand.", reasons_zh="需求低。", decided_at=timezone.now(), actor="chair"
    )
    p.refresh_from_db()
    assert capacity.remaining(sc, [jan])[jan]["free_subsidised"] == 1
    for bad in ({jan: 0}, {jan: 1.5}, {}):
        with pytest.raises(DomainError) as refused:
            market.commit(sc, bad, customer="Example AI Ltd", proposal=p, actor="cp")
        assert refused.value.code == "market_commitment_invalid"
    rows = market.commit(sc, {jan: 2}, customer="Example AI Ltd", proposal=p, actor="cp")  # beyond the 90% cap: allowed
    assert [(r.nodes, r.price, r.account) for r in rows] == [(2, Decimal("320000.00"), "mkt-buyer")]
    left = capacity.remaining(sc, [jan])[jan]
    assert (left["committed_subsidised"], left["committed_market"], left["free_subsidised"]) == (8, 2, 0)
    with pytest.raises(DomainError) as refused:  # nothing beyond the nodes in service
        market.commit(sc, {jan: 1}, customer="Example AI Ltd", proposal=p, actor="cp")
    assert refused.value.code == "market_capacity_exceeded"
    login_staff(client, department_user("cp-officer", "CYBERPORT"))
    page = client.get("/staff/subsidy/funds/?fy=2024-25", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Committed (market)" in page and "<td>2</td>" in page


@covers("R31")
def test_seed000_s21_committee_members_read_the_progress_reports_and_cyberports_review(decided, client):
    """seed 000 §21: grantees' progress reports are 「供數碼港及獨立委員會檢視」 (for Cyberport and the
    committee to see): members read each grant's submitted reports and Cyberport's review on the
    committee's "grants in progress" page (linked from the committees' navigation), in both
    languages; non-members get 403."""
    from tungban.subsidy.services import progress
    from tungban.testing.factories import staff_user

    award, committee, _later = decided
    reports = progress.schedule(award)
    first = progress.submit(
        reports[0],
        progress="Trained the first speech model.",
        counts={"papers": 2, "models_released": 1, "talents": 7},
        outputs="doi:10.1/example",
        by="mandate-1",
    )
    progress.review(
        first, accept=False, comment="Give the dataset's licence.", actor=staff_user("none", username="cp-reviewer")
    )
    member = add_member(committee)
    login_staff(client, member.user)
    nav = client.get("/staff/committees/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="/staff/subsidy/committee/grants/"' in nav and "Grants in progress" in nav
    html = client.get("/staff/subsidy/committee/grants/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert award.application.reference in html
    assert "Trained the first speech model." in html and "Give the dataset&#x27;s licence." in html
    assert 'data-sequence="1" data-state="returned"' in html and "Papers: 2" in html
    zh = client.get("/staff/subsidy/committee/grants/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert "進行中的資助項目" in zh and "數碼港的審閱" in zh
    login_staff(client, staff_user("none", username="not-a-member"))
    assert client.get("/staff/subsidy/committee/grants/").status_code == 403


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("locale", ["en-GB", "zh-HK"])
def test_a_member_follows_the_item_to_the_application_in_chromium_on_a_phone(
    settings, tmp_path, officer, live_server, e2e_browser, locale
):
    """seed 000 §12–§13 in the browser: from the agenda item a committee member opens the
    application as the committee sees it, and the grants in progress (seed 000 §21), at phone
    width; axe-core finds nothing on either page."""
    from tungban.testing.a11y import assert_no_violations
    from tungban.testing.browser import TIMEOUT
    from tungban.testing.factories import staff_login_page

    _person, _e_app, app, committee, _meeting, item = _on_agenda(settings, tmp_path, officer)
    member = add_member(committee)
    ctx = e2e_browser.new_context(locale=locale, viewport={"width": 390, "height": 844})
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    staff_login_page(page, live_server.url, member.user, f"/staff/committees/items/{item.pk}/")
    page.click("#subject-link")
    page.wait_for_selector("#recommendation")
    assert app.reference in page.text_content("#app-title")
    assert page.locator("#attachments a").count() >= 1 and page.locator("#cost-items tbody tr").count() >= 1
    assert_no_violations(page, f"subsidy: the application as the committee sees it ({locale})")
    page.goto(f"{live_server.url}/staff/subsidy/committee/grants/")
    page.wait_for_selector("h1")
    assert_no_violations(page, f"subsidy: the committee's grants in progress ({locale})")
    assert not errors, errors
    ctx.close()


def test_seed000_s17_the_funds_page_shows_where_a_proposal_stands_and_puts_it_on_the_agenda(
    decided,
    client,
    departments,  # noqa: F811
    monkeypatch,
):
    """seed 000 §17: a proposal made while no meeting is planned stays off the agenda, the
    fund's page says so and Cyberport puts it on the next meeting once one is planned."""
    from tungban.eservices.tests.helpers import department_user
    from tungban.subsidy.services import reallocation

    award, _committee, later = decided
    with monkeypatch.context() as m:
        m.setattr(committees, "next_meeting", lambda committee: None)
        p = reallocation.propose(
            award, to_account="mkt-buyer", gpu_minutes=10, reason_en="Idle.", reason_zh="閒置。", actor="cp"
        )
    assert reallocation.agenda_item(p) is None
    login_staff(client, department_user("cp-officer", "CYBERPORT"))
    page_path = f"/staff/subsidy/funds/applications/{award.application.public_id}/"
    html = client.get(page_path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "not on an agenda yet" in html
    client.post(f"{page_path}reallocate/{p.public_id}/agenda")
    assert reallocation.agenda_item(p).meeting == later
    html = client.get(page_path, HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert "已列入 later 會議的議程" in html


@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_that_fails_is_queued_for_another_try(settings, tmp_path, officer, monkeypatch):
    """seed 000 §15: the withdrawal must reach the scheme even if the first try fails (the
    applicant's own act is already committed): a task on the queue tries again."""
    from tungban.core import jobs

    setup_scheme(settings, tmp_path)
    person, mandate = director_of(officer, UNIVERSITY)
    e_app = apply(person, mandate, UNIVERSITY)
    queued = []
    real = intake.withdraw

    def broken(reference, *, reason=""):
        raise RuntimeError("database went away")

    monkeypatch.setattr(intake, "withdraw", broken)
    monkeypatch.setattr(jobs, "enqueue", lambda task, *args, **kw: queued.append((task, args)))
    eservices.withdraw(e_app, person, reason="changed our plans")
    assert [(t, a) for t, a in queued] == [(intake.withdraw_task, (e_app.reference, "changed our plans"))]
    monkeypatch.setattr(intake, "withdraw", real)
    assert intake.withdraw_task.func(None, e_app.reference, "changed our plans") == ApplicationState.WITHDRAWN


def test_an_application_withdrawn_before_its_intake_is_taken_in_as_withdrawn(settings, tmp_path, officer):
    """seed 000 §15: when the intake failed and the applicant withdrew before it was retried,
    the retried intake records the application as withdrawn, not as a new submission."""
    setup_scheme(settings, tmp_path)
    person, mandate = director_of(officer, UNIVERSITY)
    e_app = apply(person, mandate, UNIVERSITY)
    Application.objects.filter(reference=e_app.reference).delete()  # as if the intake had failed
    eservices.withdraw(e_app, person, reason="changed our plans")
    assert not Application.objects.filter(reference=e_app.reference).exists()
    app = intake.take_in(eservices.get_application(e_app.reference))
    assert app.state == ApplicationState.WITHDRAWN
