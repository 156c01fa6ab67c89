"""Django's own sessions are expired protocol state too (issue 14 item 7, found by
``bench/soak.py``): every sign-in from a new browser stores one (the pending authorization
request), and nothing deleted them after they expired (Django leaves that to
``clearsessions``), so the table grew by one row per login for ever."""

import datetime as dt

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from tungban.core import retention

pytestmark = pytest.mark.django_db


def _session(expires: dt.datetime) -> str:
    store = SessionStore()
    store["tungban_authz"] = {"x": "y"}
    store.create()
    Session.objects.filter(session_key=store.session_key).update(expire_date=expires)
    return store.session_key


def test_the_scheduled_purge_deletes_expired_sessions_and_keeps_live_ones():
    now = timezone.now()
    old = _session(now - dt.timedelta(minutes=1))
    live = _session(now + dt.timedelta(days=13))
    counts = retention.purge_all(now)
    assert counts["sessions.Session"] == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live]
    assert not SessionStore(old).exists(old)


def test_sessions_in_another_store_are_left_to_it(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    _session(timezone.now() - dt.timedelta(minutes=1))
    assert "sessions.Session" not in retention.purge_all(timezone.now())
    assert Session.objects.count() == 1
