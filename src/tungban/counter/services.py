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


@transaction.atomic
def provision_staff_user(
    username: str, *, password: str, groups: list[str] = (), superuser: bool = False
) -> tuple[object, dict]:
    """Create or update a staff user with exactly ``groups`` (see :mod:`.roles`), a new
    ``password`` and a new confirmed TOTP device (their second factor, issue 13 item 3); any
    earlier TOTP device of theirs is deleted.

    :returns: ``(user, {"totp_secret": base32 secret, "totp_uri": otpauth:// provisioning URI})``
        — what an authenticator app needs (scan the URI as a QR code or type the secret).
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from .roles import ensure_groups

    ensure_groups()
    user, _created = get_user_model().objects.get_or_create(username=username)
    user.is_staff = True
    user.is_superuser = superuser
    user.set_password(password)
    user.save()
    user.groups.set(Group.objects.filter(name__in=groups))
    return user, new_totp_device(user)


@transaction.atomic
def new_totp_device(user) -> dict:
    """Give ``user`` a new confirmed TOTP device (RFC 6238: 30 s, 6 digits), replacing any
    earlier one (a lost phone). :returns: ``{"totp_secret": base32, "totp_uri": otpauth:// URI}``."""
    import base64

    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return {"totp_secret": secret, "totp_uri": device.config_url}
