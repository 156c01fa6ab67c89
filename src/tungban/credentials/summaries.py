"""What a credential says, in one sentence: a registry that the app owning a credential type
fills in its ``AppConfig.ready()`` (issue 19: CorpID registers ``corpid-mandate``, whose
sentence is "X may act for Y as Z (services, actions, until)"). credentials imports no app
that issues through it; this registry is the only link, as ``wallet.cards`` is for the panel.

A summary is shown by 認證易 (``/verify``), by the offline verifier (``tungban
verify_credential``) and, as the credential's title, in the holder's app. Each function gets
the *disclosed* claims only and the language (``en`` or ``zh-hant``), and must cope with
claims the holder did not disclose.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("tungban.credentials")

#: ``(claims, language) -> text or None``.
Describe = Callable[[dict, str], str | None]


@dataclass(frozen=True)
class Summary:
    describe: Describe
    title: Describe | None = None


_registry: dict[str, Summary] = {}


def register(type_id: str, *, describe: Describe, title: Describe | None = None) -> None:
    """Register the sentence (``describe``) and the app's title (``title``) of credentials of
    ``type_id``; registering a type again replaces it."""
    _registry[type_id] = Summary(describe, title)


def _call(fn: Describe | None, claims: dict, language: str | None) -> str | None:
    if fn is None:
        return None
    try:
        return fn(dict(claims or {}), language or "en") or None
    except (KeyError, TypeError, ValueError):  # a presented credential's claims are not trusted input
        log.warning("summary of a credential failed", exc_info=True)
        return None


def describe(type_id: str | None, claims: dict, language: str | None) -> str | None:
    """The sentence for a credential of ``type_id`` with these disclosed ``claims``, or None
    (no summary registered, or nothing to say)."""
    found = _registry.get(type_id or "")
    return _call(found.describe if found else None, claims, language)


def title(type_id: str | None, claims: dict, language: str | None) -> str | None:
    """The title the holder's app shows for the credential instead of its type's name, or None."""
    found = _registry.get(type_id or "")
    return _call(found.title if found else None, claims, language)
