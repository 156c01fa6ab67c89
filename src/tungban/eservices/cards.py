"""The resident's applications in the app (issue 17: "Drafts saved server-side, resumable from
the app or web"): the personal assistant panel's card ``eservices.applications`` (registered
with :mod:`tungban.wallet.cards` in ``EservicesConfig.ready``) and the device API
``GET /api/v1/eservices/app/applications`` (:mod:`.api_app`) both read :func:`summaries`.

What the resident sees, most urgent first: applications waiting for information from them (the
department's request, in their language), drafts that can still be continued (with the date
they are kept until, :func:`~.services.lifecycle.save_draft`), the other open applications
(their state) and the e-licences issued. Each links to the portal page that continues it: a
draft to the page reached, everything else to its status page (the answer form, the
licence's PDF copy). Rejected, withdrawn and expired applications stay on the portal's
"My applications" page only.
"""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from tungban.identity.models import Resident
from tungban.payments import services as payments
from tungban.payments.constants import PAID_STATES as PAID_ORDER_STATES
from tungban.payments.constants import PAYABLE_STATES as PAYABLE_ORDER_STATES
from tungban.payments.reference import grouped

from .models import OPEN_STATES, Application, State
from .services import payment

#: The order groups are shown in (the resident's action first).
NEEDS_INFORMATION, DRAFT, OPEN, ISSUED = "information", "draft", "open", "issued"
_ORDER = {NEEDS_INFORMATION: 0, DRAFT: 1, OPEN: 2, ISSUED: 3}
#: At most this many items on the panel card (the API lists all).
CARD_ITEMS = 8


def _zh() -> bool:
    return not (get_language() or "en").startswith("en")


def _date(d: dt.datetime) -> str:
    d = timezone.localtime(d).date()
    return f"{d.year}年{d.month}月{d.day}日" if _zh() else d.strftime("%-d %b %Y")


def _group(app: Application, now: dt.datetime) -> str | None:
    if app.state == State.INFORMATION_REQUESTED:
        return NEEDS_INFORMATION
    if app.state == State.DRAFT:
        return DRAFT if app.draft_expires_at is None or app.draft_expires_at > now else None
    if app.state in OPEN_STATES:
        return OPEN
    if app.state == State.LICENCE_ISSUED:
        return ISSUED
    return None


def summaries(resident: Resident) -> list[dict]:
    """The resident's applications the app shows, most urgent first (then newest first)::

        [{"reference": "SWD-…", "service": name, "department": name,   # request's language
          "group": "information" | "draft" | "open" | "issued",
          "state": Application state, "state_label": its label,
          "request": the open information request's message or "",
          "draft_expires_at": datetime | None,                          # drafts only
          "credential_id": the e-licence's id or "",
          "payment": None | {"amount": "HK$350", "balance": still due (a part-paid order's rest),
                             "reference": "TB12 …", "expires_at": datetime,
                             "state": the order's state},             # awaiting payment only
          "url": the portal page that continues it (a path)}]

    Expired drafts not yet swept (:func:`~.services.lifecycle.expire_drafts`) are left out.
    """
    now = timezone.now()
    apps = (
        Application.objects.filter(resident=resident, state__in=[*OPEN_STATES, State.LICENCE_ISSUED])
        .select_related("service", "service__department")
        .prefetch_related("information_requests")
        .order_by("-id")
    )
    zh = _zh()
    out = []
    for app in apps:
        group = _group(app, now)
        if group is None:
            continue
        request = ""
        if group == NEEDS_INFORMATION:
            open_requests = [r for r in app.information_requests.all() if r.answered_at is None]
            if open_requests:
                r = open_requests[-1]
                request = r.message_zh if zh and r.message_zh else r.message_en
        if group == DRAFT:
            url = reverse("eservices:page", args=[app.reference, app.page_reached or "start"])
        else:
            url = reverse("eservices:status", args=[app.reference])
        out.append(
            {
                "payment": _payment(app),
                "reference": app.reference,
                "service": (app.service.name_zh or app.service.name_en) if zh else app.service.name_en,
                "department": (app.service.department.name_zh or app.service.department.name_en)
                if zh
                else app.service.department.name_en,
                "group": group,
                "state": app.state,
                "state_label": str(app.get_state_display()),
                "request": request,
                "draft_expires_at": app.draft_expires_at if group == DRAFT else None,
                "credential_id": app.credential_id or "",
                "url": url,
            }
        )
    out.sort(key=lambda s: _ORDER[s["group"]])  # stable: newest first within a group
    return out


def _payment(app: Application) -> dict | None:
    """The payment an application awaits (issue 18): its newest order's amount, reference,
    expiry and state, or ``None`` (no order yet: the status page makes it)."""
    if app.state != State.AWAITING_PAYMENT:
        return None
    order = payment.current_order(app)
    if order is None:
        return None
    return {
        "amount": payments.hkd(order.amount_cents),
        "balance": payments.hkd(order.balance_cents),
        "reference": grouped(order.reference),
        "expires_at": order.expires_at,
        "state": order.state,
    }


def _value(s: dict) -> str:
    due = s.get("payment")
    if due and due["state"] in PAYABLE_ORDER_STATES and due["expires_at"] > timezone.now():
        return _("Payment due: %(amount)s, reference %(reference)s, by %(date)s") % {
            "amount": due["balance"],
            "reference": due["reference"],
            "date": _date(due["expires_at"]),
        }
    if due and due["state"] in PAID_ORDER_STATES:
        return _("Payment received: %(amount)s") % {"amount": due["amount"]}
    if s["state"] == State.AWAITING_PAYMENT:
        return _("Payment due: open the application to pay")
    if s["group"] == NEEDS_INFORMATION:
        return _("More information is needed from you: %(request)s") % {"request": s["request"]}
    if s["group"] == DRAFT:
        if s["draft_expires_at"] is None:
            return _("Draft: continue where you left off")
        return _("Draft, kept until %(date)s: continue where you left off") % {"date": _date(s["draft_expires_at"])}
    if s["group"] == ISSUED:
        return _("e-Licence issued to your app")
    return _("Status: %(state)s") % {"state": s["state_label"]}


def applications_card(resident: Resident) -> dict:
    """The panel card: ``ok`` with one item per application of :func:`summaries` (at most
    :data:`CARD_ITEMS`; label: the service and reference; value: what it needs or its state;
    ``href``: the portal page that continues it), else ``empty``."""
    found = summaries(resident)
    if not found:
        return {"state": "empty", "message": _("You have no e-services applications in progress.")}
    now = timezone.now().isoformat()
    return {
        "state": "ok",
        "items": [
            {"label": f"{s['service']} ({s['reference']})", "value": _value(s), "href": s["url"]}
            for s in found[:CARD_ITEMS]
        ],
        "sources": [{"department": "tungban 通辦", "product": _("Your e-services applications"), "fetched_at": now}],
    }
