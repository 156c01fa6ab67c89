"""The award recommendation page of a batch (issue 20 part C), under
``/staff/subsidy/recommend/<batch>/``: for Cyberport's secretariat (officers of ``CYBERPORT``)
and the committee's members. It shows what :func:`.services.recommend.explain` recommends — a
recommendation, never a decision (anchor study §7.4; seed 000 §13) — and why each application
left out is left out, in the reader's language."""

from __future__ import annotations

import functools

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from tungban.committees import services as committees
from tungban.core.errors import DomainError

from .models import Batch
from .optimiser import InvalidInput, Reason
from .services import intake, recommend


def _committee_member(user) -> bool:
    return bool(committees.memberships(user))


def readers_only(view):
    """The secretariat (staff, second factor verified, officers of ``CYBERPORT``) and committee
    members; other staff get a 403 page, others the staff login."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        try:
            intake.require_secretariat(user)
        except DomainError as exc:
            if not _committee_member(user):
                return render(request, "eservices/staff/forbidden.html", {"message": exc.message}, status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _committee_score_hidden(user, app) -> bool:
    """Whether the committee's score of ``app`` is hidden from ``user``: a member of the
    committee that scores it sees it only as the committee's pages show scores
    (:func:`tungban.committees.services.sees_scores`: not while recused, and only once they
    scored it themselves or it is decided; seed 000 §12–§13). The secretariat, not a member,
    sees it."""
    items = committees.items_of("subsidy.application", str(app.public_id))
    item = items[-1] if items else None
    member = committees.member_of(item.meeting.committee_id, user) if item is not None else None
    return member is not None and not committees.sees_scores(item, member)


def _month(day) -> str:
    return date_format(day, "YEAR_MONTH_FORMAT")


def explain(left, min_score) -> str:
    """One sentence, in the active language, on why an application is not recommended."""
    if left.reason == Reason.SCORE:
        return _("Its score is below the minimum score (%(min)s).") % {"min": min_score}
    if left.reason == Reason.START_WINDOW:
        return _("It would fit if it started in %(month)s, outside the months it asked for.") % {
            "month": _month(left.earliest_fit)
        }
    if left.reason == Reason.CAPACITY:
        text = _("Not enough nodes free under the 90%% cap in %(months)s.") % {
            "months": ", ".join(_month(m) for m in left.months)
        }
    else:
        text = _("Not enough money available in financial year %(years)s.") % {"years": ", ".join(left.fiscal_years)}
    if left.alone:
        text += " " + _("It does not fit even on its own.")
    return text


@require_GET
@readers_only
def batch(request, batch: int):
    """The batch's recommendation (``?min_score=`` sets the minimum score, 0–10, default 0)."""
    the_batch = get_object_or_404(Batch.objects.select_related("call"), pk=batch)
    error = ""
    try:
        min_score = float(request.GET.get("min_score") or 0)
        if not 0 <= min_score <= 10:
            raise ValueError
    except ValueError:
        min_score, error = 0, _("The minimum score must be a number from 0 to 10.")
    try:
        view = recommend.explain(the_batch, min_score=min_score)
    except DomainError as exc:  # its message is in the reader's language
        view, error = None, _("The recommendation cannot be made: %(reason)s") % {"reason": exc.message}
    except (InvalidInput, ValueError):  # the optimiser's and the terms' own text is English only
        view, error = (
            None,
            _("The recommendation cannot be made: the terms recommended for an application cannot be read."),
        )
    zh = request.LANGUAGE_CODE.startswith("zh") if hasattr(request, "LANGUAGE_CODE") else False
    chosen, left_out = [], []
    if view:
        rec = view.recommendation

        def row(ref):
            app = view.applications[ref]
            return {
                "app": app,
                "organisation": (app.organisation_name_zh or app.organisation_name_en)
                if zh
                else app.organisation_name_en,
                "title": (app.project_title_zh or app.project_title_en) if zh else app.project_title_en,
                "score": view.scores[ref],
                "scored_by": view.scored_by[ref],
                "hidden": view.scored_by[ref] == "committee" and _committee_score_hidden(request.user, app),
            }

        chosen = [
            {
                **row(c.ref),
                "choice": c,
                "start": _month(c.start),
                "end": _month(c.end),
                "costs": sorted(c.cost_by_fy.items()),
            }
            for c in rec.chosen
        ]
        left_out = [{**row(n.ref), "reason": n.reason.value, "why": explain(n, min_score)} for n in rec.not_chosen]
    return render(
        request,
        "subsidy/recommend/batch.html",
        {
            "batch": the_batch,
            "label": intake.batch_label(the_batch),
            "view": view,
            "chosen": chosen,
            "left_out": left_out,
            "min_score": min_score,
            "error": error,
        },
    )
