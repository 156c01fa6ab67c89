"""The committee's subject kinds (subsidy/committee.py), called directly: part E's registry
calls these hooks (seed 000 §12–§13: the committee approves the amount, duration and
conditions; seed 000 §17: reallocation proposed by Cyberport, decided by the committee)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.utils import timezone

from tungban.core.errors import DomainError
from tungban.subsidy import committee
from tungban.subsidy.constants import ApplicationState, AwardState
from tungban.subsidy.forms import AwardTermsForm
from tungban.subsidy.models import Award, ReallocationProposal
from tungban.subsidy.services import awards, reallocation
from tungban.subsidy.tests.rulebook import covers

from .conftest import terms

GOOD = awards.terms_to_dict(terms())


def test_describe_names_the_organisation_for_conflicts_of_interest(application):
    d = committee.describe_application(str(application.public_id), "zh-hant")
    assert d["organisation_brns"] == ["21812345"]
    assert "大文人工智能有限公司" in d["organisation_names"]
    assert "粵語語音模型" in d["title"] and "24 節點月" in d["summary"]
    assert d["link"].endswith(f"/staff/subsidy/committee/applications/{application.public_id}/")
    assert set(d) == {"title", "summary", "link", "organisation_brns", "organisation_names", "proposed_terms"}
    assert "24 node-months" in committee.describe_application(str(application.public_id), "en")["summary"]


def test_seed000_s13_validate_refuses_terms_the_scheme_does_not_allow(application):
    committee.validate_application(str(application.public_id), "approve", GOOD)
    committee.validate_application(str(application.public_id), "reject", {})
    with pytest.raises(DomainError) as e:
        committee.validate_application(str(application.public_id), "approve", {**GOOD, "rate": "0.8"})
    assert e.value.code == "rate_needs_exceptional_decision"
    with pytest.raises(DomainError) as e:
        committee.validate_application("not-a-uuid", "approve", GOOD)
    assert e.value.code == "application_not_decidable"


def test_seed000_s13_approval_makes_the_award(application):
    with transaction.atomic():
        committee.decided_application(
            str(application.public_id),
            "approve",
            GOOD,
            "fits the blueprint",
            "配合創科藍圖",
            timezone.now(),
            SimpleNamespace(username="chair"),
        )
    award = Award.objects.get(application=application)
    assert award.subsidy_cap == Decimal("5376000.00") and award.state == AwardState.OFFERED
    assert award.ledger_entries.get().actor == "chair"
    application.refresh_from_db()
    assert application.state == ApplicationState.APPROVED and application.decision_reasons_en == "fits the blueprint"


def test_a_failing_decision_stores_nothing(application):
    with pytest.raises(DomainError) as e, transaction.atomic():
        committee.decided_application(
            str(application.public_id), "approve", {**GOOD, "rate": "0.95"}, "r", "理", timezone.now(), "chair"
        )
    assert e.value.code == "rate_above_exceptional_ceiling"
    assert not Award.objects.exists()


def test_reject_and_defer_through_the_hook(application):
    committee.decided_application(str(application.public_id), "defer", {}, "later", "稍後", timezone.now(), "chair")
    application.refresh_from_db()
    assert application.state == ApplicationState.DEFERRED
    committee.decided_application(str(application.public_id), "reject", {}, "no", "否", timezone.now(), "chair")
    application.refresh_from_db()
    assert application.state == ApplicationState.REJECTED


def test_terms_form_starts_from_the_recommendation_and_gives_the_terms_dict():
    form = AwardTermsForm(initial=GOOD, prefix="terms")
    assert form.initial["schedule"] == "2025-01 8\n2025-02 8\n2025-03 8"
    assert form.initial["rate_percent"] == Decimal("70.0")
    data = {
        "terms-schedule": "2025-01 8\n2025-02: 4",
        "terms-price": "300000",
        "terms-rate_percent": "85",
        "terms-exceptional": "on",
        "terms-exceptional_reason_en": "unique",
        "terms-exceptional_reason_zh": "獨特",
    }
    form = AwardTermsForm(data, prefix="terms")
    assert form.is_valid(), form.errors
    assert form.terms() == {
        "schedule": {"2025-01-01": 8, "2025-02-01": 4},
        "price": "300000",
        "rate": "0.850",
        "exceptional": True,
        "exceptional_reason_en": "unique",
        "exceptional_reason_zh": "獨特",
        "conditions_en": "",
        "conditions_zh": "",
    }
    bad = AwardTermsForm({**data, "terms-schedule": "January 8"}, prefix="terms")
    assert not bad.is_valid() and "schedule" in bad.errors


def test_register_adds_both_kinds():
    seen, pages = {}, {}
    committee.register(
        SimpleNamespace(
            register=lambda kind, **kw: seen.setdefault(kind, kw),
            register_page=lambda name, label: pages.setdefault(name, label),
        )
    )
    assert set(seen) == {"subsidy.application", "subsidy.reallocation"}
    assert set(pages) == {"subsidy_staff:committee_grants"}
    assert seen["subsidy.application"]["terms_form"] is AwardTermsForm
    assert seen["subsidy.application"]["decided"] is committee.decided_application


def test_registered_with_the_committees_app_when_it_is_installed():
    subjects = pytest.importorskip("tungban.committees.subjects", reason="part E (committees) not merged yet")
    assert subjects.get("subsidy.application").terms_form is AwardTermsForm


@pytest.fixture
def active_award(application, director, monkeypatch):
    monkeypatch.setattr(awards, "compute_services", lambda: None)
    award = awards.make_award(application, terms(), decided_at=timezone.now(), actor="chair")
    return awards.sign_agreement(award, director, application.br_number, today=dt.date(2025, 1, 1))


@covers("R28")
def test_seed000_s17_reallocation_is_proposed_then_decided_and_lent(active_award, monkeypatch):
    """Seed 000 §17: Cyberport proposes compute for market-price users; the committee decides."""
    lent = []
    fake = SimpleNamespace(
        usage=lambda name: {
            "limit_gpu_minutes": 1000,
            "used_gpu_minutes": 400,
            "kind": "market" if name == "mkt-1" else "subsidised",
        },
        lend=lambda a, b, m, *, reason: lent.append((a, b, m, reason)),
    )
    monkeypatch.setattr(awards, "compute_services", lambda: fake)
    with pytest.raises(DomainError) as e:
        reallocation.propose(
            active_award, to_account="mkt-1", gpu_minutes=601, reason_en="idle", reason_zh="閒置", actor="cp"
        )
    assert e.value.code == "reallocation_invalid"
    p = reallocation.propose(
        active_award, to_account="mkt-1", gpu_minutes=600, reason_en="idle", reason_zh="閒置", actor="cp"
    )
    d = committee.describe_reallocation(str(p.public_id), "en")
    assert d["organisation_brns"] == ["21812345"] and "600 GPU-minutes" in d["summary"]
    with pytest.raises(DomainError) as e:
        committee.decided_reallocation(str(p.public_id), "approve", {}, "ok", "", timezone.now(), "chair")
    assert e.value.code == "decision_reasons_required" and not lent
    committee.decided_reallocation(str(p.public_id), "approve", {}, "ok", "同意", timezone.now(), "chair")
    assert lent == [(active_award.account, "mkt-1", 600, lent[0][3])] and str(p.public_id) in lent[0][3]
    assert ReallocationProposal.objects.get(pk=p.pk).state == "approved"
