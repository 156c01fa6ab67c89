"""The price book and the capacity plan, as Cyberport keeps them (issue 20, part A): a new list
price version (seed 000 §14: Cyberport re-estimates the market price periodically; seed 002
ITIB229: HK$320,000 per node-month) and the nodes in service in a month (seed 002 ITIB042)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from .. import errors, rules
from ..models import CapacityMonth, PriceVersion, ServiceClass
from . import capacity


def add_price(service_class: ServiceClass, list_price: Decimal, effective_from: dt.date, *, basis: str) -> PriceVersion:
    """A new version of ``service_class``'s list price (HK$ per node-month), in force from
    ``effective_from`` (today or later, after the latest version's day). Versions are never
    changed: an award keeps the list price of its decision.

    :raises DomainError: ``price_invalid`` (not above zero), ``price_backdated``,
        ``price_basis_required``."""
    list_price = Decimal(list_price)
    if not list_price.is_finite() or list_price <= 0:
        raise errors.PriceInvalid()
    if not basis.strip():
        raise errors.BasisRequired()
    with transaction.atomic():
        ServiceClass.objects.select_for_update().get(pk=service_class.pk)
        latest = PriceVersion.objects.filter(service_class=service_class).order_by("-effective_from").first()
        if effective_from < timezone.localdate() or (latest and effective_from <= latest.effective_from):
            raise errors.PriceBackdated()
        return PriceVersion.objects.create(
            service_class=service_class, list_price=list_price, effective_from=effective_from, basis=basis.strip()
        )


def change_capacity(service_class: ServiceClass, month: dt.date, nodes: int) -> CapacityMonth:
    """Set the nodes in service in ``month``; never below what awards and market sales already
    hold that month.

    :raises DomainError: ``capacity_below_committed``."""
    month = rules.first_of_month(month)
    with transaction.atomic():
        list(CapacityMonth.objects.select_for_update().filter(service_class=service_class, month=month))
        held = capacity.remaining(service_class, [month])[month]
        committed = held["committed_subsidised"] + held["committed_market"]
        if nodes < committed or rules.subsidised_cap(nodes) < held["committed_subsidised"]:
            raise errors.CapacityBelowCommitted(month=month.strftime("%Y-%m"), committed=committed)
        return capacity.set_capacity(service_class, month, nodes)
