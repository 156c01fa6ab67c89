"""The personal assistant panel (個人助理, issue 16): the cards a resident chose, in order,
each loaded by the app that registered its kind (:mod:`.cards`)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils.translation import gettext as _

from tungban.identity.models import Resident

from . import cards, errors
from .models import PanelCard

log = logging.getLogger(__name__)
#: At most this many cards on a panel.
MAX_CARDS = 20


def kinds_offered() -> list[dict]:
    """Every registered card kind: ``[{"kind", "label", "description"}]`` (request's language)."""
    return [{"kind": k.id, "label": str(k.label), "description": str(k.description)} for k in cards.all_kinds()]


def chosen(resident: Resident) -> list[str]:
    """The kinds on the resident's panel, in order (kinds no longer registered left out)."""
    return [k for k in PanelCard.objects.filter(resident=resident).values_list("kind", flat=True) if cards.get(k)]


@transaction.atomic
def choose(resident: Resident, kinds: list[str]) -> list[str]:
    """Set the panel to ``kinds``, in this order (adds, removes and reorders in one go).

    :raises DomainError: ``unknown_card_kind``, ``repeated_card``, ``too_many_cards``
        (nothing stored).
    """
    kinds = [str(k) for k in kinds]
    if any(cards.get(k) is None for k in kinds):
        raise errors.UnknownCardKind()
    if len(set(kinds)) != len(kinds):
        raise errors.RepeatedCard()
    if len(kinds) > MAX_CARDS:
        raise errors.TooManyCards(max=MAX_CARDS)
    PanelCard.objects.filter(resident=resident).exclude(kind__in=kinds).delete()
    for position, kind in enumerate(kinds):
        PanelCard.objects.update_or_create(resident=resident, kind=kind, defaults={"position": position})
    return kinds


def _item(item: dict) -> dict:
    """A card's item as the app gets it: ``href`` kept only when it is a path on the platform
    (``/…``, not ``//host``), so that a card can link nowhere else."""
    href = str(item.get("href") or "")
    if not href.startswith("/") or href.startswith("//") or "\\" in href:
        href = ""
    return {"label": str(item.get("label", "")), "value": str(item.get("value", "")), "href": href}


def _load(kind: cards.CardKind, resident: Resident) -> dict:
    try:
        content = dict(kind.load(resident))
    except Exception:  # one card's failure must not take the panel down
        log.exception("panel card %s failed to load", kind.id)
        content = {"state": "unavailable", "message": _("This card cannot be shown now. Try again later.")}
    if content.get("state") not in cards.STATES:
        content["state"] = "unavailable"
    return {
        "kind": kind.id,
        "label": str(kind.label),
        "state": content["state"],
        "items": [_item(i) for i in content.get("items", [])],
        "sources": list(content.get("sources", [])),
        "message": str(content.get("message", "")),
        "action": str(content.get("action", "")) if kind.act is not None else "",
    }


def panel(resident: Resident) -> dict:
    """``{"cards": [loaded card …] in the resident's order, "offered": kinds_offered()}``; a
    loaded card is ``{"kind", "label", "state", "items", "sources", "message", "action"}``
    (``action``: the label of the card's action button, empty when it has none)."""
    return {"cards": [_load(cards.get(k), resident) for k in chosen(resident)], "offered": kinds_offered()}


def act(resident: Resident, kind_id: str) -> dict:
    """Run the action of a card on the resident's panel (e.g. ask for a consent).

    :returns: the kind's answer, e.g. ``{"approval_id": …}``.
    :raises DomainError: ``no_card_action`` (404: not on the panel or no action).
    """
    kind = cards.get(kind_id)
    if kind is None or kind.act is None or kind_id not in chosen(resident):
        raise errors.NoCardAction()
    return kind.act(resident)
