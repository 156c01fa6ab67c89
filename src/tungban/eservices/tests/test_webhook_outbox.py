"""The e-services' webhooks cannot be lost either (payments review finding 7: the outbox of
:mod:`tungban.notify.webhooks`, shared with the payments): an application's deliveries are
written in the transaction of its change, so they exist although no hook queued for after the
commit ran (the process died at the commit), and the worker delivers them."""

from __future__ import annotations

import json

import pytest

from tungban.testing.tasks import run_queued_tasks
from tungban.testing.webhooks import Receiver


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.mark.django_db
def test_eservices_deliveries_do_not_wait_for_the_commit_hooks(
    catalogue, resident, receiver, swd_officer, django_capture_on_commit_callbacks
):
    from tungban.eservices import services as eservices
    from tungban.eservices.models import WebhookDelivery
    from tungban.eservices.services import webhooks as eservices_webhooks
    from tungban.eservices.tests.staffing import submitted_senior_cards

    eservices_webhooks.register_endpoint("SWD", receiver.url, ["application.rejected"], created_by="tests")
    (application,) = submitted_senior_cards(resident, 1)
    with django_capture_on_commit_callbacks(execute=False) as hooks:  # the process dies at the commit
        eservices.reject(application, swd_officer, "Not eligible.", "不符合資格。")
    assert hooks
    (delivery,) = WebhookDelivery.objects.all()
    assert (delivery.event_type, delivery.state) == ("application.rejected", "pending")
    run_queued_tasks()
    delivery.refresh_from_db()
    assert delivery.state == "delivered"
    ((headers, body),) = receiver.got
    assert json.loads(body)["data"]["reference"] == application.reference
    assert headers["Tungban-Webhook-Id"] == str(delivery.id)
