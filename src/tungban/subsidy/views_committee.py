"""The committee's read-only pages of the AI Subsidy Scheme (issue 20), under
``/staff/subsidy/committee/``: an application as the committee sees it (the link of a
``subsidy.application`` agenda item), a reallocation proposal (the link of a
``subsidy.reallocation`` item) and the grants in progress with their progress reports and
Cyberport's review of them (seed 000 §21: progress reports 「供數碼港及獨立委員會檢視」).

Who may read: staff (second factor verified) who are members in term of the committee that has
the subject on an agenda (of any committee while it is on none), not recused from it nor
conflicted with its organisations (:func:`tungban.committees.services.reader_of`; seed 000
§12–§13). Others get a 403 page in their language; nothing here writes.
"""

from __future__ import annotations

import functools

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from tungban.committees import errors as committee_errors
from tungban.committees import services as committees
from tungban.core.errors import DomainError
from tungban.eservices import services as eservices

from .committee import APPLICATION_KIND, REALLOCATION_KIND, get_application, get_proposal
from .models_progress import ProgressReportState
from .services import intake, progress, reallocation


def _zh() -> bool:
    return (get_language() or "").startswith("zh")


def _forbidden(request, message, status=403):
    return render(request, "committees/forbidden.html", {"message": message}, status=status)


def _staff(request):
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    return None


def reader(kind: str):
    """Only a member who may read the subject ``kind``:``public_id`` (module docstring); a
    recused member gets the 403 page saying so."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, public_id, *args, **kwargs):
            if (login := _staff(request)) is not None:
                return login
            try:
                committees.reader_of(kind, str(public_id), request.user)
            except committee_errors.MemberConflicted:
                return _forbidden(
                    request,
                    _("You are recused from this subject because of a conflict of interest: you cannot read it."),
                )
            except (committee_errors.NotMember, committee_errors.OutOfTerm) as exc:
                return _forbidden(request, exc.message)
            except DomainError:  # no such subject
                raise Http404 from None
            return view(request, public_id, *args, **kwargs)

        return wrapped

    return decorate


def member_in_term(view):
    """Staff who are members in term of a committee."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if (login := _staff(request)) is not None:
            return login
        today = timezone.localdate()
        if not any(m.term_from <= today <= m.term_to for m in committees.memberships(request.user)):
            return _forbidden(request, committee_errors.NotMember().message)
        return view(request, *args, **kwargs)

    return wrapped


def _answers(e_app) -> list[dict]:
    """The e-services application's answers in form order, labelled in the reader's language."""
    from tungban.eservices import services as eservices

    definition = eservices.Definition.of(e_app.form_version)
    answers = e_app.get_answers()
    zh = _zh()
    shown = []
    for page in definition.visible_pages(answers):
        for name in page.get("fields", []):
            if name in answers:
                spec = definition.fields.get(name, {})
                shown.append(
                    {"label": (spec.get("label_zh") if zh else spec.get("label_en")) or name, "value": answers[name]}
                )
    return shown


def _e_application(app):
    try:
        return eservices.get_application(app.reference)
    except DomainError:
        return None


def _items(kind, subject_id):
    return [{"item": i, "title": i.title_zh if _zh() else i.title_en} for i in committees.items_of(kind, subject_id)]


@require_GET
@reader(APPLICATION_KIND)
def application(request, public_id):
    """The application as the committee sees it: organisation, category and eligibility,
    project, team and track record (the applicant's answers), compute requested by month, the
    criterion (b) justification, cost items with other government funding declared (seed 000
    fn 6), attachments, and the secretariat's recommendation with its reasons (seed 000 §13)."""
    try:
        app = get_application(str(public_id))
    except DomainError:
        raise Http404 from None
    zh = _zh()
    assessment = getattr(app, "assessment", None)
    e_app = _e_application(app)
    rec = intake.recommendation(app)
    return render(
        request,
        "subsidy/committee/application.html",
        {
            "app": app,
            "zh": zh,
            "organisation": (app.organisation_name_zh or app.organisation_name_en) if zh else app.organisation_name_en,
            "title": (app.project_title_zh or app.project_title_en) if zh else app.project_title_en,
            "assessment": assessment,
            "basis": (assessment.eligibility_basis_zh if zh else assessment.eligibility_basis_en) if assessment else "",
            "review": (assessment.technical_review_zh if zh else assessment.technical_review_en) if assessment else "",
            "months": list(app.requested_months.all()),
            "cost_items": list(app.cost_items.all()),
            "answers": _answers(e_app) if e_app else [],
            "attachments": list(e_app.attachments.all()) if e_app else [],
            "rec": rec,
            "rec_schedule": sorted((rec.get("schedule") or {}).items()),
            "rec_rate": f"{float(rec['rate']) * 100:.0f}" if rec.get("rate") else "",
            "rec_reasons": (rec.get("reasons_zh") if zh else rec.get("reasons_en")) or "",
            "rec_conditions": (rec.get("conditions_zh") if zh else rec.get("conditions_en")) or "",
            "items": _items(APPLICATION_KIND, str(app.public_id)),
        },
    )


@require_GET
@reader(APPLICATION_KIND)
def attachment(request, public_id, attachment_id):
    """One of the application's documents, downloaded (never shown inline)."""
    from tungban.eservices import services as eservices

    try:
        app = get_application(str(public_id))
    except DomainError:
        raise Http404 from None
    e_app = _e_application(app)
    doc = e_app.attachments.filter(pk=attachment_id).first() if e_app else None
    if doc is None:
        raise Http404
    response = HttpResponse(eservices.read_attachment(doc), content_type=doc.content_type)
    response["Content-Disposition"] = f'attachment; filename="{app.reference}-{doc.pk}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@reader(REALLOCATION_KIND)
def reallocation_page(request, public_id):
    """Cyberport's proposal to lend an award's unused GPU-minutes to a market-price account
    (seed 000 §17): the award, what is unused, the account, the minutes and the reasons."""
    try:
        proposal = get_proposal(str(public_id))
    except DomainError:
        raise Http404 from None
    zh = _zh()
    app = proposal.award.application
    return render(
        request,
        "subsidy/committee/reallocation.html",
        {
            "p": proposal,
            "award": proposal.award,
            "app": app,
            "zh": zh,
            "organisation": (app.organisation_name_zh or app.organisation_name_en) if zh else app.organisation_name_en,
            "unused": reallocation.unused_gpu_minutes(proposal.award),
            "reason": proposal.reason_zh if zh else proposal.reason_en,
            "items": _items(REALLOCATION_KIND, str(proposal.public_id)),
        },
    )


@require_GET
@member_in_term
def grants(request):
    """The grants in progress (offered, active, suspended or completed awards) with their
    progress reports once submitted and Cyberport's review of each (seed 000 §21; seed 000 §18:
    the KPIs the reports count). Read-only."""
    zh = _zh()
    rows = []
    for award in progress.grants_in_progress():
        app = award.application
        rows.append(
            {
                "award": award,
                "app": app,
                "organisation": (app.organisation_name_zh or app.organisation_name_en)
                if zh
                else app.organisation_name_en,
                "title": (app.project_title_zh or app.project_title_en) if zh else app.project_title_en,
                "reports": [r for r in award.progress_reports.all() if r.state != ProgressReportState.DUE],
                "due": sum(1 for r in award.progress_reports.all() if r.state == ProgressReportState.DUE),
            }
        )
    return render(request, "subsidy/committee/grants.html", {"rows": rows, "zh": zh})
