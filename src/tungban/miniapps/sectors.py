"""A mini-app's pairwise sector (:attr:`.models.MiniApp.sector`): what may be registered
(issue 16 security review L3). Its own module so that the model's validation and the services
share it without an import cycle."""

from __future__ import annotations

from tungban.oidc import services as oidc

from . import errors
from .constants import SECTOR_PREFIX


def check_sector(miniapp_id: str, sector_identifier: str) -> None:
    """A mini-app's ``sector_identifier`` (:attr:`.models.MiniApp.sector`): empty or its own
    ``miniapp:<id>``, or the sector of a registered client (its ``client:<pk>`` or the grouping
    sector an administrator gave it: :func:`tungban.oidc.services.is_client_sector`, OIDC
    Core §8.1) — never another platform sector (``personal-code:``, ``cdeg:``, another
    mini-app's, an unregistered one), whose residents' identifiers the mini-app would
    otherwise see (issue 16 security review L3). Clients carry no department, so that the
    client is the publishing department's own is the publishing administrator's to check.

    :raises DomainError: ``invalid_miniapp_sector`` (400, ``field="sector_identifier"``)."""
    value = (sector_identifier or "").strip()
    if not value or value == f"{SECTOR_PREFIX}{miniapp_id}":
        return
    if not oidc.is_client_sector(value):
        raise errors.InvalidMiniappSector()
