"""The centre's capacity per month and what is committed against it (issue 20, part A).

Sources: seed 000 §10 (at most 90% of the centre's capacity is subsidised), seed 002 ITIB042
(about 1,300 PFLOPS from the end of 2024, 3,000 within 2025). Subsidised nodes are the awards'
months (offered, active or suspended); market nodes are :class:`MarketCommitment` rows.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Sum

from .. import rules
from ..constants import AwardState
from ..models import AwardMonth, CapacityMonth, MarketCommitment, ServiceClass

#: Award states whose nodes are held on the centre.
HOLDING = (AwardState.OFFERED, AwardState.ACTIVE, AwardState.SUSPENDED)


def set_capacity(service_class: ServiceClass, month: dt.date, nodes: int) -> CapacityMonth:
    """Record (or change) the nodes of ``service_class`` in service in ``month``."""
    row, _ = CapacityMonth.objects.update_or_create(
        service_class=service_class, month=rules.first_of_month(month), defaults={"nodes": nodes}
    )
    return row


def remaining(service_class: ServiceClass, months: list[dt.date], *, exclude_award=None) -> dict[dt.date, dict]:
    """For each month (first day) of ``months``, in nodes: ``capacity`` (0 when none is
    recorded), ``subsidised_cap`` (the floor of 90% of it, seed 000 §10),
    ``committed_subsidised`` (awards holding nodes), ``committed_market`` (market-price
    commitments) and ``free_subsidised`` = min(subsidised_cap − committed_subsidised,
    capacity − committed_subsidised − committed_market), never below 0. ``exclude_award``: leave
    that award's own nodes out (to re-check it)."""
    months = sorted({rules.first_of_month(m) for m in months})
    cap = dict(
        CapacityMonth.objects.filter(service_class=service_class, month__in=months).values_list("month", "nodes")
    )
    held = AwardMonth.objects.filter(
        award__application__service_class=service_class, award__state__in=HOLDING, month__in=months
    )
    if exclude_award is not None:
        held = held.exclude(award=exclude_award)
    subsidised = dict(held.values("month").annotate(n=Sum("nodes")).values_list("month", "n"))
    market = dict(
        MarketCommitment.objects.filter(service_class=service_class, month__in=months)
        .values("month")
        .annotate(n=Sum("nodes"))
        .values_list("month", "n")
    )
    out = {}
    for m in months:
        capacity = cap.get(m, 0)
        s_cap = rules.subsidised_cap(capacity)
        c_sub, c_mkt = subsidised.get(m, 0) or 0, market.get(m, 0) or 0
        out[m] = {
            "capacity": capacity,
            "subsidised_cap": s_cap,
            "committed_subsidised": c_sub,
            "committed_market": c_mkt,
            "free_subsidised": max(0, min(s_cap - c_sub, capacity - c_sub - c_mkt)),
        }
    return out


def plan(service_class: ServiceClass) -> list[CapacityMonth]:
    """The capacity plan of ``service_class``, by month."""
    return list(CapacityMonth.objects.filter(service_class=service_class).order_by("month"))
