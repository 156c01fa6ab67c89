"""Intake (issue 20, part D): a submitted e-services application of the AI Subsidy Scheme
becomes the scheme's application with its batch, requested months, cost items and eligibility
(seed 000 §11, §15); the form's refusals; the 2-month clock (seed 002 ITIB239)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.utils import timezone

from tungban.core.errors import DomainError
from tungban.subsidy.constants import ApplicationState
from tungban.subsidy.models import Application, Batch
from tungban.subsidy.services import eligibility, intake
from tungban.subsidy.tests.rulebook import covers

from .intake_helpers import STARTUP, TRADING, UNIVERSITY, apply, director_of, setup_scheme

pytestmark = pytest.mark.django_db(transaction=True)
HK = zoneinfo.ZoneInfo("Asia/Hong_Kong")


@pytest.fixture
def scheme(settings, tmp_path):
    return setup_scheme(settings, tmp_path)


def test_a_submitted_application_is_taken_in_with_its_batch_months_and_cost_items(scheme, officer):
    person, mandate = director_of(officer, UNIVERSITY)
    e_app = apply(person, mandate, UNIVERSITY, changes={"costs": {"cost_items": [
        {"description": "Computing power", "amount": 2000000, "other_funding": False},
        {"description": "Annotators", "amount": 300000, "other_funding": True, "other_funding_source": "ITF"},
    ]}})  # fmt: skip
    app = Application.objects.get(reference=e_app.reference)
    assert (app.br_number, app.organisation_name_en, app.category) == (UNIVERSITY[0], UNIVERSITY[1], "university")
    assert app.state == ApplicationState.SUBMITTED and app.assessment.eligible
    assert app.submitted_at == e_app.submitted_at and app.service_class.code == "h800"
    assert [(m.month, m.nodes) for m in app.requested_months.all()] == [
        (dt.date(2027, 1, 1), 4),
        (dt.date(2027, 2, 1), 6),
    ]
    items = list(app.cost_items.all())
    assert [(i.description, i.amount, i.other_funding) for i in items] == [
        ("Computing power", 2000000, False),
        ("Annotators", 300000, True),
    ]
    # A double-funded cost item is a warning at submission (seed 000 fn 6; A refuses it at the decision).
    assert [w["code"] for w in app.assessment.warnings] == ["double_funding"]
    assert "Annotators" in app.assessment.warnings[0]["en"] and "ITF" in app.assessment.warnings[0]["en"]
    # The batch: the first whose cut-off is at or after the submission (seed 000 §15).
    assert app.batch == Batch.objects.filter(cut_off__gte=app.submitted_at).order_by("cut_off").first()
    assert app.assessment.justification["model_size"] == "7 billion parameters"
    # Taking it in again (a repeated signal) changes nothing.
    assert intake.take_in(e_app).pk == app.pk and Application.objects.count() == 1


@covers("R16")
def test_the_batch_is_the_first_whose_cut_off_is_at_or_after_the_submission(scheme):
    """Seed 000 §15: batches with cut-off dates."""
    cut_off = dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=HK)
    assert intake.batch_for(cut_off).cut_off == cut_off  # at the cut-off: this batch
    after = intake.batch_for(cut_off + dt.timedelta(seconds=1))
    assert after.cut_off == dt.datetime(2027, 3, 31, 23, 59, 59, tzinfo=HK) and after.number == 11
    assert intake.batch_for(dt.datetime(2027, 7, 1, tzinfo=HK)) is None  # after the call's last cut-off
    assert scheme.title_en == "AI Subsidy Scheme 2024–2027"
    assert scheme.batches.count() == 12 and intake.load_demo_scheme().batches.count() == 12


# --- eligibility per category (seed 000 §11(a)–(e)) ---
@covers("R09")
def test_seed_000_11a_a_university_on_the_register_is_eligible_and_a_company_is_not(scheme):
    """Seed 000 §11(a): local universities on the register."""
    assert eligibility.check("university", "90000003").eligible  # HKUST (demo dummy BRN)
    assert eligibility.check("university", UNIVERSITY[0]).eligible  # a Cap. 320 institution
    no = eligibility.check("university", TRADING[0])
    assert not no.eligible and "not on the register" in no.reason_en and "合資格機構名冊" in no.reason_zh


@covers("R10")
def test_seed_000_11b_an_rd_institution_must_be_on_the_register_as_one(scheme):
    """Seed 000 §11(b): R&D institutions on the register."""
    assert eligibility.check("rd_institution", "90000021").eligible  # ASTRI
    assert eligibility.check("rd_institution", "90000027").eligible  # HKPC
    assert not eligibility.check("rd_institution", "90000003").eligible  # a university, not an R&D institution


@covers("R11")
def test_seed_000_11c_a_government_department_is_eligible_by_the_register(scheme):
    """Seed 000 §11(c): government departments."""
    assert eligibility.check("government_department", "90000032").eligible  # the Observatory
    assert not eligibility.check("government_department", TRADING[0]).eligible


@covers("R12")
def test_seed_000_11d_an_ai_startup_must_be_an_incubatee_graduate_or_funded_startup(scheme):
    """Seed 000 §11(d): AI start-ups."""
    yes = eligibility.check("ai_startup", STARTUP[0])
    assert yes.eligible and "Cyberport" in yes.reason_en
    assert eligibility.check("ai_startup", "90000043").eligible  # RAISe+
    assert not eligibility.check("ai_startup", TRADING[0]).eligible


@covers("R13")
def test_seed_000_11e_a_strategic_enterprise_needs_its_hk_base_and_professionals(scheme, settings):
    """Seed 000 §11(e): strategic enterprises based in Hong Kong with the professionals."""
    settings.TUNGBAN_SUBSIDY_STRATEGIC_MIN_PROFESSIONALS = 20
    good = {"hk_base": True, "professionals_employed": 20, "contribution": "AI lab", "evidence": "1"}
    assert eligibility.check("strategic_enterprise", TRADING[0], good).eligible
    few = eligibility.check("strategic_enterprise", TRADING[0], good | {"professionals_employed": 19})
    assert not few.eligible and "fewer than 20 professionals" in few.reason_en and "少於20名" in few.reason_zh
    away = eligibility.check("strategic_enterprise", TRADING[0], good | {"hk_base": False})
    assert not away.eligible and "based in Hong Kong" in away.reason_en


def test_seed_002_itib229_individuals_cannot_apply(scheme, officer, resident):
    """An individual has no BRN: refused by the check, and the e-service starts only for an
    organisation (corpid = "required")."""
    assert not eligibility.check("university", "").eligible
    from tungban.eservices import services as eservices

    with pytest.raises(DomainError) as refused:
        eservices.start_application(resident, eservices.get_service(intake.SLUG), portal_sub="s")
    assert refused.value.code == "company_login_required"


@covers("B02")
def test_a_person_without_a_mandate_cannot_start_for_the_organisation(scheme, officer):
    """Seed 002 ITIB229: only an organisation applies, through a person with its mandate."""
    from tungban.eservices import services as eservices
    from tungban.eservices.services.company import Company
    from tungban.testing.factories import make_resident

    director_of(officer, UNIVERSITY)  # the university's CorpID is set up; the stranger holds no mandate of it
    stranger = make_resident(officer, hkid="R2468017")
    company = Company(UNIVERSITY[0], UNIVERSITY[1], UNIVERSITY[2], "org-x", "")
    with pytest.raises(DomainError) as refused:
        eservices.start_application(stranger, eservices.get_service(intake.SLUG), portal_sub="s", for_company=company)
    assert refused.value.code == "no_mandate"


@covers("B01")
def test_an_ineligible_organisation_is_taken_in_as_ineligible_with_reasons(scheme, officer):
    """Seed 000 §11: an organisation in none of the five categories is ineligible, with reasons."""
    person, mandate = director_of(officer, TRADING)
    e_app = apply(person, mandate, TRADING, category="ai_startup")
    app = Application.objects.get(reference=e_app.reference)
    assert app.state == ApplicationState.INELIGIBLE and not app.assessment.eligible
    assert "21812345" in app.assessment.eligibility_basis_en and app.assessment.eligibility_basis_zh


def test_a_strategic_enterprise_is_taken_in_on_its_declared_conditions(scheme, officer):
    person, mandate = director_of(officer, TRADING)
    e_app = apply(person, mandate, TRADING, category="strategic_enterprise")
    app = Application.objects.get(reference=e_app.reference)
    assert app.state == ApplicationState.SUBMITTED
    assert (app.assessment.hk_base, app.assessment.professionals_employed) == (True, 25)


# --- the form refuses ---
def _refused(callable_) -> dict:
    with pytest.raises(DomainError) as refused:
        callable_()
    assert refused.value.code == "form_invalid"
    return {e["field"]: e for e in refused.value.details["errors"]}


@covers("B03")
def test_the_form_refuses_nodes_beyond_the_class_capacity(scheme, officer, settings):
    """Seed 000 §10: a request beyond the class's capacity is refused; nothing taken in."""
    settings.TUNGBAN_SUBSIDY_CLASS_CAPACITY = {"h800": 10}
    person, mandate = director_of(officer, UNIVERSITY)
    from tungban.eservices import services as eservices

    e_app = apply(person, mandate, UNIVERSITY, submit=False)
    rows = [{"month": "2027-01", "nodes": 11}, {"month": "2027-01", "nodes": 2}]
    found = _refused(
        lambda: eservices.save_page(e_app, person, {"service_class": "h800", "compute_months": rows}, page="compute")
    )
    assert "At most 10 nodes" in found["compute_months.0.nodes"]["message_en"]
    assert "最多10個節點" in found["compute_months.0.nodes"]["message_zh"]
    assert "listed twice" in found["compute_months.1.month"]["message_en"]
    # The capacity shrinks after the page was saved: the submission refuses it too, nothing taken in.
    settings.TUNGBAN_SUBSIDY_CLASS_CAPACITY = {"h800": 5}
    assert "compute_months.1.nodes" in _refused(lambda: eservices.submit(e_app, person))
    assert not Application.objects.exists()


def test_the_form_refuses_a_missing_justification(scheme, officer):
    person, mandate = director_of(officer, UNIVERSITY)
    from tungban.eservices import services as eservices

    e_app = apply(person, mandate, UNIVERSITY, submit=False)
    page = {"model_size": "7B", "dataset": "tokens", "precision": "bf16", "workload": "training"}
    found = _refused(lambda: eservices.save_page(e_app, person, page, page="justification"))
    assert set(found) == {"justification"}


# --- the 2-month clock (seed 002 ITIB239) ---
@covers("R17")
def test_seed_002_itib239_the_clock_runs_two_months_from_complete_information(scheme, officer):
    """Seed 002 ITIB239: about 2 months from complete information."""
    person, mandate = director_of(officer, UNIVERSITY)
    app = Application.objects.get(reference=apply(person, mandate, UNIVERSITY).reference)
    assert intake.clock(app) is None  # submitted: no clock before the information is complete
    app.complete_at = dt.datetime(2026, 12, 31, 10, 0, tzinfo=HK)
    c = intake.clock(app, today=dt.date(2027, 1, 31))
    assert c.due == dt.date(2027, 2, 28)  # calendar months, the day clipped to February's last
    assert (c.days_left, c.alert, c.late) == (28, False, False)
    c = intake.clock(app, today=dt.date(2027, 2, 17))  # 48 of 59 days: 81%
    assert c.alert and c.share == Decimal("0.81") and c.days_left == 11
    c = intake.clock(app, today=dt.date(2027, 3, 2))
    assert c.late and c.days_left == -2
    app.recommended_at = dt.datetime(2027, 2, 1, 9, 0, tzinfo=HK)  # recommended: the clock stops
    c = intake.clock(app, today=dt.date(2027, 3, 2))
    assert c.stopped and not c.alert and not c.late and c.days_left == 27


def test_the_register_refuses_a_bad_file_and_stores_nothing(scheme, tmp_path):
    before = eligibility.EligibleInstitution.objects.count()
    bad = tmp_path / "bad.toml"
    bad.write_text('[[institution]]\nbr_number = "123"\ncategory = "university"\nkind = "hkpc"\nname_en = "X"\n')
    with pytest.raises(DomainError) as refused:
        eligibility.load_institutions(bad)
    assert refused.value.code == "eligibility_register_invalid"
    assert "8 digits" in str(refused.value.message) and "name_zh" in str(refused.value.message)
    assert eligibility.EligibleInstitution.objects.count() == before
    assert eligibility.load_institutions() == before  # loading again changes nothing
    assert timezone.now()


@covers("R15")
def test_seed_000_11e_a_strategic_enterprises_conditions_are_rechecked_during_the_award(scheme, officer):
    """Seed 000 §11(e): the strategic enterprise's conditions are re-checked during the award."""
    from tungban.core import retention

    from .intake_helpers import secretariat

    person, mandate = director_of(officer, TRADING)
    app = Application.objects.get(reference=apply(person, mandate, TRADING, category="strategic_enterprise").reference)
    now = timezone.now()
    assert retention.registered()["subsidy_intake"](now + dt.timedelta(days=365)) == {"subsidy.Assessment": 0}
    Application.objects.filter(pk=app.pk).update(state=ApplicationState.APPROVED)  # the committee approved it
    assert intake.recheck_conditions(now + dt.timedelta(days=179)) == {"subsidy.Assessment": 0}
    assert intake.recheck_conditions(now + dt.timedelta(days=181)) == {"subsidy.Assessment": 1}
    assert intake.recheck_conditions(now + dt.timedelta(days=182)) == {"subsidy.Assessment": 0}  # once
    app.refresh_from_db()
    assert [w["code"] for w in app.assessment.warnings] == ["conditions_recheck_due"]
    intake.confirm_conditions(app, secretariat())
    app.refresh_from_db()
    assert app.assessment.warnings == [] and app.assessment.conditions_checked_at > now
