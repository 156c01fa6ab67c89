"""Award terms, their checks and the award (services/awards.py, services/capacity.py): each bad
input of issue 20 refused with its documented error and nothing stored (acceptance 2: each test
names the seed paragraph of its rule)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tungban.core.errors import DomainError
from tungban.subsidy.constants import ApplicationState, AwardState, FundingLine
from tungban.subsidy.models import Application, Award, AwardMonth, CostItem, LedgerEntry, MarketCommitment, ServiceClass
from tungban.subsidy.rules import add_months as add_month
from tungban.subsidy.services import awards, capacity, funds
from tungban.subsidy.tests.rulebook import covers

from .conftest import make_application, terms

JAN, FEB, MAR, APR = (dt.date(2025, m, 1) for m in (1, 2, 3, 4))


def _counts():
    return Award.objects.count(), AwardMonth.objects.count(), LedgerEntry.objects.count()


def _refused(application, t, code):
    before = _counts()
    with pytest.raises(DomainError) as e:
        awards.make_award(application, t, decided_at=timezone.now(), actor="chair")
    assert e.value.code == code, e.value.as_dict()
    assert _counts() == before  # nothing stored
    assert not Award.objects.filter(application=application).exists()
    application.refresh_from_db()
    assert application.state == ApplicationState.ON_AGENDA
    return e.value


def test_terms_round_trip_through_json():
    t = terms(exceptional=True, exceptional_reason_en="unique", exceptional_reason_zh="獨特", rate=Decimal("0.85"))
    d = awards.terms_to_dict(t)
    assert d["schedule"] == {"2025-01-01": 8, "2025-02-01": 8, "2025-03-01": 8} and d["rate"] == "0.85"
    assert awards.terms_from_dict(d) == t
    with pytest.raises(DomainError) as e:
        awards.terms_from_dict({**d, "schedule": {"Jan": 1}})
    assert e.value.code == "schedule_invalid"
    with pytest.raises(DomainError) as e:
        awards.terms_from_dict({**d, "price": "lots"})
    assert e.value.code == "price_invalid"


def test_seed000_s13_award_commits_the_subsidy_and_approves(application):
    award = awards.make_award(
        application, terms(), decided_at=timezone.now(), actor="chair", reasons_en="good", reasons_zh="好"
    )
    assert award.state == AwardState.OFFERED
    assert award.node_months == 24 and award.list_price == Decimal("320000")
    assert award.subsidy_cap == Decimal("5376000.00")  # 24 × 320,000 × 70%
    assert award.co_payment == Decimal("2304000.00")
    assert (award.starts_on, award.ends_on) == (JAN, dt.date(2025, 3, 31))
    assert [m.subsidy for m in award.months.all()] == [Decimal("1792000.00")] * 3
    entry = LedgerEntry.objects.get(kind="commitment")
    assert (entry.fiscal_year, entry.line, entry.amount, entry.award) == (
        "2024-25",
        FundingLine.COMPUTE,
        award.subsidy_cap,
        award,
    )
    assert funds.available("2024-25") == Decimal("857000000") - award.subsidy_cap
    application.refresh_from_db()
    assert application.state == ApplicationState.APPROVED and application.decision_reasons_zh == "好"
    left = capacity.remaining(application.service_class, [JAN])[JAN]
    assert left["committed_subsidised"] == 8
    # decided once only
    with pytest.raises(DomainError) as e:
        awards.make_award(application, terms(), decided_at=timezone.now(), actor="chair")
    assert e.value.code == "application_not_decidable"


@covers("R24", "B04")
def test_seed000_s13_rate_above_70_without_exceptional_decision_is_refused(application):
    """Seed 000 §13: above 70% without the exceptional decision is refused; nothing stored."""
    _refused(application, terms(rate=Decimal("0.75")), "rate_needs_exceptional_decision")


@covers("R25")
def test_seed000_s13_exceptional_rate_without_reasons_in_both_languages_is_refused(application):
    """Seed 000 §13: the exceptional case needs its reasons in both languages."""
    _refused(
        application,
        terms(rate=Decimal("0.85"), exceptional=True, exceptional_reason_en="unique"),
        "exceptional_reasons_required",
    )


@covers("R25", "B05")
def test_seed000_s13_rate_above_90_is_refused_even_exceptional(application):
    """Seed 000 §13: never above 90%; nothing stored."""
    t = terms(rate=Decimal("0.91"), exceptional=True, exceptional_reason_en="u", exceptional_reason_zh="獨")
    _refused(application, t, "rate_above_exceptional_ceiling")


@covers("R25")
def test_seed000_s13_exceptional_rate_with_reasons_is_awarded(application):
    """Seed 000 §13: up to 90% in an exceptional case with its reasons."""
    t = terms(rate=Decimal("0.90"), exceptional=True, exceptional_reason_en="unique", exceptional_reason_zh="獨特")
    award = awards.make_award(application, t, decided_at=timezone.now(), actor="chair")
    assert award.exceptional and award.subsidy_cap == Decimal("6912000.00")


@covers("B06")
def test_seed000_s16_commitment_beyond_the_fy_release_is_refused(application):
    """Seed 000 §16: a commitment beyond the year's release is refused; nothing stored."""
    # The price may not exceed the list price (seed 000 §14): a big schedule on a bigger centre
    # exhausts the year instead. 3,810 node-months × 320,000 × 70% = 853.44M: 3.56M left, less
    # than the 5.376M asked below.
    sc = ServiceClass.objects.get(code="h800")
    for month in (JAN, dt.date(2025, 2, 1), dt.date(2025, 3, 1)):
        capacity.set_capacity(sc, month, 1500)
    big_months = {JAN: 1270, dt.date(2025, 2, 1): 1270, dt.date(2025, 3, 1): 1270}
    t = terms(schedule=big_months)
    big = make_application("AISS-0002", months=big_months)
    awards.make_award(big, t, decided_at=timezone.now(), actor="chair")
    err = _refused(application, terms(), "commitment_beyond_release")
    assert "2024-25" in str(err.message)


def test_seed000_s16_a_later_year_counts_against_its_planned_release(loaded):
    app = make_application("AISS-0003", months={APR: 4, dt.date(2025, 5, 1): 4})
    award = awards.make_award(
        app, terms(schedule={APR: 4, dt.date(2025, 5, 1): 4}), decided_at=timezone.now(), actor="c"
    )
    assert LedgerEntry.objects.get(award=award).fiscal_year == "2025-26"
    assert funds.headroom("2025-26") == Decimal("857000000") - award.subsidy_cap
    assert funds.headroom("2030-31") == 0


@covers("R08", "B03")
def test_seed000_s10_subsidised_nodes_beyond_90_percent_of_capacity_are_refused(loaded):
    """Seed 000 §10: subsidised nodes beyond 90% of a month's capacity are refused."""
    sc = ServiceClass.objects.get(code="h800")
    cap = capacity.remaining(sc, [JAN])[JAN]
    assert cap["capacity"] == 179 and cap["subsidised_cap"] == 161  # 162 → 375 over 2024-12…2025-12
    first = make_application("AISS-0010", months={JAN: 150})
    awards.make_award(first, terms(schedule={JAN: 150}, price=Decimal("1")), decided_at=timezone.now(), actor="c")
    second = make_application("AISS-0011", months={JAN: 12})
    with pytest.raises(DomainError) as e:
        awards.make_award(second, terms(schedule={JAN: 12}, price=Decimal("1")), decided_at=timezone.now(), actor="c")
    assert e.value.code == "capacity_exceeded" and e.value.as_dict()["error"] == "capacity_exceeded"
    assert "11" in str(e.value.message)
    awards.make_award(second, terms(schedule={JAN: 11}, price=Decimal("1")), decided_at=timezone.now(), actor="c")


def test_seed000_s17_market_commitments_count_against_the_whole_capacity(loaded):
    sc = ServiceClass.objects.get(code="h800")
    MarketCommitment.objects.create(service_class=sc, month=JAN, nodes=175, customer="Market Co")
    left = capacity.remaining(sc, [JAN])[JAN]
    assert left["committed_market"] == 175 and left["free_subsidised"] == 4
    app = make_application("AISS-0012", months={JAN: 5})
    _refused(app, terms(schedule={JAN: 5}), "capacity_exceeded")


@covers("R27", "B07")
def test_seed000_fn6_seed002_itib143_double_funded_cost_item_is_refused(application):
    """Seed 000 fn 6, seed 002 ITIB143: no other government funding on a subsidised cost item."""
    CostItem.objects.create(application=application, position=1, description="Computing power", amount=1)
    awards.check_terms(application, terms())  # no other funding declared: allowed
    CostItem.objects.create(
        application=application,
        position=2,
        description="Training",
        amount=1,
        other_funding=True,
        other_funding_source="RAISe+",
    )
    err = _refused(application, terms(), "double_funded")
    assert "Training" in str(err.message) and "RAISe+" in str(err.message)


@pytest.mark.parametrize(
    ("schedule", "code"),
    [
        ({}, "schedule_invalid"),
        ({JAN: 8, MAR: 8}, "schedule_invalid"),  # not consecutive
        ({JAN: 0}, "schedule_invalid"),
        ({dt.date(2025, 1, 15): 8}, "schedule_invalid"),
        ({JAN: 9}, "schedule_outside_request"),
        ({APR: 1}, "schedule_outside_request"),
    ],
)
def test_schedule_outside_the_request_or_malformed_is_refused(application, schedule, code):
    _refused(application, terms(schedule=schedule), code)


@covers("R39")
def test_seed002_itib153_schedule_beyond_12_months_is_refused(loaded):
    """Seed 002 ITIB153: projects of 1.5 to 12 months; a schedule beyond 12 months is refused."""
    months = {dt.date(2025 + (m // 12), m % 12 + 1, 1): 1 for m in range(13)}
    app = make_application("AISS-0020", months=months)
    _refused(app, terms(schedule=months), "schedule_invalid")


def test_negative_price_is_refused(application):
    _refused(application, terms(price=Decimal("-1")), "price_invalid")


@covers("B09")
def test_decision_without_reasons_is_refused(application):
    """Seed 000 §13: the committee's decision needs its reasons in both languages."""
    for outcome in (awards.reject, awards.defer):
        with pytest.raises(DomainError) as e:
            outcome(application, reasons_en="no", reasons_zh=" ", decided_at=timezone.now(), actor="chair")
        assert e.value.code == "decision_reasons_required"
    application.refresh_from_db()
    assert application.state == ApplicationState.ON_AGENDA and application.decision_reasons_en == ""


def test_reject_and_defer_record_the_reasons(application):
    awards.defer(application, reasons_en="more data", reasons_zh="需更多資料", decided_at=timezone.now(), actor="c")
    application.refresh_from_db()
    assert application.state == ApplicationState.DEFERRED and application.decided_at is None
    awards.reject(application, reasons_en="not feasible", reasons_zh="不可行", decided_at=timezone.now(), actor="c")
    application.refresh_from_db()
    assert application.state == ApplicationState.REJECTED and application.decision_reasons_zh == "不可行"
    with pytest.raises(DomainError) as e:
        awards.make_award(application, terms(), decided_at=timezone.now(), actor="c")
    assert e.value.code == "application_not_decidable"


def test_seed000_s21_spend_and_decommitment_keep_the_ledger_balanced(application):
    award = awards.make_award(application, terms(), decided_at=timezone.now(), actor="chair")
    funds.record_spend(award, JAN, Decimal("1792000.00"), actor="cyberport")
    funds.record_spend(award, FEB, Decimal("1000000.00"), actor="cyberport")
    for bad in (Decimal("792000.01"), Decimal("0")):
        with pytest.raises(DomainError) as e:
            funds.record_spend(award, FEB, bad, actor="cyberport")
        assert e.value.code == "amount_invalid"
    with pytest.raises(DomainError) as e:
        funds.record_spend(award, APR, Decimal("1"), actor="cyberport")
    assert e.value.code == "award_unknown"
    s = funds.statement("2024-25")[FundingLine.COMPUTE]
    assert s["spent"] == Decimal("2792000.00") and s["committed"] == award.subsidy_cap
    assert s["available"] == Decimal("857000000") - award.subsidy_cap  # spending is out of the commitment
    with pytest.raises(DomainError) as e:
        funds.decommit(award, actor="cp", reason_en="ended early", reason_zh="")
    assert e.value.code == "decision_reasons_required"
    (entry,) = funds.decommit(award, actor="cp", reason_en="ended early", reason_zh="提早完結")
    assert entry.amount == award.subsidy_cap - Decimal("2792000.00")
    assert funds.decommit(award, actor="cp", reason_en="again", reason_zh="再次") == []  # nothing left
    s = funds.statement("2024-25")[FundingLine.COMPUTE]
    assert s["available"] == Decimal("857000000") - Decimal("2792000.00")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    asks=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=5),  # first month after 2025-01
            st.integers(min_value=1, max_value=4),  # months
            st.integers(min_value=1, max_value=120),  # nodes
            st.sampled_from(["320000", "2000000", "9000000"]),  # price
        ),
        min_size=1,
        max_size=6,
    )
)
@covers("R08", "B03", "B06")
def test_seed000_s10_s16_invariants_hold_whatever_the_committee_awards(loaded, asks):
    """Whatever awards are asked, each refused one stores nothing, and after each the year's
    commitments stay within its release (seed 000 §16) and every month's subsidised nodes within
    90% of its capacity (seed 000 §10)."""
    sc = ServiceClass.objects.get(code="h800")
    try:
        for i, (start, length, nodes, price) in enumerate(asks):
            months = {add_month(JAN, start + k): nodes for k in range(length)}
            app = make_application(f"AISS-H{i:03d}", months=months)
            try:
                awards.make_award(
                    app, terms(schedule=months, price=Decimal(price)), decided_at=timezone.now(), actor="c"
                )
            except DomainError as exc:
                # above the list price: refused whatever else (seed 000 §14, seed 002 ITIB229)
                above_list = Decimal(price) > Decimal("320000")
                assert (
                    exc.code == "price_out_of_range"
                    if above_list
                    else exc.code in ("capacity_exceeded", "commitment_beyond_release")
                )
                assert not Award.objects.filter(application=app).exists()
            for fy in ("2024-25", "2025-26"):
                assert funds.headroom(fy) >= 0
            span = [add_month(JAN, k) for k in range(9)]
            for row in capacity.remaining(sc, span).values():
                assert row["committed_subsidised"] <= row["subsidised_cap"]
    finally:
        LedgerEntry.objects.filter(kind="commitment").delete()
        AwardMonth.objects.all().delete()
        Award.objects.all().delete()
        Application.objects.filter(reference__startswith="AISS-H").delete()
