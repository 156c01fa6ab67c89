"""Canonical JSON, the bytes both ledger logs hash and the consent terms digest
(:mod:`tungban.exchange.services`) is taken over."""

from __future__ import annotations

import json


def canonical(data: object) -> str:
    """Canonical JSON text of ``data`` (any JSON value): sorted keys, no insignificant space, UTF-8 kept
    (the RFC 8785 shape for our strings and integers; floats are not used)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
