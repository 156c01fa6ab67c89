"""The register of private keys kept outside the database, in a PKCS#11 token (issue 14 item 3:
"no private key exists that the platform does not know about").

A key in an HSM is made outside the database transaction that records it: a worker killed
between the two used to leave a key in the token that no row named. Now every such key goes
through three steps:

1. :func:`reserve` commits a ``pending`` :class:`~tungban.keys.models.TokenKey` row, in its
   own transaction, with the label the token object will carry;
2. the caller generates the key under that label (``killpoint("keys.generated")`` follows);
3. :func:`activate`, in the transaction that records the key's use (e.g. the signing
   credential), turns the row ``active``; if the sweep gave the key up meanwhile it raises
   :class:`KeyAbandoned` and that transaction rolls back.

:func:`sweep` (``tungban sweep_keys``, and the scheduled purge of :mod:`tungban.core.retention`)
then restores the invariant after any crash: it destroys token objects under this database's
prefix (:func:`prefix`) that have no row, ``pending`` rows older than the grace period
(``TUNGBAN_KEY_SWEEP_GRACE`` seconds) with their object if it appeared, and keys whose
record was revoked (``retiring``) but whose destruction failed.

``keys`` knows no HSM library: the sweep works on any *holder* with ``labels(prefix) ->
set[str]`` (labels of private and public key objects starting with ``prefix``) and
``destroy_label(label)`` (destroys them; nothing to destroy is not an error), e.g.
:class:`tungban.signing.keystore.Pkcs11KeyStore`.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import TokenKey, TokenKeyState, TokenNamespace

log = logging.getLogger(__name__)

LABEL_PREFIX = "tungban-"


class KeyAbandoned(RuntimeError):
    """The key's ``pending`` row is gone: the sweep destroyed the key after the grace period
    (the worker that made it took longer than ``TUNGBAN_KEY_SWEEP_GRACE``). Make a new one."""


class KeyHolder(Protocol):
    def labels(self, prefix: str) -> set[str]: ...

    def destroy_label(self, label: str) -> None: ...


def namespace() -> str:
    """This database's random namespace (12 hex digits), created on first use (one row, id 1:
    workers starting at once agree on it)."""
    row = TokenNamespace.objects.filter(pk=1).first()
    if row is None:
        row, _ = TokenNamespace.objects.get_or_create(pk=1, defaults={"value": secrets.token_hex(6)})
    return row.value


def prefix() -> str:
    """``tungban-<namespace>-``: the start of every key label this database hands out."""
    return f"{LABEL_PREFIX}{namespace()}-"


def reserve(purpose: str) -> str:
    """Record the intent to create a key and return its label (``<prefix><uuid4>``, at most
    57 characters). The ``pending`` row commits before this returns: call it outside any
    transaction (inside one the row commits only with it, and a kill before then loses the
    row while the token keeps the key)."""
    with transaction.atomic():
        label = f"{prefix()}{uuid.uuid4()}"
        TokenKey.objects.create(label=label, purpose=purpose[:40])
    return label


def activate(label: str) -> None:
    """Mark the key ``active``: call in the transaction that records its use.

    :raises KeyAbandoned: the row is no longer ``pending`` (swept after the grace period).
    """
    updated = TokenKey.objects.filter(label=label, state=TokenKeyState.PENDING).update(
        state=TokenKeyState.ACTIVE, activated_at=timezone.now()
    )
    if updated != 1:
        raise KeyAbandoned(label)


def retire(label: str) -> None:
    """Mark the key ``retiring`` (call in the transaction that ends its use, e.g. a
    revocation): the caller destroys it after the commit and calls :func:`destroyed`; if
    that fails, the sweep destroys it. Labels with no row (keys made before the register)
    are ignored."""
    TokenKey.objects.filter(label=label).exclude(state=TokenKeyState.DESTROYED).update(state=TokenKeyState.RETIRING)


def destroyed(label: str) -> None:
    """Record that the token object of ``label`` was destroyed."""
    TokenKey.objects.filter(label=label).update(state=TokenKeyState.DESTROYED, destroyed_at=timezone.now())


def discard(holder: KeyHolder, label: str) -> None:
    """Give up a key that will not be used (its use was refused, or :func:`activate` found
    it abandoned): delete its ``pending`` row, if any, and destroy the object. A key whose row
    is ``active`` or ``retiring`` is left alone. Errors are logged: the sweep finishes the job."""
    try:
        with transaction.atomic():
            row = TokenKey.objects.select_for_update().filter(label=label).first()
            if row is not None and row.state != TokenKeyState.PENDING:
                return
            if row is not None:
                row.delete()
            holder.destroy_label(label)
    except Exception:  # noqa: BLE001 - best effort; a pending row stays for the sweep, an orphan too
        log.exception("Could not discard the unused key %s", label)


def sweep(holder: KeyHolder, now: dt.datetime | None = None, grace: float | None = None) -> dict[str, int]:
    """Make every token object under :func:`prefix` one the platform knows, and forget keys
    that never came into use (issue 14 item 3):

    * token objects whose label has no row, or a ``destroyed`` one, are destroyed
      (``orphans``): a row always commits before its object is created, so an object with
      no row is never one being made;
    * ``pending`` rows created more than ``grace`` seconds (default
      ``TUNGBAN_KEY_SWEEP_GRACE``) before ``now``: the row is deleted (``abandoned``) in a
      transaction of its own whose conditional delete waits for, and loses to, a concurrent
      :func:`activate`, and only once that deletion has committed is the object, if any,
      destroyed (should that fail, the object has no row: the next sweep destroys it);
    * ``retiring`` rows: the object is destroyed and the row marked ``destroyed`` (``retired``).

    It commits as it goes, so it must run outside any transaction (the scheduled purge
    registers it with ``own_transactions=True``): inside one, a later failure would roll
    back the deletion of a row whose object is already gone, and a slow job could then
    activate a key that no longer exists (review of issue 14 item 3).

    Objects outside this database's prefix (another platform's, keys made before the
    register) are never touched. Returns ``{"pkcs11 orphan keys": n, "keys_tokenkey
    abandoned": n, "keys_tokenkey retired": n}``.

    :raises RuntimeError: called inside a transaction (``atomic(durable=True)``).
    """
    now = now or timezone.now()
    grace = settings.TUNGBAN_KEY_SWEEP_GRACE if grace is None else grace
    start = prefix()
    present = holder.labels(start)  # listed before the rows are read: see the docstring
    with transaction.atomic(durable=True):  # refuses to run nested: see the docstring
        known = set(
            TokenKey.objects.filter(label__in=present)
            .exclude(state=TokenKeyState.DESTROYED)
            .values_list("label", flat=True)
        )
    orphans = sorted(present - known)
    for label in orphans:
        holder.destroy_label(label)
        log.warning("Destroyed the orphan key %s (no committed record)", label)
    cutoff = now - dt.timedelta(seconds=grace)
    abandoned = 0
    stale = TokenKey.objects.filter(state=TokenKeyState.PENDING, created_at__lt=cutoff, label__startswith=start)
    for label in list(stale.values_list("label", flat=True)):
        with transaction.atomic(durable=True):
            deleted = TokenKey.objects.filter(label=label, state=TokenKeyState.PENDING).delete()[0]
        if deleted:  # committed: no activate can take it now
            holder.destroy_label(label)  # it may have appeared since the listing
            abandoned += 1
    retired = 0
    for label in list(TokenKey.objects.filter(state=TokenKeyState.RETIRING).values_list("label", flat=True)):
        holder.destroy_label(label)
        destroyed(label)
        retired += 1
    return {
        "pkcs11 orphan keys": len(orphans),
        f"{TokenKey._meta.db_table} abandoned": abandoned,
        f"{TokenKey._meta.db_table} retired": retired,
    }
