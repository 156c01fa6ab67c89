"""Capacity committed to market-price (unsubsidised) users (issue 20, branch tcommittee).

Seed 000 §5: the centre runs on a market model; §17: when eligible demand is low, Cyberport may
propose to the committee 「調撥部分算力予其他擬定以市價（非資助）支付的項目」 (moving part of the
compute to projects paying the market price) and the committee decides. A commitment here is
such a committee-approved allocation: nodes by month of one class of service for one market-price
scheduler account, at the market price (the class's list price in force that month, seed 002
ITIB229: HK$320,000 per node-month; seed 000 §14: re-estimated periodically).

The capacity plan counts these nodes apart from the subsidised ones
(:func:`.capacity.remaining`'s ``committed_market``): the 90% cap of seed 000 §10 limits the
subsidised awards only, so a market-price user may use the remaining 10% and any capacity the
awards leave; nothing is ever committed beyond the nodes in service.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from .. import errors, rules
from ..models import CapacityMonth, MarketCommitment, ReallocationProposal, ReallocationState, ServiceClass
from . import awards, capacity, reallocation


def free_for_market(service_class: ServiceClass, months: list[dt.date]) -> dict[dt.date, int]:
    """Nodes still free for market-price users per month: capacity − subsidised − market
    (never below 0; the 90% cap of seed 000 §10 does not apply to them)."""
    return {
        m: max(0, r["capacity"] - r["committed_subsidised"] - r["committed_market"])
        for m, r in capacity.remaining(service_class, months).items()
    }


def commit(
    service_class: ServiceClass,
    schedule: dict[dt.date, int],
    *,
    customer: str,
    proposal: ReallocationProposal,
    actor: str,
) -> list[MarketCommitment]:
    """Commit ``schedule`` (month → whole nodes above 0) of ``service_class`` to the market-price
    account of ``proposal`` — a reallocation the committee approved (seed 000 §17) — at the list
    price in force each month (seed 002 ITIB229), all months or none.

    :returns: the new rows, by month.
    :raises DomainError: ``market_commitment_invalid`` (no months, nodes not whole and above 0,
        no customer, or the proposal not approved by the committee), ``reallocation_not_market``
        (the account is not a market-price account), ``market_capacity_exceeded`` (more nodes
        than the month has free), ``no_price_in_force``."""
    if proposal.state != ReallocationState.APPROVED:
        raise errors.MarketCommitmentInvalid(problem=str(ReallocationState(proposal.state).label))
    if not customer.strip():
        raise errors.MarketCommitmentInvalid(problem=_("name the market-price customer"))
    if not schedule:
        raise errors.MarketCommitmentInvalid(problem=_("give at least one month"))
    clean: dict[dt.date, int] = {}
    for month, nodes in schedule.items():
        if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes <= 0:
            raise errors.MarketCommitmentInvalid(
                problem=_("%(month)s: whole nodes above zero") % {"month": f"{month:%Y-%m}"}
            )
        clean[rules.first_of_month(month)] = nodes
    reallocation.require_market_account(proposal.to_account)
    with transaction.atomic():
        # the months' capacity rows, locked: two commitments (or an award) cannot both take the last nodes
        list(CapacityMonth.objects.select_for_update().filter(service_class=service_class, month__in=list(clean)))
        free = free_for_market(service_class, list(clean))
        rows = []
        for month, nodes in sorted(clean.items()):
            if nodes > free[month]:
                raise errors.MarketBeyondCapacity(month=f"{month:%Y-%m}", free=free[month], nodes=nodes)
            rows.append(
                MarketCommitment.objects.create(
                    service_class=service_class,
                    month=month,
                    nodes=nodes,
                    customer=customer.strip(),
                    account=proposal.to_account,
                    price=awards.list_price(service_class, month).list_price,
                    proposal=proposal,
                    committed_by=actor,
                )
            )
    return rows
