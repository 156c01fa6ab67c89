"""CorpID's pages (issue 19, first wave), behind the resident's web login (:mod:`.web`):
``/business/`` the companies the resident acts for and setting a company up;
``/business/<BRN>/`` the company's administrators' page: people and mandates, granting,
revoking, the audit trail. Thin: the rules are in :mod:`.services`; a refused change shows its
error in the page's language and stores nothing."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpResponseForbidden, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tungban.core.errors import DomainError

from . import cards, services, texts, web
from .constants import Action, OrganisationStatus, Role


def _resident(request):
    return web.resident_of(request)


def _login_needed(request):
    url = web.login_url(request.get_full_path() if request.method == "GET" else reverse("corpid:home"))
    return HttpResponseRedirect(url) if url else HttpResponseForbidden(_("Log in to tungban first."))


def _event_text(event) -> str:
    texts = {
        "set_up": _("Set up CorpID for the company"),
        "administrator_from_register": _("Became administrator as a director on the register"),
        "granted": _("Offered a mandate"),
        "delegated": _("Delegated a mandate"),
        "accepted": _("Accepted the mandate in the app"),
        "declined": _("Declined the mandate in the app"),
        "lapsed": _("The offer lapsed: whoever made it may no longer give it"),
        "revoked": _("Revoked a mandate"),
        "superseded": _("A mandate was replaced by a new one"),
        "suspended": _("The company's CorpID was suspended: no administrator"),
        "reactivated": _("The company's CorpID is active again"),
        "consent_revoked": _("Revoked a consent to share the company's data"),
        "signing_requested": _("Asked to sign documents for the company"),
        "seal_revoked": _("The company's electronic seal was revoked"),
    }
    return texts.get(event.action, event.action)


def _person(resident) -> str:
    if resident is None:
        return ""
    return f"{resident.given_name_en} {resident.family_name_en}".strip() + (
        f" {resident.name_zh}" if resident.name_zh else ""
    )


def home(request):
    """The companies the logged-in resident acts for, and setting up a company's CorpID."""
    resident = _resident(request)
    if resident is None:
        return _login_needed(request)
    return render(request, "corpid/home.html", {"mandates": cards.summaries(resident), "error": None, "br_number": ""})


@require_POST
def set_up(request):
    """A director sets up CorpID for a company on the register (becomes its administrator)."""
    resident = _resident(request)
    if resident is None:
        return _login_needed(request)
    br_number = request.POST.get("br_number", "")
    try:
        mandate = services.bootstrap(resident, br_number)
    except DomainError as exc:
        context = {"mandates": cards.summaries(resident), "error": exc, "br_number": br_number}
        return render(request, "corpid/home.html", context, status=exc.status)
    messages.success(request, _("CorpID is set up. You are the company's administrator."))
    return HttpResponseRedirect(reverse("corpid:organisation", args=[mandate.organisation.br_number]))


def _organisation_page(request, resident, br_number, *, error=None, form=None, status=200):
    org, own = services.managed(resident, br_number)
    rows = []
    for m in services.mandates_of(org):
        row = cards.summary(m)
        row["holder"] = _person(m.holder)
        row["granted_by"] = _person(m.granted_by)
        row["delegated"] = m.parent_id is not None
        row["live"] = m.state in ("offered", "active")
        rows.append(row)
    rows.sort(key=lambda r: (not r["live"], r["role"] != Role.ADMINISTRATOR))
    events = [
        {
            "at": e.at,
            "actor": _person(e.actor),
            "text": _event_text(e),
            "holder": _person(e.mandate.holder) if e.mandate else "",
        }
        for e in services.events_of(org)
    ]
    today = services.today()
    consents = [_consent_row(c) for c in services.company_consents(resident, org.br_number)]
    exchanges = [_exchange_row(x) for x in services.company_exchanges(resident, org.br_number)]
    context = {
        "consents": consents,
        "exchanges": exchanges,
        "org": org,
        "org_name": texts.name_of(org),
        "org_status": OrganisationStatus(services.current_status(org)).label,
        "own": cards.summary(own),
        "is_admin": own.role == Role.ADMINISTRATOR,
        "rows": rows,
        "events": events,
        "roles": Role.choices if own.role == Role.ADMINISTRATOR else [(Role.USER, Role.USER.label)],
        "actions": Action.choices,
        "error": error,
        "form": form
        or {
            "holder_hkid": "",
            "role": Role.USER,
            "services": "*",
            "actions": [Action.VIEW, Action.APPLY],
            "valid_from": today.isoformat(),
            "valid_until": (services.years_later(today, 1) - dt.timedelta(days=1)).isoformat(),
            "joint_approval": False,
            "may_delegate": False,
        },
    }
    return render(request, "corpid/organisation.html", context, status=status)


def _party(party) -> str:
    return (party.name_zh or party.name_en) if texts.zh() else party.name_en


def _consent_row(consent) -> dict:
    """A consent about the company as its administrators' page shows it (issue 19): who gave
    it, to whom, what, for what, when, and its status."""
    from tungban.exchange.models import ConsentStatus

    status = consent.effective_status()
    product = consent.product
    return {
        "id": consent.id,
        "given_by": _person(consent.given_by),
        "data_user": _party(consent.consumer),
        "provider": _party(product.provider),
        "product": _party(product),
        "purpose": consent.purpose,
        "asked_at": consent.created_at,
        "granted_at": consent.granted_at,
        "valid_until": consent.valid_until,
        "uses": consent.uses,
        "max_uses": consent.max_uses,
        "status": status,
        "status_text": ConsentStatus(status).label,
        "revocable": status == ConsentStatus.ACTIVE,
    }


def _exchange_row(record) -> dict:
    """An exchange of the company's data: when, who received what from whom, the outcome."""
    from tungban.exchange.models import ExchangeAttempt

    product = record.consent.product if record.consent_id else None
    if isinstance(record, ExchangeAttempt):
        at, outcome, delivered = record.started_at, _("Waiting for the data provider"), False
    else:
        at, delivered = record.at, record.outcome == "delivered"
        outcome = _("Delivered") if delivered else _("Refused: %(code)s") % {"code": record.outcome}
    return {
        "at": at,
        "data_user": _party(record.consumer),
        "product": _party(product) if product else record.product_id,
        "provider": _party(product.provider) if product else record.provider_id,
        "outcome": outcome,
        "delivered": delivered,
    }


def _denied(request, exc: DomainError):
    return render(request, "corpid/denied.html", {"error": exc}, status=exc.status)


def organisation(request, br_number: str):
    """The company's administrators' page."""
    resident = _resident(request)
    if resident is None:
        return _login_needed(request)
    try:
        return _organisation_page(request, resident, br_number)
    except DomainError as exc:
        return _denied(request, exc)


def _date(value: str, field: str) -> dt.date:
    from . import errors

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise errors.InvalidDates(reason=_("give dates as YYYY-MM-DD"), field=field) from None


@require_POST
def grant(request, br_number: str):
    """Offer a mandate (administrators: any role; sub-administrators and delegating users:
    within their own)."""
    resident = _resident(request)
    if resident is None:
        return _login_needed(request)
    post = request.POST
    form = {
        "holder_hkid": post.get("holder_hkid", ""),
        "role": post.get("role", ""),
        "services": post.get("services", ""),
        "actions": post.getlist("actions"),
        "valid_from": post.get("valid_from", ""),
        "valid_until": post.get("valid_until", ""),
        "joint_approval": bool(post.get("joint_approval")),
        "may_delegate": bool(post.get("may_delegate")),
    }
    try:
        mandate = services.grant(
            resident,
            br_number,
            holder_hkid=form["holder_hkid"],
            role=form["role"],
            services=[s for s in form["services"].replace("，", ",").split(",") if s.strip()],
            actions=form["actions"],
            valid_from=_date(form["valid_from"], "valid_from"),
            valid_until=_date(form["valid_until"], "valid_until"),
            joint_approval=form["joint_approval"],
            may_delegate=form["may_delegate"],
        )
    except DomainError as exc:
        try:
            return _organisation_page(request, resident, br_number, error=exc, form=form, status=exc.status)
        except DomainError as denied:
            return _denied(request, denied)
    messages.success(
        request,
        _("The mandate is offered to %(name)s. It takes effect when they accept it in their app.")
        % {"name": _person(mandate.holder)},
    )
    return HttpResponseRedirect(reverse("corpid:organisation", args=[br_number]))


def _managing(request, br_number: str, change, *args):
    """Run an administrators' ``change(resident, br_number, *args)`` for the page's POST:
    ``(resident, result, None)``, or ``(resident, None, response)`` when it cannot be done (the
    login page; the organisation's page with the refusal; the refusal page when the resident
    may not see the organisation either)."""
    resident = _resident(request)
    if resident is None:
        return None, None, _login_needed(request)
    try:
        return resident, change(resident, br_number, *args), None
    except DomainError as exc:
        try:
            return resident, None, _organisation_page(request, resident, br_number, error=exc, status=exc.status)
        except DomainError as denied:
            return resident, None, _denied(request, denied)


@require_POST
def revoke_consent(request, br_number: str, consent_id):
    """An administrator revokes a consent about the company; refused from the data user's next
    request on."""
    _actor, consent, refused = _managing(request, br_number, services.revoke_company_consent, consent_id)
    if refused is not None:
        return refused
    messages.success(
        request,
        _("The consent given to %(data_user)s is revoked.") % {"data_user": _party(consent.consumer)},
    )
    return HttpResponseRedirect(reverse("corpid:organisation", args=[br_number]) + "#consents")


@require_POST
def revoke(request, br_number: str, mandate_id):
    """Revoke a mandate; it stops at the holder's next request."""
    resident, mandate, refused = _managing(request, br_number, services.revoke, mandate_id)
    if refused is not None:
        return refused
    messages.success(request, _("The mandate of %(name)s is revoked.") % {"name": _person(mandate.holder)})
    if mandate.holder_id == resident.pk:
        return HttpResponseRedirect(reverse("corpid:home"))
    return HttpResponseRedirect(reverse("corpid:organisation", args=[br_number]))
