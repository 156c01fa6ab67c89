"""The secretariat's console (issue 20, part D) in both languages: the queue by batch and state
with the 2-month clock (seed 002 ITIB239), mark complete, clarification through the
e-services request for information, the technical review, the recommendation (the terms the
committee's form starts from) and "put on the agenda" (seed 000 §13, §15); refusals shown on
the page, nothing stored; only Cyberport's officers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tungban.core.errors import DomainError
from tungban.eservices import services as eservices
from tungban.eservices.tests.helpers import department_user
from tungban.subsidy.constants import ApplicationState
from tungban.subsidy.models import Application
from tungban.subsidy.services import intake
from tungban.subsidy.tests.rulebook import covers
from tungban.testing.factories import login_staff

from .intake_helpers import UNIVERSITY, apply, director_of, secretariat, setup_scheme

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def submitted(settings, tmp_path, officer):
    setup_scheme(settings, tmp_path)
    person, mandate = director_of(officer, UNIVERSITY)
    e_app = apply(person, mandate, UNIVERSITY)
    return person, Application.objects.get(reference=e_app.reference)


def _page(client, app, lang):
    return client.get(f"/staff/subsidy/applications/{app.public_id}/", HTTP_ACCEPT_LANGUAGE=lang)


@pytest.mark.parametrize("lang", ["en", "zh-hant"])
@covers("R18")
def test_the_secretariat_marks_complete_reviews_and_recommends(client, submitted, lang):
    """Seed 000 §13, §14: the secretariat recommends the price, the rate and the conditions."""
    person, app = submitted
    staff = secretariat()
    login_staff(client, staff)
    queue = client.get("/staff/subsidy/", HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert app.reference in queue and ("Not started" in queue or "尚未開始" in queue)

    client.post(f"/staff/subsidy/applications/{app.public_id}/complete")
    app.refresh_from_db()
    assert app.state == ApplicationState.COMPLETE and app.complete_at is not None
    assert eservices.get_application(app.reference).state == "in_review"
    page = _page(client, app, lang).content.decode()
    assert 'data-late="false"' in page and 'data-days-left="' in page

    # Refused: a review in one language only; nothing stored, the reason on the page.
    client.post(
        f"/staff/subsidy/applications/{app.public_id}/review",
        {"text_en": "Feasible.", "text_zh": ""},
        HTTP_ACCEPT_LANGUAGE=lang,
    )
    app.refresh_from_db()
    assert app.assessment.technical_review_en == ""
    page = _page(client, app, lang).content.decode()
    assert 'id="action-error"' in page
    assert ("both English and Chinese" in page) if lang == "en" else ("中英文" in page)
    client.post(f"/staff/subsidy/applications/{app.public_id}/review", {"text_en": "Feasible.", "text_zh": "可行。"})
    app.refresh_from_db()
    assert app.assessment.technical_review_zh == "可行。" and app.assessment.reviewed_by == staff.username

    # Refused: a rate above 70% without the exceptional case.
    post = {"nodes-2027-01": "4", "nodes-2027-02": "5", "price": "300000", "rate": "80",
            "reasons_en": "Strong team.", "reasons_zh": "團隊實力強。"}  # fmt: skip
    client.post(f"/staff/subsidy/applications/{app.public_id}/recommend", post)
    app.refresh_from_db()
    assert app.state == ApplicationState.COMPLETE and intake.recommendation(app) == {}
    client.post(f"/staff/subsidy/applications/{app.public_id}/recommend", post | {"rate": "70"})
    app.refresh_from_db()
    assert app.state == ApplicationState.RECOMMENDED and app.recommended_at is not None
    rec = intake.recommendation(app)
    assert rec["schedule"] == {"2027-01-01": 4, "2027-02-01": 5}
    assert (Decimal(rec["price"]), Decimal(rec["rate"]), rec["exceptional"]) == (Decimal(300000), Decimal("0.7"), False)
    assert rec["reasons_zh"] == "團隊實力強。" and rec["service_class"] == "h800"
    page = _page(client, app, lang).content.decode()
    assert 'value="4"' in page and 'id="agenda"' in page  # the form shows the recommendation; next: the agenda


@covers("R25", "B05")
def test_an_exceptional_rate_needs_its_reasons_and_never_exceeds_90_percent(submitted):
    """Seed 000 §13: an exceptional rate needs its reasons and never exceeds 90%."""
    _person, app = submitted
    staff = secretariat()
    intake.mark_complete(app, staff)
    rec = intake.Recommended(
        {dt.date(2027, 1, 1): 4}, Decimal(300000), Decimal("0.85"), True, "", "", "", "", "r", "理"
    )
    with pytest.raises(DomainError) as refused:
        intake.recommend(app, staff, rec)
    assert refused.value.code == "subsidy_recommendation_invalid"
    rec.exceptional_reason_en, rec.exceptional_reason_zh = "Public good.", "公眾利益。"
    rec.rate = Decimal("0.91")
    with pytest.raises(DomainError):
        intake.recommend(app, staff, rec)
    rec.rate = Decimal("0.90")
    assert intake.recommend(app, staff, rec).state == ApplicationState.RECOMMENDED
    rec.schedule = {dt.date(2027, 3, 1): 4}  # a month not requested
    with pytest.raises(DomainError) as refused:
        intake.recommend(app, staff, rec)
    assert "not requested" in str(refused.value.message)


def test_clarification_goes_through_the_eservices_request_and_the_answer_brings_it_back(submitted):
    person, app = submitted
    staff = secretariat()
    intake.request_clarification(app, staff, "Which dataset licence?", "數據集的授權為何？")
    app.refresh_from_db()
    e_app = eservices.get_application(app.reference)
    assert app.state == ApplicationState.CLARIFICATION_REQUESTED and e_app.state == "information_requested"
    assert app.complete_at is None  # the clock has not started
    eservices.respond_to_information(e_app, person, "CC-BY 4.0")
    app.refresh_from_db()
    assert app.state == ApplicationState.SUBMITTED


@covers("R16")
def test_put_on_agenda_needs_a_meeting_of_the_batch(submitted, monkeypatch):
    """Seed 000 §15: each batch goes to the committee's meeting."""
    _person, app = submitted
    staff = secretariat()
    intake.mark_complete(app, staff)
    rec = intake.Recommended({dt.date(2027, 1, 1): 4}, Decimal(300000), Decimal("0.7"), reasons_en="r", reasons_zh="理")
    intake.recommend(app, staff, rec)
    calls = []

    def add_item(app_, officer):
        calls.append((str(app_.public_id), officer.username))
        return "item-1"

    monkeypatch.setattr(intake, "_add_item", add_item)
    app = intake.put_on_agenda(app, staff)
    assert app.state == ApplicationState.ON_AGENDA and calls == [(str(app.public_id), staff.username)]
    assert app.assessment.agenda_item == "item-1"


def test_without_a_meeting_of_the_batch_the_agenda_is_refused(submitted):
    _person, app = submitted
    staff = secretariat()
    intake.mark_complete(app, staff)
    intake.recommend(
        app,
        staff,
        intake.Recommended({dt.date(2027, 1, 1): 4}, Decimal(1), Decimal("0.5"), reasons_en="r", reasons_zh="理"),
    )
    with pytest.raises(DomainError) as refused:
        intake.put_on_agenda(app, staff)
    assert refused.value.code == "subsidy_no_meeting"
    app.refresh_from_db()
    assert app.state == ApplicationState.RECOMMENDED


def test_only_cyberport_officers_use_the_console(client, submitted):
    _person, app = submitted
    dpo = department_user("dpo-officer", "DPO", "officer")
    login_staff(client, dpo)
    assert client.get("/staff/subsidy/").status_code == 403
    assert client.post(f"/staff/subsidy/applications/{app.public_id}/complete").status_code == 403
    app.refresh_from_db()
    assert app.state == ApplicationState.SUBMITTED
    with pytest.raises(DomainError) as refused:
        intake.mark_complete(app, dpo)
    assert refused.value.code == "not_secretariat"


def test_a_part_node_or_an_unknown_application_is_refused_on_the_page(client, submitted):
    _person, app = submitted
    login_staff(client, secretariat())
    client.post(f"/staff/subsidy/applications/{app.public_id}/complete")
    post = {"nodes-2027-01": "4.5", "price": "300000", "rate": "70", "reasons_en": "r", "reasons_zh": "理"}
    client.post(f"/staff/subsidy/applications/{app.public_id}/recommend", post, HTTP_ACCEPT_LANGUAGE="en")
    app.refresh_from_db()
    assert app.state == ApplicationState.COMPLETE
    assert "Enter whole numbers of nodes." in _page(client, app, "en").content.decode()
    missing = client.get("/staff/subsidy/applications/00000000-0000-0000-0000-000000000000/")
    assert missing.status_code == 404 and missing["Content-Type"].startswith("text/html")
