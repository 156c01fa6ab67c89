"""The grantee's pages, under ``/subsidy/grants/<award>/`` (issue 20, part A): the award's terms,
signing the agreement with Cyberport (seed 000 §21; a person with a CorpID mandate to ``sign``
for the organisation), the monthly co-payment invoices (paid on ``/pay/<order>/``) and the usage
the centre's scheduler reports. Only a person who may act (``view``) for the grantee sees them.
"""

from __future__ import annotations

import functools
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tungban.compute import services as compute
from tungban.core.errors import DomainError
from tungban.corpid.services import authority
from tungban.eservices import login
from tungban.payments import services as payments

from .constants import AwardState
from .services import awards, cluster_users


def grantee_page(view):
    """A logged-in resident (the portal's login) who may act for the award's organisation;
    anyone else gets 404 (the award's existence is not disclosed)."""

    @functools.wraps(view)
    def wrapped(request, award, *args, **kwargs):
        resident = login.resident_of(request)
        if resident is None:
            return HttpResponseRedirect(f"{reverse('eservices:login')}?{urlencode({'next': request.get_full_path()})}")
        try:
            found = awards.get_award(award)
            authority(resident, found.application.br_number, awards.SERVICE_SLUG, "view")
        except DomainError:
            return render(
                request,
                "subsidy/grants/unknown.html",
                {"message": _("There is no such award, or you may not act for its organisation.")},
                status=404,
            )
        request.resident = resident
        return view(request, found, *args, **kwargs)

    return wrapped


def _orders(invoices):
    out = []
    for inv in invoices:
        order = None
        if inv.order_reference:
            order = payments.find_by_reference(inv.order_reference)
        out.append({"invoice": inv, "order": order})
    return out


@require_GET
@grantee_page
def grant(request, award):
    agreement = getattr(award, "agreement", None) if hasattr(award, "agreement") else None
    return render(
        request,
        "subsidy/grants/grant.html",
        {
            "award": award,
            "app": award.application,
            "months": award.months.all(),
            "agreement": agreement,
            "invoices": _orders(award.invoices.all()),
            "usage": awards.usage(award),
            "can_sign": award.state == "offered"
            and not (award.offer_expires_on and timezone.localdate() > award.offer_expires_on),
            **_users_context(request, award),
        },
    )


@require_POST
@grantee_page
def sign(request, award):
    try:
        awards.sign_agreement(award, request.resident, award.application.br_number)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("You signed the agreement. The first co-payment invoice is being issued."))
    return redirect("subsidy:grant", award.public_id)


@require_GET
@grantee_page
def pay(request, award, invoice: int):
    """Pay a co-payment invoice: a person whose CorpID mandate for the grantee allows ``pay``
    (:func:`.services.awards.require_payer`) goes on to the order's payment page
    (``/pay/<order>/``); anyone else is told why, on the grant's page."""
    found = award.invoices.filter(pk=invoice).first()
    order = payments.find_by_reference(found.order_reference) if found and found.order_reference else None
    if order is None:
        messages.error(request, _("There is no such invoice to pay."))
        return redirect("subsidy:grant", award.public_id)
    try:
        awards.require_payer(award, request.resident)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("subsidy:grant", award.public_id)
    return redirect("payments:pay", order.pk)


# --- tgaps: the grant's cluster users ------------------------------------------------------------


def _may_manage_users(resident, award) -> bool:
    """:func:`.services.cluster_users.require_administrator` as a yes or no, for the page."""
    try:
        cluster_users.require_administrator(resident, award)
    except DomainError:
        return False
    return True


def _users_context(request, award) -> dict:
    return {
        "cluster_users": compute.account_users(award.account) if award.account else [],
        "may_manage_users": bool(award.account) and _may_manage_users(request.resident, award),
        "may_add_users": award.state == AwardState.ACTIVE,
        "max_users": compute.MAX_USERS,
    }


def _change_users(request, award, change):
    try:
        change(award, request.resident, request.POST.get("user") or "")
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return False
    return True


@require_POST
@grantee_page
def add_user(request, award):
    """Name a cluster user of the grant's scheduler account (:func:`.services.cluster_users.add`)."""
    if _change_users(request, award, cluster_users.add):
        messages.success(
            request,
            _("%(user)s will be added to the cluster account; the list below shows when it is done.")
            % {"user": request.POST["user"].strip()},
        )
    return redirect(f"{reverse('subsidy:grant', args=[award.public_id])}#cluster-users")


@require_POST
@grantee_page
def remove_user(request, award):
    """Take a cluster user off the grant's scheduler account (:func:`.services.cluster_users.remove`)."""
    if _change_users(request, award, cluster_users.remove):
        messages.success(
            request, _("%(user)s will be removed from the cluster account.") % {"user": request.POST["user"].strip()}
        )
    return redirect(f"{reverse('subsidy:grant', args=[award.public_id])}#cluster-users")
