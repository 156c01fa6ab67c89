"""Who is logged in on CorpID's pages. The resident's web login belongs to an app above this
one (the e-services portal, a first-party relying party of the platform's OpenID Provider); it
registers itself here, as it does with the payment pages (:mod:`tungban.payments.web`)."""

from __future__ import annotations

from collections.abc import Callable

_LOGINS: list[tuple[Callable, Callable]] = []


def register_login(resident_of: Callable, login_url: Callable) -> None:
    """Register ``resident_of(request) -> Resident | None`` (the logged-in resident) and
    ``login_url(next_path) -> str`` (where to log in, coming back to ``next_path``)."""
    if (resident_of, login_url) not in _LOGINS:
        _LOGINS.append((resident_of, login_url))


def resident_of(request):
    """The resident ``request`` is logged in as, or ``None``."""
    for find, _url in _LOGINS:
        resident = find(request)
        if resident is not None:
            return resident
    return None


def login_url(next_path: str) -> str | None:
    """The login page that returns to ``next_path``, or ``None`` when no login is registered."""
    return _LOGINS[0][1](next_path) if _LOGINS else None
