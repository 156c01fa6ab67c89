"""Rate-limit keys for identity's guessable inputs (issue 13 items 2 and 12), for
:func:`tungban.core.ratelimit.limit` on the views that take an HKID number::

    @ratelimit.limit("proofing_hkid", key=limits.claimed_hkid)

Each returns the value to count under, or ``None`` (not counted) when the request names no
well-formed HKID number: such a request fails validation before any guess is checked. The
number is counted under its keyed hash (:func:`tungban.core.fields.lookup_hash`), so the
rate limiter's table holds no HKID number.

Per-number limits let someone who knows a number delay its holder (never void anything):
self-registration of a number waits for the window to end (or the holder registers at a
counter); binding has a per-client limit well below the per-number ceiling, so the holder's
own phone is not affected until a distributed attacker reaches the ceiling.
"""

from __future__ import annotations

import json

from django.http import HttpRequest

from tungban.core.errors import DomainError
from tungban.core.fields import lookup_hash
from tungban.core.ratelimit import client_ip

from . import hkid as hkid_mod


def claimed_hkid(request: HttpRequest) -> str | None:
    """The keyed hash of the canonical HKID number in the request's JSON body (or form)
    field ``hkid``."""
    raw = None
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return None
        raw = body.get("hkid") if isinstance(body, dict) else None
    else:
        raw = request.POST.get("hkid")
    if not isinstance(raw, str):
        return None
    try:
        return lookup_hash(hkid_mod.normalize(raw))
    except DomainError:
        return None


def claimed_hkid_and_client(request: HttpRequest) -> str | None:
    """``"<keyed hash of the HKID>|<client address>"``: attempts on one HKID from one client."""
    canonical = claimed_hkid(request)
    return f"{canonical}|{client_ip(request)}" if canonical else None
