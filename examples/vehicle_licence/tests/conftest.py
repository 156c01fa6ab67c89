"""Fixtures for the vehicle-licence demo tests: a fake OpenID Provider, no network.

Nothing here imports Django, so these tests run with ``-p no:django`` and also inside
the platform's pytest-django suite.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # e.g. under --import-mode=importlib
    sys.path.insert(0, str(ROOT))

from examples.vehicle_licence.app import DEFAULTS  # noqa: E402
from examples.vehicle_licence.tests.fake_op import FakeOP, make_app  # noqa: E402


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    """Ignore any VL_* variables of the developer's shell."""
    for key in DEFAULTS:
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def fake_op(request, monkeypatch):
    """A :class:`FakeOP` wired in place of the network (``requests`` adapter).

    Parametrize indirectly with an ID-token algorithm (default ``RS256``).
    """
    op = FakeOP(getattr(request, "param", "RS256"))
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", lambda self, req, **kw: op.send(req, **kw))
    return op


@pytest.fixture
def app():
    """The demo app configured for the fake OP."""
    return make_app()


@pytest.fixture
def client(app):
    """A Flask test client."""
    return app.test_client()
