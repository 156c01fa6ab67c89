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


def active_client(client_id: str, nonce: str | None = None) -> Client | None:
    """The active client ``client_id`` (:func:`.rows.client`: one indexed read, once per
    request inside :func:`request_memo`).

    With ``nonce`` (the authorization request's), inside :func:`request_memo`, the first
    read also answers the nonce replay check that Authlib asks next
    (:func:`.rows.client_with_nonce`, remembered under :func:`nonce_key`): one query for
    both (issue 15 acceptance 2). Only facts about ``(client_id, nonce)`` are remembered,
    so a value Authlib reads differently merely misses the memo."""
    memo = _memo.get()
    key = ("client", client_id)
    if memo is not None and key not in memo and isinstance(nonce, str) and nonce and "\x00" not in nonce:
        found, used = rows.client_with_nonce(client_id, nonce)
        memo[key] = found
        if found is not None:
            memo[nonce_key(client_id, nonce)] = used
        return found
    return memoized(key, lambda: rows.client(client_id))


def nonce_key(client_id: str, nonce: str) -> tuple:
    """The memo's key of the nonce replay check of ``client_id`` and ``nonce``."""
    return ("nonce", client_id, nonce)
