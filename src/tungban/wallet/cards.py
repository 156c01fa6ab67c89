"""The card-kind registry of the personal assistant panel (個人助理, issue 16; anchor study
§1(c), §2.3, §4(c) C9): which kinds of card the resident may put on the panel.

The wallet does not know its cards by name, as with approval kinds (:mod:`.kinds`). Each app
registers its kinds in its ``AppConfig.ready()``::

    from tungban.wallet import cards

    cards.register("exchange.water-bill", _("Water bill"), load=water_bill_card,
                   description=_("…"), act=ask_consent, app="exchange")

* ``id``: stored in ``PanelCard.kind`` (at most :data:`MAX_ID_LENGTH` characters,
  lowercase letters, digits and ``_`` ``.`` ``-``);
* ``label``/``description``: translatable texts the app shows;
* ``load(resident) -> dict``: the card's content in the request's language::

      {"state": "ok" | "empty" | "consent_needed" | "unavailable",
       "items": [{"label": str, "value": str,              # what the card shows
                  "href": str}],                           # optional: a page on the platform
                                                           # (a path; anything else is dropped)
       "sources": [{"department": str, "product": str,     # where each item came from
                    "fetched_at": ISO 8601 datetime}],
       "message": str}                                      # for the other states
* ``act(resident) -> dict`` (optional): the card's one action, e.g. asking for the consent a
  ``consent_needed`` card lacks; returns ``{"approval_id": str}`` for the app to open.

A loader that raises shows its card as ``unavailable`` (the others still load).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

#: The length of ``PanelCard.kind``.
MAX_ID_LENGTH = 40
#: States a loader may give.
STATES = ("ok", "empty", "consent_needed", "unavailable")
_ID = re.compile(rf"^[a-z0-9_.-]{{1,{MAX_ID_LENGTH}}}$")


@dataclass(frozen=True)
class CardKind:
    """One registered kind of card."""

    id: str
    label: object  # lazy translatable
    load: Callable
    description: object = ""
    act: Callable | None = None
    app: str = ""


_registry: dict[str, CardKind] = {}


def register(id: str, label, *, load: Callable, description="", act: Callable | None = None, app: str = "") -> CardKind:
    """Register a card kind (call from ``AppConfig.ready()``); registering the same kind again
    with the same definition is a no-op.

    :raises ImproperlyConfigured: a malformed id, ``load`` not callable, or the id already
        registered differently.
    """
    if not _ID.match(id or ""):
        raise ImproperlyConfigured(f"Card kind id {id!r}: 1-{MAX_ID_LENGTH} of a-z 0-9 _ . -")
    if not callable(load) or (act is not None and not callable(act)):
        raise ImproperlyConfigured(f"Card kind {id!r}: load (and act) must be callables")
    kind = CardKind(id=id, label=label, load=load, description=description, act=act, app=app)
    known = _registry.get(id)
    if known is not None and known != kind:
        raise ImproperlyConfigured(f"Card kind {id!r} is already registered by {known.app or 'another app'}")
    _registry[id] = kind
    return kind


def get(id: str) -> CardKind | None:
    """The registered kind ``id``, or None."""
    return _registry.get(id)


def all_kinds() -> list[CardKind]:
    """Every registered kind, in registration order."""
    return list(_registry.values())


def unregister(id: str) -> None:
    """Forget a kind (tests)."""
    _registry.pop(id, None)
