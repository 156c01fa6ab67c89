"""The scheme's public JSON API (issue 20, branch tapi), no authentication:

* ``GET /api/v1/subsidy/scheme``: the scheme in both languages — funding lines with their
  appropriation and cash flow by financial year (seed 000 §10, §19, §20, §23), the rate
  ceilings (seed 000 §13), the capacity cap (seed 000 §10), the classes of service with the
  list price in force (seed 002 ITIB229, seed 000 §14) and the range of negotiated prices
  awarded, the open calls and their batches to come (seed 000 §15), the eligible categories
  (seed 000 §11).
* ``GET /api/v1/subsidy/statistics``: the legislators' standard reports as data (anchor §2.12;
  seed 002 ITIB153, ITIB239, ITIB229, ITIB179, ITIB227), computed by
  :mod:`tungban.subsidy.services.reports`. No personal data: awards name their organisation
  (public), rejections name none, persons never.

Both answer with a strong ``ETag`` and ``Cache-Control: public, max-age=60``; ``If-None-Match``
with the tag gets ``304 Not Modified``.
"""

from __future__ import annotations

import datetime as dt

from django.apps import apps as django_apps
from django.db.models import Count, Max, Min
from django.http import HttpResponse
from django.utils import timezone, translation
from ninja import Field, Router, Schema

from tungban.core.api import error_responses

from . import rules
from .constants import ApplicantCategory, ApplicationState, FundingLine
from .models import Call, PriceVersion, ServiceClass
from .schemas import BatchOut, LabelOut, batch_out, both, cached, labelled, money
from .services import reports

router = Router(tags=["subsidy"])
PUBLIC_ERRORS = error_responses(422)


class CashFlowOut(Schema):
    fiscal_year: str = Field(description='Hong Kong financial year, 1 April to 31 March, e.g. "2024-25"')
    amount: str = Field(description="HK$")


class FundingLineOut(LabelOut):
    appropriation: str = Field(description="HK$ over the scheme's three financial years")
    cash_flow: list[CashFlowOut]


class RulesOut(Schema):
    normal_rate_ceiling: str = Field(description="The subsidy's share of the price, normally at most (seed 000 §13)")
    exceptional_rate_ceiling: str = Field(description="At most, in an exceptional case decided with reasons")
    subsidised_capacity_share: str = Field(description="At most this share of the centre's capacity is subsidised")
    list_price_per_node_month: str = Field(description="HK$ per server node per month (seed 002 ITIB229)")
    max_award_months: int


class PriceOut(Schema):
    list_price: str = Field(description="HK$ per node-month")
    effective_from: dt.date
    basis: str


class PriceRangeOut(Schema):
    awards: int = Field(description="Awards decided for this class")
    min: str | None = Field(
        description="Lowest negotiated price per node-month awarded (HK$); null with fewer than "
        "NEGOTIATED_RANGE_MIN_AWARDS (3) standing awards, so that no one grantee's price is disclosed"
    )
    max: str | None


class ServiceClassOut(Schema):
    code: str
    name_en: str
    name_zh: str
    gpus_per_node: int
    pflops_per_node: str
    price: PriceOut | None = Field(description="The list price in force today; null when none is")
    negotiated: PriceRangeOut = Field(description="Prices are set per application (seed 000 §14)")


class CallOut(Schema):
    code: str
    title_en: str
    title_zh: str
    opens_on: dt.date
    closes_on: dt.date
    batches: list[BatchOut] = Field(description="The batches whose cut-off has not passed, soonest first")


class SchemeOut(Schema):
    name_en: str
    name_zh: str
    funding_lines: list[FundingLineOut]
    rules: RulesOut
    categories: list[LabelOut] = Field(description="Who may apply (seed 000 §11); individuals cannot")
    service_classes: list[ServiceClassOut]
    calls: list[CallOut] = Field(description="Calls open today or later")


#: The fewest standing awards of a class whose negotiated range is published: with one or two,
#: the range would disclose a grantee's negotiated price.
NEGOTIATED_RANGE_MIN_AWARDS = 3


def _service_class(sc: ServiceClass, today: dt.date) -> dict:
    price = PriceVersion.objects.filter(service_class=sc, effective_from__lte=today).order_by("-effective_from").first()
    standing = reports.standing_awards().filter(application__service_class=sc)
    span = standing.aggregate(lo=Min("price"), hi=Max("price"), n=Count("id"))
    shown = span["n"] >= NEGOTIATED_RANGE_MIN_AWARDS  # fewer would disclose one grantee's price
    return {
        "code": sc.code,
        "name_en": sc.name_en,
        "name_zh": sc.name_zh,
        "gpus_per_node": sc.gpus_per_node,
        "pflops_per_node": str(sc.pflops_per_node),
        "price": None
        if price is None
        else {"list_price": money(price.list_price), "effective_from": price.effective_from, "basis": price.basis},
        "negotiated": {
            "awards": span["n"],
            "min": money(span["lo"]) if shown else None,
            "max": money(span["hi"]) if shown else None,
        },
    }


def scheme_data() -> dict:
    """The body of ``GET /scheme`` (see the module's docstring)."""
    now = timezone.now()
    today = timezone.localdate()
    years = sorted({fy for fy, _line in rules.CASH_FLOW})
    calls = Call.objects.filter(closes_on__gte=today).prefetch_related("batches").order_by("opens_on")
    name = both(lambda: django_apps.get_app_config("subsidy").verbose_name)
    return {
        "name_en": name["en"],
        "name_zh": name["zh"],
        "funding_lines": [
            {
                **labelled(line.value, lambda line=line: line.label),
                "appropriation": money(rules.APPROPRIATION[line]),
                "cash_flow": [
                    {"fiscal_year": fy, "amount": money(rules.CASH_FLOW[(fy, line)])}
                    for fy in years
                    if (fy, line) in rules.CASH_FLOW
                ],
            }
            for line in FundingLine
        ],
        "rules": {
            "normal_rate_ceiling": str(rules.NORMAL_RATE_CEILING),
            "exceptional_rate_ceiling": str(rules.EXCEPTIONAL_RATE_CEILING),
            "subsidised_capacity_share": str(rules.SUBSIDISED_CAPACITY_SHARE),
            "list_price_per_node_month": money(rules.LIST_PRICE_PER_NODE_MONTH),
            "max_award_months": rules.MAX_AWARD_MONTHS,
        },
        "categories": [labelled(c.value, lambda c=c: c.label) for c in ApplicantCategory],
        "service_classes": [_service_class(sc, today) for sc in ServiceClass.objects.order_by("code")],
        "calls": [
            {
                "code": call.code,
                "title_en": call.title_en,
                "title_zh": call.title_zh,
                "opens_on": call.opens_on,
                "closes_on": call.closes_on,
                "batches": [
                    batch_out(b) for b in sorted(call.batches.all(), key=lambda b: b.cut_off) if b.cut_off >= now
                ],
            }
            for call in calls
        ],
    }


@router.get(
    "/scheme",
    response={200: SchemeOut, 304: None, **PUBLIC_ERRORS},
    auth=None,
    summary="The scheme: funds, rate ceilings, capacity cap, prices, calls and batches, who may apply (public)",
)
def scheme(request, response: HttpResponse):
    """Everything an applicant needs to know before applying, in both languages. Money is HK$ as
    decimal strings, rates decimal fractions (``"0.70"`` = 70%). Cacheable (``ETag``,
    ``Cache-Control: public, max-age=60``; ``304`` on ``If-None-Match``)."""
    body = scheme_data()
    return cached(request, response, body) or body


# --- the standard reports ----------------------------------------------------------------------


class StateCountOut(Schema):
    state: str
    count: int


class ApplicationsRowOut(LabelOut):
    total: int
    states: list[StateCountOut]


class RejectionOut(Schema):
    category: str
    state: str = Field(description="rejected (by the committee) or ineligible")
    decided_at: dt.datetime | None
    reasons_en: str
    reasons_zh: str


class TimesOut(LabelOut):
    count: int
    min: str | None = Field(description="Days, to 0.1; null without applications")
    average: str | None
    max: str | None


class ProjectOut(Schema):
    reference: str
    organisation_en: str = Field(description="The grantee (organisations' names are public for awards)")
    organisation_zh: str
    category: str
    title_en: str
    title_zh: str
    state: str
    starts_on: dt.date
    ends_on: dt.date
    months: int
    node_months: int
    peak_pflops: str
    rate: str
    subsidy_cap: str = Field(description="HK$")
    co_payment: str = Field(description="HK$")


class AmountsRowOut(LabelOut):
    count: int
    node_months: int
    subsidy_cap: str
    co_payment: str


class UsageRowOut(LabelOut):
    used_gpu_minutes: int | None = Field(description="From the centre's scheduler; null when usage cannot be read")


class StatisticsOut(Schema):
    generated_at: dt.datetime
    applications: list[ApplicationsRowOut] = Field(description="By category and state, then a `total` row")
    rejections: list[RejectionOut] = Field(description="Not approved, with reasons; no names")
    times: list[TimesOut] = Field(description="Days: submission to approval, to decision; complete to recommendation")
    projects: list[ProjectOut] = Field(description="Amount and duration per award")
    amounts: list[AmountsRowOut] = Field(description="Awards by category, then a `total` row")
    usage: list[UsageRowOut] = Field(description="GPU-minutes used by category over the awards' months")


def _days(value) -> str | None:
    return None if value is None else str(value)


def statistics_data() -> dict:
    """The body of ``GET /statistics``: :mod:`tungban.subsidy.services.reports`' figures, with
    their labels in both languages and no personal data."""
    en, zh = {}, {}
    for store, lang in ((en, "en"), (zh, "zh-hant")):
        with translation.override(lang):
            store["applications"] = reports.applications_by_category()
            store["times"] = reports.processing_times()
            store["amounts"] = reports.amounts_by_category()
    span = reports.scheme_months()
    used = reports.usage_by_category(reports.months_of(*span)) if span else None
    return {
        "generated_at": timezone.now().replace(microsecond=0),
        "applications": [
            {
                "code": row["category"],
                "label_en": row["label"],
                "label_zh": zh["applications"][i]["label"],
                "total": row["total"],
                "states": [{"state": s.value, "count": row["states"].get(s.value, 0)} for s in ApplicationState],
            }
            for i, row in enumerate(en["applications"])
        ],
        "rejections": [
            {k: r[k] for k in ("category", "state", "decided_at", "reasons_en", "reasons_zh")}
            for r in reports.rejections()
        ],
        "times": [
            {
                "code": row["measure"],
                "label_en": row["label"],
                "label_zh": zh["times"][i]["label"],
                "count": row["count"],
                **{k: _days(row[k]) for k in ("min", "average", "max")},
            }
            for i, row in enumerate(en["times"])
        ],
        "projects": [
            {
                **{k: r[k] for k in ("reference", "organisation_en", "organisation_zh", "category", "title_en")},
                **{k: r[k] for k in ("title_zh", "state", "starts_on", "ends_on", "months", "node_months")},
                "peak_pflops": str(r["peak_pflops"]),
                "rate": str(r["rate"]),
                "subsidy_cap": money(r["subsidy_cap"]),
                "co_payment": money(r["co_payment"]),
            }
            for r in reports.awards_by_project()
        ],
        "amounts": [
            {
                "code": row["category"],
                "label_en": row["label"],
                "label_zh": zh["amounts"][i]["label"],
                "count": row["count"],
                "node_months": row["node_months"],
                "subsidy_cap": money(row["subsidy_cap"]),
                "co_payment": money(row["co_payment"]),
            }
            for i, row in enumerate(en["amounts"])
        ],
        "usage": [
            {
                **labelled(c.value, lambda c=c: c.label),
                "used_gpu_minutes": None if used is None else used["by_category"][c.value],
            }
            for c in ApplicantCategory
        ],
    }


@router.get(
    "/statistics",
    response={200: StatisticsOut, 304: None, **PUBLIC_ERRORS},
    auth=None,
    summary="The legislators' standard reports as data: applications, rejections, times, amounts, usage (public)",
)
def statistics(request, response: HttpResponse):
    """Computed from the records when asked (:mod:`tungban.subsidy.services.reports`, seed 002
    ITIB153 Q0642, ITIB239 Q0211, ITIB229 Q3721, ITIB179 Q1751, ITIB227 Q3718). Days are
    decimal strings to 0.1 day; money HK$ decimal strings. Rejections carry no organisation's
    name; awards name their grantee. Cacheable as ``/scheme`` (the tag changes with the figures;
    ``generated_at`` is left out of it)."""
    body = statistics_data()
    stamp = body.pop("generated_at")
    not_modified = cached(request, response, body)
    if not_modified is not None:
        return not_modified
    return {"generated_at": stamp, **body}
