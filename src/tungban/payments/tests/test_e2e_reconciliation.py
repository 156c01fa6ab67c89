"""Reconciliation in headless Chromium at phone width (issue 18): a Treasury officer logs in
(password and TOTP), uploads the day's camt.053 with a transfer that carries no reference,
follows the import until the worker has read it — held, paying nothing — and a second
reconciler, logged in on their own browser, approves the file; the first opens the exception
and proposes matching it to the payment by its bill reference, the second approves that too,
and the day is closed (review findings 2 and 9: no one person moves money); axe-core finds
nothing on any of these pages, in English and in Chinese."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tungban.payments.constants import OrderState
from tungban.payments.models import DailyClose, ReconciliationException
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT
from tungban.testing.factories import staff_login_page
from tungban.testing.tasks import run_queued_tasks

from . import recon_support as s
from .test_reconciliation_pages import HOME, reconciler

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
HKT = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(autouse=True)
def _purpose():
    s.register_purpose()


def _page(browser, lang):
    ctx = browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_upload_match_and_close_the_day(issuer, e2e_browser, tmp_path, lang):
    day = timezone.now().astimezone(HKT).date() - dt.timedelta(days=1)
    booked = dt.datetime.combine(day, dt.time(15, 30), HKT)
    order = s.order(department="FEHD", code="hawker")
    paid = s.order(department="FEHD", code="hawker")
    statement = tmp_path / "statement.xml"
    statement.write_bytes(
        s.statement(
            [s.transfer(paid, 35000, booked_at=booked), s.transfer("FOR MY HAWKER LICENCE", 35000, booked_at=booked)],
            day=day,
        )
    )
    officer = reconciler(f"treasury-{lang}")
    page, errors = _page(e2e_browser, lang)
    staff_login_page(page, issuer, officer, HOME)
    assert_no_violations(page, f"statements ({lang})")

    page.set_input_files("#id_statement", str(statement))
    page.click("#upload-submit")
    page.wait_for_selector("#import-state")
    assert_no_violations(page, f"import queued ({lang})")
    run_queued_tasks()  # the worker
    page.click("#reload")
    page.wait_for_selector('#import-state[data-state="held"]')
    assert page.text_content("#held-total") == "2" and page.locator("#own-upload").count() == 1
    assert_no_violations(page, f"import held ({lang})")
    paid.refresh_from_db()
    assert paid.state == OrderState.AWAITING_TRANSFER  # one officer's file pays nothing

    checker, checker_errors = _page(e2e_browser, lang)
    import_path = page.url.removeprefix(issuer)
    staff_login_page(checker, issuer, reconciler(f"treasury-checker-{lang}"), import_path)
    checker.wait_for_selector("#approve-import")
    assert_no_violations(checker, f"import held, second reconciler ({lang})")
    checker.click("#approve-import")
    checker.wait_for_selector('#import-state[data-state="queued"]')
    run_queued_tasks()
    page.reload()
    page.wait_for_selector('#import-state[data-state="done"]')
    assert page.text_content("#count-exceptions") == "1"
    assert_no_violations(page, f"import done ({lang})")

    page.click('#raised tr[data-reason="no_reference"] a')
    page.wait_for_selector("#match-form")
    assert_no_violations(page, f"exception ({lang})")
    page.fill("#id_match-reference", "TB00 0000 0000 0000")
    page.click("#match")
    page.wait_for_selector("#action-error")
    assert_no_violations(page, f"exception with an error ({lang})")
    page.fill("#id_match-reference", order.reference)
    page.click("#match")
    page.wait_for_selector('#exception-state[data-state="proposed"]')
    assert page.locator("#own-proposal").count() == 1
    assert_no_violations(page, f"proposal waiting ({lang})")

    checker.goto(page.url)
    checker.wait_for_selector("#approve")
    assert_no_violations(checker, f"proposal, second reconciler ({lang})")
    checker.click("#approve")
    checker.wait_for_selector('#exception-resolution[data-resolution="matched"]')
    assert_no_violations(checker, f"resolution approved ({lang})")
    order.refresh_from_db()
    exc = ReconciliationException.objects.get()
    assert order.state == OrderState.SUCCESS and exc.resolved_by.endswith(f"checker-{lang}")
    assert exc.proposed_by.endswith(f"treasury-{lang}")

    page.click("#nav-queue")
    page.wait_for_selector("#queue-empty")
    assert_no_violations(page, f"empty queue ({lang})")
    page.goto(f"{issuer}{HOME}close/?date={day.isoformat()}")
    page.wait_for_selector('#close-state[data-closed="false"]')
    assert page.locator('#fee-items tr[data-fee="FEHD/hawker"] td').nth(1).text_content() == "2"
    assert_no_violations(page, f"daily close ({lang})")
    page.click("#close-day")
    page.wait_for_selector('#close-state[data-closed="true"]')
    assert_no_violations(page, f"closed day ({lang})")
    assert DailyClose.objects.get().business_date == day
    assert errors == [] and checker_errors == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_what_the_statement_adds_to_the_queue_and_a_day_it_holds(issuer, e2e_browser, lang):
    """pay-settle: a notified transfer the statement does not show, the same end-to-end id with
    another amount, and a debit nobody instructed, each on its exception page; the daily close
    refuses the day while a notified transfer is unsettled — in both languages, axe-clean."""
    day = timezone.now().astimezone(HKT).date() - dt.timedelta(days=1)
    booked = dt.datetime.combine(day, dt.time(10, 0), HKT)
    missing = s.transfer(s.order(), 35000, booked_at=booked)
    doubled = s.transfer(s.order(), 35000, booked_at=booked)
    for t in (missing, doubled):
        s.import_file(s.notification(t))
    s.import_file(
        s.statement(
            [dict(doubled, amount_cents=30000), s.transfer("BANK FEE", 1200, credit=False, booked_at=booked)], day=day
        )
    )
    page, errors = _page(e2e_browser, lang)
    staff_login_page(page, issuer, reconciler(f"treasury-settle-{lang}"), f"{HOME}exceptions/")
    for kind, shows in (
        ("not_on_statement", "#write-off-form"),
        ("conflicting_duplicate", "#exception-conflicts-with"),
        ("unknown_debit", "#write-off-form"),
    ):
        page.goto(f"{issuer}{HOME}exceptions/")
        page.click(f'tr[data-kind="{kind}"] a')
        page.wait_for_selector(shows)
        assert page.get_attribute("#exception-kind", "data-kind") == kind
        assert_no_violations(page, f"{kind} exception ({lang})")
    assert page.text_content("#exception-amount").strip() == "HK$12"  # the debit's page: money out
    page.goto(f"{issuer}{HOME}close/?date={day.isoformat()}")
    page.click("#close-day")
    page.wait_for_selector('#close-state[data-closed="false"]')
    page.wait_for_selector(".messages li.error")
    assert_no_violations(page, f"a day not settled ({lang})")
    assert not DailyClose.objects.exists()
    assert errors == []
