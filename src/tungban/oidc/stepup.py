"""Authentication levels (``acr``) and step-up for every API the platform's access tokens
protect (issue 16 item 3; anchor study §2.6 and §4(f) F2/F3).

**Levels** (``acr`` values, OIDC Core §2; discovery ``acr_values_supported``). Each names what
a login proves on two axes — the account's identity assurance (tungban+ accounts were
proofed in person at a counter) and the authentication's factors (``mfa`` in ``amr``, RFC 8176:
the web app's passkey with user verification on top of the device key):

======================== =================== =================
value                    tungban+ account    two factors (mfa)
======================== =================== =================
``urn:tungban:acr:basic``    –                   –
``urn:tungban:acr:plus``     required            –
``urn:tungban:acr:mfa``      –                   required
``urn:tungban:acr:plus:mfa`` required            required
======================== =================== =================

A login *satisfies* a level when it has everything the level requires (so a
``plus:mfa`` login satisfies all four). A service states the level it requires in its
registration (``Client.required_acr``); a request's ``acr_values`` may ask for more, never
less (:func:`effective`).

**Step-up** (RFC 9470): :func:`require` checks a token's login against the levels and the
maximum age an API needs and raises ``insufficient_user_authentication`` (401) whose
``details.www_authenticate`` is ``Bearer error="insufficient_user_authentication",
error_description="…", acr_values="…", max_age=N`` (RFC 9470 §3); the service sends the
resident through a new authorization request with those ``acr_values``/``max_age`` (§4) and
the new token passes. :class:`tungban.oidc.resource.ScopedBearer` calls it for every ninja
API (with the API's own levels and the client's registered one); signing's maximum login
age (``Client.signing_max_auth_age``) goes through it too.

This module imports :mod:`.constants` and :mod:`.errors` only (:mod:`.resource` and
:mod:`.services` import it).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from .constants import ACR_BASIC, ACR_MFA, ACR_PLUS, ACR_PLUS_MFA, AMR_MFA
from .errors import InsufficientUserAuthentication

#: ``acr`` value → ``(needs a tungban+ account, needs two factors)``, weakest first (the
#: order of discovery's ``acr_values_supported``).
LEVELS: dict[str, tuple[bool, bool]] = {
    ACR_BASIC: (False, False),
    ACR_PLUS: (True, False),
    ACR_MFA: (False, True),
    ACR_PLUS_MFA: (True, True),
}


def satisfies(*, plus: bool, mfa: bool, value: str) -> bool:
    """Whether a login of a tungban+ account (``plus``) with two factors (``mfa``)
    satisfies the level ``value``; an unknown value is never satisfied."""
    need = LEVELS.get(value)
    return need is not None and (plus or not need[0]) and (mfa or not need[1])


def at_least(value: str, floor: str) -> bool:
    """Whether the level ``value`` requires at least what ``floor`` requires (every login
    satisfying ``value`` satisfies ``floor``)."""
    need, base = LEVELS.get(value), LEVELS.get(floor)
    if need is None or base is None:
        return False
    return (need[0] or not base[0]) and (need[1] or not base[1])


def effective(requested: Sequence[str], floor: str = "") -> list[str]:
    """The levels a login must reach (any one of them, in order of preference): the
    requested ones that are at least the service's registered ``floor`` (unknown values are
    kept, so that an essential ``acr`` claim nobody can satisfy still refuses, OIDC Core
    §5.5.1.1), else ``[floor]``; ``[]`` when neither asks for anything.

    ``effective(["urn:tungban:acr:basic"], "urn:tungban:acr:plus")`` →
    ``["urn:tungban:acr:plus"]`` (a request cannot lower the registration)."""
    kept = [v for v in requested if not floor or v not in LEVELS or at_least(v, floor)]
    return kept or ([floor] if floor else [])


def login_satisfies(*, plus: bool, mfa: bool, required: Sequence[str]) -> bool:
    """Whether a login satisfies one of the ``required`` levels (``[]``: no requirement)."""
    return not required or any(satisfies(plus=plus, mfa=mfa, value=v) for v in required)


def chosen_acr(*, plus: bool, mfa: bool, required: Sequence[str]) -> str:
    """The ``acr`` to issue: the first required level the login satisfies (OIDC Core §2,
    §3.1.2.1: the request's order is its preference), else — nothing was required — the
    account's level (``plus`` or ``basic``, as before issue 16)."""
    for value in required:
        if satisfies(plus=plus, mfa=mfa, value=value):
            return value
    return ACR_PLUS if plus else ACR_BASIC


def token_login(token) -> tuple[bool, bool, int] | None:
    """``(plus, mfa, auth_time)`` of the login behind an access token (its authorization
    code's ``acr`` and ``amr``, the login session's ``auth_time``); ``None`` for a token
    without a resident (``client_credentials``: nobody authenticated, nothing to step up)."""
    if not getattr(token, "resident_id", None):
        return None
    code = getattr(token, "authorization_code", None)
    acr = code.acr if code is not None else ""
    amr = list(code.amr or []) if code is not None else []
    session = getattr(token, "session", None)
    auth_time = session.auth_time if session is not None else (code.auth_time if code is not None else token.issued_at)
    need = LEVELS.get(acr, (False, False))
    return need[0], AMR_MFA in amr or need[1], auth_time


def require(token, *, acr_values: Sequence[str] = (), max_age: int | None = None, floor: str = "") -> None:
    """Refuse a token whose login is too weak for this call (RFC 9470 §3).

    :param acr_values: the levels the API accepts (any one; ``()``: any level).
    :param max_age: the longest time since the login, in seconds (``None``: no limit).
    :param floor: the level the token's client registered (``Client.required_acr``), applied
        on top of ``acr_values`` as at the authorization endpoint (:func:`effective`).
    :raises DomainError: ``insufficient_user_authentication`` (401) with
        ``details = {"www_authenticate": 'Bearer realm="tungban", error="insufficient_user_authentication",
        error_description="…"[, acr_values="…"][, max_age=N]', "acr_values": [...] | None,
        "max_age": N | None}``.
    """
    login = token_login(token)
    if login is None:
        return
    plus, mfa, auth_time = login
    required = effective(list(acr_values), floor)
    weak = not login_satisfies(plus=plus, mfa=mfa, required=required)
    old = max_age is not None and time.time() - auth_time > max_age
    if not (weak or old):
        return
    challenge = 'Bearer realm="tungban", error="insufficient_user_authentication"'
    if weak:
        challenge += ', error_description="A stronger login is required", acr_values="' + " ".join(required) + '"'
    else:
        challenge += ', error_description="A more recent login is required"'
    if old:
        challenge += f", max_age={max_age}"
    raise InsufficientUserAuthentication(
        details={
            "www_authenticate": challenge,
            "acr_values": required if weak else None,
            "max_age": max_age if old else None,
        }
    )
