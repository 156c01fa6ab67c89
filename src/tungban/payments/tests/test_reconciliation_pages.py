"""Reconciliation's staff pages (issue 18): only verified staff with ``payments.reconcile`` see
them; an officer uploads a statement and follows its import, which waits for a second
reconciler (the uploader is refused), reads why a file was refused, filters the exceptions
queue, proposes a resolution that a second reconciler approves (errors shown on the page,
nothing changed), reads and closes a day and downloads its CSV — in English and in Chinese."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tungban.payments import refunds, services
from tungban.payments.constants import OrderState
from tungban.payments.models import DailyClose, ReconciliationException, StatementImport
from tungban.payments.models_recon import ExceptionState, ImportState, Resolution
from tungban.testing.factories import login_staff, staff_user
from tungban.testing.tasks import run_queued_tasks

from . import recon_support as s

pytestmark = pytest.mark.django_db

HOME = "/staff/payments/reconciliation/"
HKT = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(autouse=True)
def _purpose():
    s.register_purpose()


def reconciler(username="treasury-amy"):
    user = staff_user("none", username=username)
    user.user_permissions.add(Permission.objects.get(codename="reconcile", content_type__app_label="payments"))
    return user


@pytest.fixture
def officer_client(client):
    client.cookies["tungban_language"] = "en"  # the platform's default language is Chinese
    return login_staff(client, reconciler())


@pytest.fixture
def checker_client():
    """A second reconciler, logged in on a client of their own."""
    from django.test import Client

    other = Client()
    other.cookies["tungban_language"] = "en"
    return login_staff(other, reconciler("treasury-bob"))


def _upload(client, data: bytes, name="day.xml"):
    return client.post(HOME, {"statement": SimpleUploadedFile(name, data, content_type="application/xml")})


def test_only_verified_staff_with_the_permission_get_in(client):
    client.cookies["tungban_language"] = "en"
    assert client.get(HOME).status_code == 302  # to the staff login
    login_staff(client, staff_user("counter_officer"))
    page = client.get(HOME)
    assert page.status_code == 403 and "Ask an administrator" in page.content.decode()
    assert client.get(f"{HOME}close/2026-12-01.csv").status_code == 403


def test_upload_then_follow_the_import(officer_client, checker_client):
    order = s.order()
    answer = _upload(officer_client, s.statement([s.transfer(order, 35000), s.transfer("who knows", 100)]))
    imp = StatementImport.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"{HOME}imports/{imp.pk}/"
    page = officer_client.get(answer["Location"]).content.decode()
    assert 'data-state="queued"' in page and 'id="reload"' in page
    run_queued_tasks()
    page = officer_client.get(answer["Location"]).content.decode()
    assert 'data-state="held"' in page and '<dd id="held-total">2</dd>' in page
    assert f"{order.reference} (FEHD)" in page and 'data-line-state="held"' in page
    assert 'id="own-upload"' in page and 'id="approve-import"' not in page  # not the uploader's to approve
    mine = officer_client.post(f"{answer['Location']}approve")
    assert mine.status_code == 403 and "another reconciler must approve it" in mine.content.decode()
    order.refresh_from_db()
    assert order.state == OrderState.AWAITING_TRANSFER

    assert 'id="approve-import"' in checker_client.get(answer["Location"]).content.decode()
    assert checker_client.post(f"{answer['Location']}approve").status_code == 302
    run_queued_tasks()
    page = officer_client.get(answer["Location"]).content.decode()
    assert 'data-state="done"' in page and '<dd id="count-new">2</dd>' in page
    assert "officer:treasury-bob" in page and 'id="import-approved-by"' in page
    assert '<dd id="count-exceptions">1</dd>' in page and 'data-reason="no_reference"' in page
    again = _upload(officer_client, imp.file_bytes())
    assert again["Location"] == f"{HOME}imports/{imp.pk}/"  # the same file: the same import
    home = officer_client.get(HOME).content.decode()
    assert f'data-import="{imp.pk}"' in home and '<span class="count">1</span>' in home


def test_a_refused_file_shows_its_problems(officer_client):
    data = (
        s.statement([s.transfer(s.order(), 35000)])
        .replace(b"<MsgId>", b"<MsgIdX>", 1)
        .replace(b"</MsgId>", b"</MsgIdX>", 1)
    )
    answer = _upload(officer_client, data)
    run_queued_tasks()
    page = officer_client.get(answer["Location"]).content.decode()
    assert 'data-state="rejected"' in page and 'data-code="statement_schema_invalid"' in page
    assert "GrpHdr/MsgId" in page and "Nothing from this file was recorded." in page


def test_an_empty_upload_is_refused_on_the_page(officer_client):
    page = _upload(officer_client, b"")
    assert page.status_code == 422 and not StatementImport.objects.exists()
    assert "statement" in page.content.decode()


def test_the_queue_and_a_resolution(officer_client, checker_client):
    order = s.order()
    s.import_file(s.statement([s.transfer("no reference", 35000)]))
    exc = ReconciliationException.objects.get()
    queue = officer_client.get(f"{HOME}exceptions/").content.decode()
    assert f'data-exception="{exc.pk}"' in queue
    assert f'data-exception="{exc.pk}"' not in officer_client.get(f"{HOME}exceptions/?kind=duplicate").content.decode()
    url = f"{HOME}exceptions/{exc.pk}/"
    detail = officer_client.get(url).content.decode()
    assert 'id="match-form"' in detail and 'id="refund-form"' in detail and 'id="write-off-form"' in detail

    wrong = officer_client.post(f"{url}match", {"match-reference": "TB00000000000000"})
    assert wrong.status_code == 404 and 'id="action-error"' in wrong.content.decode()
    unexplained = officer_client.post(f"{url}write_off", {"write_off-note": ""})
    assert unexplained.status_code == 422
    assert ReconciliationException.objects.get().state == ExceptionState.OPEN

    proposed = officer_client.post(f"{url}match", {"match-reference": order.reference, "match-note": "phoned"})
    assert proposed.status_code == 302
    exc.refresh_from_db()
    order.refresh_from_db()
    assert exc.state == ExceptionState.PROPOSED and order.state == OrderState.AWAITING_TRANSFER
    page = officer_client.get(url).content.decode()
    assert 'id="own-proposal"' in page and 'id="approve-form"' not in page and 'id="decline-form"' in page
    mine = officer_client.post(f"{url}approve")
    assert mine.status_code == 403 and "another reconciler must approve it" in mine.content.decode()
    assert checker_client.post(f"{url}decline", {"decline-reason": ""}).status_code == 422

    done = checker_client.post(f"{url}approve")
    assert done.status_code == 302
    exc.refresh_from_db()
    order.refresh_from_db()
    assert exc.resolution == Resolution.MATCHED and exc.resolved_by == "officer:treasury-bob"
    assert exc.proposed_by == "officer:treasury-amy" and order.state == OrderState.SUCCESS
    page = officer_client.get(url).content.decode()
    assert 'data-resolution="matched"' in page and 'id="match-form"' not in page
    assert officer_client.post(f"{url}refund", {}).status_code == 409


def test_the_daily_close_page_and_csv(officer_client):
    day = timezone.now().astimezone(HKT).date() - dt.timedelta(days=1)
    booked = dt.datetime.combine(day, dt.time(10, 0), HKT)
    s.import_file(
        s.statement([s.transfer(s.order(department="FEHD", code="hawker"), 35000, booked_at=booked)], day=day)
    )
    url = f"{HOME}close/?date={day.isoformat()}"
    page = officer_client.get(url).content.decode()
    assert 'data-closed="false"' in page and 'data-fee="FEHD/hawker"' in page and 'id="close-day"' in page
    assert 'id="total-received">HK$350<' in page
    csv_answer = officer_client.get(f"{HOME}close/{day.isoformat()}.csv")
    assert csv_answer["Content-Type"].startswith("text/csv") and b"FEHD,hawker" in csv_answer.content
    closed = officer_client.post(f"{HOME}close/", {"date": day.isoformat()})
    assert closed.status_code == 302 and DailyClose.objects.get().business_date == day
    page = officer_client.get(url).content.decode()
    assert 'data-closed="true"' in page and 'id="close-day"' not in page and "treasury-amy" in page
    again = officer_client.post(f"{HOME}close/", {"date": day.isoformat()}, follow=True)
    assert "already closed" in again.content.decode()


def test_the_pages_in_chinese(officer_client):
    s.import_file(s.statement([s.transfer("no reference", 35000)]))
    held = s.import_file(s.statement([s.transfer(s.order(), 35000)]), approve=False)
    exc = ReconciliationException.objects.get()
    services.propose(exc.pk, Resolution.WRITTEN_OFF, officer="officer:someone", note="n")
    officer_client.cookies["tungban_language"] = "zh-hant"
    for path in ("", "exceptions/", "close/", f"exceptions/{exc.pk}/", f"imports/{held.pk}/"):
        page = officer_client.get(HOME + path)
        html = page.content.decode()
        assert page.status_code == 200 and 'lang="zh-Hant-HK"' in html
        assert "Reconciliation" not in html and "Exceptions" not in html and "reconciler" not in html, path
    assert "對賬" in officer_client.get(HOME).content.decode()
    assert "等待另一位對賬人員" in officer_client.get(f"{HOME}exceptions/{exc.pk}/").content.decode()
    assert "上載的檔案沒有銀行簽署" in officer_client.get(f"{HOME}imports/{held.pk}/").content.decode()
    assert held.state == ImportState.HELD


def test_a_refund_of_a_transfer_applied_to_no_order_is_approved_on_the_exception_page(officer_client, checker_client):
    s.import_file(s.statement([s.transfer("no reference", 4200, debtor="HO KA KIT")]))
    exc = ReconciliationException.objects.get()
    url = f"{HOME}exceptions/{exc.pk}/"
    assert officer_client.post(f"{url}refund", {"refund-amount": "42.00"}).status_code == 302
    assert officer_client.post(f"{url}approve").status_code == 403  # her own proposal
    assert checker_client.post(f"{url}approve").status_code == 302
    page = officer_client.get(url).content.decode()
    assert 'data-refund-state="requested"' in page and 'id="approve-refund"' in page
    mine = officer_client.post(f"{url}approve_refund")
    assert mine.status_code == 403 and "another officer must approve it" in mine.content.decode()
    assert checker_client.post(f"{url}approve_refund").status_code == 302
    page = officer_client.get(url).content.decode()
    assert 'data-refund-state="approved"' in page and 'id="approve-refund"' not in page
    batch = refunds.export_batch("")  # tungban export_refunds: the Treasury's file of the day
    page = officer_client.get(url).content.decode()
    assert 'id="refund-file"' in page and batch.message_id.startswith("TBRF-TSY-")
    answer = officer_client.get(f"{HOME}refund-files/{batch.pk}.xml")
    assert answer.status_code == 200 and b"HO KA KIT" in answer.content and b"pain.001.001.03" in answer.content
