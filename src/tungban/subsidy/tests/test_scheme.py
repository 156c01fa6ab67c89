"""The bundled scheme file and ``tungban load_subsidy_scheme`` (idempotent)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

from django.core.management import call_command

from tungban.subsidy.models import CapacityMonth, FundRelease, PriceVersion, ServiceClass
from tungban.subsidy.services import scheme
from tungban.subsidy.tests.rulebook import covers


@covers("R07")
def test_seed002_itib042_capacity_rises_from_162_to_375_nodes(db):
    """Seed 002 ITIB042: about 1,300 PFLOPS from end-2024, rising to 3,000 PFLOPS."""
    months = scheme.capacity_months(
        [{"month": dt.date(2024, 12, 1), "nodes": 162}, {"month": dt.date(2025, 12, 1), "nodes": 375}],
        dt.date(2027, 9, 1),
    )
    assert months[dt.date(2024, 12, 1)] == 162
    assert months[dt.date(2025, 6, 1)] == 162 + 213 * 6 // 12
    assert months[dt.date(2025, 12, 1)] == 375 == months[dt.date(2027, 9, 1)]
    assert min(months) == dt.date(2024, 12, 1) and max(months) == dt.date(2027, 9, 1)
    assert list(months.values()) == sorted(months.values())


def test_load_subsidy_scheme_command_is_idempotent(db):
    out = StringIO()
    call_command("load_subsidy_scheme", stdout=out)
    assert "1 service classes" in out.getvalue() and "9 releases planned" in out.getvalue()
    sc = ServiceClass.objects.get(code="h800")
    assert (sc.gpus_per_node, sc.pflops_per_node) == (8, Decimal("8.00"))
    price = PriceVersion.objects.get(service_class=sc)
    assert (price.list_price, price.effective_from) == (Decimal("320000.00"), dt.date(2024, 10, 7))
    assert CapacityMonth.objects.count() == 34  # 2024-12 … 2027-09
    again = StringIO()
    call_command("load_subsidy_scheme", "--release-started", stdout=again)
    assert "0 service classes, 0 prices, 0 capacity months, 0 releases planned" in again.getvalue()
    # today (2026 or later) every planned year has begun: all nine released, once
    assert (
        FundRelease.objects.filter(state="released").count()
        == FundRelease.objects.filter(fiscal_year__lte=scheme.rules.fiscal_year(dt.date.today())).count()
    )
    call_command("load_subsidy_scheme", "--release-started", stdout=StringIO())
    assert FundRelease.objects.count() == 9
