"""Best bets, set by search editors (issue 22; GOV.UK's "best bets"): who may set them, and
adding and removing them (each one transaction, checked before anything is written)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from . import errors
from .models import BestBet, SearchDocument, SearchEditor
from .services import normalise_query


def is_editor(user) -> bool:
    """Whether ``user`` (active staff) is a :class:`SearchEditor`."""
    return (
        bool(user.is_authenticated and user.is_active and user.is_staff)
        and SearchEditor.objects.filter(user=user).exists()
    )


def add(user, *, query: str, kind: str, ref: str, position=1) -> BestBet:
    """Make document ``(kind, ref)`` a best bet for ``query`` (stored normalised:
    :func:`~tungban.search.services.normalise_query`) at ``position`` (1–99).

    :raises errors.NotSearchEditor: ``user`` is not a search editor.
    :raises errors.BestBetQueryInvalid: ``query`` is empty after normalising, or over 200 characters.
    :raises errors.UnknownKind: ``kind`` is not a kind of document.
    :raises errors.DocumentUnknown: no such document in the index.
    :raises errors.PositionInvalid: ``position`` not a whole number 1–99.
    :raises errors.BestBetExists: the document is already a best bet for the query."""
    from .sources import KINDS

    if not is_editor(user):
        raise errors.NotSearchEditor()
    if len(query or "") > errors.MAX_QUERY or not normalise_query(query or ""):
        raise errors.BestBetQueryInvalid()
    if kind not in KINDS:
        raise errors.UnknownKind(kind=str(kind)[:40])
    try:
        position = int(position)
    except (TypeError, ValueError):
        position = 0
    if not 1 <= position <= 99:
        raise errors.PositionInvalid()
    doc = SearchDocument.objects.filter(kind=kind, ref=(ref or "").strip()).first()
    if doc is None:
        raise errors.DocumentUnknown(ref=f"{kind}:{str(ref)[:200]}")
    nq = normalise_query(query)
    try:
        with transaction.atomic():
            return BestBet.objects.create(query=nq, document=doc, position=position, created_by=user)
    except IntegrityError:
        raise errors.BestBetExists() from None


def remove(user, pk: int) -> None:
    """Delete best bet ``pk``.

    :raises errors.NotSearchEditor: ``user`` is not a search editor.
    :raises errors.BestBetUnknown: no such best bet."""
    if not is_editor(user):
        raise errors.NotSearchEditor()
    with transaction.atomic():
        deleted, _ = BestBet.objects.filter(pk=pk).delete()
    if not deleted:
        raise errors.BestBetUnknown()
