"""The secretariat's console of the AI Subsidy Scheme (issue 20, part D), under
``/staff/subsidy/``: Cyberport's officers (e-services department ``CYBERPORT``) see the queue
by batch and state with the 2-month clock, and on each application mark it complete, ask for
clarification, record the technical review, recommend terms, and put it on the committee's
agenda. Every action is a POST through :mod:`tungban.subsidy.services.intake`; a refusal is
shown on the page in the officer's language, nothing stored."""

from __future__ import annotations

import functools
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tungban.core.errors import DomainError

from .constants import ApplicationState
from .forms import RecommendationForm
from .models import Batch
from .services import intake


def _zh() -> bool:
    return (get_language() or "").startswith("zh")


def secretariat_required(view):
    """Staff (second factor verified) who are officers of ``CYBERPORT``; other staff get a 403
    page, others the staff login."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        try:
            intake.require_secretariat(user)
        except DomainError as exc:
            return render(request, "eservices/staff/forbidden.html", {"message": exc.message}, status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _row(app) -> dict:
    zh = _zh()
    return {
        "app": app,
        "organisation": (app.organisation_name_zh or app.organisation_name_en) if zh else app.organisation_name_en,
        "title": (app.project_title_zh or app.project_title_en) if zh else app.project_title_en,
        "clock": intake.clock(app),
        "warnings": len(getattr(getattr(app, "assessment", None), "warnings", []) or []),
    }


@require_GET
@secretariat_required
def queue(request):
    """The queue: applications by batch and state, each with its clock."""
    batches = list(Batch.objects.select_related("call").order_by("cut_off"))
    batch = next((b for b in batches if str(b.pk) == request.GET.get("batch", "")), None)
    state = request.GET.get("state", "")
    if state not in ApplicationState.values:
        state = ""
    rows = [_row(a) for a in intake.queue(batch=batch, state=state)]
    return render(
        request,
        "subsidy/intake/queue.html",
        {
            "rows": rows,
            "batches": [(b, intake.batch_label(b)) for b in batches],
            "batch": batch,
            "states": ApplicationState.choices,
            "state": state,
        },
    )


def _recommend_initial(app) -> dict:
    rec = intake.recommendation(app)
    months = [(m.month, rec.get("schedule", {}).get(m.month.isoformat(), m.nodes)) for m in app.requested_months.all()]
    rate = Decimal(rec.get("rate", "0.70")) * 100
    return {
        "months": months,
        "price": rec.get("price", str(_list_price(app))),
        "rate": f"{rate:.0f}",
        **{k: rec.get(k, "") for k in ("exceptional_reason_en", "exceptional_reason_zh", "conditions_en")},
        **{k: rec.get(k, "") for k in ("conditions_zh", "reasons_en", "reasons_zh")},
        "exceptional": rec.get("exceptional", False),
    }


def _list_price(app) -> Decimal:
    """The class's list price in force (the price book; seed 002 ITIB229: HK$320,000 per node
    per month when none is recorded)."""
    version = app.service_class.prices.order_by("-effective_from").first()
    return version.list_price if version else Decimal("320000.00")


@require_GET
@secretariat_required
def application(request, public_id):
    try:
        app = intake.get(public_id)
    except DomainError:
        return render(
            request, "eservices/staff/forbidden.html", {"message": _("There is no such application.")}, status=404
        )
    zh = _zh()
    assessment = getattr(app, "assessment", None)
    return render(
        request,
        "subsidy/intake/application.html",
        {
            **_row(app),
            "basis": (assessment.eligibility_basis_zh if zh else assessment.eligibility_basis_en) if assessment else "",
            "warnings": [w["zh"] if zh else w["en"] for w in (assessment.warnings if assessment else [])],
            "recheck_due": any(w.get("code") == "conditions_recheck_due" for w in getattr(assessment, "warnings", [])),
            "assessment": assessment,
            "review": (assessment.technical_review_zh if zh else assessment.technical_review_en) if assessment else "",
            "months": list(app.requested_months.all()),
            "items": list(app.cost_items.all()),
            "batch_label": intake.batch_label(app.batch) if app.batch_id else "",
            "initial": _recommend_initial(app),
            "recommended": intake.recommendation(app),
            "error": request.session.pop("subsidy_error", ""),
        },
    )


class FormRefused(Exception):
    """The recommendation form refused its input; ``message`` is in the page's language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _recommended_from(post, app) -> intake.Recommended:
    """The POSTed recommendation through :class:`~tungban.subsidy.forms.RecommendationForm`
    (``NaN``, ``Infinity``, exponents, negatives or empty numbers refused with a message).

    :raises FormRefused: the form's first problem."""
    form = RecommendationForm(post, months=[m.month for m in app.requested_months.all()])
    if not form.is_valid():
        raise FormRefused(form.problem())
    d = form.cleaned_data
    return intake.Recommended(
        schedule=form.schedule(),
        price=d["price"],
        rate=d["rate"] / 100,
        exceptional=d["exceptional"],
        exceptional_reason_en=d["exceptional_reason_en"],
        exceptional_reason_zh=d["exceptional_reason_zh"],
        conditions_en=d["conditions_en"],
        conditions_zh=d["conditions_zh"],
        reasons_en=d["reasons_en"],
        reasons_zh=d["reasons_zh"],
    )


ACTIONS = {
    "complete": (lambda request, app: intake.mark_complete(app, request.user), _("Marked complete: the clock runs.")),
    "clarify": (
        lambda request, app: intake.request_clarification(
            app, request.user, request.POST.get("text_en", ""), request.POST.get("text_zh", "")
        ),
        _("Clarification requested from the applicant."),
    ),
    "review": (
        lambda request, app: intake.record_review(
            app, request.user, request.POST.get("text_en", ""), request.POST.get("text_zh", "")
        ),
        _("Technical review recorded."),
    ),
    "recommend": (
        lambda request, app: intake.recommend(app, request.user, _recommended_from(request.POST, app)),
        _("Recommendation recorded."),
    ),
    "agenda": (lambda request, app: intake.put_on_agenda(app, request.user), _("Put on the committee's agenda.")),
    "conditions": (
        lambda request, app: intake.confirm_conditions(app, request.user),
        _("The enterprise's conditions are recorded as checked again."),
    ),
}


@require_POST
@secretariat_required
def act(request, public_id, action):
    """One of :data:`ACTIONS` on the application; back to its page with the outcome."""
    if action not in ACTIONS:
        return render(request, "eservices/staff/forbidden.html", {"message": _("There is no such action.")}, status=404)
    try:
        app = intake.get(public_id)
        run, done = ACTIONS[action]
        run(request, app)
    except DomainError as exc:
        request.session["subsidy_error"] = str(exc.message)
    except FormRefused as exc:
        request.session["subsidy_error"] = exc.message
    else:
        messages.success(request, str(done))
    return redirect("subsidy_staff:application", public_id=public_id)
