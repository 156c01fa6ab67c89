"""The committee's subject kinds of the AI Subsidy Scheme (issue 20, part A), registered with
:mod:`tungban.committees.subjects` in ``SubsidyConfig.ready``:

- ``subsidy.application`` (subject id: the application's ``public_id``): the committee approves
  with :class:`~tungban.subsidy.forms.AwardTermsForm`'s terms (:func:`services.awards.make_award`),
  rejects or defers with reasons (seed 000 §12–§13: the committee approves the amount, duration and
  conditions; seed 002 ITIB153). The decision also moves the e-services application (approve or
  reject with the reasons, ``via="committee"``), so the applicant's status page shows it.
- ``subsidy.reallocation`` (subject id: the proposal's ``public_id``): Cyberport's proposal to
  lend unused GPU-minutes to a market-price account (seed 000 §17).

``decided`` runs inside the committee's decision transaction: whatever it raises undoes it.
"""

from __future__ import annotations

import uuid

from django.contrib.auth import get_user_model
from django.urls import reverse

from . import errors
from .constants import ApplicationState
from .models import Application, ReallocationProposal
from .services import awards, reallocation

APPLICATION_KIND = "subsidy.application"
REALLOCATION_KIND = "subsidy.reallocation"
#: The service account that records the committee's decisions on the e-services applications.
COMMITTEE_ACCOUNT = "system:subsidy-committee"


def _zh(lang: str) -> bool:
    return (lang or "").startswith("zh")


def get_application(subject_id: str) -> Application:
    """:raises DomainError: ``application_not_decidable`` (no such application)."""
    try:
        found = Application.objects.select_related("service_class").filter(public_id=uuid.UUID(str(subject_id))).first()
    except ValueError:
        found = None
    if found is None:
        raise errors.ApplicationNotDecidable(state="—")
    return found


def _proposed_terms(application: Application) -> dict | None:
    try:
        from .services import intake  # part D
    except ImportError:
        return None
    found = intake.recommendation(application)
    return found.get("terms", found) if found else None


def describe_application(subject_id: str, lang: str) -> dict:
    """The committee's view of an application: title, summary (organisation, category, compute
    requested), the link to the committee's read-only page of it (``views_committee``),
    organisations (BRN and names, for conflicts of interest) and the secretariat's recommended
    terms (part D's ``intake.recommendation``; ``None`` until then)."""
    app = get_application(subject_id)
    zh = _zh(lang)
    node_months = sum(app.requested_months.values_list("nodes", flat=True))
    org = (app.organisation_name_zh or app.organisation_name_en) if zh else app.organisation_name_en
    title = (app.project_title_zh or app.project_title_en) if zh else app.project_title_en
    summary = (
        f"{org}（{app.get_category_display()}）：{app.service_class.code} {node_months} 節點月"
        if zh
        else f"{org} ({app.get_category_display()}): {node_months} node-months of {app.service_class.code}"
    )
    return {
        "title": f"{app.reference} {title}",
        "summary": summary,
        "link": reverse("subsidy_staff:committee_application", args=[app.public_id]),
        "organisation_brns": [app.br_number],
        "organisation_names": [n for n in (app.organisation_name_en, app.organisation_name_zh) if n],
        "proposed_terms": _proposed_terms(app),
    }


def validate_application(subject_id: str, outcome: str, terms: dict) -> None:
    """Before a decision: approving needs terms that pass :func:`services.awards.check_terms`.

    :raises DomainError: every error of ``check_terms``, ``application_not_decidable``."""
    app = get_application(subject_id)
    if app.state not in awards.DECIDABLE:
        raise errors.ApplicationNotDecidable(state=ApplicationState(app.state).label)
    if outcome == "approve":
        awards.check_terms(app, awards.terms_from_dict(terms or {}))


def _actor_name(actor) -> str:
    return str(getattr(actor, "username", "") or actor or "committee")


def committee_account():
    """The service account (approver of Cyberport's e-services) through which the committee's
    decisions move the e-services applications (``via="committee"``); made on first use."""
    from tungban.eservices.models import DepartmentOfficer, OfficerRole

    user, created = get_user_model().objects.get_or_create(username=COMMITTEE_ACCOUNT, defaults={"is_staff": False})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    DepartmentOfficer.objects.get_or_create(
        user=user, department_id=awards.DEPARTMENT, defaults={"role": OfficerRole.APPROVER}
    )
    return user


def _move_eservices(app: Application, outcome: str, reasons_en: str, reasons_zh: str) -> None:
    """Approve or reject the e-services application of the same reference, if there is one."""
    from tungban.eservices import services as eservices
    from tungban.eservices.models import Application as EApplication

    if outcome not in ("approve", "reject") or not EApplication.objects.filter(reference=app.reference).exists():
        return
    found = eservices.get_application(app.reference)
    account = committee_account()
    if outcome == "approve":
        eservices.approve(found, account, reason_en=reasons_en, reason_zh=reasons_zh, via="committee")
    else:
        eservices.reject(found, account, reasons_en, reasons_zh, via="committee")


def decided_application(subject_id, outcome, terms, reasons_en, reasons_zh, decided_at, actor) -> None:
    """The committee's decision: ``approve`` → :func:`services.awards.make_award`, ``reject`` →
    :func:`services.awards.reject`, ``defer`` → :func:`services.awards.defer`; then the
    e-services application moves (approve/reject).

    :raises DomainError: the services' errors (the decision is undone)."""
    app = get_application(subject_id)
    who = _actor_name(actor)
    if outcome == "approve":
        awards.make_award(
            app,
            awards.terms_from_dict(terms or {}),
            decided_at=decided_at,
            actor=who,
            reasons_en=reasons_en,
            reasons_zh=reasons_zh,
        )
    elif outcome == "reject":
        awards.reject(app, reasons_en=reasons_en, reasons_zh=reasons_zh, decided_at=decided_at, actor=who)
    elif outcome == "defer":
        awards.defer(app, reasons_en=reasons_en, reasons_zh=reasons_zh, decided_at=decided_at, actor=who)
    else:
        raise errors.ApplicationNotDecidable(state=outcome)
    _move_eservices(app, outcome, reasons_en, reasons_zh)


def get_proposal(subject_id: str) -> ReallocationProposal:
    try:
        found = (
            ReallocationProposal.objects.select_related("award__application")
            .filter(public_id=uuid.UUID(str(subject_id)))
            .first()
        )
    except ValueError:
        found = None
    if found is None:
        raise errors.AwardUnknown()
    return found


def describe_reallocation(subject_id: str, lang: str) -> dict:
    """The committee's view of a reallocation proposal (seed 000 §17), linking to the
    committee's read-only page of it (``views_committee``)."""
    p = get_proposal(subject_id)
    app = p.award.application
    zh = _zh(lang)
    return {
        "title": (
            f"調撥算力：{app.reference} → {p.to_account}" if zh else f"Reallocation: {app.reference} → {p.to_account}"
        ),
        "summary": (
            f"{p.gpu_minutes} GPU 分鐘。{p.reason_zh}" if zh else f"{p.gpu_minutes} GPU-minutes. {p.reason_en}"
        ),
        "link": reverse("subsidy_staff:committee_reallocation", args=[p.public_id]),
        "organisation_brns": [app.br_number],
        "organisation_names": [n for n in (app.organisation_name_en, app.organisation_name_zh) if n],
        "proposed_terms": None,
    }


def validate_reallocation(subject_id: str, outcome: str, terms: dict) -> None:
    """:raises DomainError: ``reallocation_invalid`` (the unused balance is now smaller)."""
    p = get_proposal(subject_id)
    if outcome == "approve" and p.gpu_minutes > reallocation.unused_gpu_minutes(p.award):
        raise errors.ReallocationInvalid(unused=reallocation.unused_gpu_minutes(p.award))


def decided_reallocation(subject_id, outcome, terms, reasons_en, reasons_zh, decided_at, actor) -> None:
    """:func:`services.reallocation.decide` (an approval lends the minutes on the scheduler)."""
    reallocation.decide(
        get_proposal(subject_id),
        outcome,
        reasons_en=reasons_en,
        reasons_zh=reasons_zh,
        decided_at=decided_at,
        actor=_actor_name(actor),
    )


def register(subjects) -> None:
    """Register both kinds with the committees' registry ``subjects``, and link the grants in
    progress (their progress reports, seed 000 §21) from the committees' navigation."""
    from django.utils.translation import gettext_lazy

    from .forms import AwardTermsForm

    subjects.register_page("subsidy_staff:committee_grants", gettext_lazy("Grants in progress"))

    subjects.register(
        APPLICATION_KIND,
        describe=describe_application,
        validate=validate_application,
        decided=decided_application,
        terms_form=AwardTermsForm,
        app="subsidy",
    )
    subjects.register(
        REALLOCATION_KIND,
        describe=describe_reallocation,
        validate=validate_reallocation,
        decided=decided_reallocation,
        app="subsidy",
    )
