"""The agreement, the co-payment invoices and the scheduler account (services/awards.py; seed
000 §21: the grantee signs an agreement with Cyberport)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from tungban.core.errors import DomainError
from tungban.payments import services as payments
from tungban.subsidy import rules
from tungban.subsidy.constants import AwardState
from tungban.subsidy.models import Agreement, CoPaymentInvoice, InvoiceState
from tungban.subsidy.services import awards
from tungban.subsidy.tests.rulebook import covers

from .conftest import terms


@pytest.fixture
def award(application):
    return awards.make_award(application, terms(), decided_at=timezone.now(), actor="chair")


@covers("R29")
def test_seed000_s21_authorised_person_signs_and_first_invoice_and_account_are_queued(
    award, director, run_tasks, monkeypatch
):
    """Seed 000 §21: the grantee's authorised person signs the agreement."""
    opened = []
    fake = SimpleNamespace(open_account=lambda name, **kw: opened.append((name, kw)))
    monkeypatch.setattr(awards, "compute_services", lambda: fake)
    signed = awards.sign_agreement(award, director, award.application.br_number)
    assert signed.state == AwardState.ACTIVE
    assert signed.account == f"aisc-{award.public_id.hex[:12]}"
    agreement = Agreement.objects.get(award=award)
    assert agreement.signed_by == director and agreement.mandate_id
    # the months of 2025 have all started by now: one invoice each, queued in the same transaction
    assert list(CoPaymentInvoice.objects.values_list("month", "state")) == [
        (dt.date(2025, m, 1), InvoiceState.QUEUED) for m in (1, 2, 3)
    ]
    run_tasks()
    invoices = list(CoPaymentInvoice.objects.order_by("month"))
    assert [i.state for i in invoices] == [InvoiceState.ISSUED] * 3
    order = payments.find_by_reference(invoices[0].order_reference)
    assert order.purpose == awards.PURPOSE and order.amount_cents == 76800000  # 8 × 320,000 × 30%
    assert order.payer == director and order.department == "CYBERPORT"
    assert opened == [
        (
            signed.account,
            {
                "gpu_minutes": rules.gpu_minutes(dict(award.months.values_list("month", "nodes")), 8),
                "starts_on": dt.date(2025, 1, 1),
                "ends_on": dt.date(2025, 3, 31),
                "owner": str(award.public_id),
                "kind": "subsidised",
                "description": f"{award.application.reference} {award.application.project_title_en}",
            },
        )
    ]
    agreement.refresh_from_db()
    assert agreement.account_state == "requested" and agreement.account_error == ""
    # paying the order marks the invoice paid; a reversal makes it due again
    awards.receive_co_payment(order)
    assert CoPaymentInvoice.objects.get(pk=invoices[0].pk).state == InvoiceState.PAID
    awards.co_payment_reversed(order)
    assert CoPaymentInvoice.objects.get(pk=invoices[0].pk).state == InvoiceState.ISSUED
    # signed once only
    with pytest.raises(DomainError) as e:
        awards.sign_agreement(signed, director, signed.application.br_number)
    assert e.value.code == "award_state"


def test_without_compute_the_account_is_visibly_pending(award, director, run_tasks, monkeypatch):
    monkeypatch.setattr(awards, "compute_services", lambda: None)
    awards.sign_agreement(award, director, award.application.br_number)
    run_tasks()
    agreement = Agreement.objects.get(award=award)
    assert agreement.account_state == "pending"
    assert "tungban.compute is not installed" in agreement.account_error


@covers("R29", "B02")
def test_only_a_person_with_a_mandate_of_the_grantee_signs(award, director, officer):
    """Seed 000 §21: only a person with the grantee's mandate signs; nothing stored otherwise."""
    from tungban.testing.factories import make_resident

    with pytest.raises(DomainError) as e:
        awards.sign_agreement(award, director, "65201587")
    assert e.value.code == "not_grantee"
    stranger = make_resident(
        officer, hkid="G123456A", family_name_en="WONG", given_name_en="Siu Ling", name_zh="黃小玲"
    )
    with pytest.raises(DomainError) as e:
        awards.sign_agreement(award, stranger, award.application.br_number)
    assert e.value.code == "no_mandate"
    award.refresh_from_db()
    assert award.state == AwardState.OFFERED and not Agreement.objects.exists()
    assert not CoPaymentInvoice.objects.exists()


def test_later_months_are_invoiced_by_the_periodic_run(award, director, run_tasks, monkeypatch):
    monkeypatch.setattr(awards, "compute_services", lambda: None)
    awards.sign_agreement(award, director, award.application.br_number, today=dt.date(2025, 1, 10))
    assert list(CoPaymentInvoice.objects.values_list("month", flat=True)) == [dt.date(2025, 1, 1)]
    jan = dt.datetime(2025, 1, 31, 12, tzinfo=dt.UTC)
    assert awards.issue_due_invoices(jan) == {"subsidy.CoPaymentInvoice (queued)": 0}
    feb = dt.datetime(2025, 2, 1, 12, tzinfo=dt.UTC)
    assert awards.issue_due_invoices(feb) == {"subsidy.CoPaymentInvoice (queued)": 1}
    assert awards.issue_due_invoices(feb) == {"subsidy.CoPaymentInvoice (queued)": 0}
    assert CoPaymentInvoice.objects.get(month=dt.date(2025, 2, 1)).amount == Decimal("768000.00")


def test_seed000_s21_terminated_award_gives_back_its_unspent_subsidy_and_closes_the_account(
    award, director, run_tasks, monkeypatch
):
    from tungban.subsidy.constants import FundingLine
    from tungban.subsidy.services import funds

    closed = []
    fake = SimpleNamespace(open_account=lambda name, **kw: None, close_account=closed.append)
    monkeypatch.setattr(awards, "compute_services", lambda: fake)
    awards.sign_agreement(award, director, award.application.br_number, today=dt.date(2025, 1, 1))
    funds.record_spend(award, dt.date(2025, 1, 1), Decimal("1792000.00"), actor="cyberport")
    with pytest.raises(DomainError) as e:
        awards.end_award(award, "active", reason_en="x", reason_zh="甲", actor="chair")
    assert e.value.code == "award_state"
    with pytest.raises(DomainError) as e:
        awards.end_award(award, AwardState.TERMINATED, reason_en="x", reason_zh="", actor="chair")
    assert e.value.code == "decision_reasons_required"
    ended = awards.end_award(
        award, AwardState.TERMINATED, reason_en="conditions not met", reason_zh="未符合條件", actor="chair"
    )
    assert ended.state == AwardState.TERMINATED
    s = funds.statement("2024-25")[FundingLine.COMPUTE]
    assert s["decommitted"] == award.subsidy_cap - Decimal("1792000.00")
    assert s["available"] == Decimal("857000000") - Decimal("1792000.00")
    run_tasks()
    assert closed == [ended.account]
    with pytest.raises(DomainError) as e:
        awards.end_award(ended, AwardState.COMPLETED, reason_en="x", reason_zh="甲", actor="chair")
    assert e.value.code == "award_state"
