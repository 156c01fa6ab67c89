"""Rate-limit keys for identity's guessable inputs (issue 13 items 2 and 12), for
:func:`tungban.core.ratelimit.limit` on the views that take an HKID number::

    @ratelimit.limit("proofing_hkid", key=limits.claimed_hkid)

Each returns the value to count under, or raises the error the request is refused with when
it names no well-formed HKID number (a per-HKID limit fails closed, never skips). The
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
from django.utils.translation import gettext_lazy as _

from tungban.core.errors import DomainError
from tungban.core.fields import lookup_hash
from tungban.core.ratelimit import client_ip

from . import hkid as hkid_mod

#: The key of every request whose JSON body has no string ``hkid``: such a request is counted
#: (fail closed), and its operation's schema refuses it.
UNREADABLE = "hkid:unreadable"


def claimed_hkid(request: HttpRequest) -> str:
    """The keyed hash of the canonical HKID number in the request's JSON body field ``hkid``.

    The body is read as django-ninja's JSON parser reads it (``json.loads(request.body)``)
    **whatever the Content-Type**: ninja does not look at it, so neither may the limit (issue
    16 security review H1: a JSON body sent as ``text/plain`` went uncounted). A per-HKID
    limit fails closed: a request whose HKID cannot be read is refused, not let through
    uncounted.

    :returns: the keyed hash, or :data:`UNREADABLE` for a JSON body without a string ``hkid``
        (counted; the operation's validation refuses the request).
    :raises DomainError: ``invalid_request`` (400) when the body is not JSON (ninja's answer);
        ``hkid_format`` / ``hkid_check_digit`` (400) when the number is malformed (what the
        operation itself would answer, before any guess is checked)."""
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise DomainError("invalid_request", _("The request body is not valid JSON."), status=400) from None
    raw = body.get("hkid") if isinstance(body, dict) else None
    if not isinstance(raw, str):
        # Counted under one key shared by every such request, never skipped; the operation's
        # schema (``hkid: str``) then refuses it with its documented validation error (422,
        # ``details.errors``), which no such request can pass.
        return UNREADABLE
    return lookup_hash(hkid_mod.normalize(raw))


def claimed_hkid_and_client(request: HttpRequest) -> str:
    """``"<keyed hash of the HKID>|<client address>"``: attempts on one HKID from one client.

    :raises DomainError: as :func:`claimed_hkid`."""
    return f"{claimed_hkid(request)}|{client_ip(request)}"
