"""Fixtures shared by every app's tests."""

import pytest


@pytest.fixture
def issuer(live_server, settings):
    """The live server as the platform's issuer (the app signs proofs for this origin)."""
    url = live_server.url.replace("127.0.0.1", "localhost")
    settings.TUNGBAN_ISSUER = url
    settings.TUNGBAN_WEBAUTHN_RP_ID = "localhost"
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    return url


@pytest.fixture
def officer(db):
    from tungban.testing.factories import make_officer

    return make_officer()


@pytest.fixture
def resident(officer):
    from tungban.testing.factories import make_resident

    return make_resident(officer)


@pytest.fixture
def app_home(tmp_path):
    return tmp_path / "app"
