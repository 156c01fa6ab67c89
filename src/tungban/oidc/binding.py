"""The browser's binding to the approval requests it opened (issue 15 acceptance 2).

The authorization page gives the browser a random secret per approval request (stored in
the request's ``context["browser"]``); only a browser that shows it may poll the request's
status and complete it (cross-device phishing: the QR code or link forwarded to someone
else does not bring the secret along). The pairs ``approval id → secret`` were kept in a
database session (a read and a write per login); they are now a cookie of their own:

* ``__Host-tungban_authz`` on HTTPS (RFC 6265bis §4.1.3.2: ``Secure``, ``Path=/``, no
  ``Domain``: no subdomain can set or overwrite it), ``tungban_authz`` over plain HTTP in
  development;
* ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (sent on the top-level navigation
  back from the service, as the session cookie was);
* value ``id:secret`` pairs joined by ``.`` (UUIDs and base64url secrets need no quoting),
  the latest :data:`KEEP` kept, lifetime :func:`max_age` (the request's time to live plus the
  completion grace, rounded up to an hour).

The secret is 192 random bits compared in constant time with the stored one
(:func:`hmac.compare_digest` in :mod:`.views`): a bearer secret like the session key was, so
the cookie needs no signature. Nothing is kept on the server for it.
"""

from __future__ import annotations

import re

from django.conf import settings

#: How many pending requests a browser keeps (the newest; the session kept as many).
KEEP = 5
_PAIR = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):([A-Za-z0-9_-]{16,64})$")


def cookie_name() -> str:
    """``__Host-tungban_authz`` when cookies are ``Secure`` (an HTTPS issuer), else ``tungban_authz``."""
    return "__Host-tungban_authz" if settings.SESSION_COOKIE_SECURE else "tungban_authz"


def max_age() -> int:
    """Seconds the cookie lives: at least the approval's longest life ("More time" included) and its completion
    grace, rounded up to a whole hour."""
    lifetime = max(settings.TUNGBAN_APPROVAL_TTL, getattr(settings, "TUNGBAN_APPROVAL_MAX_LIFETIME", 0))
    return max(3600, -(-(lifetime + 600) // 3600) * 3600)


def pending_from(value: str | None) -> dict[str, str]:
    """``{approval id: secret}`` from a cookie value, oldest first; malformed pairs are
    ignored (a garbled cookie binds nothing)."""
    found: dict[str, str] = {}
    for part in (value or "").split(".")[-KEEP:]:
        match = _PAIR.match(part)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def pending(request) -> dict[str, str]:
    """The browser's ``{approval id: secret}`` (:func:`pending_from` of its cookie)."""
    return pending_from(request.COOKIES.get(cookie_name()))


def secret_for(request, approval_id: str) -> str | None:
    """The secret this browser holds for ``approval_id`` (a string UUID), or ``None``."""
    return pending(request).get(str(approval_id))


def remember(request, response, approval_id: str, secret: str) -> None:
    """Add ``approval_id → secret`` to the browser's cookie on ``response``, keeping the
    newest :data:`KEEP`."""
    pairs = pending(request)
    pairs.pop(str(approval_id), None)
    pairs[str(approval_id)] = secret
    value = ".".join(f"{k}:{v}" for k, v in list(pairs.items())[-KEEP:])
    response.set_cookie(
        cookie_name(),
        value,
        max_age=max_age(),
        path="/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def forget(response) -> None:
    """Clear the browser's pending requests (RP-initiated logout)."""
    response.delete_cookie(cookie_name(), path="/", samesite="Lax")
