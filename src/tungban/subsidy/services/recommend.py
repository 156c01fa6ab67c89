"""The award recommendation of a batch (issue 20 part C; anchor study §7.4): which of the
batch's recommended applications fit the compute money of each financial year and the
centre's capacity month by month, and from which month — *a recommendation for the
secretariat and the committee, never a decision* (seed 000 §13: the committee decides the
amount, duration and conditions).

Inputs, all read here and handed to the pure :mod:`tungban.subsidy.optimiser`:

* the applications of the batch that the secretariat has recommended (``recommended`` or
  ``on_agenda``), each with the secretariat's terms (:func:`.intake.recommendation`: schedule,
  negotiated price, rate); one without terms is left out of the run and listed;
* each one's score, 0–10: the committee's weighted score when its agenda item has been scored
  (:func:`tungban.committees.services.weighted_score`, criteria (a)–(d), seed 000 §13), else
  the secretariat's ``score`` in its recommendation, else none (counted as 0: a ``min_score``
  above 0 leaves the unscored out);
* the start window: the schedule may slide within the months the application asked for (the
  subsidy engine refuses a schedule outside them: :func:`.awards.check_terms`);
* the nodes free under the 90 % cap per class of service and month
  (:func:`.capacity.remaining`, seed 000 §10) and the money available per financial year
  (:func:`.funds.available`, seed 000 §16).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from tungban.committees import services as committees
from tungban.committees.models import AgendaItem

from ..constants import ApplicationState
from ..models import Application, Batch
from ..optimiser import Candidate, Recommendation, add_months, fiscal_year, recommend
from . import awards, capacity, funds, intake

#: The states of an application the secretariat has recommended to the committee.
RECOMMENDED_STATES = (ApplicationState.RECOMMENDED, ApplicationState.ON_AGENDA)


@dataclass(frozen=True)
class BatchRecommendation:
    """:func:`for_batch`'s answer with what the page shows beside it: ``applications`` (ref →
    Application), ``scores`` (ref → score or None, and ``scored_by``: ``committee``,
    ``secretariat`` or ``""``), ``without_terms`` (applications recommended without terms, not
    optimised)."""

    recommendation: Recommendation
    applications: dict[str, Application]
    scores: dict[str, Decimal | None]
    scored_by: dict[str, str]
    without_terms: list[Application]


def _committee_score(app: Application) -> Decimal | None:
    """The committee's weighted score (0–10) of the application's latest agenda item, once every
    criterion has been scored (seed 000 §13)."""
    item = AgendaItem.objects.filter(kind="subsidy.application", subject_id=str(app.public_id)).order_by("pk").last()
    return committees.weighted_score(item) if item is not None else None


def _score(app: Application, terms: dict) -> tuple[Decimal | None, str]:
    score = _committee_score(app)
    if score is not None:
        return Decimal(score), "committee"
    if terms.get("score") not in (None, ""):
        return Decimal(str(terms["score"])), "secretariat"
    return None, ""


def candidate(app: Application, terms: dict, score: Decimal | None) -> Candidate:
    """The optimiser's view of one application: its recommended schedule's length and largest
    monthly nodes, the subsidy of each month (nodes × price × rate, HK$), a start window within
    the months requested. :raises DomainError: the terms are unreadable (``schedule_invalid``…)."""
    t = awards.terms_from_dict(terms)
    months = sorted(t.schedule)
    if not months:
        raise ValueError(f"{app.reference}: the recommended schedule is empty")
    length = (months[-1].year - months[0].year) * 12 + months[-1].month - months[0].month + 1
    span = [add_months(months[0], k) for k in range(length)]
    requested = sorted(app.requested_months.values_list("month", flat=True)) or months
    first, last = min(requested[0], months[0]), max(requested[-1], months[-1])
    latest = add_months(last, -(length - 1))
    return Candidate(
        ref=app.reference,
        score=float(score or 0),
        nodes=max(t.schedule.values()),
        months=length,
        earliest_start=first,
        latest_start=max(latest, first),
        cost_by_month=[(t.schedule.get(m, 0) * t.price * t.rate).quantize(Decimal("0.01")) for m in span],
        pool=app.service_class.code,
    )


def for_batch(batch: Batch, *, min_score: float = 0, time_limit_s: float = 10) -> Recommendation:
    """The recommendation for ``batch`` (this module's docstring says from what). ``min_score``:
    applications scoring below it are never chosen; ``time_limit_s``: the solver's limit.
    Reads only: nothing is stored, nothing decided. Raises the optimiser's ``InvalidInput`` or
    the subsidy engine's ``DomainError`` for unreadable terms."""
    return explain(batch, min_score=min_score, time_limit_s=time_limit_s).recommendation


def explain(batch: Batch, *, min_score: float = 0, time_limit_s: float = 10) -> BatchRecommendation:
    """:func:`for_batch` with the applications, their scores and those without terms, for the page."""
    apps = list(
        Application.objects.filter(batch=batch, state__in=RECOMMENDED_STATES)
        .select_related("service_class")
        .order_by("submitted_at", "reference")
    )
    candidates, scores, scored_by, without = [], {}, {}, []
    by_ref = {}
    for app in apps:
        terms = intake.recommendation(app)
        if not terms.get("schedule"):
            without.append(app)
            continue
        score, source = _score(app, terms)
        candidates.append(candidate(app, terms, score))
        by_ref[app.reference] = app
        scores[app.reference], scored_by[app.reference] = score, source
    plan: dict[str, dict[dt.date, int]] = {}
    years: set[str] = set()
    for c in candidates:
        span = [add_months(c.earliest_start, k) for k in range(_months(c.earliest_start, c.latest_start) + c.months)]
        years.update(fiscal_year(m) for m in span)
        cls = by_ref[c.ref].service_class
        free = capacity.remaining(cls, span)
        plan.setdefault(c.pool, {}).update({m: row["free_subsidised"] for m, row in free.items()})
    budget = {fy: max(Decimal(0), funds.available(fy)) for fy in sorted(years)}
    result = recommend(candidates, capacity=plan, budget_by_fy=budget, min_score=min_score, time_limit_s=time_limit_s)
    return BatchRecommendation(result, by_ref, scores, scored_by, without)


def _months(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month
