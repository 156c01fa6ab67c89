"""Counter actions that span several apps (an officer's single step, one transaction)."""

from __future__ import annotations

from django.db import transaction

from tungban.identity import services as identity
from tungban.identity.models import Resident
from tungban.oidc import services as oidc
from tungban.wallet import services as wallet


@transaction.atomic
def suspend_account(resident: Resident, *, actor=None, reason: str = "") -> None:
    """Suspend the account, unbind its device and end its grants in one step: the phone's key
    stops working at once, reinstating needs a new binding, and the tokens, refresh tokens and
    authorization codes issued before stay revoked after reinstatement (issue 13 item 14).

    :raises DomainError: as :func:`tungban.identity.services.set_status` (nothing is written then).
    """
    identity.set_status(resident, "suspended", reason=reason, actor=actor)
    wallet.unbind_active(resident, actor=actor, reason="suspended")
    oidc.revoke_user_grants(resident)
