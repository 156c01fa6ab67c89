"""Verifier codes for 認證易 (issue 13 item 12): short-lived, single-use nonces stored in the
database, so a holder's proof made for one check cannot be replayed at another (SD-JWT
§7.3 / RFC 9901 §7.3: the verifier's nonce binds the KB-JWT to this presentation).

A code is 8 characters of an alphabet without look-alikes (about 40 bits), shown as
``K7Q2-M9XD``; the holder types it into the app, which normalises it (upper case, letters
and digits only) before putting it in the KB-JWT's ``nonce``.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

from django.conf import settings
from django.utils import timezone

from ..models import VerifierNonce

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 8


def normalise_code(text: str) -> str:
    """``"k7q2 m9xd"`` → ``"K7Q2M9XD"``: upper case, letters and digits only."""
    return re.sub(r"[^A-Z0-9]", "", (text or "").upper())[:16]


def display_code(value: str) -> str:
    """``"K7Q2M9XD"`` → ``"K7Q2-M9XD"``."""
    return f"{value[:4]}-{value[4:]}" if len(value) == LENGTH else value


def new_verifier_nonce() -> VerifierNonce:
    """A new verifier code valid for ``TUNGBAN_VERIFIER_NONCE_TTL`` seconds; codes expired
    for more than a day are deleted on the way."""
    now = timezone.now()
    VerifierNonce.objects.filter(expires_at__lt=now - dt.timedelta(days=1)).delete()
    while True:
        value = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if not VerifierNonce.objects.filter(value=value).exists():
            break
    return VerifierNonce.objects.create(
        value=value, created_at=now, expires_at=now + dt.timedelta(seconds=settings.TUNGBAN_VERIFIER_NONCE_TTL)
    )


def use_verifier_nonce(nonce: str) -> str:
    """Spend the verifier code ``nonce`` (a KB-JWT's ``nonce``), atomically.

    :returns: ``"used_now"`` (it was valid and is now spent), ``"already_used"`` (a replay),
        ``"expired"``, or ``"unknown"`` (not a verifier code of this platform: the app's
        own random nonce).
    """
    value = normalise_code(nonce) if isinstance(nonce, str) and len(nonce) <= 32 else ""
    if len(value) != LENGTH:
        return "unknown"
    now = timezone.now()
    if VerifierNonce.objects.filter(value=value, used_at__isnull=True, expires_at__gt=now).update(used_at=now):
        return "used_now"
    stored = VerifierNonce.objects.filter(value=value).first()
    if stored is None:
        return "unknown"
    return "already_used" if stored.used_at is not None else "expired"


def purge_expired(now: dt.datetime) -> dict[str, int]:
    """Verifier codes past ``expires_at`` (issue 14 item 7): a proof naming one is refused
    as expired whether or not its row exists. Registered with :mod:`tungban.core.retention`.

    :returns: ``{"credentials.VerifierNonce": rows deleted}``.
    """
    return {"credentials.VerifierNonce": VerifierNonce.objects.filter(expires_at__lt=now).delete()[0]}
