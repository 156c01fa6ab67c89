"""The resident's "Companies I act for" in the app: the personal assistant card
``corpid.companies`` (registered with :mod:`tungban.wallet.cards` in ``CorpidConfig.ready``)
and the device API ``GET /api/v1/corpid/app/mandates`` both read :func:`summaries`.

Mandates waiting for the resident's answer come first; the card's action opens the app's
approval for the oldest of them (approve accepts, decline declines), and the device signature
covers the mandate's terms.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from tungban.identity.models import Resident

from . import services
from .constants import MandateState, Role
from .models import Mandate
from .texts import actions_text, dates_text, name_of, services_text

#: Live mandates, then the others; at most this many on the card (the API lists all).
CARD_ITEMS = 8


def state_text(mandate: Mandate) -> str:
    """The mandate's state as its holder and administrators read it today."""
    if mandate.state == MandateState.OFFERED:
        return _("Waiting for the holder's answer")
    if mandate.state != MandateState.ACTIVE:
        return str(MandateState(mandate.state).label)
    refused = services.refusal(mandate)
    if refused is None:
        return _("In force")
    return str(refused.message)


def summary(mandate: Mandate) -> dict:
    """One mandate as the app and the pages show it (the request's language)."""
    org = mandate.organisation
    return {
        "mandate_id": str(mandate.public_id),
        "br_number": org.br_number,
        "organisation": name_of(org),
        "role": mandate.role,
        "role_label": str(Role(mandate.role).label),
        "services": list(mandate.services),
        "services_text": services_text(mandate),
        "actions": list(mandate.actions),
        "actions_text": actions_text(mandate.actions),
        "valid_from": mandate.valid_from,
        "valid_until": mandate.valid_until,
        "dates_text": dates_text(mandate),
        "joint_approval": mandate.joint_approval,
        "may_delegate": mandate.may_delegate,
        "state": mandate.state,
        "in_force": services.in_force(mandate),
        "state_text": state_text(mandate),
    }


def summaries(resident: Resident) -> list[dict]:
    return [summary(m) for m in services.mandates_held(resident)]


def companies_card(resident: Resident) -> dict:
    """The card: one item per mandate (company and BRN; role, actions, services, dates, state);
    an administrator's item links to the company's administrators' page."""
    found = summaries(resident)
    if not found:
        return {"state": "empty", "message": _("You do not act for any company yet.")}
    items = []
    for m in found[:CARD_ITEMS]:
        if m["state"] == MandateState.OFFERED:
            status = _("Waiting for your answer")
        else:
            status = m["state_text"]
        value = _("%(status)s. %(role)s: %(actions)s; %(services)s; %(dates)s.") % {
            "status": status,
            "role": m["role_label"],
            "actions": m["actions_text"],
            "services": m["services_text"],
            "dates": m["dates_text"],
        }
        item = {"label": f"{m['organisation']} ({m['br_number']})", "value": value}
        if m["in_force"] and m["role"] in (Role.ADMINISTRATOR, Role.SUB_ADMINISTRATOR):
            item["href"] = reverse("corpid:organisation", args=[m["br_number"]])
        items.append(item)
    offered = any(m["state"] == MandateState.OFFERED for m in found)
    return {"state": "ok", "items": items, "action": _("Answer the mandate offer") if offered else ""}


def answer_offer(resident: Resident) -> dict:
    """The card's action: the app's approval for the oldest mandate offered to the resident."""
    return services.ask_holder(resident)
