"""Data subjects that are not residents (issue 19, CorpID): a registry the apps that know them
fill in their ``AppConfig.ready()``, so the exchange never imports them (floors).

The exchange knows residents itself. An organisation — a company by its Business Registration
number — is registered by ``corpid`` (kind ``"organisation"``), with the check the exchange
makes when a consent about one is asked for, approved, and before every exchange under it:
whether the person giving (or who gave) the consent still may, for that service, under the same
authority (a CorpID mandate with the action ``apply``). Nothing is cached: a mandate revoked,
expired or out of scope, or an organisation suspended, refuses the next exchange.

A resident's consent never comes here: it pays nothing for this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import errors


@dataclass(frozen=True)
class Authority:
    """What :attr:`SubjectKind.authorise` found: the subject's canonical ``subject_id`` (e.g.
    the BRN, 8 characters), its names, and ``given_under``, the id of the authority the person
    holds (a mandate's public id) — recorded on the consent and required unchanged later."""

    subject_id: str
    name_en: str
    name_zh: str
    given_under: str


@dataclass(frozen=True)
class SubjectKind:
    """A kind of data subject.

    ``authorise(subject_id, resident, service, *, given_under=None) -> Authority`` raises the
    kind's documented :class:`~tungban.core.errors.DomainError` when ``resident`` may not give
    (or no longer may use) a consent for ``subject_id`` in ``service`` — with ``given_under``,
    also when the authority in force is not that one. ``resident`` may be None (nobody known
    yet): it raises then too.
    ``describe(subject_id) -> Authority`` (``given_under`` empty): the subject's canonical id
    and names, raising the kind's error when there is no such subject (an open request, whose
    approver is checked when they approve).
    ``token_claims(subject_id) -> dict``: what the provider's request token carries to find the
    record (e.g. ``{"brn": "21812345"}``; a resident's is ``{"hkid": …}``).
    """

    id: str
    label: object
    authorise: Callable[..., Authority]
    describe: Callable[[str], Authority]
    token_claims: Callable[[str], dict]
    app: str = ""


_KINDS: dict[str, SubjectKind] = {}


def register(
    id: str,
    label,
    *,
    authorise: Callable[..., Authority],
    describe: Callable[[str], Authority],
    token_claims: Callable[[str], dict],
    app: str = "",
) -> SubjectKind:
    """Register (or replace) a kind of data subject; idempotent for the same app."""
    kind = SubjectKind(id=id, label=label, authorise=authorise, describe=describe, token_claims=token_claims, app=app)
    _KINDS[id] = kind
    return kind


def get(kind: str) -> SubjectKind:
    """The registered kind ``kind``.

    :raises DomainError: ``unknown_subject_kind`` (400).
    """
    found = _KINDS.get(kind)
    if found is None:
        raise errors.UnknownSubjectKind(kinds=", ".join(sorted(_KINDS)) or "-")
    return found


def kinds() -> list[SubjectKind]:
    return list(_KINDS.values())


def authorise(kind: str, subject_id: str, resident, service: str, *, given_under: str | None = None) -> Authority:
    """:attr:`SubjectKind.authorise` of ``kind``.

    :raises DomainError: ``unknown_subject_kind``, or the kind's refusal.
    """
    return get(kind).authorise(subject_id, resident, service, given_under=given_under)
