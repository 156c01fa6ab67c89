"""The committees' staff pages under ``/staff/committees/`` (issue 20, part E): meetings,
agendas, an item (the subject's summary through its kind's ``describe``, conflicts, scoring,
the decision), a member's declarations of interest and the minutes (HTML and PDF).

Staff log in with their second factor (:mod:`tungban.counter.staffauth`); only members of a
committee see its meetings (another committee's meeting or item is 404). Every action is a POST
through :mod:`.services`; a refusal is shown in the member's language with the status the
service's error carries (403, 409, 400), and nothing is stored.
"""

from __future__ import annotations

import functools
import json

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tungban.core.errors import DomainError

from . import errors, services, subjects
from .constants import ConflictStatus, MeetingState, Severity
from .forms import DecisionForm, DeclarationForm, DismissForm, ItemDeclarationForm, MeetingForm, ScoreForm
from .models import AgendaItem, Conflict, Meeting, Minutes, Score


def committee_member(view):
    """Staff verified by their second factor who are members of at least one committee;
    others go to the staff login page, staff who are members of none get a 403 page."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        request.memberships = services.memberships(user)
        if not request.memberships:
            return render(
                request,
                "committees/forbidden.html",
                {"message": _("You are not a member of any committee.")},
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapped


def _zh() -> bool:
    return (get_language() or "en").startswith("zh")


def _member_for(request, committee_id: int):
    for m in request.memberships:
        if m.committee_id == committee_id:
            return m
    raise Http404


def _meeting_of(request, meeting_id: int):
    meeting = Meeting.objects.select_related("committee").filter(pk=meeting_id).first()
    if meeting is None:
        raise Http404
    return meeting, _member_for(request, meeting.committee_id)


def _item_of(request, item_id: int):
    item = AgendaItem.objects.select_related("meeting__committee", "decided_by").filter(pk=item_id).first()
    if item is None:
        raise Http404
    return item, _member_for(request, item.meeting.committee_id)


@committee_member
@require_http_methods(["GET", "POST"])
def home(request):
    """The meetings of the member's committees, newest first; the chair or the secretary plans
    a meeting for a batch."""
    committee_ids = [m.committee_id for m in request.memberships]
    chairs = [m for m in request.memberships if m.can_decide]
    form = MeetingForm(request.POST or None) if chairs else None
    error, status = None, 200
    if request.method == "POST":
        if form is None:
            error, status = errors.NotChair().message, 403
        elif form.is_valid():
            try:
                meeting = services.create_meeting(chairs[0].committee, actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                error, status = exc.message, exc.status
            else:
                return redirect("committees:meeting", meeting_id=meeting.pk)
        else:
            status = 400
    meetings = Meeting.objects.filter(committee_id__in=committee_ids).select_related("committee")
    return render(
        request,
        "committees/home.html",
        {"meetings": meetings, "memberships": request.memberships, "zh": _zh(), "form": form, "error": error},
        status=status,
    )


def _agenda_rows(meeting, member):
    recused = set(
        Conflict.objects.filter(item__meeting=meeting, member=member, status=ConflictStatus.RECUSED).values_list(
            "item_id", flat=True
        )
    )
    return [
        {
            "item": item,
            "title": item.title_zh if _zh() else item.title_en,
            "weighted": services.weighted_score(item),
            "recused": item.pk in recused,
            "sees_scores": item.pk not in recused and services.sees_scores(item, member),
        }
        for item in meeting.items.all()
    ]


@committee_member
@require_GET
def meeting(request, meeting_id):
    """A meeting's agenda: each item with its weighted score and state; open or close it."""
    meeting, member = _meeting_of(request, meeting_id)
    return _render_meeting(request, meeting, member)


def _render_meeting(request, meeting, member, error=None, status=200):
    return render(
        request,
        "committees/meeting.html",
        {
            "meeting": meeting,
            "member": member,
            "rows": _agenda_rows(meeting, member),
            "can_chair": member.can_decide,
            "error": error,
            "zh": _zh(),
            "has_minutes": Minutes.objects.filter(meeting=meeting).exists(),
        },
        status=status,
    )


@committee_member
@require_POST
def meeting_action(request, meeting_id, action):
    meeting, member = _meeting_of(request, meeting_id)
    try:
        if action == "open":
            services.open_meeting(meeting, actor=request.user)
            messages.success(request, _("The meeting is open."))
        elif action == "close":
            services.close_meeting(meeting, actor=request.user)
            messages.success(request, _("The meeting is closed and its minutes are frozen."))
        else:
            raise Http404
    except DomainError as exc:
        meeting.refresh_from_db()
        return _render_meeting(request, meeting, member, error=exc.message, status=exc.status)
    return redirect("committees:meeting", meeting_id=meeting.pk)


def _terms_form(entry, item, data=None, description=None):
    if entry is None or entry.terms_form is None:
        return None
    initial = (description or {}).get("proposed_terms") or None
    return entry.terms_form(data, prefix="terms", initial=initial)


def _terms_of(form) -> dict:
    """The terms a kind's form gives: its ``terms()`` when it has one, else its cleaned data
    made JSON-safe (dates ISO, Decimals as strings)."""
    if hasattr(form, "terms"):
        return form.terms()
    return json.loads(json.dumps(form.cleaned_data, cls=DjangoJSONEncoder))


def _item_context(request, item, member, *, score_form=None, decision_form=None, terms_form=None, error=None):
    entry = None
    description = None
    try:
        entry = subjects.get(item.kind)
        description = entry.description(item.subject_id, "zh-hant" if _zh() else "en")
    except DomainError as exc:
        error = error or exc.message
    criteria = services.criteria(item.meeting.committee_id)
    conflict = services.conflict_of(item, member)
    recused = conflict is not None and conflict.recused
    is_open = item.meeting.state == MeetingState.OPEN
    ctx = {
        "item": item,
        "meeting": item.meeting,
        "member": member,
        "title": item.title_zh if _zh() else item.title_en,
        "description": description,
        "conflict": conflict,
        "recused": recused,
        "conflicts": [
            {
                "c": c,
                "can_dismiss": member.can_decide
                and c.status == ConflictStatus.RECUSED
                and c.severity != Severity.REAL
                and item.meeting.state != MeetingState.CLOSED,
            }
            for c in item.conflicts.select_related("member", "resolved_by")
        ],
        "dismiss_form": DismissForm(prefix="dismiss"),
        "criteria": criteria,
        "error": error,
        "zh": _zh(),
        "is_open": is_open,
    }
    if not recused:
        scores = list(Score.objects.filter(item=item).select_related("member", "criterion"))
        ctx["sees_scores"] = services.sees_scores(item, member)
        if ctx["sees_scores"]:
            table: dict[int, dict] = {}
            for s in scores:
                row = table.setdefault(s.member_id, {"member": s.member, "values": {}})
                row["values"][s.criterion.code] = s.value
            ctx["score_rows"] = [
                {"member": r["member"], "values": [r["values"].get(c.code, "—") for c in criteria]}
                for r in table.values()
            ]
            means = services.criterion_means(item)
            ctx["means"] = [means.get(c.code) for c in criteria]
            ctx["weighted"] = services.weighted_score(item)
        if is_open and not item.decided and not item.withdrawn:
            mine = {s.criterion.code: s.value for s in scores if s.member_id == member.pk}
            ctx["score_form"] = score_form or ScoreForm(criteria=criteria, initial_scores=mine, prefix="score")
            if member.can_decide:
                ctx["decision_form"] = decision_form or DecisionForm(prefix="decision")
                ctx["terms_form"] = terms_form or _terms_form(entry, item, description=description)
    if conflict is None and item.meeting.state != MeetingState.CLOSED and not item.decided and not item.withdrawn:
        ctx["declare_form"] = ItemDeclarationForm(prefix="declare")
    return ctx


@committee_member
@require_GET
def item(request, item_id):
    """An agenda item: the subject's summary, conflicts, the scoring form for members not
    recused, the scores, and the decision form for the chair or the secretary."""
    item, member = _item_of(request, item_id)
    return render(request, "committees/item.html", _item_context(request, item, member))


def _item_error(request, item, member, exc, **forms):
    item.refresh_from_db()
    return render(
        request,
        "committees/item.html",
        _item_context(request, item, member, error=exc.message, **forms),
        status=exc.status,
    )


@committee_member
@require_POST
def item_score(request, item_id):
    item, member = _item_of(request, item_id)
    criteria = services.criteria(item.meeting.committee_id)
    form = ScoreForm(request.POST, criteria=criteria, prefix="score")
    if services.is_recused(item, member):
        return _item_error(request, item, member, errors.MemberConflicted())
    if not form.is_valid():
        return render(
            request,
            "committees/item.html",
            _item_context(request, item, member, score_form=form, error=_("Correct the scores below.")),
            status=400,
        )
    try:
        with transaction.atomic():  # all the criteria or none
            for c in criteria:
                services.score(
                    item, request.user, c.code, form.cleaned_data[f"c_{c.code}"], form.cleaned_data["comment"]
                )
    except DomainError as exc:
        return _item_error(request, item, member, exc, score_form=form)
    messages.success(request, _("Your scores are saved."))
    return redirect("committees:item", item_id=item.pk)


@committee_member
@require_POST
def item_decide(request, item_id):
    item, member = _item_of(request, item_id)
    form = DecisionForm(request.POST, prefix="decision")
    entry = None
    try:
        entry = subjects.get(item.kind)
    except DomainError as exc:
        return _item_error(request, item, member, exc)
    terms_form = _terms_form(entry, item, request.POST)
    if not form.is_valid():
        return render(
            request,
            "committees/item.html",
            _item_context(
                request,
                item,
                member,
                decision_form=form,
                terms_form=terms_form,
                error=_("Choose the decision."),
            ),
            status=400,
        )
    outcome = form.cleaned_data["outcome"]
    terms = {}
    if outcome == "approve" and terms_form is not None:
        if not terms_form.is_valid():
            return render(
                request,
                "committees/item.html",
                _item_context(
                    request,
                    item,
                    member,
                    decision_form=form,
                    terms_form=terms_form,
                    error=_("Correct the terms below."),
                ),
                status=400,
            )
        terms = _terms_of(terms_form)
    try:
        services.decide(
            item,
            outcome=outcome,
            terms=terms,
            reasons_en=form.cleaned_data["reasons_en"],
            reasons_zh=form.cleaned_data["reasons_zh"],
            actor=request.user,
        )
    except DomainError as exc:
        return _item_error(request, item, member, exc, decision_form=form, terms_form=terms_form)
    messages.success(request, _("The decision is recorded."))
    return redirect("committees:item", item_id=item.pk)


@committee_member
@require_POST
def item_declare(request, item_id):
    item, member = _item_of(request, item_id)
    form = ItemDeclarationForm(request.POST, prefix="declare")
    if not form.is_valid():
        return render(
            request,
            "committees/item.html",
            _item_context(request, item, member, error=_("Correct the declaration below.")),
            status=400,
        )
    try:
        services.declare(member, item=item, **form.cleaned_data)
    except DomainError as exc:
        return _item_error(request, item, member, exc)
    messages.success(request, _("Your declaration is recorded."))
    return redirect("committees:item", item_id=item.pk)


@committee_member
@require_POST
def conflict_dismiss(request, conflict_id):
    conflict = Conflict.objects.select_related("item__meeting").filter(pk=conflict_id).first()
    if conflict is None:
        raise Http404
    item, member = _item_of(request, conflict.item_id)
    form = DismissForm(request.POST, prefix="dismiss")
    form.is_valid()
    try:
        services.dismiss_conflict(
            conflict,
            actor=request.user,
            reasons_en=form.cleaned_data.get("reasons_en", ""),
            reasons_zh=form.cleaned_data.get("reasons_zh", ""),
        )
    except DomainError as exc:
        return _item_error(request, item, member, exc)
    messages.success(request, _("The conflict is dismissed; the member may score the item."))
    return redirect("committees:item", item_id=item.pk)


@committee_member
@require_http_methods(["GET", "POST"])
def declarations(request):
    """The member's declarations of interest, and a form to declare one (standing or for a
    meeting not closed); conflicts are detected at once."""
    member = request.memberships[0]
    if request.method == "POST" and request.POST.get("committee"):
        member = next((m for m in request.memberships if str(m.committee_id) == request.POST["committee"]), member)
    meetings = Meeting.objects.filter(committee_id=member.committee_id).exclude(state=MeetingState.CLOSED)
    form = DeclarationForm(request.POST or None, meetings=meetings)
    error = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = dict(form.cleaned_data)
            meeting_id = data.pop("meeting")
            try:
                services.declare(member, meeting=meetings.filter(pk=meeting_id).first() if meeting_id else None, **data)
            except DomainError as exc:
                error, status = exc.message, exc.status
            else:
                messages.success(request, _("Your declaration is recorded."))
                return redirect("committees:declarations")
        else:
            status = 400
    mine = [d for m in request.memberships for d in m.declarations.select_related("meeting", "item")]
    return render(
        request,
        "committees/declarations.html",
        {"form": form, "declarations": mine, "member": member, "error": error, "zh": _zh()},
        status=status,
    )


def _frozen(request, meeting_id):
    meeting, member = _meeting_of(request, meeting_id)
    minutes = Minutes.objects.filter(meeting=meeting).first()
    if minutes is None:
        raise Http404
    return meeting, minutes


@committee_member
@require_GET
def minutes_page(request, meeting_id):
    """The minutes as frozen at the close, in the member's language, with the PDF's SHA-256."""
    meeting, minutes = _frozen(request, meeting_id)
    return render(
        request,
        "committees/minutes.html",
        {"meeting": meeting, "minutes": minutes, "record": minutes.content, "zh": _zh()},
    )


@committee_member
@require_GET
def minutes_pdf(request, meeting_id):
    meeting, minutes = _frozen(request, meeting_id)
    response = HttpResponse(bytes(minutes.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="minutes-{meeting.batch_label}.pdf"'
    response["ETag"] = f'"{minutes.digest}"'
    return response
