"""Lookups made once per HTTP request of the authorization endpoint and its completion
(issue 15 acceptance 2), shared by :mod:`.server` (Authlib's callbacks) and :mod:`.par`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from . import rows
from .models import Client

#: Lookups made once per HTTP request (:func:`request_memo`): ``{key: answer}`` or ``None``.
_memo: ContextVar[dict | None] = ContextVar("tungban_oidc_request_memo", default=None)


@contextmanager
def request_memo() -> Iterator[None]:
    """Within one HTTP request, answer Authlib's repeated lookups once: the client by
    ``client_id`` (:meth:`Server.query_client`) and the nonce replay check
    (:meth:`TungbanOpenIDCode.exists_nonce`). Authlib validates an authorization request
    both in ``get_consent_grant`` and again in ``create_authorization_response``, and the
    authorization page and its completion call both (issue 15 acceptance 2: 2 queries
    each). Nothing outlives the block: no state that two workers could disagree on."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def memoized(key: tuple, compute: Callable):
    """``compute()``, once per ``key`` inside :func:`request_memo` (every time outside)."""
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def active_client(client_id: str) -> Client | None:
    """The active client ``client_id`` (:func:`.rows.client`: one indexed read, once per
    request inside :func:`request_memo`)."""
    return memoized(("client", client_id), lambda: rows.client(client_id))
