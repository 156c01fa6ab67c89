"""Issue 13 item 3: staff log in with a password AND a second factor (TOTP), repeated failures
lock the login, staff sessions are short, and the Django admin requires the second factor too."""

import datetime as dt

import pytest
from django.utils import timezone

from tungban.testing.factories import STAFF_PASSWORD, login_staff, staff_user, totp_token

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"


def _login(client, user, token=None, password=STAFF_PASSWORD, **extra):
    data = {"username": user.get_username(), "password": password, "next": "/staff/"}
    if token is not None:
        data["otp_token"] = token
    return client.post(LOGIN, data, **extra)


def _is_staff_session(client) -> bool:
    resp = client.get("/staff/")
    return resp.status_code == 200


def test_password_alone_does_not_log_staff_in(client):
    officer = staff_user("counter_officer")
    resp = _login(client, officer, HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 200 and "id_otp_token" in resp.content.decode()
    assert not _is_staff_session(client)


def test_password_and_totp_log_staff_in(client):
    officer = staff_user("counter_officer")
    resp = _login(client, officer, totp_token(officer))
    assert resp.status_code == 302 and resp["Location"] == "/staff/"
    assert _is_staff_session(client)


def test_wrong_totp_is_refused(client):
    officer = staff_user("counter_officer")
    token = totp_token(officer)
    wrong = f"{(int(token) + 1) % 1_000_000:06d}"
    _login(client, officer, wrong)
    assert not _is_staff_session(client)


def test_a_session_without_the_second_factor_is_no_staff_session(client):
    """A password-only session (e.g. made before the second factor was required) opens no
    staff page, the counter's, the credential officers' or the admin."""
    from tungban.credentials import catalogue

    catalogue.register_bundled()
    officer = staff_user("admin")
    client.force_login(officer)
    for path in ("/staff/", "/staff/credentials/", "/admin/"):
        resp = client.get(path)
        assert resp.status_code == 302 and resp["Location"].startswith(LOGIN), path
    login_staff(client, officer)
    for path in ("/staff/", "/staff/credentials/", "/admin/"):
        assert client.get(path).status_code == 200, path


def test_repeated_failures_lock_the_login(client, settings):
    officer = staff_user("counter_officer")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, officer, totp_token(officer), password="wrong-password")
    resp = _login(client, officer, totp_token(officer), HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 429
    assert "too many failed" in resp.content.decode()
    assert not _is_staff_session(client)
    client.cookies["tungban_language"] = "zh-hant"
    assert "登入失敗次數過多" in _login(client, officer, totp_token(officer)).content.decode()


def test_one_address_trying_many_usernames_is_rate_limited(client, settings):
    """Password spraying: a few passwords each on many usernames stays under django-axes'
    per-username lock, so the login is also limited per client address (issue 13 item 8)."""
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "staff_login": "4/h"}
    for n in range(4):
        resp = client.post(LOGIN, {"username": f"nobody{n}", "password": "guess", "otp_token": "000000"})
        assert resp.status_code == 200  # the login form again, with its error
    officer = staff_user("counter_officer")
    resp = _login(client, officer, totp_token(officer), HTTP_ACCEPT="text/html", HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 429 and int(resp["Retry-After"]) > 0
    assert not _is_staff_session(client)


def test_lockout_is_shared_through_the_database(client, settings):
    """All workers agree: the failures are counted in the database (django-axes' handler)."""
    from axes.models import AccessAttempt

    officer = staff_user("counter_officer")
    _login(client, officer, totp_token(officer), password="wrong-password")
    assert AccessAttempt.objects.filter(username=officer.get_username()).exists()
    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"


def test_staff_sessions_are_short(client, settings):
    officer = staff_user("counter_officer")
    _login(client, officer, totp_token(officer))
    assert client.get("/staff/").status_code == 200
    assert client.session.get_expiry_age() <= settings.TUNGBAN_STAFF_SESSION_IDLE <= 30 * 60
    # An old session ends however active it was (absolute limit).
    session = client.session
    started = timezone.now() - dt.timedelta(seconds=settings.TUNGBAN_STAFF_SESSION_MAX_AGE + 1)
    session["staff_login_at"] = started.timestamp()
    session.save()
    resp = client.get("/staff/")
    assert resp.status_code == 302 and resp["Location"].startswith(LOGIN)


def test_idle_staff_session_expires(client, settings):
    from django.contrib.sessions.models import Session

    officer = staff_user("counter_officer")
    _login(client, officer, totp_token(officer))
    assert client.get("/staff/").status_code == 200
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    resp = client.get("/staff/")
    assert resp.status_code == 302 and resp["Location"].startswith(LOGIN)


def test_staff_login_page_is_bilingual(client):
    en = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.cookies["tungban_language"] = "zh-hant"
    zh = client.get(LOGIN).content.decode()
    assert "Authentication code" in en and "驗證碼" in zh
