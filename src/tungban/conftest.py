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
def issuer(request, settings):
    """The platform's base URL for protocol and API tests.

    By default the platform runs in-process, inside the test's transaction: every
    ``requests`` call to this URL (the CLI app's, Authlib's, the test's own) goes through
    Django's test client (:mod:`tungban.testing.http`). Tests marked ``e2e`` (Chromium) or
    ``live_http`` (another process calls the platform, or requests must run concurrently)
    get :func:`live_issuer` instead; they must use ``django_db(transaction=True)``."""
    if request.node.get_closest_marker("e2e") or request.node.get_closest_marker("live_http"):
        # The live server first, then the database, in the order pytest-django's own
        # live_server helper gives when a test names live_server.
        url = request.getfixturevalue("live_issuer")
        request.getfixturevalue("transactional_db")
        # Committed data outlives the test; the flush between tests leaves the rate limiter's
        # counters (a cache table, no model), so each live test starts with none.
        from django.core.cache import caches

        caches[settings.RATELIMIT_USE_CACHE].clear()
        yield url
        return
    from tungban.testing.http import TEST_ORIGIN, route_requests

    request.getfixturevalue("db")
    _serve_as(settings, TEST_ORIGIN)
    with route_requests(TEST_ORIGIN):
        yield TEST_ORIGIN


@pytest.fixture
def live_issuer(live_server, settings):
    """The live server as the platform's issuer (real HTTP on loopback; the test's data is
    committed, so it is slower): for Chromium, other processes and concurrency."""
    url = live_server.url.replace("127.0.0.1", "localhost")
    _serve_as(settings, url)
    return url


def _serve_as(settings, url: str) -> None:
    """The app signs proofs for this origin; WebAuthn needs the host to be the RP id."""
    settings.TUNGBAN_ISSUER = url
    settings.TUNGBAN_WEBAUTHN_RP_ID = "localhost"
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]


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


@pytest.fixture(scope="module")
def _e2e_chromium():
    """One Playwright driver and headless Chromium per test module: starting them costs about
    3 s on a loaded 2-core machine, and the language-parametrised browser tests started them
    for every test (issue 16, ci16 item 3). Tests share nothing else: see :func:`e2e_browser`."""
    from tungban.testing.browser import chromium_available, launch_browser, playwright_session

    if not chromium_available():
        pytest.skip("system Chromium not installed (apt-get install chromium)")
    with playwright_session() as pw:
        browser = launch_browser(pw)
        yield browser
        browser.close()


@pytest.fixture
def e2e_browser(transactional_db, _e2e_chromium):
    """Headless Debian Chromium through Playwright (skipped when it is not installed).

    The browser process is the module's (:func:`_e2e_chromium`); a test makes its own
    contexts (cookies, storage, passkeys: nothing carries over), and every context still open
    after the test is closed, so no page of one test keeps calling the server during the next."""
    yield _e2e_chromium
    for context in list(_e2e_chromium.contexts):
        context.close()


@pytest.fixture(autouse=True)
def _no_csp_violations(request):
    """End-to-end tests fail when a page reports a Content-Security-Policy violation (Chromium
    logs each to the console: "Refused to ... because it violates the following Content
    Security Policy directive"), so no test passes with a script, style or image blocked."""
    if "e2e_browser" not in request.fixturenames:
        yield []
        return
    browser = request.getfixturevalue("e2e_browser")
    violations: list[str] = []
    new_context = browser.new_context

    def watched_context(*args, **kwargs):
        context = new_context(*args, **kwargs)
        context.on(
            "console",
            lambda m: (
                violations.append(f"{m.location.get('url')}: {m.text}") if "Content Security Policy" in m.text else None
            ),
        )
        return context

    browser.new_context = watched_context
    yield violations
    browser.new_context = new_context
    assert not violations, violations


@pytest.fixture(autouse=True)
def _cheap_app_kdf(monkeypatch):
    """The CLI app seals its device key with Argon2id at about 0.7 s per unlock
    (:data:`tungban.wallet.client.DEFAULT_KDF`); tests use the smallest cost instead.
    ``wallet/tests/test_device_key.py`` checks the defaults themselves."""
    monkeypatch.setenv("TUNGBAN_APP_KDF_MEMORY_KIB", "64")
    monkeypatch.setenv("TUNGBAN_APP_KDF_ITERATIONS", "1")
