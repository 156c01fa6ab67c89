"""Fixtures for the exchange gateway's tests: data users with their own keys, the bundled
providers as separate processes on loopback (with the platform on a live server), a resident
with the CLI app bound."""

from __future__ import annotations

import contextlib

import pytest
from joserfc.jwk import ECKey

from examples.data_user import DataUser
from tungban.exchange import catalogue
from tungban.exchange import services as exchange
from tungban.oidc import services as oidc
from tungban.testing.factories import bind_cli


def make_data_user(
    issuer: str, org_id: str, *, kind: str = "department", name_en: str | None = None, name_zh: str | None = None
) -> DataUser:
    """Register an organisation as a data user (OIDC client with its own P-256 key) and
    return its gateway client."""
    key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    private = key.as_dict(private=True)
    client, secret = oidc.register_client(
        client_id=f"{org_id}-client",
        name_en=name_en or f"Data user {org_id}",
        name_zh=name_zh or f"資料使用者 {org_id}",
        redirect_uris=[f"https://{org_id}.example/cb"],
        jwks={"keys": [key.as_dict(private=False)]},
    )
    exchange.register_organisation(id=org_id, name_en=client.name_en, name_zh=client.name_zh, kind=kind, client=client)
    user = DataUser(issuer, client.client_id, private)
    user.client_secret, user.redirect_uri = secret, client.redirect_uris[0]  # for logging residents in
    return user


def pytest_collection_modifyitems(items):
    """A test that starts providers needs the platform on real HTTP: a provider is another
    process that fetches the gateway's keys from ``{issuer}/oidc/jwks``."""
    for item in items:
        if "providers" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.live_http)
            item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.fixture
def providers(issuer):
    """Start provider processes on demand: ``providers("wsd", fault=...)`` returns the
    process and registers its URL; all are stopped after the test. (Tests using it get a
    live server, see :func:`pytest_collection_modifyitems`.)"""
    from examples.providers.launch import start_provider, stop_provider

    started = []

    def start(department: str, **options):
        proc, url = start_provider(department, issuer, **options)
        started.append(proc)
        catalogue.register_bundled({department: url})
        return proc

    yield start
    for proc in started:
        with contextlib.suppress(Exception):
            stop_provider(proc)


@pytest.fixture
def catalogue_registered(db):
    catalogue.register_bundled({})


@pytest.fixture
def td(issuer, catalogue_registered):
    return make_data_user(issuer, "td", name_en="Transport Department", name_zh="運輸署")


@pytest.fixture
def app_of(issuer, tmp_path):
    """``app_of(resident)``: the resident's bound CLI app."""

    def bind(resident):
        return bind_cli(issuer, resident, tmp_path / f"app-{resident.pk}")

    return bind
