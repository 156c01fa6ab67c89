"""The scheme's bundled figures (issue 20, part A): the classes of service, the price book, the
capacity plan (``subsidy/scheme/aiss.toml``) and the fund's planned releases (the cash flow of
:mod:`tungban.subsidy.rules`). Loading is idempotent: a second load changes nothing.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from .. import rules
from ..constants import FundingLine
from ..models import CapacityMonth, FundRelease, PriceVersion, ReleaseState, ServiceClass
from . import funds

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "scheme" / "aiss.toml"


def capacity_months(steps: list[dict], until: dt.date) -> dict[dt.date, int]:
    """Month → nodes from ``steps`` (``{"month", "nodes"}``): linear between two steps
    (rounded down), the last step held to ``until``."""
    steps = sorted(steps, key=lambda s: s["month"])
    out: dict[dt.date, int] = {}
    for a, b in zip(steps, steps[1:], strict=False):
        span = rules.months_between(a["month"], b["month"])
        k_max = len(span) - 1
        for k, m in enumerate(span):
            out[m] = a["nodes"] + (b["nodes"] - a["nodes"]) * k // k_max
    last = steps[-1]
    for m in rules.months_between(last["month"], until):
        out[m] = last["nodes"]
    return out


def load_scheme(path: Path | str | None = None, *, release_started: bool = False, today: dt.date | None = None) -> dict:
    """Load the bundled figures in one transaction; returns counts of what was added.
    ``release_started``: also release the planned funds of the financial years that have begun
    (the funder's act at each year's start, seed 000 §16; for the demo)."""
    data = tomllib.loads(Path(path or DEFAULT_PATH).read_text(encoding="utf-8"))
    today = today or timezone.localdate()
    counts = {"service_classes": 0, "prices": 0, "capacity_months": 0, "releases_planned": 0, "released": 0}
    with transaction.atomic():
        for sc in data.get("service_class", []):
            _, created = ServiceClass.objects.get_or_create(
                code=sc["code"],
                defaults={
                    "name_en": sc["name_en"],
                    "name_zh": sc["name_zh"],
                    "gpus_per_node": sc["gpus_per_node"],
                    "pflops_per_node": Decimal(sc["pflops_per_node"]),
                },
            )
            counts["service_classes"] += created
        for p in data.get("price", []):
            sc = ServiceClass.objects.get(code=p["service_class"])
            _, created = PriceVersion.objects.get_or_create(
                service_class=sc,
                effective_from=p["effective_from"],
                defaults={
                    "list_price": Decimal(p["list_price"]),
                    "min_price": Decimal(p["min_price"]) if p.get("min_price") else None,
                    "basis": p.get("basis", ""),
                },
            )
            counts["prices"] += created
        cap = data.get("capacity")
        if cap:
            sc = ServiceClass.objects.get(code=cap["service_class"])
            for month, nodes in capacity_months(cap["steps"], cap["until"]).items():
                _, created = CapacityMonth.objects.get_or_create(
                    service_class=sc, month=month, defaults={"nodes": nodes}
                )
                counts["capacity_months"] += created
        counts["releases_planned"] = funds.ensure_plan()
        if release_started:
            for row in FundRelease.objects.filter(state=ReleaseState.PLANNED).order_by("fiscal_year", "line"):
                if rules.fiscal_year_bounds(row.fiscal_year)[0] <= today:
                    funds.release(row.fiscal_year, FundingLine(row.line), actor="load_subsidy_scheme")
                    counts["released"] += 1
    return counts
