"""1823 for residents at ``/1823/`` (issue 22): what 1823 does, a new case (with the
assistant's hand-off), the confirmation with the reference and the one-time tracking code, the
logged-in resident's cases (the e-services portal's login, :mod:`tungban.eservices.login`),
one case (status in plain words, department, pledges, public history, closure, reopening) and
tracking an anonymous case by reference and tracking code.

Every page works without JavaScript ("use my location" is an enhancement), and a refused form
shows each error next to its field in the page's language with nothing stored: the form's
checks run first (:mod:`tungban.hotline.services.cases`' ``check_*`` functions, each error
collected), then ``submit`` validates again and stores all or nothing."""

from __future__ import annotations

import hashlib
import secrets

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tungban.core import ratelimit
from tungban.core.errors import DomainError
from tungban.eservices import login

from . import districts, errors
from .constants import CaseKind, CaseState, Channel
from .models import CaseType
from .services import cases, handoff

#: Files one case may carry (the agreed interface: up to 5).
MAX_FILES = 5
#: The session keys: the confirmation shown once, and the anonymous cases this browser tracks.
SUBMITTED_KEY = "hotline_submitted"
TRACKED_KEY = "hotline_tracked"


def _zh() -> bool:
    return not (get_language() or "en").startswith("en")


def _pick(en: str, zh: str) -> str:
    return (zh or en) if _zh() else (en or zh)


def _state_words(state: str) -> str:
    return {
        CaseState.SUBMITTED: _("1823 has received your case and is sending it to the right department."),
        CaseState.ASSIGNED: _("Your case is with a department, which is checking that it should handle it."),
        CaseState.ESCALATED: _("1823 is deciding which department leads on your case."),
        CaseState.ACCEPTED: _("The department is handling your case."),
        CaseState.CLOSED: _("The department has closed your case and replied to you."),
    }[state]


def home(request):
    resident = login.resident_of(request)
    return render(request, "hotline/home.html", {"resident": resident})


def _type_groups(q: str) -> list[tuple[str, list[dict]]]:
    """Active case types grouped (their group's name), filtered by ``q`` (in either language's
    name, description, group or keywords)."""
    q = (q or "").strip().lower()[:100]
    groups: dict[str, list[dict]] = {}
    for ct in CaseType.objects.filter(active=True).order_by("group_en", "name_en"):
        hay = " ".join(
            [
                ct.code,
                ct.name_en,
                ct.name_zh,
                ct.description_en,
                ct.description_zh,
                ct.group_en,
                ct.group_zh,
                ct.keywords,
            ]
        ).lower()
        if q and q not in hay:
            continue
        group = _pick(ct.group_en, ct.group_zh) or _("Other matters")
        groups.setdefault(group, []).append(
            {
                "code": ct.code,
                "name": _pick(ct.name_en, ct.name_zh),
                "description": _pick(ct.description_en, ct.description_zh),
            }
        )
    return list(groups.items())


def _attribute_fields(ct: CaseType, values: dict, errs: dict) -> list[dict]:
    out = []
    for a in sorted(ct.attributes or [], key=lambda a: a.get("order", 0)):
        if not a.get("variable", True):
            continue
        name = f"attribute[{a['code']}]"
        datatype = a.get("datatype", "string")
        value = values.get(a["code"], [] if datatype == "multivaluelist" else "")
        out.append(
            {
                "name": name,
                "id": f"attr-{a['code']}",
                "label": _pick(a.get("description_en", ""), a.get("description_zh", "")) or a["code"],
                "datatype": datatype,
                "required": bool(a.get("required")),
                "value": value,
                "options": [(v["key"], _pick(v.get("name_en", ""), v.get("name_zh", ""))) for v in a.get("values", [])],
                "error": errs.get(name, ""),
            }
        )
    return out


def _collect(errs: dict, fn, *args, **kwargs):
    """Run a check; record its error against its field (``__all__`` when it names none)."""
    try:
        return fn(*args, **kwargs)
    except DomainError as exc:
        field = (exc.field or "general").replace("contact.", "contact_")
        errs.setdefault(field, str(exc.message))
        return None


def _values_from(post, ct: CaseType) -> dict:
    values = {}
    for a in ct.attributes or []:
        key = f"attribute[{a['code']}]"
        if a.get("datatype") == "multivaluelist":
            values[a["code"]] = post.getlist(key)
        else:
            values[a["code"]] = post.get(key, "")
    return values


@require_http_methods(["GET", "POST"])
@ratelimit.limit("hotline_submit")
def new(request):
    resident = login.resident_of(request)
    data = request.POST if request.method == "POST" else request.GET
    code = (data.get("type") or "").strip()
    ct = CaseType.objects.filter(code=code, active=True).first() if code else None
    service_slug = (data.get("service") or "").strip()[:80]
    if ct is None and service_slug and not code:
        ct = CaseType.objects.filter(service_slug=service_slug, active=True).first()
    conversation = (data.get("conversation") or "").strip()[:100]
    if ct is None:
        q = request.GET.get("q", "")
        return render(
            request,
            "hotline/choose.html",
            {
                "groups": _type_groups(q),
                "q": q,
                "unknown": bool(code),
                "service": service_slug,
                "conversation": conversation,
            },
        )

    # The transcript is built here from the conversation (its owner only), never taken from
    # the form: the department must be able to trust what "the assistant said".
    transcript = handoff.transcript_for(conversation, request) if conversation else ""
    form = {
        "kind": data.get("kind", CaseKind.ENQUIRY if request.method == "GET" else ""),
        "description": data.get("description", ""),
        "address": data.get("address", ""),
        "district": data.get("district", ""),
        "lat": data.get("lat", ""),
        "long": data.get("long", ""),
        "contact_name": data.get("contact_name", ""),
        "contact_email": data.get("contact_email", ""),
        "contact_phone": data.get("contact_phone", ""),
    }
    if request.method == "GET" and not form["description"] and transcript:
        form["description"] = _("(From my conversation with the assistant.)")
    values = _values_from(data, ct) if request.method == "POST" else {}
    errs: dict[str, str] = {}
    if request.method == "POST":
        files = request.FILES.getlist("attachments")
        language = get_language() or "zh-hant"
        if form["kind"] not in CaseKind.values:
            errs["kind"] = str(errors.UnknownKind().message)
        if not form["description"].strip():
            errs["description"] = str(errors.DescriptionRequired().message)
        elif len(form["description"]) > cases.MAX_TEXT:
            errs["description"] = str(errors.DescriptionTooLong(max=cases.MAX_TEXT).message)
        for spec in ct.attributes or []:  # one by one, so that every answer's error is shown
            one = CaseType(code=ct.code, attributes=[spec])
            _collect(errs, cases.check_attributes, one, {spec["code"]: values.get(spec["code"], "")}, language)
        if ct.location != "none":
            _collect(
                errs,
                cases.check_location,
                ct,
                address=form["address"],
                district=form["district"],
                lat=form["lat"] or None,
                long=form["long"] or None,
            )
        contact = None
        if resident is None:
            contact = {"name": form["contact_name"], "email": form["contact_email"], "phone": form["contact_phone"]}
            _collect(errs, cases.check_contact, contact)
        if len(files) > MAX_FILES:
            errs["attachments"] = str(errors.TooManyAttachments(max=MAX_FILES).message)
        if not errs:
            try:
                case, tracking_code = cases.submit(
                    case_type=ct.code,
                    kind=form["kind"],
                    description=form["description"],
                    language=language,
                    channel=Channel.ASSISTANT if transcript else Channel.WEB,
                    resident=resident,
                    contact=contact if contact and any(contact.values()) else None,
                    address=form["address"] if ct.location != "none" else "",
                    district=form["district"] if ct.location != "none" else "",
                    lat=(form["lat"] or None) if ct.location != "none" else None,
                    long=(form["long"] or None) if ct.location != "none" else None,
                    attribute_values={k: v for k, v in values.items() if v not in ("", [])},
                    attachments=files,
                    service_slug=service_slug if service_slug == ct.service_slug else ct.service_slug,
                    transcript=transcript,
                    idempotency_key=(request.POST.get("form_key") or "")[:200],
                    submitter_key=_submitter(request, resident),
                )
            except DomainError as exc:
                field = (exc.field or "general").replace("contact.", "contact_")
                errs[field] = str(exc.message)
            else:
                shown = request.session.get(SUBMITTED_KEY) or {}
                if tracking_code is None and shown.get("reference") == case.reference:
                    return redirect("hotline:submitted")  # the same form sent twice: the first answer stands
                request.session[SUBMITTED_KEY] = {"reference": case.reference, "tracking_code": tracking_code or ""}
                if tracking_code:
                    _remember(request, case.reference, tracking_code)
                return redirect("hotline:submitted")
    return render(
        request,
        "hotline/new.html",
        {
            "ct": ct,
            "ct_name": _pick(ct.name_en, ct.name_zh),
            "ct_description": _pick(ct.description_en, ct.description_zh),
            "department": _pick(ct.department.name_en, ct.department.name_zh),
            "form": form,
            "errors": errs,
            "error_list": [(k, v) for k, v in errs.items()],
            "kinds": CaseKind.choices,
            "attributes": _attribute_fields(ct, values, errs),
            "districts": districts.choices(get_language()),
            "resident": resident,
            "transcript": transcript,
            "conversation": conversation,
            "service": service_slug,
            "max_files": MAX_FILES,
            "form_key": request.POST.get("form_key") or secrets.token_urlsafe(16),
        },
        status=400 if errs else 200,
    )


def _submitter(request, resident) -> str:
    """Whose form key it is: the resident, or this browser's session for a person not logged
    in (a digest of the session key, so the same form sent twice is one case)."""
    if resident is not None:
        return ""  # cases.submit uses resident:<id>
    if request.session.session_key is None:
        request.session.save()
    return "session:" + hashlib.sha256(request.session.session_key.encode()).hexdigest()[:40]


def _remember(request, reference: str, tracking_code: str) -> None:
    tracked = dict(request.session.get(TRACKED_KEY) or {})
    tracked[reference] = tracking_code
    request.session[TRACKED_KEY] = dict(list(tracked.items())[-20:])


def submitted(request):
    """The confirmation: the reference, and (once) the tracking code of an anonymous case."""
    data = request.session.get(SUBMITTED_KEY)
    if not data:
        return redirect("hotline:home")
    code = data.get("tracking_code", "")
    if code:  # shown once: a reload shows the reference only
        request.session[SUBMITTED_KEY] = {"reference": data["reference"], "tracking_code": ""}
    return render(request, "hotline/submitted.html", {"reference": data["reference"], "tracking_code": code})


def mine(request):
    resident = login.resident_of(request)
    if resident is None:
        return redirect(login.login_url(request.get_full_path()))
    rows = [
        {
            "reference": c.reference,
            "type": _pick(c.case_type.name_en, c.case_type.name_zh),
            "state": c.get_state_display(),
            "submitted_at": c.submitted_at,
        }
        for c in cases.cases_of(resident)
    ]
    return render(request, "hotline/mine.html", {"rows": rows})


def _case_for_request(request, reference: str):
    resident = login.resident_of(request)
    code = (request.session.get(TRACKED_KEY) or {}).get(reference)
    try:
        return cases.case_for(reference, resident=resident, tracking_code=code), resident, code
    except DomainError:
        return None, resident, code


@require_http_methods(["GET", "POST"])
def detail(request, reference: str):
    case, resident, code = _case_for_request(request, reference)
    if case is None:
        if resident is None and not code:
            return redirect(f"{reverse('hotline:track')}?reference={reference}")
        raise Http404
    errs: dict[str, str] = {}
    reason = ""
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        try:
            cases.reopen(case, reason=reason, resident=resident, tracking_code=code)
        except DomainError as exc:
            errs[exc.field or "reason"] = str(exc.message)
        else:
            return redirect(f"{reverse('hotline:case', args=[case.reference])}?reopened=1")
        case.refresh_from_db()
    now = timezone.now()
    language = get_language() or "zh-hant"
    return render(
        request,
        "hotline/case.html",
        {
            "case": case,
            "type_name": _pick(case.case_type.name_en, case.case_type.name_zh),
            "department": _pick(case.department.name_en, case.department.name_zh) if case.department else "",
            "state_words": _state_words(case.state),
            "history": cases.public_history(case, language),
            "district": districts.name(case.district, language),
            "can_reopen": case.state == CaseState.CLOSED and case.reopen_until is not None and case.reopen_until > now,
            "reopened": request.GET.get("reopened") == "1",
            "errors": errs,
            "reason": reason,
            "logged_in": resident is not None,
        },
        status=400 if errs else 200,
    )


@require_http_methods(["GET", "POST"])
@ratelimit.limit("hotline_track")
def track(request):
    errs: dict[str, str] = {}
    reference = request.POST.get("reference") if request.method == "POST" else request.GET.get("reference", "")
    reference = (reference or "").strip().upper()[:30]
    if request.method == "POST":
        code = (request.POST.get("tracking_code") or "").strip().upper()[:30]
        if not reference:
            errs["reference"] = str(errors.TrackingCodeRequired().message)
        if not code:
            errs["tracking_code"] = str(errors.TrackingCodeRequired().message)
        if not errs:
            try:
                case = cases.case_for(reference, tracking_code=code)
            except DomainError as exc:
                errs["reference"] = str(exc.message)
            else:
                _remember(request, case.reference, code)
                return redirect("hotline:case", case.reference)
    return render(request, "hotline/track.html", {"reference": reference, "errors": errs}, status=400 if errs else 200)
