"""What the apps that seal documents know about them after sealing (a registry, as
``wallet.cards``): the verification page (:func:`tungban.signing.views.verify_page`) asks each
registered lookup about the document it checked, so that, for example, an e-receipt whose
payment the bank reversed reads "Voided — payment reversed" there although its PDF — signed,
never altered — still verifies. ``signing`` (floor 5) imports none of those apps: each
registers its lookup in its ``AppConfig.ready()``::

    document_status.register("payments.receipts", receipts.document_status)

A lookup takes the checked file's SHA-256 (lower-case hex) and returns a list (empty when it
does not know the document) of ``{"state": "void" | …, "title": str, "detail": str, "at":
datetime | None}`` in the active language. It must be quick (one indexed query) and must never
name a person: the page is public. A lookup that fails is logged and ignored — the signature's
own report stands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

_lookups: dict[str, Callable[[str], list[dict]]] = {}


def register(name: str, lookup: Callable[[str], list[dict]]) -> None:
    """Register (or replace) ``lookup`` under ``name`` (``<app>.<documents>``)."""
    _lookups[name] = lookup


def status_of(sha256: str) -> list[dict]:
    """Every registered lookup's notes about the document whose SHA-256 is ``sha256``."""
    notes: list[dict] = []
    for name, lookup in _lookups.items():
        try:
            notes.extend(lookup(sha256.lower()))
        except Exception:
            log.exception("document status lookup %s failed", name)
    return notes
