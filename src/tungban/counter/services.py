"""Counter actions that span several apps (an officer's single step, one transaction)."""

from __future__ import annotations

from django.db import transaction

from tungban.identity import services as identity
from tungban.identity.models import Resident
from tungban.wallet import services as wallet


@transaction.atomic
def suspend_account(resident: Resident, *, actor=None, reason: str = "") -> None:
    """Suspend the account and unbind its device in one step: the phone's key stops working
    at once, and reinstating needs a new binding.

    :raises DomainError: as :func:`tungban.identity.services.set_status` (nothing is written then).
    """
    identity.set_status(resident, "suspended", reason=reason, actor=actor)
    wallet.unbind_active(resident, actor=actor, reason="suspended")
