"""The AI Subsidy Scheme's public pages (issue 20, part D), under ``/subsidy/``: the scheme
page (who may apply, batches and cut-offs, how to apply) and "my organisation's applications"
for a person logged in to the e-services portal."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from tungban.corpid import services as corpid
from tungban.eservices import login
from tungban.eservices import services as eservices

from .constants import ApplicantCategory
from .models import Batch
from .services import intake


def _zh() -> bool:
    return (get_language() or "").startswith("zh")


@require_GET
def scheme(request):
    """The scheme page: categories (seed 000 §11), rates (§13), batches and cut-offs (§15)."""
    upcoming = list(Batch.objects.filter(cut_off__gte=timezone.now()).select_related("call").order_by("cut_off")[:4])
    return render(
        request,
        "subsidy/intake/scheme.html",
        {
            "categories": ApplicantCategory.choices,
            "batches": [(b, b.call.title_zh if _zh() else b.call.title_en) for b in upcoming],
            "slug": intake.SLUG,
        },
    )


@require_GET
def mine(request):
    """The applications of the organisations the logged-in person acts for (a CorpID mandate
    of theirs covering the e-service, checked now)."""
    resident = login.resident_of(request)
    if resident is None:
        return redirect(login.login_url(request.get_full_path()))
    brns = {a.org_br_number for a in eservices.applications_of(resident) if a.org_br_number}
    company = (request.session.get(login.SESSION_KEY) or {}).get("company") or {}
    if company.get("br_number"):
        brns.add(company["br_number"])
    allowed = set()
    for brn in brns:
        try:
            corpid.authority(resident, brn, intake.SLUG, "view")
        except Exception:  # no mandate (any more): not shown
            continue
        allowed.add(brn)
    apps = intake.of_organisations(allowed)
    zh = _zh()
    rows = [
        (
            a,
            (a.organisation_name_zh or a.organisation_name_en) if zh else a.organisation_name_en,
            (a.project_title_zh or a.project_title_en) if zh else a.project_title_en,
            _reason(a, zh),
        )
        for a in apps
    ]
    return render(request, "subsidy/intake/mine.html", {"rows": rows})


def _reason(app, zh: bool) -> str:
    """An ineligible application's reasons, in the page's language."""
    assessment = getattr(app, "assessment", None)
    if app.state != "ineligible" or assessment is None:
        return ""
    return assessment.eligibility_basis_zh if zh else assessment.eligibility_basis_en
