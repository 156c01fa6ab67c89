"""The data user's client (``examples/data_user.py``) without a platform: a token obtained
elsewhere (e.g. by another process of the same data user, as the exchange benchmark's load
generator processes share one) is used until near its expiry, without a token request."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import requests
from joserfc.jwk import ECKey

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from examples.data_user import DataUser  # noqa: E402

NOWHERE = "http://127.0.0.1:9"  # discard port: any token request fails at once


def test_primed_token_is_used_until_near_expiry():
    user = DataUser(NOWHERE, "td-bench", {"kty": "EC"})
    expires = time.time() + 3600
    user.prime_token("primed-token", expires)
    assert user.token() == "primed-token"  # no token request (it would fail)
    assert user.token_expires_at() == expires


def test_primed_token_near_expiry_is_refetched():
    key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True, private=True)
    user = DataUser(NOWHERE, "td-bench", key.as_dict(private=True), timeout=2)
    user.prime_token("old-token", time.time() + 10)  # within the 30 s margin
    with pytest.raises(requests.ConnectionError):  # a token request was made
        user.token()
