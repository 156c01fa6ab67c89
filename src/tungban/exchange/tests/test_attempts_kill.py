"""A gunicorn worker SIGKILLed after the provider answered (issue 14 item 4, kill point
``exchange.provider_returned``): the attempt stays committed, in flight, counted once, logged,
and the resident's app shows it; the master's next worker serves the data user's retry."""

from __future__ import annotations

import os
import uuid

import pytest
import requests
from django.db import close_old_connections

from tungban.exchange import services as exchange
from tungban.exchange.models import AttemptState, Consent, ExchangeAttempt, ExchangeRecord
from tungban.testing.factories import PIN
from tungban.testing.faults import gunicorn_killed_at
from tungban.testing.tasks import wait_for

from .test_gateway import WSD, consented, tai_man  # noqa: F401  (tai_man: a fixture)

pytestmark = [pytest.mark.live_http, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def gateway(issuer, tmp_path):
    """The platform under gunicorn (one sync worker) on this test's database and issuer URL,
    with the kill point armed once; yields ``(base_url, marker)``: the marker file exists once
    the point has fired."""
    with gunicorn_killed_at("exchange.provider_returned", tmp_path) as found:
        yield found


def test_worker_killed_after_the_provider_answered(issuer, providers, td, app_of, tai_man, gateway):  # noqa: F811
    url, fired = gateway
    providers("wsd")
    app = app_of(tai_man)
    consent = consented(td, app, tai_man)
    token = td.token()
    request_id = uuid.uuid4().hex

    def ask(rid):
        return requests.post(
            f"{url}/api/v1/exchange/requests",
            json={"consent_id": consent["id"], "product": WSD, "request_id": rid},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )

    with pytest.raises(requests.ConnectionError):  # the worker died: no status at all
        ask(request_id)
    assert fired.exists()
    close_old_connections()

    attempt = ExchangeAttempt.objects.get()
    assert (attempt.state, attempt.request_id, attempt.consent_id) == (
        AttemptState.IN_FLIGHT,
        request_id,
        uuid.UUID(consent["id"]),
    )
    assert not ExchangeRecord.objects.exists()  # the completing transaction never committed
    assert Consent.objects.get(pk=consent["id"]).uses == 1  # counted once
    assert exchange.verify_log().ok

    history = app.exchanges(PIN)
    assert [(h["id"], h["state"]) for h in history] == [(str(attempt.id), "in_progress")]
    ExchangeAttempt.objects.filter(pk=attempt.pk).update(unknown_after=attempt.started_at)  # its time ran out
    (shown,) = app.exchanges(PIN)
    assert (shown["state"], shown["outcome"], shown["delivered"]) == ("unknown", "outcome_unknown", False)
    assert [a.pk for a in exchange.unknown_attempts()] == [attempt.pk]

    # The master's new worker serves the next request normally; the lost one stays unknown.
    retry = wait_for(lambda: _answered(ask, uuid.uuid4().hex), timeout=60, what="the restarted worker")
    assert retry.status_code == 200, retry.text
    assert retry.json()["data"]["address"]["lines"]
    states = dict(ExchangeAttempt.objects.values_list("id", "state"))
    assert states == {attempt.id: AttemptState.IN_FLIGHT, uuid.UUID(retry.json()["exchange_id"]): "delivered"}
    assert Consent.objects.get(pk=consent["id"]).uses == 2
    assert exchange.verify_log().ok


def _answered(ask, rid):
    try:
        return ask(rid)
    except requests.ConnectionError:
        return None


if os.name != "posix":  # pragma: no cover
    pytestmark.append(pytest.mark.skip(reason="SIGKILL"))
