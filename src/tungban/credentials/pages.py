"""Pages of issue #5: the officers' e-licence pages under ``/staff/credentials/`` and the
public 認證易 verify page at ``/verify/``.

Officers are Django staff users listed in an issuer's ``officers`` (or superusers): they
issue one credential or a CSV of them, find, revoke, suspend and reinstate credentials of
their departments, and print a credential as PDF. Every rule is in :mod:`.services`; these
views only translate forms into service calls and :class:`DomainError`\\ s into form errors.
"""

from __future__ import annotations

import csv
import html
import io
import re
from functools import wraps
from types import SimpleNamespace

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_permissions_policy.decorators import permissions_policy_override

from tungban.core import ratelimit
from tungban.core.errors import DomainError, Forbidden, NotFound
from tungban.identity import hkid as hkid_mod
from tungban.identity import services as identity

from . import errors, services, summaries
from . import pdf as pdf_mod
from .forms import BulkForm, IssueForm, SearchForm, StatusChangeForm, StatusForm, VerifyForm, claim_labels
from .models import Credential, CredentialType, IssuanceBatch, JobState, Status
from .verify import DatabaseTrust, verify_presentation

#: The detail page's status buttons: target status → the button's id.
STATUS_ACTIONS = {
    Status.SUSPENDED: "suspend",
    Status.VALID: "reinstate",
    Status.REVOKED: "revoke",
}
RECENT = 10
#: Batch page: at most this many issued credentials are listed (the counts cover all).
BATCH_LIST_LIMIT = 200
#: Batch page: seconds between refreshes while the job runs (a meta refresh: no script).
BATCH_REFRESH_SECONDS = 3


def _officer_id(user) -> str:
    return f"officer:{user.get_username()}"


def _forbidden(request, exc: DomainError):
    return render(request, "credentials/forbidden.html", {"message": exc.message}, status=403)


def _officer_type(request, type_id: str) -> CredentialType:
    """The active type ``type_id`` if the user is an officer of its issuer.

    :raises NotFound: unknown type (→ 404); :raises Forbidden: not an officer (→ 403).
    """
    ctype = services.get_type(type_id)
    services.require_officer(request.user, ctype.issuer)
    return ctype


def _guard(view):
    """Turn the services' Forbidden into a 403 page and NotFound into a 404 page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Forbidden as exc:
            return _forbidden(request, exc)
        except NotFound:
            raise Http404 from None

    return wrapper


def _status_label(status: str) -> str:
    labels = {"valid": _("Valid"), "suspended": _("Suspended"), "revoked": _("Revoked"), "unknown": _("Unknown")}
    return labels.get(status, status)


def _masked(resident) -> str:
    return hkid_mod.masked(resident.hkid)


def _credential_rows(credentials) -> list[dict]:
    lang = get_language()
    return [
        {
            "credential": c,
            "type_name": c.credential_type.name(lang),
            "issuer_name": c.issuer.name(lang),
            "holder_name": c.holder.name_en,
            "holder_name_zh": c.holder.name_zh,
            "holder_hkid": _masked(c.holder),
            "status_label": _status_label(c.status),
        }
        for c in credentials
    ]


# --------------------------------------------------------------------------- officer home


@staff_member_required
@require_GET
@_guard
def officer_home(request):
    """The officer's issuers and their types, a search (HKID or credential id), recent batches."""
    issuers = services.issuers_for_officer(request.user)
    if not issuers:
        return _forbidden(request, errors.NotAnIssuerOfficer())
    lang = get_language()
    types = services.types_of(issuers)
    by_issuer = [
        {
            "issuer": i,
            "name": i.name(lang),
            "types": [{"type": t, "name": t.name(lang)} for t in types if t.issuer_id == i.id],
        }
        for i in issuers
    ]
    form = SearchForm(request.GET or None)
    results, searched = None, False
    if "q" in request.GET and form.is_valid():
        searched = True
        results = _search(form, issuers)
    recent = services.recent_credentials(issuers, RECENT)
    batches = services.recent_batches(issuers, RECENT)
    return render(
        request,
        "credentials/staff_home.html",
        {
            "issuers": by_issuer,
            "form": form,
            "searched": searched,
            "results": _credential_rows(results) if results is not None else None,
            "recent": _credential_rows(recent),
            "batches": [{"batch": b, "type_name": b.credential_type.name(lang)} for b in batches],
        },
    )


def _search(form: SearchForm, issuers) -> list[Credential] | None:
    """Credentials of the officer's issuers matching an HKID number or a credential id."""
    try:
        return services.search_credentials(issuers, form.cleaned_data["q"])
    except DomainError as exc:
        form.add_error("q", exc.message)
        return None


# --------------------------------------------------------------------------- issuing


@staff_member_required
@require_http_methods(["GET", "POST"])
@_guard
def issue_one(request, type_id: str):
    """Issue one credential: the holder's HKID number and the type's input claims."""
    ctype = _officer_type(request, type_id)
    form = IssueForm(ctype, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                holder = identity.get_by_hkid(form.cleaned_data["hkid"])
                credential = services.issue(ctype, holder, form.claim_inputs(), issued_by=_officer_id(request.user))
            except DomainError as exc:
                form.add_error(form.field_for(exc.field), exc.message)
            else:
                messages.success(
                    request,
                    _("%(type)s issued to %(name)s.") % {"type": ctype.name(get_language()), "name": holder.name_en},
                )
                return redirect("credentials:staff-detail", credential_id=credential.id)
        status = 400
    return render(
        request,
        "credentials/staff_issue.html",
        {"ctype": ctype, "type_name": ctype.name(get_language()), "form": form},
        status=status,
    )


def _example_for(spec: dict) -> str:
    """A plausible value for a claim of the sample CSV (best effort)."""
    if "enum" in spec:
        return str(spec["enum"][0])
    if spec.get("format") == "date":
        return timezone.localdate().isoformat()
    if spec.get("type") in ("integer", "number"):
        return str(max(spec.get("minimum", 0), min(spec.get("maximum", 80), 80)))
    if spec.get("type") == "boolean":
        return "true"
    pattern = spec.get("pattern")
    if pattern:
        return _example_for_pattern(pattern)
    return "…" if spec.get("minLength", 0) <= 1 else "x" * spec["minLength"]


_PATTERN_TOKEN = re.compile(r"\[0-9\]\{(\d+)\}|\[A-Z\]\{(\d+)\}|\[0-9\]|\[A-Z\]|([A-Za-z0-9 /-])")


def _example_for_pattern(pattern: str) -> str:
    """An example of a simple pattern such as ``^SC[0-9]{8}$`` (``SC12345678``); empty if the
    pattern is not that simple."""
    body = pattern.removeprefix("^").removesuffix("$")
    out, pos = [], 0
    while pos < len(body):
        match = _PATTERN_TOKEN.match(body, pos)
        if not match:
            return ""
        digits, letters, literal = match.groups()
        if digits:
            out.append("1234567890" * (int(digits) // 10) + "1234567890"[: int(digits) % 10])
        elif letters:
            out.append("A" * int(letters))
        elif match.group(0) == "[0-9]":
            out.append("1")
        elif match.group(0) == "[A-Z]":
            out.append("A")
        else:
            out.append(literal)
        pos = match.end()
    return "".join(out)


def csv_header(ctype: CredentialType) -> list[str]:
    return ["hkid", *services.input_claims(ctype)]


@staff_member_required
@require_GET
@_guard
def bulk_sample(request, type_id: str):
    """A sample CSV: the header and one example row."""
    ctype = _officer_type(request, type_id)
    props = ctype.schema.get("properties", {})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(csv_header(ctype))
    writer.writerow(["A123456(3)", *[_example_for(props.get(n, {})) for n in services.input_claims(ctype)]])
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{ctype.id}-sample.csv"'
    return response


@staff_member_required
@require_http_methods(["GET", "POST"])
@_guard
def bulk(request, type_id: str):
    """Accept a CSV file for issuance and go to its batch page, which follows the background
    job: all rows or none (or, when asked, the valid rows only)."""
    ctype = _officer_type(request, type_id)
    form = BulkForm(*((request.POST, request.FILES) if request.method == "POST" else ()))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                batch = services.submit_bulk(
                    ctype,
                    upload.read(),
                    issued_by=_officer_id(request.user),
                    filename=upload.name or "",
                    issue_valid_rows=form.cleaned_data["issue_valid_rows"],
                )
            except DomainError as exc:
                form.add_error("file" if exc.field in (None, "file") else None, exc.message)
            else:
                messages.info(request, _("The file was accepted; its rows are being checked and issued."))
                return redirect("credentials:staff-batch", batch_id=batch.id)
    return render(
        request,
        "credentials/staff_bulk.html",
        {
            "ctype": ctype,
            "type_name": ctype.name(get_language()),
            "form": form,
            "header": ",".join(csv_header(ctype)),
            "columns": _columns(ctype),
            "max_rows": services.MAX_BULK_ROWS,
        },
        status=status,
    )


def error_rows_html(errors) -> str:
    """The rows of the row-errors table, built directly: a file of tens of thousands of
    bad rows renders in a fraction of the time a template loop takes."""
    esc = html.escape
    return mark_safe(
        "\n".join(
            f'<tr data-row="{int(e.row)}" data-code="{esc(str(e.code))}"><td>{int(e.row)}</td><td>{esc(str(e.field or "—"))}</td><td>{esc(str(e.message))}</td></tr>'
            for e in errors
        )
    )


def _columns(ctype: CredentialType) -> list[dict]:
    """The CSV columns with their labels, whether they are required, and the expected format."""
    labels = claim_labels(ctype.display)
    props = ctype.schema.get("properties", {})
    required = set(ctype.schema.get("required", []))
    out = [{"name": "hkid", "label": _("Holder's HKID number"), "required": True, "format": _("e.g. A123456(3)")}]
    for name in services.input_claims(ctype):
        spec = props.get(name, {})
        if "enum" in spec:
            fmt = _("one of: %(values)s") % {"values": ", ".join(str(v) for v in spec["enum"])}
        elif spec.get("format") == "date":
            fmt = _("date, YYYY-MM-DD")
        elif spec.get("type") == "integer":
            fmt = _("whole number")
            if "minimum" in spec and "maximum" in spec:
                fmt = _("whole number from %(min)s to %(max)s") % {"min": spec["minimum"], "max": spec["maximum"]}
        elif spec.get("description"):
            fmt = spec["description"]
        elif spec.get("pattern"):
            example = _example_for_pattern(spec["pattern"])
            fmt = _("e.g. %(example)s") % {"example": example} if example else spec["pattern"]
        else:
            fmt = _("text")
        out.append({"name": name, "label": labels.get(name, name), "required": name in required, "format": fmt})
    return out


@staff_member_required
@require_GET
@_guard
def batch_detail(request, batch_id):
    """A batch and its job: progress while queued or running (the page refreshes itself
    every few seconds until the job ends), then the outcome."""
    batch = get_object_or_404(
        IssuanceBatch.objects.select_related("credential_type__issuer").defer("rows"), id=batch_id
    )
    services.require_officer(request.user, batch.credential_type.issuer)
    issued = batch.credentials.select_related("credential_type", "issuer", "holder").order_by(
        "issued_at", "status_index"
    )[:BATCH_LIST_LIMIT]
    response = render(
        request,
        "credentials/staff_batch.html",
        {
            "batch": batch,
            "state_label": JobState(batch.state).label,
            "all_bad": batch.rows_rejected >= batch.rows_total,
            "percent": int(100 * (batch.rows_issued + batch.rows_rejected) / batch.rows_total)
            if batch.rows_total
            else 100,
            "refresh": None if batch.finished or request.GET.get("refresh") == "off" else BATCH_REFRESH_SECONDS,
            "type_name": batch.credential_type.name(get_language()),
            "rejected_rows": error_rows_html(
                SimpleNamespace(
                    row=e.get("row", 0), code=e.get("error", ""), field=e.get("field"), message=e.get("message", "")
                )
                for e in batch.errors
            )
            if batch.errors
            else "",
            "issued": _credential_rows(issued),
            "issued_truncated": batch.rows_issued > BATCH_LIST_LIMIT,
            "limit": BATCH_LIST_LIMIT,
        },
    )
    if not batch.finished:
        response["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- one credential


def _officer_credential(request, credential_id) -> Credential:
    credential = services.get_credential(credential_id)
    services.require_officer(request.user, credential.issuer)
    return credential


@staff_member_required
@require_GET
@_guard
def detail(request, credential_id):
    credential = _officer_credential(request, credential_id)
    lang = get_language()
    ctype = credential.credential_type
    allowed = services.TRANSITIONS[Status(credential.status)]
    actions = [
        {
            "status": s.value,
            "id": STATUS_ACTIONS[s],
            "label": {"suspended": _("Suspend"), "valid": _("Reinstate"), "revoked": _("Revoke permanently")}[s.value],
        }
        for s in (Status.VALID, Status.SUSPENDED, Status.REVOKED)
        if s in allowed
    ]
    return render(
        request,
        "credentials/staff_detail.html",
        {
            "credential": credential,
            "ctype": ctype,
            "type_name": ctype.name(lang),
            "type_name_other": ctype.name("en" if lang.startswith("zh") else "zh"),
            "issuer_name": credential.issuer.name(lang),
            "holder": credential.holder,
            "holder_hkid": _masked(credential.holder),
            "claims": services.displayed_claims(ctype, services.issued_claims(credential), lang),
            "status_label": _status_label(credential.status),
            "actions": actions,
            "status_form": StatusForm(),
            "history": [
                {"change": c, "old": _status_label(c.old_status), "new": _status_label(c.new_status)}
                for c in credential.status_changes.order_by("-changed_at", "-id")
            ],
            "holder_bound": credential.holder_device_id is not None,
        },
    )


#: What each status change does, as the confirmation page states it (issue 16, staff16 item 2).
def _status_consequences(status: str) -> list[str]:
    return {
        "suspended": [
            _(
                "Verifiers see the credential as suspended at their next status check, and the holder's app shows it as suspended."
            ),
            _("You can reinstate it later."),
        ],
        "revoked": [
            _(
                "Verifiers see the credential as revoked at their next status check, and the holder's app shows it as revoked."
            ),
            _(
                "Revocation is final: a revoked credential can never be valid again. To stop it for a while, suspend it instead."
            ),
            _("The change is recorded in the public transparency log."),
        ],
        "valid": [_("Verifiers see the credential as valid again at their next status check.")],
    }[status]


def _status_confirm_page(request, credential, new_status, form, status=200):
    lang = get_language()
    return render(
        request,
        "credentials/staff_status_confirm.html",
        {
            "credential": credential,
            "new_status": new_status,
            "action_id": STATUS_ACTIONS[Status(new_status)],
            "title": {
                "suspended": _("Suspend this credential?"),
                "revoked": _("Revoke this credential permanently?"),
                "valid": _("Reinstate this credential?"),
            }[new_status],
            "button": {
                "suspended": _("Suspend"),
                "revoked": _("Revoke permanently"),
                "valid": _("Reinstate"),
            }[new_status],
            "consequences": _status_consequences(new_status),
            "type_name": credential.credential_type.name(lang),
            "holder": credential.holder,
            "holder_hkid": _masked(credential.holder),
            "status_label": _status_label(credential.status),
            "form": form,
        },
        status=status,
    )


@staff_member_required
@require_GET
@_guard
def status_confirm(request, credential_id, new_status):
    """The confirmation step before a status change: what it does, the reason (required to
    suspend or revoke) and, to revoke, the tick that confirms it is final (issue 16, staff16
    item 2). It changes nothing; the form posts to :func:`change_status`."""
    credential = _officer_credential(request, credential_id)
    if new_status not in {s.value for s in services.TRANSITIONS[Status(credential.status)]}:
        messages.info(request, _("This status change is not possible now."))
        return redirect(reverse("credentials:staff-detail", kwargs={"credential_id": credential.id}) + "#status")
    return _status_confirm_page(request, credential, new_status, StatusChangeForm(status=new_status))


@staff_member_required
@require_POST
@_guard
def change_status(request, credential_id):
    """Change the status after the confirmation step: suspending and revoking need a reason,
    revoking the confirmation tick (:func:`~tungban.credentials.services.officer_change_status`).
    On an error the confirmation page is shown again with every error on its field."""
    credential = _officer_credential(request, credential_id)
    new_status = request.POST.get("status", "")
    if new_status not in {s.value for s in Status}:
        messages.error(request, str(errors.StatusInvalid().message))
        return redirect(reverse("credentials:staff-detail", kwargs={"credential_id": credential.id}) + "#status")
    form = StatusChangeForm(request.POST, status=new_status)
    if form.is_valid():
        try:
            services.officer_change_status(
                credential,
                new_status,
                reason=form.cleaned_data["reason"],
                confirm_final=form.cleaned_data.get("confirm", False),
                changed_by=_officer_id(request.user),
            )
        except DomainError as exc:
            if exc.field in form.fields:
                form.add_error(exc.field, str(exc.message))
            else:
                messages.error(request, exc.message)
                return redirect(
                    reverse("credentials:staff-detail", kwargs={"credential_id": credential.id}) + "#status"
                )
        else:
            done = {
                "revoked": _("The credential is revoked."),
                "suspended": _("The credential is suspended."),
                "valid": _("The credential is valid again."),
            }
            messages.success(
                request, done[new_status] + " " + _("Verifiers see the change at their next status check.")
            )
            return redirect(reverse("credentials:staff-detail", kwargs={"credential_id": credential.id}) + "#status")
    return _status_confirm_page(request, credential, new_status, form, status=200)


@staff_member_required
@require_GET
@_guard
def credential_pdf(request, credential_id):
    credential = _officer_credential(request, credential_id)
    return pdf_response(credential, get_language())


def pdf_response(credential: Credential, language: str | None) -> HttpResponse:
    """The credential's PDF as a download (also usable by the holder's web app)."""
    try:
        data = pdf_mod.credential_pdf(credential, language)
    except DomainError as exc:  # stamp_font_missing: no CJK font installed
        return HttpResponse(str(exc.message), status=exc.status, content_type="text/plain; charset=utf-8")
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{credential.credential_type_id}-{credential.id}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- 認證易


def _verification_context(result, language: str) -> dict:
    zh = language.startswith("zh")
    display = SimpleNamespace(display=result.display or {})
    claims = services.displayed_claims(display, result.claims, language)
    binding = {
        "verified": _("Presented from the holder's tungban app."),
        "not_presented": _(
            "A paper or copied certificate: it was not presented from the holder's app. Check the holder's HKID card."
        ),
        "unbound": _("Not bound to an app: check the holder's HKID card."),
    }[result.holder_binding]
    # A holder's proof that came with the credential but failed is no "unbound" credential
    # (issue 16: a stale proof was reported as "not bound to an app").
    state = result.holder_binding
    codes = set(result.codes())
    if "presentation_stale" in codes:
        state = "stale"
        binding = _(
            "The holder's proof is too old: ask the holder to refresh the QR code in the app and show it again."
        )
    elif codes & {"holder_binding_invalid", "holder_device_unbound", "presentation_replayed", "verifier_code_missing"}:
        state = "refused"
        binding = _("The holder's proof was not accepted (see above): ask the holder to show the QR code again.")
    return {
        "v": result,
        "issuer_name": (result.issuer_name_zh if zh else result.issuer_name_en) or result.issuer or "",
        "issuer_name_other": (result.issuer_name_en if zh else result.issuer_name_zh) or "",
        "type_name": (result.type_name_zh if zh else result.type_name_en) or result.vct or "",
        "type_name_other": (result.type_name_en if zh else result.type_name_zh) or "",
        "claims": claims,
        "summary": summaries.describe(result.type_id, result.claims, language),
        "status_label": _status_label(result.status),
        "binding": binding,
        "binding_state": state,
    }


@csrf_exempt  # stores nothing but single-use verifier codes; a scanning phone may block cookies
@require_http_methods(["GET", "POST"])
@permissions_policy_override({**settings.PERMISSIONS_POLICY, "camera": "self"})  # the QR scanner
@ratelimit.limit("verify")
def verify_page(request):
    """認證易 (public): paste a certificate's text or its ``…/verify/#vc=`` link, or scan its
    QR code; the page says whether it is valid and shows what the holder disclosed.

    ``action=code`` offers a verifier code (issue 13 item 12: a single-use, short-lived nonce,
    :func:`.services.new_verifier_nonce`) that the holder enters in the app; the check form
    then carries it (``verifier_code``) and only a proof naming it is accepted, once. A
    result without one says that no code was used. Nothing else is stored."""
    posted = request.method == "POST"
    code = services.normalise_code(request.POST.get("verifier_code", "")) if posted else ""
    if posted and request.POST.get("action") == "code":
        code, form = services.new_verifier_nonce().value, VerifyForm(None)
    else:
        form = VerifyForm(request.POST if posted else None)
    context, status = {"form": form}, 200
    if posted and form.is_bound:
        if form.is_valid():
            try:
                result = verify_presentation(
                    form.cleaned_data["credential"], DatabaseTrust(), verifier_code=code or None
                )
            except DomainError as exc:
                form.add_error("credential", exc.message)
                status = exc.status
            else:
                context.update(_verification_context(result, get_language()))
                if result.nonce_check == "verifier_code":
                    code = ""  # spent
        else:
            status = 400
    context.update(
        verifier_code=services.display_code(code) if code else "",
        code_minutes=max(1, settings.TUNGBAN_VERIFIER_NONCE_TTL // 60),
        replay_minutes=max(1, settings.TUNGBAN_PRESENTATION_MAX_AGE // 60),
    )
    response = render(request, "credentials/verify.html", context, status=status)
    response["Cache-Control"] = "no-store"  # a result names the holder
    response["Referrer-Policy"] = "no-referrer"
    return response
