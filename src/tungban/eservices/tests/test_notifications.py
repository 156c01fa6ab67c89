"""What reaches the resident's app (issue 17): a request for information, a rejection and an
issued e-licence become messages in the app's inbox from the portal's sender, carrying only
the application's reference; expired drafts are expired by the retention schedule."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tungban.core import retention
from tungban.eservices import portal
from tungban.eservices.models import Application, Service, State
from tungban.eservices.tests.helpers import fill_senior_card
from tungban.notify import services as notify


@pytest.fixture
def submitted(catalogue, resident):
    portal.ensure_portal()
    app = catalogue.start_application(resident, Service.objects.get(slug="senior-citizen-card"))
    fill_senior_card(catalogue, app, resident)
    return catalogue.submit(app, resident)


def test_information_request_rejection_and_licence_reach_the_inbox(
    catalogue, submitted, resident, swd_officer, swd_approver, django_capture_on_commit_callbacks
):
    s = catalogue
    with django_capture_on_commit_callbacks(execute=True):
        s.request_information(submitted, swd_officer, "Secret detail for the page only.", "只在頁面顯示的細節。")
    [message] = notify.inbox_of(resident)
    assert message.sender_id == "eservices" and message.reference == submitted.reference
    content = notify.content_of(message)
    assert submitted.reference in str(content) and "Secret detail" not in str(content)
    assert "needs more information" in str(content) and "需要更多資料" in str(content)
    with django_capture_on_commit_callbacks(execute=True):
        s.respond_to_information(submitted, resident, "Done.")
        s.approve(Application.objects.get(pk=submitted.pk), swd_approver)
    assert len(notify.inbox_of(resident)) == 2
    assert "e-licence" in str(notify.content_of(notify.inbox_of(resident)[0]))


def test_a_rejection_is_told_without_its_reasons(
    catalogue, submitted, resident, swd_officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        catalogue.reject(submitted, swd_officer, "Photo unclear.", "相片不清晰。")
    [message] = notify.inbox_of(resident)
    assert "not approved" in str(notify.content_of(message)) and "Photo unclear" not in str(notify.content_of(message))


def test_the_retention_schedule_expires_old_drafts(catalogue, resident):
    app = catalogue.start_application(resident, Service.objects.get(slug="senior-citizen-card"))
    Application.objects.filter(pk=app.pk).update(draft_expires_at=timezone.now() - dt.timedelta(seconds=1))
    result = retention.registered()["eservices"](timezone.now())
    assert result == {"eservices.Application (expired drafts)": 1}
    app.refresh_from_db()
    assert app.state == State.EXPIRED
