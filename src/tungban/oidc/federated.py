"""Clients that are not registered in advance but come from a federation (OpenID Federation 1.0
§12.1 automatic registration; issue 23, cross-boundary login), as a registry in the pattern of
:mod:`.scopes`: this app (floor 4) never imports the federation app (floor 6); the federation
registers its :class:`ClientSource` in its ``AppConfig.ready()``.

A client is federated when its ``client_id`` is an ``http(s)://`` URL (an entity identifier,
§1.2); administrators' clients may not have such identifiers
(:func:`tungban.oidc.services.register_client` and the admin's ``Client.clean`` refuse them), so
:func:`is_federated` is a prefix test and an ordinary request costs nothing more (no query, no
call into the source).

The source is called:

* :func:`register` — by the authorization endpoint (:func:`tungban.oidc.views.authorize`) and
  the pushed authorization request endpoint (:func:`tungban.oidc.par.push`) before Authlib looks
  the client up: it resolves the client's trust chain and writes its ``Client`` row, or raises
  a :class:`~tungban.core.errors.DomainError` (the resident sees a page; a PAR caller a JSON
  ``invalid_client``);
* :func:`consent` — by :func:`tungban.oidc.services.open_authorization`: the ``binds`` and
  ``details`` of the app approval (the cross-boundary consent);
* :func:`released` — in the transaction that writes a release to the client (the token
  endpoint's ID token, :meth:`tungban.oidc.server.Server.save_token`; UserInfo,
  :func:`tungban.oidc.services.release`): it records the release or raises a ``DomainError``
  (nothing is released then).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

#: The prefixes of a federated ``client_id`` (an entity identifier, OpenID Federation 1.0 §1.2).
PREFIXES = ("https://", "http://")
#: The rate limit group (``settings.TUNGBAN_RATELIMITS``) of the authorization and PAR requests
#: whose ``client_id`` is federated: each may start a trust chain resolution (issue 23 review).
RATE_LIMIT_GROUP = "federation_resolve"
#: Why an administrator's client may not take such an identifier.
RESERVED_MESSAGE = _("A client ID that is an http(s) URL is reserved for federation entities (automatic registration).")

#: ID token claims a federated client does not receive (issue 23, review finding): the
#: cross-boundary consent and the release record name ``sub`` and ``acr`` only. ``amr`` (the
#: method), ``auth_time`` and ``sid`` are not required by OIDC Core §2 and are left out; the
#: ID token keeps ``iss``, ``sub``, ``aud``, ``exp``, ``iat``, ``nonce``, ``acr`` and ``at_hash``.
WITHHELD_ID_TOKEN_CLAIMS = ("amr", "auth_time", "sid")


@dataclass(frozen=True)
class ClientSource:
    """What a federation supplies (see the module docstring).

    * ``register(client_id: str, *, params: dict[str, str], endpoint: str) -> None`` —
      ``endpoint`` is ``"authorize"`` or ``"par"``; ``params`` the request's parameters;
    * ``consent(client, requested_claims: list[dict]) -> tuple[dict, list]`` — ``(binds,
      details)`` for :func:`tungban.wallet.services.create_request`;
    * ``released(client, resident, *, claims: list[str], kind: str, approval, record, acr) -> None``
      — ``claims`` what crossed (e.g. ``["sub", "acr"]``), ``record`` the wallet's release
      record or ``None`` (the source writes one then), ``acr`` the login's level.
    """

    register: Callable
    consent: Callable
    released: Callable


_source: ClientSource | None = None


def register_client_source(source: ClientSource) -> None:
    """Register the federation's client source (call from ``AppConfig.ready()``; again: replaced)."""
    global _source
    _source = source


def is_federated(client_id) -> bool:
    """Whether ``client_id`` names a federated client (an ``http(s)://`` entity identifier)
    and a source is registered."""
    return _source is not None and isinstance(client_id, str) and client_id.startswith(PREFIXES)


def register(client_id: str, *, params: dict, endpoint: str) -> None:
    """Have the source register ``client_id`` (§12.1). :raises DomainError: refused."""
    if _source is not None:
        _source.register(client_id, params=params, endpoint=endpoint)


def consent(client, requested_claims: list[dict]) -> tuple[dict, list]:
    """``(binds, details)`` of the app approval of a login to the federated ``client``."""
    if _source is None:
        return {}, []
    return _source.consent(client, requested_claims)


def released(client, resident, *, claims: list[str], kind: str, approval=None, record=None, acr: str = "") -> None:
    """Record a release to the federated ``client`` (call inside the release's transaction).
    :raises DomainError: the release may not happen (e.g. the resident removed the binding)."""
    if _source is not None:
        _source.released(client, resident, claims=claims, kind=kind, approval=approval, record=record, acr=acr)
