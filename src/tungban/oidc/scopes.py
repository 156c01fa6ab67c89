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
  their label and value at approval;
* ``essential``: its claims are essential whatever the ``claims`` parameter says (the resident
  cannot untick them), e.g. CorpID's ``authority``;
* ``prepare``: called when an authorization request asks for the scope, before anything is
  stored: ``prepare(client, scopes: set[str], claims_request: dict) -> dict``, what to add to the
  approval's context (e.g. ``{"choice": ...}``, a question the app asks:
  :mod:`tungban.wallet.choices`); it raises :data:`~tungban.oidc.errors.InvalidScopeRequest`
  or :data:`~tungban.oidc.errors.InvalidAuthorizationRequest` to refuse the request (the
  service gets ``invalid_scope`` / ``invalid_request``);
* ``resolve``: the value of one of its claims for a release (ID token or userinfo), when the
  value depends on the login, not only on the resident:
  ``resolve(claim, resident, client, context: dict) -> value``, ``context`` being the
  approval's; it raises a :class:`~tungban.core.errors.DomainError` when the claim can no
  longer be released (the release is refused: see :func:`tungban.oidc.services.release`).
  Tokens carrying such a claim take the reference paths (the hot paths never call it), so a
  login without the scope pays nothing for it;
* ``describe``: ``describe(claim, value) -> {"en", "zh"}``, words the release record (the
  resident's "who used my data") adds after the service's name for a resolved claim, e.g. the
  company the resident acted for;
* ``metadata``: members the scope adds to the discovery document (OIDC Discovery 1.0 §3 allows
  extensions), e.g. the OIDF Authority claims draft's ``authority_claims_supported``.

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
    essential: bool = False
    prepare: Callable | None = None
    resolve: Callable | None = None
    #: OpenID Provider metadata the scope adds to discovery, e.g. ``{"authority_claims_supported": True}``.
    metadata: tuple = ()
    describe: Callable | None = None


_registry: dict[str, Scope] = {}


def register(
    name: str,
    description,
    *,
    key_only: bool = False,
    claims=(),
    app: str = "",
    essential: bool = False,
    prepare: Callable | None = None,
    resolve: Callable | None = None,
    metadata: dict | None = None,
    describe: Callable | None = None,
) -> Scope:
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
    scope = Scope(
        name=name,
        description=description,
        key_only=key_only,
        claims=tuple(names),
        app=app,
        essential=essential,
        prepare=prepare,
        resolve=resolve,
        metadata=tuple(sorted((metadata or {}).items())),
        describe=describe,
    )
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


def essential_claims(scopes) -> set[str]:
    """Claim names of the given scopes that are always essential (registered ``essential``)."""
    return {c for s in scopes if s in _registry and _registry[s].essential for c in _registry[s].claims}


def preparers(scopes) -> list[Scope]:
    """The registered scopes among ``scopes`` that prepare an authorization request, in
    registration order."""
    wanted = set(scopes)
    return [s for s in _registry.values() if s.name in wanted and s.prepare is not None]


def resolver(claim: str) -> Callable | None:
    """The ``resolve`` hook of the scope that registered ``claim``, or None (the value is the
    resident's, :func:`tungban.identity.eme.values`)."""
    for scope in _registry.values():
        if scope.resolve is not None and claim in scope.claims:
            return scope.resolve
    return None


_resolved: dict[int, frozenset[str]] = {}


def resolved_claims(names) -> list[str]:
    """The names among ``names`` that a scope resolves per login (:func:`resolver`), in
    ``names``' order; a set built once per registry :func:`generation` (immutable after start-up)."""
    key = generation()
    known = _resolved.get(key)
    if known is None:
        known = _resolved[key] = frozenset(c for s in _registry.values() if s.resolve is not None for c in s.claims)
    return [n for n in names if n in known] if known else []


def describe(resolved: dict) -> dict | None:
    """``{"en", "zh"}``: what the scopes' ``describe`` hooks say of the resolved claims'
    values (joined with "; "), or None."""
    parts = []
    for name, value in resolved.items():
        for scope in _registry.values():
            if scope.describe is not None and name in scope.claims:
                parts.append(scope.describe(name, value))
    if not parts:
        return None
    return {lang: "; ".join(p[lang] for p in parts) for lang in ("en", "zh")}


def claims_supported() -> list[str]:
    """Every claim the provider can release (OIDC Discovery 1.0 §3 ``claims_supported``),
    sorted: the protocol's, the companions of e-ME claims, and every registered scope's."""
    registered = {c for s in _registry.values() for c in s.claims}
    return sorted({*PROTOCOL_CLAIMS, *COMPANION_CLAIMS, *registered})


def fingerprint() -> tuple:
    """What discovery takes from the registry: ``((name, claims, metadata), ...)`` in
    registration order (descriptions and ``key_only`` are not published). Equal fingerprints
    give equal ``scopes_supported``, ``claims_supported`` and scope metadata."""
    return tuple((s.name, s.claims, s.metadata) for s in _registry.values())


def metadata() -> dict:
    """The discovery members every registered scope adds (``metadata``), merged."""
    return {k: v for s in _registry.values() for k, v in s.metadata}


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
