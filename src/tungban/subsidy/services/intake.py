"""Intake of the AI Subsidy Scheme (issue 20, part D): from the e-services application to the
scheme's application, its batch and eligibility, and the secretariat's work on it up to the
committee's agenda.

- :func:`take_in`: on the e-services application's submission (signal
  :data:`tungban.eservices.signals.application_changed`, action ``submitted``), the
  :class:`~tungban.subsidy.models.Application` with its requested months and cost items, its
  batch (:func:`batch_for`) and the eligibility check (seed 000 §11).
- The secretariat (officers of department ``CYBERPORT``): :func:`mark_complete` (starts the
  2-month clock, seed 002 ITIB239), :func:`request_clarification` (the e-services request for
  information; the applicant's answer brings it back to ``submitted``), :func:`record_review`,
  :func:`recommend` (the terms A's ``AwardTermsForm`` starts from) and :func:`put_on_agenda`
  (the batch's committee meeting, :mod:`tungban.committees`).
- :func:`clock`: the 2-month clock; :func:`recommendation`: the recommended terms for the
  subsidy engine and the award optimiser.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from tungban.committees import services as committees
from tungban.core import jobs
from tungban.eservices import services as eservices
from tungban.eservices.services.forms import FieldError

from .. import errors
from ..constants import ApplicantCategory, ApplicationState
from ..models import Application, Batch, Call, RequestedMonth, ServiceClass
from ..models_intake import Assessment, CostItem
from . import eligibility

log = logging.getLogger(__name__)

#: The e-service's slug in the catalogue (``eservices/catalogue/services/cyberport/``).
SLUG = "ai-subsidy-scheme"
#: The e-services department whose officers are the scheme's secretariat.
SECRETARIAT = "CYBERPORT"
HK = zoneinfo.ZoneInfo("Asia/Hong_Kong")

#: The demo call (seed 000 §15: open all year, in batches) and its quarterly batches.
DEMO_CALL = {
    "code": "aiss-2024-2027",
    "title_en": "AI Subsidy Scheme 2024–2027",
    "title_zh": "人工智能資助計劃2024–2027",
    "opens_on": dt.date(2024, 7, 1),
    "closes_on": dt.date(2027, 6, 30),
}
#: The classes of service the demo offers (anchor study: the centre's nodes are 8 × H800, about
#: 8 PFLOPS a node). Codes are the e-service form's ``service_class`` options.
DEMO_CLASSES = [
    {"code": "h800", "name_en": "GPU server node, 8 × H800", "name_zh": "GPU伺服器節點（8 × H800）",
     "gpus_per_node": 8, "pflops_per_node": Decimal("8.00")},
]  # fmt: skip
#: The clock's length (seed 002 ITIB239: "about 2 months" from complete information) and the
#: share of it after which the application is flagged (anchor study §7.2: alert at 80%).
CLOCK_MONTHS = 2
CLOCK_ALERT = Decimal("0.80")


# --- the scheme's calendar ---
def _quarter_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    ends, year, month = [], first.year, first.month
    while True:
        q_month = ((month - 1) // 3 + 1) * 3
        end = dt.date(year, q_month, calendar.monthrange(year, q_month)[1])
        if end > last:
            return ends
        ends.append(end)
        year, month = (year + 1, 1) if q_month == 12 else (year, q_month + 1)


def load_demo_scheme() -> Call:
    """The demo call "AI Subsidy Scheme 2024–2027" with a batch a quarter (cut-off the quarter's
    last day, 23:59:59 Hong Kong time; the committee meets on the 15th of the month after the
    next) and the demo classes of service. Loading again changes nothing."""
    with transaction.atomic():
        for spec in DEMO_CLASSES:
            ServiceClass.objects.get_or_create(code=spec["code"], defaults=spec)
        call, _ = Call.objects.get_or_create(code=DEMO_CALL["code"], defaults=DEMO_CALL)
        for number, end in enumerate(_quarter_ends(call.opens_on, call.closes_on), start=1):
            cut_off = dt.datetime.combine(end, dt.time(23, 59, 59), tzinfo=HK)
            meeting = add_months(end.replace(day=1), 2).replace(day=15)
            Batch.objects.get_or_create(call=call, number=number, defaults={"cut_off": cut_off, "meeting_on": meeting})
    return call


def batch_for(submitted_at: dt.datetime) -> Batch | None:
    """The batch an application submitted at ``submitted_at`` goes to: the first whose cut-off
    is at or after it (seed 000 §15); ``None`` after the last cut-off."""
    return Batch.objects.filter(cut_off__gte=submitted_at).order_by("cut_off").first()


def batch_label(batch: Batch) -> str:
    """The batch's label, as committee meetings name it: ``"<call code>#<number>"``
    (e.g. ``"aiss-2024-2027#11"``)."""
    return f"{batch.call.code}#{batch.number}"


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, the day clipped to the month's last."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --- the form's own checks (registered with the e-services in SubsidyConfig.ready) ---
def capacity_of(service_class: str) -> int:
    """Nodes of ``service_class`` the centre has in a month: the setting
    ``TUNGBAN_SUBSIDY_CLASS_CAPACITY`` (``{code: nodes}``; default 375 H800 nodes, the anchor
    study's 3,000 PFLOPS at 8 PFLOPS a node) until the subsidy engine's capacity plan
    (``subsidy.services.capacity``) lands."""
    table = getattr(settings, "TUNGBAN_SUBSIDY_CLASS_CAPACITY", {"h800": 375})
    return int(table.get(service_class, 0))


def form_check(answers: dict, page: str | None) -> list[FieldError]:
    """The e-service form's checks a schema cannot make: each month once, and no month with
    more nodes than the class of service has (a request beyond capacity can never be met)."""
    if page not in (None, "compute"):
        return []
    problems, seen = [], set()
    limit = capacity_of(answers.get("service_class", ""))
    for i, row in enumerate(answers.get("compute_months") or []):
        month, nodes = row.get("month"), row.get("nodes")
        if month in seen:
            problems.append(FieldError(f"compute_months.{i}.month", f"{month} is listed twice.", f"{month}重複填寫。"))
        seen.add(month)
        if isinstance(nodes, int) and nodes > limit:
            problems.append(
                FieldError(
                    f"compute_months.{i}.nodes",
                    f"At most {limit} nodes of this class of service in a month: the centre has no more.",
                    f"此服務類別每月最多{limit}個節點：超算中心沒有更多。",
                )
            )
    return problems


# --- taking an application in ---
def _month(text: str) -> dt.date:
    year, month = text.split("-")
    return dt.date(int(year), int(month), 1)


def _amount(value) -> Decimal:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return Decimal("0.00")


def take_in(e_app) -> Application:
    """The scheme's application for the submitted e-services application ``e_app`` (its
    ``reference``), created once (idempotent: a second call returns the first) in one
    transaction with its requested months, cost items and assessment: the batch is the first
    whose cut-off is at or after the submission (seed 000 §15); the eligibility check (seed 000
    §11; seed 002 ITIB229) leaves it ``submitted`` or ``ineligible`` with the reasons in both
    languages; a cost item declared with other government funding is a warning (seed 000 fn 6,
    seed 002 ITIB143: the subsidy engine refuses it at the decision)."""
    found = Application.objects.filter(reference=e_app.reference).first()
    if found is not None:
        return found
    answers = e_app.get_answers()
    category = answers.get("category", "")
    outcome = eligibility.check(category, e_app.org_br_number, answers)
    service_class = ServiceClass.objects.get(code=answers.get("service_class"))
    submitted_at = e_app.submitted_at or timezone.now()
    warnings = [
        {
            "code": "double_funding",
            "en": f"Cost item {i + 1} ({item.get('description', '')}) declares other government funding"
            f"{': ' + item['other_funding_source'] if item.get('other_funding_source') else ''}: "
            "the subsidy cannot pay for it (seed 000 fn 6).",
            "zh": f"開支項目{i + 1}（{item.get('description', '')}）已申報獲其他政府資助：本資助不可支付該項目。",
        }
        for i, item in enumerate(answers.get("cost_items") or [])
        if item.get("other_funding")
    ]
    with transaction.atomic():
        app, created = Application.objects.get_or_create(
            reference=e_app.reference,
            defaults={
                "batch": batch_for(submitted_at),
                "br_number": e_app.org_br_number,
                "organisation_name_en": e_app.org_name_en or e_app.org_br_number,
                "organisation_name_zh": e_app.org_name_zh,
                "category": category
                if category in ApplicantCategory.values
                else ApplicantCategory.STRATEGIC_ENTERPRISE,
                "non_profit": bool(answers.get("non_profit")),
                "project_title_en": answers.get("project_title_en", "")[:300],
                "project_title_zh": answers.get("project_title_zh", "")[:150],
                "service_class": service_class,
                "state": ApplicationState.WITHDRAWN  # withdrawn before a failed intake was retried
                if e_app.state == "withdrawn"
                else ApplicationState.SUBMITTED
                if outcome.eligible
                else ApplicationState.INELIGIBLE,
                "submitted_at": submitted_at,
            },
        )
        if not created:
            return app
        RequestedMonth.objects.bulk_create(
            RequestedMonth(application=app, month=_month(row["month"]), nodes=row["nodes"])
            for row in answers.get("compute_months") or []
        )
        CostItem.objects.bulk_create(
            CostItem(
                application=app,
                position=i + 1,
                description=item.get("description", "")[:300],
                amount=_amount(item.get("amount")),
                other_funding=bool(item.get("other_funding")),
                other_funding_source=item.get("other_funding_source", "")[:300],
            )
            for i, item in enumerate(answers.get("cost_items") or [])
        )
        strategic = category == ApplicantCategory.STRATEGIC_ENTERPRISE
        Assessment.objects.create(
            application=app,
            eligible=outcome.eligible,
            eligibility_basis_en=outcome.reason_en,
            eligibility_basis_zh=outcome.reason_zh,
            warnings=warnings,
            justification={
                k: answers.get(k, "") for k in ("model_size", "dataset", "precision", "workload", "justification")
            },
            hk_base=answers.get("hk_base") if strategic else None,
            professionals_employed=answers.get("professionals_employed") if strategic else None,
            conditions_checked_at=timezone.now() if strategic else None,
        )
    return app


@task(takes_context=True)
def take_in_task(context, reference: str, attempt: int = 1) -> str:
    """:func:`take_in` for an e-services application whose intake failed right after its
    submission; retried with ``core.jobs`` backoff."""
    try:
        return take_in(eservices.get_application(reference)).state
    except Exception:
        if jobs.can_retry(attempt):
            jobs.enqueue(take_in_task, reference, attempt + 1, delay=jobs.retry_delay(attempt))
        raise


def on_application_changed(sender, application, event, **kwargs) -> None:
    """The e-services signal (after the commit): a submission of the scheme's e-service is
    taken in (or queued for another try if that fails); the applicant's answer to a
    clarification brings the application back to ``submitted``."""
    if application.service.slug != SLUG:
        return
    if event.action == "submitted":
        try:
            take_in(application)
        except Exception:
            log.exception("intake of %s failed; queued for another try", application.reference)
            jobs.enqueue(take_in_task, application.reference)
    elif event.action == "information_provided":
        Application.objects.filter(
            reference=application.reference, state=ApplicationState.CLARIFICATION_REQUESTED
        ).update(state=ApplicationState.SUBMITTED)
    elif event.action == "withdrawn":
        reason = getattr(event, "reason_en", "") or ""
        try:
            withdraw(application.reference, reason=reason)
        except Exception:
            log.exception("withdrawal of %s failed; queued for another try", application.reference)
            jobs.enqueue(withdraw_task, application.reference, reason)


# tcommittee: the applicant's withdrawal reaches the scheme
#: States an applicant may still withdraw from (before the committee's approval or rejection).
WITHDRAWABLE = (
    ApplicationState.SUBMITTED,
    ApplicationState.CLARIFICATION_REQUESTED,
    ApplicationState.COMPLETE,
    ApplicationState.RECOMMENDED,
    ApplicationState.ON_AGENDA,
    ApplicationState.DEFERRED,
)


@task(takes_context=True)
def withdraw_task(context, reference: str, reason: str = "", attempt: int = 1) -> str:
    """:func:`withdraw` for an application whose withdrawal failed right after the applicant's
    act; retried with ``core.jobs`` backoff."""
    try:
        found = withdraw(reference, reason=reason)
    except Exception:
        if jobs.can_retry(attempt):
            jobs.enqueue(withdraw_task, reference, reason, attempt + 1, delay=jobs.retry_delay(attempt))
        raise
    return found.state if found else ""


def withdraw(reference: str, *, reason: str = "") -> Application | None:
    """The applicant withdrew the e-services application ``reference`` (applications are open
    all year and taken in batches, seed 000 §15): the scheme's application becomes
    ``withdrawn`` and every pending agenda item of it leaves its meeting's agenda through
    :func:`tungban.committees.services.withdraw_item` (kept on record with the reason, so the
    minutes show it). Nothing of it is held in capacity or budget: only awards hold nodes
    (:mod:`.capacity`, seed 000 §10) and commitments (:mod:`.funds`), and an application that
    can still be withdrawn has no award. Idempotent; ``None`` when the scheme never took the
    application in; an application already decided is left as it is (logged).

    :param reason: the applicant's reason, in the language they wrote it (recorded with the item).
    """
    with transaction.atomic():
        app = Application.objects.select_for_update().filter(reference=reference).first()
        if app is None or app.state == ApplicationState.WITHDRAWN:
            return app
        if app.state not in WITHDRAWABLE:
            log.warning("withdrawal of %s in state %s left alone", reference, app.state)
            return app
        app.state = ApplicationState.WITHDRAWN
        app.save(update_fields=["state"])
        why = f" ({reason.strip()[:300]})" if reason.strip() else ""
        for item in committees.open_items("subsidy.application", str(app.public_id)):
            committees.withdraw_item(
                item,
                reasons_en=f"The applicant withdrew the application.{why}",
                reasons_zh=f"申請人已撤回申請。{why}",
                actor="subsidy",
            )
    return app


# --- the secretariat ---
def require_secretariat(user):
    """``user``'s membership of the secretariat (officers of department ``CYBERPORT``).

    :raises DomainError: ``not_secretariat``."""
    try:
        return eservices.require_officer(user, SECRETARIAT)
    except Exception as exc:
        if getattr(exc, "code", "") in ("not_department_officer", "not_department_approver"):
            raise errors.NotSecretariat() from None
        raise


def get(public_id, *, lock: bool = False) -> Application:
    """The application with this public id. :raises DomainError: ``subsidy_application_unknown``."""
    qs = Application.objects.select_related("batch", "service_class")
    if lock:  # the application's row only (PostgreSQL refuses FOR UPDATE of an outer join's nullable side)
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(public_id=public_id)
    except (Application.DoesNotExist, ValueError):
        raise errors.SubsidyApplicationUnknown() from None


def _state(app: Application, *allowed: str) -> None:
    if app.state not in allowed:
        raise errors.IntakeStateRefused(state=ApplicationState(app.state).label)


def _both(en: str, zh: str) -> tuple[str, str]:
    en, zh = (en or "").strip(), (zh or "").strip()
    if not en or not zh:
        raise errors.TextRequiredBoth()
    return en, zh


def _officer_id(user) -> str:
    return str(getattr(user, "username", "") or user.pk)


def mark_complete(app: Application, officer, *, at: dt.datetime | None = None) -> Application:
    """The secretariat has complete information: ``submitted → complete``, ``complete_at``
    set (the 2-month clock starts: seed 002 ITIB239); the e-services application is in review
    (assigned to ``officer``).

    :raises DomainError: ``not_secretariat``, ``subsidy_state_refused``."""
    require_secretariat(officer)
    return complete(app, officer, at=at)


def complete(app: Application, assignee, *, at: dt.datetime | None = None, via: str = "") -> Application:
    """:func:`mark_complete` once the caller has checked who acts (an officer of the secretariat,
    or its department system: ``assignee`` is the system's service account and ``via`` its
    client id). One transaction: a refusal stores nothing.

    :raises DomainError: ``subsidy_state_refused`` (not ``submitted``)."""
    with transaction.atomic():
        app = get(app.public_id, lock=True)
        _state(app, ApplicationState.SUBMITTED)
        e_app = eservices.get_application(app.reference)
        if e_app.state in ("submitted", "paid"):
            eservices.assign(e_app, assignee, via=via)
        app.state = ApplicationState.COMPLETE
        app.complete_at = at or timezone.now()
        app.save(update_fields=["state", "complete_at"])
    return app


def request_clarification(app: Application, officer, message_en: str, message_zh: str) -> Application:
    """Ask the applicant for information (the e-services request for information: the applicant
    answers on the application's page): ``submitted → clarification_requested``; the answer
    brings it back to ``submitted`` (:func:`on_application_changed`). The clock has not started
    (it runs from complete information, seed 002 ITIB239).

    :raises DomainError: ``not_secretariat``, ``subsidy_state_refused``, ``subsidy_text_required``."""
    require_secretariat(officer)
    en, zh = _both(message_en, message_zh)
    with transaction.atomic():
        app = get(app.public_id, lock=True)
        _state(app, ApplicationState.SUBMITTED)
        eservices.request_information(eservices.get_application(app.reference), officer, en, zh)
        app.state = ApplicationState.CLARIFICATION_REQUESTED
        app.save(update_fields=["state"])
    return app


def record_review(app: Application, officer, review_en: str, review_zh: str) -> Assessment:
    """The secretariat's technical review (feasibility of the compute request; seed 000 §13),
    in both languages. :raises DomainError: ``not_secretariat``, ``subsidy_not_complete``,
    ``subsidy_text_required``."""
    require_secretariat(officer)
    en, zh = _both(review_en, review_zh)
    with transaction.atomic():
        app = get(app.public_id, lock=True)
        if app.state not in (ApplicationState.COMPLETE, ApplicationState.RECOMMENDED):
            raise errors.NotComplete()
        assessment = app.assessment
        assessment.technical_review_en, assessment.technical_review_zh = en, zh
        assessment.reviewed_at, assessment.reviewed_by = timezone.now(), _officer_id(officer)
        assessment.save(update_fields=["technical_review_en", "technical_review_zh", "reviewed_at", "reviewed_by"])
    return assessment


@dataclass
class Recommended:
    """What the secretariat recommends (seed 000 §13, §14): nodes per month of the application's
    class, the negotiated price per node-month (HK$), the rate (a fraction, e.g. ``0.70``),
    an exceptional rate's reasons, conditions and the reasons for the recommendation."""

    schedule: dict[dt.date, int]
    price: Decimal
    rate: Decimal
    exceptional: bool = False
    exceptional_reason_en: str = ""
    exceptional_reason_zh: str = ""
    conditions_en: str = ""
    conditions_zh: str = ""
    reasons_en: str = ""
    reasons_zh: str = ""


#: Seed 000 §13: normally at most 70% of the price; 90% in exceptional cases, with reasons.
NORMAL_RATE_CEILING = Decimal("0.70")
EXCEPTIONAL_RATE_CEILING = Decimal("0.90")


def _check_recommended(app: Application, r: Recommended) -> None:
    """The recommendation's own sense (the subsidy engine checks funds and capacity at the
    decision): months within the request, at most 12 (seed 002 ITIB153), nodes ≥ 1 and within
    capacity, a finite price within the class's range in the price book (seed 000 §14, seed 002
    ITIB229: never above the list price), a finite rate within seed 000 §13's ceilings, reasons
    in both languages. Each problem is its own translated sentence (no English inside Chinese).

    :raises DomainError: ``subsidy_recommendation_invalid``, ``price_out_of_range``,
        ``subsidy_text_required``."""
    from django.utils.translation import gettext as _

    from . import awards

    def bad(problem):
        raise errors.RecommendationInvalid(problem=problem)

    requested = {m.month: m.nodes for m in app.requested_months.all()}
    if not r.schedule:
        bad(_("no month is recommended"))
    if len(r.schedule) > 12:
        bad(_("more than 12 months (seed 002 ITIB153)"))
    limit = capacity_of(app.service_class.code)
    for month, nodes in r.schedule.items():
        if month not in requested:
            bad(_("%(month)s was not requested") % {"month": f"{month:%Y-%m}"})
        if nodes < 1 or nodes > limit:
            bad(_("%(month)s: between 1 and %(limit)s nodes") % {"month": f"{month:%Y-%m}", "limit": limit})
    price, rate = Decimal(r.price), Decimal(r.rate)
    if not price.is_finite() or price < 0:
        bad(_("the price must be a number of HK$ not below 0"))
    awards.check_price(app.service_class, price, required=False)
    ceiling = EXCEPTIONAL_RATE_CEILING if r.exceptional else NORMAL_RATE_CEILING
    if not rate.is_finite() or rate <= 0 or rate > ceiling:
        bad(_("the rate must be above 0%% and at most %(ceiling)s%%") % {"ceiling": f"{ceiling * 100:.0f}"})
    if r.exceptional and not (r.exceptional_reason_en.strip() and r.exceptional_reason_zh.strip()):
        bad(_("an exceptional rate needs its reasons in both languages"))
    _both(r.reasons_en, r.reasons_zh)


def recommend(app: Application, officer, rec: Recommended) -> Application:
    """Record the secretariat's recommendation to the committee (``complete → recommended``;
    again while ``recommended``): the terms (:func:`recommendation` gives them to the subsidy
    engine's ``AwardTermsForm`` as its initial values) and the reasons.

    :raises DomainError: ``not_secretariat``, ``subsidy_not_complete``,
        ``subsidy_recommendation_invalid``, ``subsidy_text_required``."""
    require_secretariat(officer)
    with transaction.atomic():
        app = get(app.public_id, lock=True)
        if app.state not in (ApplicationState.COMPLETE, ApplicationState.RECOMMENDED, ApplicationState.DEFERRED):
            raise errors.NotComplete()
        _check_recommended(app, rec)
        assessment = app.assessment
        assessment.recommendation = {
            "schedule": {m.isoformat(): n for m, n in sorted(rec.schedule.items())},
            "price": str(rec.price),
            "rate": str(rec.rate),
            "exceptional": rec.exceptional,
            "exceptional_reason_en": rec.exceptional_reason_en.strip(),
            "exceptional_reason_zh": rec.exceptional_reason_zh.strip(),
            "conditions_en": rec.conditions_en.strip(),
            "conditions_zh": rec.conditions_zh.strip(),
            "reasons_en": rec.reasons_en.strip(),
            "reasons_zh": rec.reasons_zh.strip(),
            "service_class": app.service_class.code,
        }
        assessment.recommended_by = _officer_id(officer)
        assessment.save(update_fields=["recommendation", "recommended_by"])
        app.state = ApplicationState.RECOMMENDED
        app.recommended_at = timezone.now()
        app.save(update_fields=["state", "recommended_at"])
    return app


def recommendation(app: Application) -> dict:
    """The secretariat's recommended terms, in the subsidy engine's terms dict
    (``subsidy.services.awards.terms_to_dict``: ``schedule`` ``{"YYYY-MM-01": nodes}``,
    ``price`` and ``rate`` as strings, ``exceptional``, ``exceptional_reason_en/zh``,
    ``conditions_en/zh``) plus ``reasons_en/zh`` and ``service_class``; ``{}`` before any."""
    assessment = Assessment.objects.filter(application=app).first()
    return dict(assessment.recommendation) if assessment else {}


def put_on_agenda(app: Application, officer) -> Application:
    """Put a recommended application on the agenda of its batch's committee meeting:
    ``recommended → on_agenda`` (seed 000 §13, §15). The one call into the committees app is
    :func:`_add_item`.

    :raises DomainError: ``not_secretariat``, ``subsidy_state_refused``, ``subsidy_no_meeting``."""
    require_secretariat(officer)
    with transaction.atomic():
        app = get(app.public_id, lock=True)
        _state(app, ApplicationState.RECOMMENDED)
        item = _add_item(app, officer)
        app.assessment.agenda_item = str(getattr(item, "public_id", "") or getattr(item, "pk", "") or item)
        app.assessment.save(update_fields=["agenda_item"])
        app.state = ApplicationState.ON_AGENDA
        app.save(update_fields=["state"])
    return app


def _add_item(app: Application, officer):
    """``committees.services.add_item(meeting, "subsidy.application", str(app.public_id),
    actor=officer)`` on the meeting of the application's batch
    (``committees.services.meeting_for_batch(label)``; the label is ``"<call code>#<number>"``).
    No meeting planned for the batch is refused (``subsidy_no_meeting``)."""
    label = batch_label(app.batch) if app.batch_id else ""
    meeting = committees.meeting_for_batch(label)
    if meeting is None:
        raise errors.NoMeeting(batch=label or "—")
    return committees.add_item(meeting, "subsidy.application", str(app.public_id), actor=officer)


# --- the clock ---
@dataclass(frozen=True)
class Clock:
    """The secretariat's 2-month clock of one application (seed 002 ITIB239: about 2 months from
    complete information; the seed gives no working days, so calendar months): ``due`` (a
    date), ``days_left`` (negative when late), ``share`` (elapsed ÷ total, 0–1+), ``alert``
    (``share`` ≥ 80%, anchor study §7.2), ``stopped`` (recommended: the clock no longer runs)."""

    started: dt.date
    due: dt.date
    days_left: int
    share: Decimal
    alert: bool
    late: bool
    stopped: bool

    @property
    def days_late(self) -> int:
        """Days past the due date (0 when not late)."""
        return max(-self.days_left, 0)


def clock(app: Application, *, today: dt.date | None = None) -> Clock | None:
    """The clock of ``app``, or ``None`` before its information is complete."""
    if app.complete_at is None:
        return None
    started = timezone.localtime(app.complete_at, HK).date()
    due = add_months(started, CLOCK_MONTHS)
    stopped = app.recommended_at is not None
    now = timezone.localtime(app.recommended_at, HK).date() if stopped else (today or timezone.localdate())
    total = (due - started).days
    share = (Decimal((now - started).days) / Decimal(total)).quantize(Decimal("0.01"))
    return Clock(started, due, (due - now).days, share, share >= CLOCK_ALERT and not stopped, now > due, stopped)


# --- queues and the applicant's view ---
def queue(*, batch: Batch | None = None, state: str = "") -> list[Application]:
    """The secretariat's queue: applications by batch and state, oldest first."""
    qs = Application.objects.select_related("batch", "service_class", "assessment").order_by("submitted_at")
    if batch is not None:
        qs = qs.filter(batch=batch)
    if state:
        qs = qs.filter(state=state)
    return list(qs)


def of_organisations(br_numbers) -> list[Application]:
    """The scheme's applications of these organisations (newest first)."""
    return list(Application.objects.filter(br_number__in=list(br_numbers)).select_related("batch"))


# --- a strategic enterprise's conditions during the award (seed 000 §11(e)) ---
def recheck_conditions(now: dt.datetime) -> dict[str, int]:
    """The worker's sweep (registered with ``core.retention``): a strategic enterprise's
    declared conditions (based in Hong Kong, professionals employed; seed 000 §11(e)) last
    through the award, so an approved application whose conditions were last checked more
    than ``TUNGBAN_SUBSIDY_CONDITIONS_RECHECK_DAYS`` (default 180) days ago gets the warning
    ``conditions_recheck_due`` (once) for the secretariat to check them again (the check
    itself resets ``conditions_checked_at``). Returns ``{"subsidy.Assessment": flagged}``."""
    days = int(getattr(settings, "TUNGBAN_SUBSIDY_CONDITIONS_RECHECK_DAYS", 180))
    due = Assessment.objects.filter(
        application__category=ApplicantCategory.STRATEGIC_ENTERPRISE,
        application__state=ApplicationState.APPROVED,
        conditions_checked_at__lt=now - dt.timedelta(days=days),
    )
    flagged = 0
    with transaction.atomic():
        for assessment in due.select_for_update(of=("self",)):
            if any(w.get("code") == "conditions_recheck_due" for w in assessment.warnings):
                continue
            assessment.warnings = [
                *assessment.warnings,
                {
                    "code": "conditions_recheck_due",
                    "en": "Check again that the enterprise is based in Hong Kong and employs the professionals "
                    "it declared (seed 000 §11(e)).",
                    "zh": "請再次核實企業仍落戶香港並聘請所申報的專業人員。",
                },
            ]
            assessment.save(update_fields=["warnings"])
            flagged += 1
    return {"subsidy.Assessment": flagged}


def confirm_conditions(app: Application, officer) -> Application:
    """The secretariat has checked a strategic enterprise's conditions again: the check's time
    recorded and the ``conditions_recheck_due`` warning cleared. :raises DomainError:
    ``not_secretariat``, ``subsidy_state_refused`` (not a strategic enterprise)."""
    require_secretariat(officer)
    with transaction.atomic():
        app = get(app.public_id, lock=True)
        if app.category != ApplicantCategory.STRATEGIC_ENTERPRISE:
            raise errors.IntakeStateRefused(state=ApplicantCategory(app.category).label)
        assessment = app.assessment
        assessment.warnings = [w for w in assessment.warnings if w.get("code") != "conditions_recheck_due"]
        assessment.conditions_checked_at = timezone.now()
        assessment.save(update_fields=["warnings", "conditions_checked_at"])
    return app
