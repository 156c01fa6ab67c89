"""The scope registry: which OAuth scopes (RFC 6749 §3.3) the OpenID Provider knows, which
only a service's own key may obtain, and which claims each releases.

The OpenID Provider does not list other apps' scopes. Each app registers its own in its
``AppConfig.ready()``, the way django-oauth-toolkit's pluggable scopes backend
(``oauth2_provider/scopes.py``, ``SCOPES_BACKEND_CLASS``) lets a project supply its scopes::

    from tungban.oidc import scopes

    scopes.register("cdeg", _("Exchange data under a resident's consent"), key_only=True)
    scopes.register("membership", _("Your membership"), claims=[eme.Claim("member_no", ...)])

* ``key_only``: obtainable only with ``private_key_jwt`` client authentication (RFC 7523),
  e.g. a department system's own token;
* ``claims``: the resident's claims the scope releases through userinfo (OIDC Core §5.4):
  names already in :mod:`tungban.identity.eme`, or new :class:`tungban.identity.eme.Claim`
  entries (name, scope, label, value), which are added to that catalogue so that the app shows
  their label and value at approval.

Everything the provider publishes or enforces about scopes comes from here:
:func:`supported` (client registration, discovery ``scopes_supported``), :func:`key_only`
(the client-credentials grant), :func:`claims_for` (what an authorization request asks for)
and :func:`claims_supported` (discovery ``claims_supported``). Registration happens at start-up
only; the registry is read-only afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from tungban.identity import eme

from .constants import COMPANION_CLAIMS, PROTOCOL_CLAIMS


@dataclass(frozen=True)
class Scope:
    """One registered scope."""

    name: str
    description: object  # a lazy translatable string
    key_only: bool = False
    claims: tuple[str, ...] = ()
    app: str = ""


_registry: dict[str, Scope] = {}


def register(name: str, description, *, key_only: bool = False, claims=(), app: str = "") -> Scope:
    """Register a scope (call from ``AppConfig.ready()``); the same definition again is a no-op.

    :param claims: claim names already in :data:`tungban.identity.eme.CLAIMS`, or
        :class:`tungban.identity.eme.Claim` objects whose ``scope`` is ``name`` (added to it).
    :raises ImproperlyConfigured: a malformed name (RFC 6749 §3.3 ``scope-token``, no spaces),
        an unknown claim name, a claim of another scope, or the scope registered differently.
    """
    if not name or any(c in name for c in ' "\\') or not name.isprintable() or not name.isascii():
        raise ImproperlyConfigured(f"Scope name {name!r} is not an RFC 6749 §3.3 scope-token")
    names = []
    for claim in claims:
        if isinstance(claim, eme.Claim):
            if claim.scope != name:
                raise ImproperlyConfigured(f"Claim {claim.name!r} belongs to scope {claim.scope!r}, not {name!r}")
            try:
                eme.register(claim)
            except ValueError as exc:
                raise ImproperlyConfigured(str(exc)) from None
            claim = claim.name
        if claim not in eme.CLAIMS:
            raise ImproperlyConfigured(f"Scope {name!r}: unknown claim {claim!r}")
        if eme.CLAIMS[claim].scope != name:
            raise ImproperlyConfigured(f"Claim {claim!r} belongs to scope {eme.CLAIMS[claim].scope!r}, not {name!r}")
        names.append(claim)
    scope = Scope(name=name, description=description, key_only=key_only, claims=tuple(names), app=app)
    known = _registry.get(name)
    if known is not None and known != scope:
        raise ImproperlyConfigured(f"Scope {name!r} is already registered by {known.app or 'another app'}")
    _registry[name] = scope
    return scope


def get(name: str) -> Scope | None:
    """The registered scope ``name``, or None."""
    return _registry.get(name)


def generation() -> int:
    """A number that changes whenever the registry does (it only grows: registering a scope
    again is a no-op or an error), for caches of what is built from it."""
    return len(_registry) + len(eme.CLAIMS)


def supported() -> list[str]:
    """Every registered scope name, in registration order (discovery ``scopes_supported``)."""
    return list(_registry)


def key_only() -> set[str]:
    """Scopes only a client authenticated with ``private_key_jwt`` (RFC 7523) may obtain."""
    return {s.name for s in _registry.values() if s.key_only}


def claims_for(scopes) -> list[str]:
    """Claim names the given scopes release, in catalogue order (unregistered scopes release
    nothing), e.g. ``["name", "name#zh-Hant", "gender", "birthdate"]`` for ``{"profile"}``."""
    wanted = {c for s in scopes if s in _registry for c in _registry[s].claims}
    return [name for name in eme.CLAIMS if name in wanted]


def claims_supported() -> list[str]:
    """Every claim the provider can release (OIDC Discovery 1.0 §3 ``claims_supported``),
    sorted: the protocol's, the companions of e-ME claims, and every registered scope's."""
    registered = {c for s in _registry.values() for c in s.claims}
    return sorted({*PROTOCOL_CLAIMS, *COMPANION_CLAIMS, *registered})


def fingerprint() -> tuple:
    """What discovery takes from the registry: ``((name, claims), ...)`` in registration order
    (descriptions and ``key_only`` are not published). Equal fingerprints give equal
    ``scopes_supported`` and ``claims_supported``."""
    return tuple((s.name, s.claims) for s in _registry.values())


class LiveScopeNames(AbstractSet):
    """A read-only set of scope names read from the registry at each use (``in``, iteration in
    registration order, ``&``, :meth:`intersection`), for code that held a constant before
    the registry: ``tungban.oidc.models.SUPPORTED_SCOPES`` and ``KEY_ONLY_SCOPES`` stay
    importable for one release."""

    def __init__(self, names: Callable[[], Iterable[str]]):
        self._names = names

    def __contains__(self, name) -> bool:
        return name in set(self._names())

    def __iter__(self):
        return iter(list(self._names()))

    def __len__(self) -> int:
        return len(list(self._names()))

    def intersection(self, other: Iterable[str]) -> set[str]:
        return set(self._names()).intersection(other)


#: Every registered scope / the key-only ones, as live sets.
SUPPORTED = LiveScopeNames(supported)
KEY_ONLY = LiveScopeNames(key_only)
