"""Signing on behalf of an organisation (issue 19): the registry through which an app above
signing tells it who may sign for an organisation. Signing (floor 5) never imports that app
(CorpID, floor 6); the app registers a checker in its ``AppConfig.ready()``::

    from tungban.signing import behalf

    behalf.register("corpid", check)

``check(resident, organisation, service) -> Authority`` answers whether ``resident`` may sign
for ``organisation`` (the scheme's key, e.g. a Business Registration number) in ``service``
now, or raises the scheme's documented :class:`~tungban.core.errors.DomainError` (e.g.
``mandate_revoked``). Signing calls it when the request is made, at each app approval and
again in the signing job, before and after it signs, so a revocation counts from the next of
these (nothing is cached).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Authority:
    """What a checker answers when the person may sign for the organisation.

    ``organisation_identifier``: ETSI EN 319 412-1 §5.1.4 semantics, e.g. ``NTRHK-21812345``
    (the seal certificate's ``organizationIdentifier``); ``name_en``/``name_zh``: the
    organisation's names; ``mandate_id``: the authority's identifier, written into the
    signature; ``joint_approval``: a second authorised person must approve too;
    ``sources``: the identifiers of the authorities this one was passed on from (a delegated
    mandate's chain), so that a second signatory whose authority the first signatory passed on
    (or who passed on the first's) is refused: one person cannot make their own co-signer."""

    organisation_identifier: str
    name_en: str
    name_zh: str
    mandate_id: str
    joint_approval: bool = False
    sources: tuple[str, ...] = ()


Checker = Callable[..., Authority]
_checkers: dict[str, Checker] = {}


def register(scheme: str, check: Checker) -> None:
    """Register the checker of ``scheme`` (call from ``AppConfig.ready()``; registering the same
    function again is a no-op).

    :raises ImproperlyConfigured: another checker is registered for ``scheme``.
    """
    known = _checkers.get(scheme)
    if known is not None and known is not check:
        raise ImproperlyConfigured(f"Signing scheme {scheme!r} already has a checker")
    _checkers[scheme] = check


def check(scheme: str, resident, organisation: str, service: str) -> Authority:
    """The registered checker's answer for ``resident``.

    :raises DomainError: the scheme's refusal.
    :raises LookupError: no checker for ``scheme`` (a programming error).
    """
    try:
        checker = _checkers[scheme]
    except KeyError:
        raise LookupError(f"No signing checker for {scheme!r}: register one in AppConfig.ready()") from None
    return checker(resident, organisation, service)
