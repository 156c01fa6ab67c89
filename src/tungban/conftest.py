"""Fixtures shared by every app's tests."""

import pytest
from django.db.backends.signals import connection_created


def _sqlite_without_fsync(sender, connection, **kwargs):
    """The SQLite test database is a file (a worker subprocess must see it): skip fsync, as
    memory did. Tests never survive a power cut anyway."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")


connection_created.connect(_sqlite_without_fsync)


@pytest.fixture(autouse=True)
def _fast_password_hasher(request, settings):
    """Hash activation codes and client secrets with MD5 in tests: production PBKDF2 costs
    about half a second per code on this machine and was most of the suite's time. Tests
    about hashing itself opt out with ``@pytest.mark.production_hasher``."""
    if request.node.get_closest_marker("production_hasher") is None:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def issuer(live_server, settings):
    """The live server as the platform's issuer (the app signs proofs for this origin)."""
    url = live_server.url.replace("127.0.0.1", "localhost")
    settings.TUNGBAN_ISSUER = url
    settings.TUNGBAN_WEBAUTHN_RP_ID = "localhost"
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    return url


@pytest.fixture
def run_tasks(db):
    """Call to run the queued background tasks in-process (see tungban.testing.tasks)."""
    from tungban.testing.tasks import run_queued_tasks

    return run_queued_tasks


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


@pytest.fixture
def e2e_browser(transactional_db):
    """Headless Debian Chromium through Playwright (skipped when it is not installed)."""
    from tungban.wallet.tests.e2e_helpers import chromium_available, launch_browser, playwright_session

    if not chromium_available():
        pytest.skip("system Chromium not installed (apt-get install chromium)")
    with playwright_session() as pw:
        browser = launch_browser(pw)
        yield browser
        browser.close()
