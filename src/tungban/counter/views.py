"""Staff pages for registration counters: staff users with a counter role (issue 13 item 1:
``Counter officers``; re-binding approvals ``Counter supervisors``, see :mod:`.roles`), logged in
with their second factor (item 3)."""

from __future__ import annotations

import functools
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tungban.core import fields
from tungban.core.errors import DomainError, Forbidden
from tungban.identity import services as identity
from tungban.identity.models import Resident
from tungban.identity.services import Guardian
from tungban.signing import services as signing
from tungban.signing.choices import (
    CERTIFICATE_STATUS_LABELS,
    KEYSTORE_LABELS,
    OFFICER_REVOCATION_REASONS,
    REVOCATION_REASON_LABELS,
)
from tungban.wallet import services as wallet

from . import roles, services
from .events import history_rows
from .forms import CounterRegistrationForm, RebindForm, RevokeCertificateForm, SearchForm, StatusForm, SuspendForm
from .models import RebindRequest


def counter_role(view):
    """Let in staff with the counter's permission (``counter.use_counter``): others who are not
    logged in as staff go to the login page, staff without the role get a 403 page."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not user.has_perm(roles.USE_COUNTER):
            return _forbidden(request, _("Your account has no counter role. Ask an administrator."))
        return view(request, *args, **kwargs)

    return wrapped


def _forbidden(request, message):
    return render(request, "counter/forbidden.html", {"message": message}, status=403)


@counter_role
@require_http_methods(["GET", "POST"])
def staff_home(request):
    form = SearchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            resident = identity.get_by_hkid(form.cleaned_data["hkid"])
            return redirect("counter:resident", public_id=resident.public_id)
        except DomainError as exc:
            form.add_error("hkid", exc.message)
    pending = []
    if request.user.has_perm(roles.APPROVE_REBIND):
        pending = services.pending_rebinds().exclude(requested_by=request.user)
    return render(
        request,
        "counter/staff_home.html",
        {"form": form, "pending_rebinds": pending, "approved_rebinds": services.approved_rebinds_of(request.user)},
    )


#: Session key: ``{resident public_id: {"code" (encrypted), "code_id", "officer"}}``, the activation codes
#: this officer issued, kept so that a reload shows the code again (post/redirect/get) while the
#: code can still bind an app (issue 16, staff16 item 1). Only this officer's session holds it.
ISSUED_CODES_KEY = "counter_issued_codes"


def _remember_code(request, resident, code: str):
    """Keep ``code`` (just issued for ``resident``) in this officer's session and redirect to
    the page that shows it (post/redirect/get)."""
    pending = wallet.pending_activation_code(resident)
    codes = request.session.get(ISSUED_CODES_KEY, {})
    codes[str(resident.public_id)] = {
        "code": fields.encrypt(code),  # encrypted at rest: the session table is in the database
        "code_id": pending[0] if pending else None,
        "officer": request.user.pk,
    }
    request.session[ISSUED_CODES_KEY] = codes
    return redirect("counter:activation-code", public_id=resident.public_id)


def _shown_code(request, resident) -> tuple[str, object] | None:
    """``(code, expires_at)`` of the code this officer issued for ``resident`` while it can still
    bind an app (not used, replaced or expired); ``None`` otherwise (the entry is then dropped)."""
    codes = request.session.get(ISSUED_CODES_KEY, {})
    entry = codes.get(str(resident.public_id))
    if not entry:
        return None
    pending = wallet.pending_activation_code(resident)
    if entry.get("officer") != request.user.pk or pending is None or pending[0] != entry.get("code_id"):
        del codes[str(resident.public_id)]
        request.session[ISSUED_CODES_KEY] = codes
        return None
    return fields.decrypt(entry["code"]), pending[1]


@counter_role
@require_GET
def activation_code(request, public_id):
    """The activation code this officer issued for the resident, with its QR code, for as long
    as it can bind an app; 404 for any other officer, or once it was used, replaced or expired.
    Reloading it issues nothing (issue 16, staff16 item 1)."""
    resident = get_object_or_404(Resident, public_id=public_id)
    shown = _shown_code(request, resident)
    if shown is None:
        response = render(request, "counter/activation_gone.html", {"resident": resident}, status=404)
        response["Cache-Control"] = "no-store"
        return response
    code, expires_at = shown
    # In the fragment, never the query: browsers do not send it, so the HKID number and the code
    # reach no server or proxy access log (issue 13 item 5). The app reads it (wallet/js/main.js).
    bind_url = f"{settings.TUNGBAN_ISSUER}/app/#{urlencode({'hkid': resident.hkid, 'code': code})}"
    qr = segno.make(bind_url, error="m").svg_inline(scale=4, title=_("QR code to bind the app"))
    response = render(
        request,
        "counter/activation.html",
        {"resident": resident, "code": code, "qr_svg": qr, "bind_url": bind_url, "expires_at": expires_at},
    )
    response["Cache-Control"] = "no-store"  # the code is not kept in the browser's cache
    return response


@require_POST
def staff_logout(request):
    """Log the staff user out (a POST, from the staff header) and go to the login page. The
    admin's own log-out lets only administrators out (issue 16, staff16 item 3)."""
    logout(request)
    return redirect(f"{settings.LOGIN_URL}?{urlencode({'next': reverse('counter:staff-home')})}")


@counter_role
@require_http_methods(["GET", "POST"])
def register(request):
    """Counter registration: the officer has checked the card in person → tungban+."""
    form = CounterRegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        guardian = None
        if d["guardian_name"] or d["guardian_hkid"]:
            guardian = Guardian(d["guardian_name"], d["guardian_hkid"], d["guardian_relationship"])
        try:
            resident = identity.register_at_counter(
                request.user,
                hkid=d["hkid"],
                family_name_en=d["family_name_en"],
                given_name_en=d["given_name_en"],
                name_zh=d["name_zh"],
                date_of_birth=d["date_of_birth"],
                gender=d["gender"],
                residential_address=d["residential_address"],
                phone=d["phone"],
                email=d["email"],
                guardian=guardian,
            )
        except DomainError as exc:
            field = exc.field if exc.field in form.fields else None
            form.add_error(field, exc.message)
        else:
            code = wallet.issue_activation_code(resident, request.user)
            messages.success(request, _("Account created."))
            return _remember_code(request, resident, code)
    return render(request, "counter/register.html", {"form": form})


def _signing_certificates(resident) -> list[dict]:
    rows = []
    for credential in signing.credentials_of(resident):
        summary = signing.credential_summary(credential)
        summary.update(
            status_label=CERTIFICATE_STATUS_LABELS.get(summary["status"], summary["status"]),
            reason_label=REVOCATION_REASON_LABELS.get(summary["revocation_reason"], summary["revocation_reason"]),
            keystore_label=KEYSTORE_LABELS.get(summary["keystore"], summary["keystore"]),
            is_active=summary["status"] == "active",
        )
        rows.append(summary)
    return rows


def _resident_page(request, resident, rebind_form=None, status=200):
    rebind_requests = list(resident.rebind_requests.select_related("requested_by", "decided_by")[:10])
    return render(
        request,
        "counter/resident.html",
        {
            "resident": resident,
            "device": wallet.active_device(resident),
            "history": history_rows(resident.audit_events.select_related("actor")[:20]),
            "code_shown": _shown_code(request, resident) is not None,
            "status_form": StatusForm(),
            "signing_certificates": _signing_certificates(resident),
            "revocation_reasons": [(r, REVOCATION_REASON_LABELS[r]) for r in OFFICER_REVOCATION_REASONS],
            "needs_second_officer": services.needs_second_officer(resident),
            "rebind_form": rebind_form or RebindForm(),
            "rebind_requests": rebind_requests,
            # A request waiting for approval or for its code: no form to ask again (issue 16, polish16 item 4).
            "rebind_open": any(r.current_status in ("pending", "approved") for r in rebind_requests),
            "can_approve": request.user.has_perm(roles.APPROVE_REBIND),
        },
        status=status,
    )


@counter_role
def resident_detail(request, public_id):
    return _resident_page(request, get_object_or_404(Resident, public_id=public_id))


@counter_role
@require_POST
def request_rebind(request, public_id):
    """An officer asks to re-bind the account (issue 13 item 1): reason and identity check."""
    resident = get_object_or_404(Resident, public_id=public_id)
    form = RebindForm(request.POST)
    if not form.is_valid():
        return _resident_page(request, resident, rebind_form=form)
    try:
        services.request_rebind(
            resident, request.user, **{k: v for k, v in form.cleaned_data.items() if k != "checked"}
        )
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _resident_page(request, resident, rebind_form=form)
    messages.success(request, _("Re-binding requested: a counter supervisor (another officer) must approve it."))
    return redirect(reverse("counter:resident", kwargs={"public_id": resident.public_id}) + "#rebind")


@counter_role
@require_POST
def decide_rebind(request, pk, decision):
    """A second officer (a counter supervisor, not the one who asked) approves or rejects a
    re-binding request. The approval shows no code: the officer who asked issues it
    (:func:`issue_rebind_code`)."""
    rebind = get_object_or_404(RebindRequest, pk=pk)
    try:
        if decision == "approve":
            services.approve_rebind(rebind.pk, request.user)
            messages.success(
                request,
                _(
                    "Re-binding approved. The officer who asked for it can now issue the activation code to the resident."
                ),
            )
        else:
            services.reject_rebind(rebind.pk, request.user, note=request.POST.get("note", ""))
            messages.info(request, _("Re-binding rejected: no activation code was issued."))
    except Forbidden as exc:
        return _forbidden(request, exc.message)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("counter:resident", kwargs={"public_id": rebind.resident.public_id}) + "#rebind")


@counter_role
@require_POST
def issue_rebind_code(request, pk):
    """The officer who asked for an approved re-binding issues its activation code, once, shown
    to them only (issue 13 item 1, security review; reopened by :func:`activation_code` until
    it is used or expires, issue 16); the resident's app is told."""
    rebind = get_object_or_404(RebindRequest, pk=pk)
    try:
        rebind, code = services.issue_rebind_code(rebind.pk, request.user)
    except Forbidden as exc:
        return _forbidden(request, exc.message)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("counter:resident", kwargs={"public_id": rebind.resident.public_id}) + "#rebind")
    messages.success(
        request, _("Activation code issued for the approved re-binding. The resident's app has been told.")
    )
    return _remember_code(request, rebind.resident, code)


@counter_role
@require_POST
def revoke_signing_certificate(request, public_id, serial):
    """Revoke one of the resident's signing certificates (tungban+): its key is destroyed
    and its serial goes on the signing CA's CRL. Needs a reason and an explicit confirmation."""
    resident = get_object_or_404(Resident, public_id=public_id)
    credential = next((c for c in signing.credentials_of(resident) if c.serial == serial), None)
    if credential is None:
        raise Http404
    form = RevokeCertificateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Nothing was revoked: choose a reason and tick the confirmation."))
    elif credential.status != "active":
        messages.info(request, _("This signing certificate was already revoked."))
    else:
        try:
            signing.revoke(credential, reason=form.cleaned_data["reason"], actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("Signing certificate %(serial)s is revoked and will be listed on the CRL.") % {"serial": serial},
            )
    return redirect(reverse("counter:resident", kwargs={"public_id": resident.public_id}) + "#signing-certificates")


@counter_role
@require_http_methods(["GET", "POST"])
def suspend(request, public_id):
    """Suspending an account, in two steps (issue 16, staff16 item 2): the GET is a
    confirmation page that states what happens (the device is unbound, the resident is signed
    out of every service, reinstating needs a new binding) and asks for the reason; the POST
    with a reason suspends (:func:`tungban.counter.services.suspend_account`), recording the
    reason in the account's history. Without a reason nothing changes."""
    resident = get_object_or_404(Resident, public_id=public_id)
    if not resident.is_active:
        messages.info(request, _("This account is already suspended."))
        return redirect("counter:resident", public_id=resident.public_id)
    form = SuspendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.suspend_account(resident, actor=request.user, reason=form.cleaned_data["reason"].strip())
        except DomainError as exc:
            form.add_error("reason" if exc.field in ("reason", "status_reason") else None, exc.message)
        else:
            messages.success(request, _("The account is suspended and its device unbound."))
            return redirect("counter:resident", public_id=resident.public_id)
    return render(
        request,
        "counter/suspend.html",
        {
            "resident": resident,
            "form": form,
            "device": wallet.active_device(resident),
            # Suspending unbinds the phone, which revokes its signing certificate for good
            # (signing.revoke_for_device): the page says so when there is one (issue 16, polish16 item 2).
            "has_certificate": any(c.status == "active" for c in signing.credentials_of(resident)),
        },
    )


@counter_role
@require_POST
def resident_action(request, public_id, action):
    """Reinstate, unbind the device, or issue a new activation code (re-bind). Suspending has
    its own confirmation page (:func:`suspend`)."""
    resident = get_object_or_404(Resident, public_id=public_id)
    form = StatusForm(request.POST)
    reason = form.data.get("reason", "")
    try:
        if action == "reinstate":
            identity.set_status(resident, "active", reason=reason, actor=request.user)
            messages.success(request, _("The account is active again."))
        elif action == "unbind":
            services.unbind_device(resident, actor=request.user, reason=reason)
            messages.success(request, _("The device is unbound. The resident's app has been told."))
        elif action == "activation":
            if services.needs_second_officer(resident):
                messages.warning(
                    request,
                    _(
                        "This account has had a phone bound or is tungban+: a new activation code needs "
                        "a re-binding request, approved by a second officer (a counter supervisor)."
                    ),
                )
                return redirect(reverse("counter:resident", kwargs={"public_id": resident.public_id}) + "#rebind")
            return _remember_code(request, resident, wallet.issue_activation_code(resident, request.user))
        else:
            messages.error(request, _("Unknown action."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("counter:resident", public_id=resident.public_id)
