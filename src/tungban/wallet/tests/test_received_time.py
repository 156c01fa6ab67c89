"""Issue 14 item 7: a decision is judged by the time it reached the server, not by when it was
processed (a decision sent in time but delayed behind a lock or a slow database counts)."""

import datetime as dt

import pytest
import requests
from django.utils import timezone

from tungban.testing.factories import PIN, authorize_params, bind_cli, make_client, pkce, start_authorization
from tungban.wallet import services as wallet
from tungban.wallet.client import AppError
from tungban.wallet.models import ApprovalRequest, RequestStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def rp(db):
    return make_client("svc-a", "https://rp-a.example/cb")


def _open_request(issuer):
    _verifier, challenge = pkce()
    return start_authorization(
        requests.Session(), issuer, authorize_params("svc-a", "https://rp-a.example/cb", challenge)
    )


@pytest.fixture
def processed_late(monkeypatch):
    """Run ``wallet.services.decide`` as if it started ``delay`` after the request arrived:
    every clock read inside it (``timezone.now``) is shifted; the middleware's receive stamp
    and the device's request proof keep the real time."""

    def install(delay: dt.timedelta):
        real_decide, real_now = wallet.decide, timezone.now

        def decide(*args, **kwargs):
            with monkeypatch.context() as m:
                m.setattr(timezone, "now", lambda: real_now() + delay)
                return real_decide(*args, **kwargs)

        monkeypatch.setattr(wallet, "decide", decide)

    return install


def _expire_in(rid, seconds):
    ApprovalRequest.objects.filter(pk=rid).update(expires_at=timezone.now() + dt.timedelta(seconds=seconds))


def test_decision_received_before_expiry_but_processed_after_succeeds(issuer, rp, resident, app_home, processed_late):
    app = bind_cli(issuer, resident, app_home)
    rid = _open_request(issuer)
    _expire_in(rid, 60)  # expires one minute from now
    processed_late(dt.timedelta(minutes=5))  # ... and the decision is processed 5 minutes late
    result = app.decide(rid, PIN, "approve", code=ApprovalRequest.objects.get(pk=rid).user_code)
    assert result["status"] == "approved"
    assert ApprovalRequest.objects.get(pk=rid).status == RequestStatus.APPROVED


def test_decision_received_after_expiry_fails(issuer, rp, resident, app_home, processed_late):
    app = bind_cli(issuer, resident, app_home)
    rid = _open_request(issuer)
    details = app.show(rid, PIN)  # read while still open
    _expire_in(rid, -1)  # expired a second before the decision arrives
    processed_late(dt.timedelta(0))
    with pytest.raises(AppError) as err:
        app.decide(rid, PIN, "approve", code=ApprovalRequest.objects.get(pk=rid).user_code)
    assert err.value.code == "request_expired" and err.value.status == 410
    assert details["nonce"] and ApprovalRequest.objects.get(pk=rid).status == RequestStatus.PENDING
