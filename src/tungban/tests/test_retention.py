"""Issue 14 item 7: expired protocol state is purged on a schedule (``tungban.core.retention``),
live rows stay, overdue approval requests become ``expired``, and the scheduled task keeps
exactly one next run queued."""

import datetime as dt

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tungban.core import retention
from tungban.core.jobs import enqueue
from tungban.credentials.models import VerifierNonce
from tungban.oidc.models import (
    AuthorizationCode,
    PushedAuthorizationRequest,
    Token,
    UsedClientAssertion,
    UsedDPoPProof,
)
from tungban.testing.factories import make_client, make_resident
from tungban.wallet.models import ApprovalRequest, RequestStatus, UsedProof

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@pytest.fixture
def rows(officer, settings):
    """Rows of every purged kind: ``old`` ones past expiry (and retention), ``live`` ones not."""
    settings.TUNGBAN_EXPIRED_RETENTION = 3600
    now = timezone.now()
    client, _ = make_client()
    resident = make_resident(officer)
    made = {"old": [], "live": []}

    def code(name, age):
        row = AuthorizationCode.objects.create(
            code=name, client=client, resident=resident, redirect_uri="https://rp-a.example/cb", scope="openid",
            auth_time=0, acr="x", code_challenge="c", code_challenge_method="S256",
        )  # fmt: skip
        AuthorizationCode.objects.filter(pk=row.pk).update(created_at=now - age)
        return row

    def token(name, issued, refresh_end=None, code=None, revoked=False):
        return Token.objects.create(
            access_token=name, client=client, resident=resident, scope="openid", issued_at=int(issued.timestamp()),
            expires_in=600, refresh_token=name if refresh_end else None,
            refresh_expires_at=int(refresh_end.timestamp()) if refresh_end else None, authorization_code=code,
            revoked_at=now if revoked else None,
        )  # fmt: skip

    def approval(status, expires):
        return ApprovalRequest.objects.create(kind="login", nonce="n", status=status, expires_at=expires)

    made["old"] += [
        code("old-code", 2 * DAY),
        token("old-token", now - 2 * DAY),
        token("old-revoked", now - 2 * DAY, refresh_end=now - 2 * HOUR, revoked=True),
        UsedClientAssertion.objects.create(jti="old", expires_at=now - HOUR),
        UsedDPoPProof.objects.create(jti="old", expires_at=now - HOUR),
        PushedAuthorizationRequest.objects.create(request_uri="old", client=client, params={}, expires_at=now - HOUR),
        approval(RequestStatus.EXPIRED, now - 2 * HOUR),
        approval(RequestStatus.PENDING, now - 2 * HOUR),  # never marked, and past retention
        UsedProof.objects.create(jti="old", expires_at=now - HOUR),
        VerifierNonce.objects.create(value="OLD", expires_at=now - HOUR),
    ]
    grant_code = code("grant-code", 2 * DAY)  # old, but a refresh token still alive came from it
    made["live"] += [
        grant_code,
        code("live-code", dt.timedelta(seconds=10)),
        token("live-access", now),
        token("live-refresh", now - 2 * DAY, refresh_end=now + DAY, code=grant_code),
        token("rotated-in-lifetime", now - 2 * DAY, refresh_end=now + DAY, revoked=True),
        UsedClientAssertion.objects.create(jti="live", expires_at=now + HOUR),
        UsedDPoPProof.objects.create(jti="live", expires_at=now + HOUR),
        PushedAuthorizationRequest.objects.create(request_uri="live", client=client, params={}, expires_at=now + HOUR),
        approval(RequestStatus.PENDING, now + HOUR),
        approval(RequestStatus.APPROVED, now - 2 * DAY),  # decided: kept (its outcome is history)
        UsedProof.objects.create(jti="live", expires_at=now + HOUR),
        VerifierNonce.objects.create(value="LIVE", expires_at=now + HOUR),
    ]
    named = approval(RequestStatus.EXPIRED, now - 2 * HOUR)  # but a row of another app names it
    AuthorizationCode.objects.filter(code="live-code").update(approval=named)
    made["live"].append(named)
    made["recently_expired"] = approval(RequestStatus.PENDING, now - dt.timedelta(seconds=5))
    return made


def _exists(row):
    return type(row).objects.filter(pk=row.pk).exists()


def test_scheduled_purge_deletes_expired_rows_and_keeps_live_ones(rows, run_tasks):
    retention.ensure_scheduled(delay=0)
    assert run_tasks() == 1
    assert not [row for row in rows["old"] if _exists(row)]
    assert all(_exists(row) for row in rows["live"])
    recent = ApprovalRequest.objects.get(pk=rows["recently_expired"].pk)
    assert recent.status == RequestStatus.EXPIRED  # no longer "pending" for ever; kept for now


def test_command_purges_once(rows, capsys):
    call_command("purge_expired")
    out = capsys.readouterr().out
    assert "oidc.UsedDPoPProof: 1" in out and "credentials.VerifierNonce: 1" in out
    assert "wallet.ApprovalRequest.expired: 2" in out
    assert not UsedDPoPProof.objects.filter(jti="old").exists() and UsedDPoPProof.objects.filter(jti="live").exists()


def test_rate_limit_rows_and_finished_task_results_are_purged(run_tasks, settings):
    settings.TUNGBAN_TASK_RESULT_RETENTION = 3600
    cache = caches["ratelimit"]
    cache.set("rl:old", 1, timeout=1)
    cache.set("rl:live", 1, timeout=3600)
    retention.ensure_scheduled(delay=0)
    run_tasks()
    finished = DBTaskResult.objects.get(task_path=retention.purge_expired.module_path, status="SUCCESSFUL")
    counts = retention.purge_all(timezone.now() + dt.timedelta(seconds=5))
    assert counts["tungban_ratelimit"] == 1 and counts["django_tasks_database.DBTaskResult"] == 0
    assert cache.get("rl:live") == 1
    DBTaskResult.objects.filter(pk=finished.pk).update(finished_at=timezone.now() - 2 * HOUR)
    assert retention.purge_all()["django_tasks_database.DBTaskResult"] == 1
    assert not DBTaskResult.objects.filter(pk=finished.pk).exists()


def _queued():
    return DBTaskResult.objects.filter(task_path=retention.purge_expired.module_path, status=TaskResultStatus.READY)


def test_the_task_reschedules_itself_once(run_tasks, settings):
    settings.TUNGBAN_PURGE_INTERVAL = 600
    assert retention.ensure_scheduled(delay=0) is True
    assert retention.ensure_scheduled(delay=0) is False  # a second worker starting: no duplicate
    assert run_tasks() == 1
    (next_run,) = _queued()
    assert next_run.run_after >= timezone.now() + dt.timedelta(seconds=590)
    assert run_tasks() == 0  # not due yet


def test_duplicate_runs_die_out(run_tasks, settings):
    """Two workers that raced both queued a run: after both ran, one next run is queued."""
    settings.TUNGBAN_PURGE_INTERVAL = 600
    enqueue(retention.purge_expired)
    enqueue(retention.purge_expired)
    assert run_tasks() == 2
    assert _queued().count() == 1


def test_interval_zero_turns_the_schedule_off(run_tasks, settings):
    settings.TUNGBAN_PURGE_INTERVAL = 0
    assert retention.ensure_scheduled() is False and not _queued().exists()
