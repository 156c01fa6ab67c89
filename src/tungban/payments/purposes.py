"""What a payment is for (issue 18): a registry, so that ``payments`` (floor 6) never imports
the apps that charge (``eservices`` on floor 7 calls payments, never the reverse).

An app registers each kind of payment it asks for in its ``AppConfig.ready()``::

    purposes.register(
        "eservices.application",
        on_paid=receive_payment,      # (order) -> None: done once the order is paid
        describe=describe_payment,    # (order) -> {"title_en", "title_zh", "url"}
        on_reversed=payment_reversed, # (order) -> None: the bank took the money back
    )

``on_paid`` runs as a background task after the order is paid (``success`` or ``overpaid``),
with ``core.jobs`` retries (:func:`tungban.payments.services.fulfil_task`): it must be
idempotent (it may run again after a failure half way) and a failure there never undoes the
recorded payment. ``on_reversed`` (optional) runs as a background task when the bank
reverses a transfer that had paid the order and the order is no longer paid
(:func:`tungban.payments.services.debits.reverse`): the order is payable again; it must be
idempotent too. ``describe`` (optional) names the thing paid for and the page the payer
returns to. Nothing is kept in process memory beyond the registry itself, which every process
builds the same way at start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import errors


@dataclass(frozen=True)
class Purpose:
    kind: str
    on_paid: Callable
    describe: Callable | None = None
    app: str = ""
    on_reversed: Callable | None = None


_registry: dict[str, Purpose] = {}


def register(
    kind: str,
    *,
    on_paid: Callable,
    describe: Callable | None = None,
    app: str = "",
    on_reversed: Callable | None = None,
) -> Purpose:
    """Register (or replace) the purpose ``kind`` (``<app>.<thing>``)."""
    if "." not in kind:
        raise ValueError(f"a purpose is named <app>.<thing>: {kind!r}")
    purpose = Purpose(kind=kind, on_paid=on_paid, describe=describe, app=app, on_reversed=on_reversed)
    _registry[kind] = purpose
    return purpose


def get(kind: str) -> Purpose:
    """:raises DomainError: ``purpose_unknown``."""
    try:
        return _registry[kind]
    except KeyError:
        raise errors.PurposeUnknown(purpose=kind) from None


def registered() -> dict[str, Purpose]:
    return dict(_registry)


def describe(order) -> dict:
    """``{"title_en", "title_zh", "url"}`` of what ``order`` pays for (its own description and
    ``return_url`` when the purpose has no ``describe``)."""
    purpose = _registry.get(order.purpose)
    found = purpose.describe(order) if purpose and purpose.describe else None
    return found or {"title_en": order.description_en, "title_zh": order.description_zh, "url": order.return_url}
