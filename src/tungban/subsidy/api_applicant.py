"""The scheme's JSON API for applicant organisations (issue 20, branch tapi): a person acting
for an organisation under a CorpID mandate, from the resident's app (``Authorization: Device``,
:mod:`tungban.wallet.auth`). The mandate (action ``view`` for the scheme's e-service) is
checked again on every call, as ``/subsidy/mine/`` does: a mandate revoked between two calls
refuses the next one.

* ``GET /organisations/{br_number}/applications``: the organisation's applications (state,
  batch, the secretariat's 2-month clock from complete information — seed 002 ITIB239 — the
  decision and its reasons). No mandate: CorpID's 403 (``no_mandate``, ``mandate_revoked``…).
* ``GET /applications/{reference}`` and ``GET /awards/{award_id}``: one application, one award
  (schedule by month, price, rate, subsidy and co-payment — seed 000 §13, §14 — conditions,
  the scheduler account and its usage by month from :mod:`tungban.compute`, the co-payment
  invoices). An unknown id and another organisation's are the same 404: nothing tells them
  apart.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.urls import reverse
from ninja import Field, Router, Schema

from tungban.core.api import error_responses
from tungban.core.errors import DomainError
from tungban.corpid import services as corpid
from tungban.wallet.auth import device_auth

from . import errors
from .constants import ApplicantCategory, ApplicationState, AwardState
from .models import Application, Award
from .models_funds import InvoiceState
from .schemas import BatchOut, ClockOut, LabelOut, batch_out, clock_out, labelled, money
from .services import awards, intake

router = Router(tags=["subsidy"])
ERRORS = error_responses(400, 401, 403, 404, 409, 422)


class RequestedMonthOut(Schema):
    month: dt.date
    nodes: int


class ApplicationOut(Schema):
    reference: str = Field(description="The e-services application's reference")
    br_number: str
    organisation_en: str
    organisation_zh: str
    category: LabelOut
    non_profit: bool
    title_en: str
    title_zh: str
    service_class: str
    requested: list[RequestedMonthOut] = Field(description="Nodes requested per month")
    state: LabelOut = Field(
        description="submitted clarification_requested complete recommended on_agenda approved rejected deferred "
        "ineligible withdrawn"
    )
    batch: BatchOut | None
    submitted_at: dt.datetime
    complete_at: dt.datetime | None
    clock: ClockOut | None = Field(description="The secretariat's 2-month clock; null before complete information")
    decided_at: dt.datetime | None
    decision_reasons_en: str = Field(description="The committee's reasons, or why the application is ineligible")
    decision_reasons_zh: str
    award_id: uuid.UUID | None = Field(description="The award, once approved")


class AwardMonthOut(Schema):
    month: dt.date
    nodes: int
    subsidy: str = Field(description="HK$")
    co_payment: str = Field(description="HK$")
    used_gpu_minutes: int | None = Field(description="From the centre's scheduler; null before the account exists")


class InvoiceOut(Schema):
    month: dt.date
    amount: str = Field(description="HK$")
    state: LabelOut = Field(description="queued issued paid failed")
    order_reference: str = Field(
        description="The payment order's reference (the bill a bank app pays); empty until issued, and "
        "empty for a caller whose mandate does not allow `pay`"
    )
    pay_url: str = Field(
        description="The grant page's pay link (it checks the payer's mandate, then opens the order); "
        "empty unless the invoice is issued and the caller may pay"
    )
    paid_at: dt.datetime | None


class UsageOut(Schema):
    limit_gpu_minutes: int | None
    used_gpu_minutes: int | None
    last_synced_at: dt.datetime | None


class AgreementOut(Schema):
    signed_at: dt.datetime
    account_state: str = Field(description="requested pending (see account_error) or empty")
    account_error: str


class AwardOut(Schema):
    award_id: uuid.UUID
    reference: str = Field(description="The application's reference")
    br_number: str
    state: LabelOut = Field(description="offered active suspended completed terminated")
    starts_on: dt.date
    ends_on: dt.date
    node_months: int
    list_price: str = Field(description="HK$ per node-month in the price book at the decision")
    price: str = Field(description="HK$ per node-month, negotiated (seed 000 §14)")
    rate: str = Field(description="The subsidy's share of the price (seed 000 §13: at most 0.70, 0.90 if exceptional)")
    exceptional: bool
    exceptional_reason_en: str
    exceptional_reason_zh: str
    subsidy_cap: str = Field(description="HK$: node-months × price × rate")
    co_payment: str = Field(description="HK$ the grantee pays: node-months × price − subsidy")
    conditions_en: str
    conditions_zh: str
    account: str = Field(description="The account on the centre's scheduler (Slurm); empty until the agreement")
    schedule: list[AwardMonthOut]
    usage: UsageOut | None = Field(description="The account's totals; null before the account exists")
    agreement: AgreementOut | None
    invoices: list[InvoiceOut]
    decided_at: dt.datetime


def _resident(request):
    return request.auth.resident


def application_out(app: Application) -> dict:
    assessment = getattr(app, "assessment", None) if hasattr(app, "assessment") else None
    reasons_en, reasons_zh = app.decision_reasons_en, app.decision_reasons_zh
    if app.state == ApplicationState.INELIGIBLE and assessment is not None and not reasons_en:
        reasons_en, reasons_zh = assessment.eligibility_basis_en, assessment.eligibility_basis_zh
    award = Award.objects.filter(application=app).values_list("public_id", flat=True).first()
    return {
        "reference": app.reference,
        "br_number": app.br_number,
        "organisation_en": app.organisation_name_en,
        "organisation_zh": app.organisation_name_zh,
        "category": labelled(app.category, lambda: ApplicantCategory(app.category).label),
        "non_profit": app.non_profit,
        "title_en": app.project_title_en,
        "title_zh": app.project_title_zh,
        "service_class": app.service_class.code,
        "requested": [{"month": m.month, "nodes": m.nodes} for m in app.requested_months.all()],
        "state": labelled(app.state, lambda: ApplicationState(app.state).label),
        "batch": batch_out(app.batch),
        "submitted_at": app.submitted_at,
        "complete_at": app.complete_at,
        "clock": clock_out(intake.clock(app)),
        "decided_at": app.decided_at,
        "decision_reasons_en": reasons_en,
        "decision_reasons_zh": reasons_zh,
        "award_id": award,
    }


def _usage_by_month(award: Award, months: list[dt.date]) -> dict[dt.date, int] | None:
    compute = awards.compute_services()
    if compute is None or not award.account:
        return None
    return compute.usage_by_month([award.account], months).get(award.account, {})


def award_out(award: Award, *, may_pay: bool = False) -> dict:
    """The body of ``GET /awards/{award_id}``; ``may_pay``: whether the caller's mandate allows
    ``pay`` (:func:`~tungban.subsidy.services.awards.require_payer`): the invoices' order
    references and pay links only then."""
    months = list(award.months.all())
    used = _usage_by_month(award, [m.month for m in months])
    totals = awards.usage(award)
    agreement = getattr(award, "agreement", None) if hasattr(award, "agreement") else None
    return {
        "award_id": award.public_id,
        "reference": award.application.reference,
        "br_number": award.application.br_number,
        "state": labelled(award.state, lambda: AwardState(award.state).label),
        "starts_on": award.starts_on,
        "ends_on": award.ends_on,
        "node_months": award.node_months,
        "list_price": money(award.list_price),
        "price": money(award.price),
        "rate": str(award.rate),
        "exceptional": award.exceptional,
        "exceptional_reason_en": award.exceptional_reason_en,
        "exceptional_reason_zh": award.exceptional_reason_zh,
        "subsidy_cap": money(award.subsidy_cap),
        "co_payment": money(award.co_payment),
        "conditions_en": award.conditions_en,
        "conditions_zh": award.conditions_zh,
        "account": award.account,
        "schedule": [
            {
                "month": m.month,
                "nodes": m.nodes,
                "subsidy": money(m.subsidy),
                "co_payment": money(m.co_payment),
                "used_gpu_minutes": None if used is None else used.get(m.month, 0),
            }
            for m in months
        ],
        "usage": None
        if totals is None
        else {k: totals.get(k) for k in ("limit_gpu_minutes", "used_gpu_minutes", "last_synced_at")},
        "agreement": None
        if agreement is None
        else {
            "signed_at": agreement.signed_at,
            "account_state": agreement.account_state,
            "account_error": agreement.account_error,
        },
        "invoices": [
            {
                "month": inv.month,
                "amount": money(inv.amount),
                "state": labelled(inv.state, lambda inv=inv: InvoiceState(inv.state).label),
                "order_reference": inv.order_reference if may_pay else "",
                "pay_url": reverse("subsidy:grant_pay", args=[award.public_id, inv.pk])
                if may_pay and inv.state == InvoiceState.ISSUED
                else "",
                "paid_at": inv.paid_at,
            }
            for inv in award.invoices.order_by("month")
        ],
        "decided_at": award.decided_at,
    }


def _may_view(resident, br_number: str) -> bool:
    """Whether ``resident``'s CorpID mandate lets them ``view`` the scheme's e-service for
    ``br_number`` now (checked on every call)."""
    try:
        corpid.authority(resident, br_number, intake.SLUG, "view")
    except DomainError:
        return False
    return True


@router.get(
    "/organisations/{br_number}/applications",
    response={200: list[ApplicationOut], **ERRORS},
    auth=device_auth,
    summary="(device) My organisation's applications to the scheme",
)
def organisation_applications(request, br_number: str):
    """Newest first, for a person whose CorpID mandate for the organisation covers the scheme's
    e-service (``ai-subsidy-scheme``, action ``view``), checked now. Errors (CorpID's codes):
    ``br_number_format`` (400), ``br_number_not_registered`` (404), ``no_mandate``,
    ``mandate_revoked``, ``mandate_expired``, ``mandate_out_of_scope``, ``organisation_suspended``
    (403), ``company_not_live`` (409)."""
    mandate = corpid.authority(_resident(request), br_number, intake.SLUG, "view")
    brn = mandate.organisation.br_number
    apps = (
        Application.objects.filter(br_number=brn)
        .select_related("batch__call", "service_class", "assessment")
        .prefetch_related("requested_months")
        .order_by("-submitted_at")
    )
    return [application_out(a) for a in apps]


@router.get(
    "/applications/{reference}",
    response={200: ApplicationOut, **ERRORS},
    auth=device_auth,
    summary="(device) One of my organisation's applications",
)
def read_application(request, reference: str):
    """Errors: ``subsidy_application_unknown`` (404: no such reference, or an organisation the
    caller has no mandate for now — the two are not told apart)."""
    app = (
        Application.objects.select_related("batch__call", "service_class")
        .prefetch_related("requested_months")
        .filter(reference=reference)
        .first()
    )
    if app is None or not _may_view(_resident(request), app.br_number):
        raise errors.SubsidyApplicationUnknown()
    return application_out(app)


@router.get(
    "/awards/{award_id}",
    response={200: AwardOut, **ERRORS},
    auth=device_auth,
    summary="(device) One of my organisation's awards: terms, schedule, usage and invoices",
)
def read_award(request, award_id: uuid.UUID):
    """Money in HK$ decimal strings. Errors: ``award_unknown`` (404: no such award, or an
    organisation the caller has no mandate for now — not told apart)."""
    award = Award.objects.select_related("application").filter(public_id=award_id).first()
    resident = _resident(request)
    if award is None or not _may_view(resident, award.application.br_number):
        raise errors.AwardUnknown()
    try:
        awards.require_payer(award, resident)
    except DomainError:
        return award_out(award)
    return award_out(award, may_pay=True)
