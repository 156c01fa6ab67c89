"""The grantee's progress reports, under ``/subsidy/grants/<award>/reports/`` (issue 20, part
F; seed 000 §21: grantees regularly submit progress reports for Cyberport and the committee to
see). The person acts for the grantee under a CorpID mandate for the scheme's e-service
(:data:`SERVICE`, action ``apply``); others are refused with the mandate's reason.
"""

from __future__ import annotations

import functools

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from tungban.core.errors import DomainError
from tungban.corpid import web as corpid_web
from tungban.corpid.services import authority

from .forms_reports import ProgressReportForm
from .models import Award
from .services import progress

#: The scheme's e-service (its catalogue slug; part D's ``ai-subsidy-scheme.toml``).
SERVICE = "ai-subsidy-scheme"


def grantee_page(view):
    """A page of one award for a person acting for its grantee: login first, then the CorpID
    mandate for :data:`SERVICE` and ``apply`` on the grantee's BRN (403 page with the reason)."""

    @functools.wraps(view)
    def wrapped(request, award, *args, **kwargs):
        resident = corpid_web.resident_of(request)
        if resident is None:
            url = corpid_web.login_url(request.get_full_path())
            if url is None:
                raise Http404
            return HttpResponseRedirect(url)
        item = Award.objects.select_related("application").filter(public_id=award).first()
        if item is None:
            raise Http404
        try:
            mandate = authority(resident, item.application.br_number, SERVICE, "apply")
        except DomainError as refused:
            return render(
                request,
                "subsidy/progress/refused.html",
                {"message": refused.message},
                status=refused.status,
            )
        request.mandate = mandate
        return view(request, item, *args, **kwargs)

    return wrapped


@grantee_page
@require_GET
def report_list(request, award):
    return render(
        request,
        "subsidy/progress/list.html",
        {"award": award, "reports": progress.schedule(award)},
    )


@grantee_page
@require_http_methods(["GET", "POST"])
def report_form(request, award, sequence):
    item = award.progress_reports.filter(sequence=sequence).first()
    if item is None:
        raise Http404
    form = ProgressReportForm(request.POST or None, initial=None if request.method == "POST" else _initial(item))
    error = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            progress.submit(
                item,
                progress=data["progress"],
                outputs=data["outputs"],
                counts={k: data[k] for k in progress.COUNTS},
                by=str(request.mandate.public_id),
            )
        except DomainError as exc:
            error = exc
            if exc.field:
                form.add_error(exc.field, exc.message)
        else:
            messages.success(request, _("Your progress report was submitted to Cyberport."))
            return redirect("subsidy:progress-reports", award=award.public_id)
    open_ = item.state in ("due", "returned")
    return render(
        request,
        "subsidy/progress/form.html",
        {"award": award, "r": item, "form": form if open_ else None, "error": error},
        status=(error.status if error else (422 if form.is_bound and not form.is_valid() else 200)),
    )


def _initial(item) -> dict:
    return {k: getattr(item, k) for k in ("progress", "outputs", *progress.COUNTS)}
