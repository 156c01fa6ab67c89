"""In headless Chromium (issue 18, pay-refund):

- an FEHD officer asks for a refund on a paid payment's page; a second officer sees it waiting,
  approves it; the instruction file for the bank is made and downloaded; axe-core finds nothing
  on the refund pages (English, Chinese; phone width);
- the self-service kiosk: a mistyped bill reference is refused (check digits), the right one
  shows the amount and the FPS QR code, and when the bank's transfer arrives the page turns to
  "Paid" by itself (the status poll); axe-core finds nothing at kiosk and phone sizes.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tungban.payments import pain001
from tungban.payments.models_refunds import Refund, RefundState
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT
from tungban.testing.factories import staff_login_page

from .refund_helpers import department_user, make_order, paid_order, pay

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
KIOSK = {"width": 1080, "height": 1920}


#: The words (runs of Latin letters) of the elements matching a selector that the layout splits
#: over two lines; Chinese may break between any two characters.
BROKEN_WORDS = """(selector) => {
  const broken = [];
  for (const el of document.querySelectorAll(selector)) {
    const text = el.firstChild;
    if (!text || text.nodeType !== Node.TEXT_NODE) continue;
    const re = /[A-Za-z]+/g;
    let m;
    while ((m = re.exec(text.data))) {
      const range = document.createRange();
      range.setStart(text, m.index);
      range.setEnd(text, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      if (tops.size > 1) broken.push(m[0]);
    }
  }
  return broken;
}"""


def _page(browser, issuer, lang="en", viewport=PHONE):
    ctx = browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=viewport, accept_downloads=True)
    ctx.set_default_timeout(TIMEOUT)
    ctx.add_cookies([{"name": "tungban_language", "value": lang, "url": issuer}])
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_an_officer_asks_another_approves_and_the_bank_file_is_made(issuer, e2e_browser, settings, lang):
    settings.TUNGBAN_REFUND_SECOND_APPROVAL_CENTS = 1_000_000
    clerk = department_user("fehd-clerk", "FEHD")
    checker = department_user("fehd-checker", "FEHD")
    order = paid_order(45_000)

    page, errors = _page(e2e_browser, issuer, lang)
    staff_login_page(page, issuer, clerk, f"/staff/payments/orders/{order.reference}")
    assert page.get_attribute("#refund-available", "data-cents") == "45000"
    assert_no_violations(page, f"payment page [{lang}]")
    # Too much first: refused, with the error beside the amount.
    page.fill("#id_amount", "450.01")
    page.fill("#id_reason_en", "Application withdrawn before processing")
    page.fill("#id_reason_zh", "申請在處理前撤回")
    page.click("#request-refund")
    page.wait_for_selector("#action-error")
    expect(page.locator("#id_amount_error")).to_be_visible(timeout=TIMEOUT)
    assert_no_violations(page, f"refund refused [{lang}]")
    page.fill("#id_amount", "120.50")
    page.click("#request-refund")
    page.wait_for_selector('#refund-state[data-state="requested"]')
    assert page.locator("#approve").count() == 0  # never one's own
    assert_no_violations(page, f"refund requested [{lang}]")
    refund = Refund.objects.get(order=order)
    assert refund.amount_cents == 12_050 and refund.requested_by == clerk

    page2, errors2 = _page(e2e_browser, issuer, lang)
    staff_login_page(page2, issuer, checker, "/staff/payments/")
    row = page2.locator(f'#awaiting tr[data-refund="{refund.reference}"]')
    assert row.count() == 1
    assert_no_violations(page2, f"refunds home [{lang}]")
    # at phone width no column heading is cut inside a word ("Ref/und", "Depart/ment")
    broken = page2.evaluate(BROKEN_WORDS, "#awaiting th")
    assert not broken, broken
    row.locator("a").click()
    page2.wait_for_selector("#approve")
    page2.click("#approve")
    page2.wait_for_selector('#refund-state[data-state="approved"]')
    assert_no_violations(page2, f"refund approved [{lang}]")

    page2.goto(f"{issuer}/staff/payments/")
    page2.click("#export-FEHD")
    page2.wait_for_selector("#download-batch")
    assert page2.text_content("#batch-count").strip() == "1"
    assert_no_violations(page2, f"instruction file [{lang}]")
    with page2.expect_download() as download:
        page2.click("#download-batch")
    pain001.validate(open(download.value.path(), "rb").read())
    refund.refresh_from_db()
    assert refund.state == RefundState.EXPORTED and refund.approved_by == checker
    assert not errors and not errors2


@pytest.mark.parametrize("lang,viewport", [("zh-hant", KIOSK), ("en", PHONE)])
def test_the_kiosk_finds_a_bill_by_reference_shows_its_qr_and_turns_to_paid(issuer, e2e_browser, lang, viewport):
    department_user("fehd-clerk", "FEHD")  # the department's names
    order = make_order(41_500)
    page, errors = _page(e2e_browser, issuer, lang, viewport)
    page.goto(f"{issuer}/pay/kiosk/")
    assert_no_violations(page, f"kiosk [{lang}]")
    typo = order.reference[:-1] + str((int(order.reference[-1]) + 1) % 10)
    page.fill("#id_reference", typo)
    page.click("#kiosk-find")
    page.wait_for_selector("#id_reference_error")
    assert_no_violations(page, f"kiosk error [{lang}]")
    grouped = " ".join(order.reference[i : i + 4] for i in range(0, len(order.reference), 4)).lower()
    page.fill("#id_reference", grouped)  # as a payer types it: spaces, lower case
    page.click("#kiosk-find")
    page.wait_for_selector("#pay-qr")
    assert "415" in page.text_content("#pay-amount")
    assert page.text_content("#pay-reference").replace(" ", "") == order.reference
    assert_no_violations(page, f"kiosk bill [{lang}]")

    pay(order)  # the bank's notification arrives
    page.wait_for_selector("#pay-paid")
    assert page.locator("#pay-qr").count() == 0
    assert_no_violations(page, f"kiosk paid [{lang}]")
    assert not errors


def test_the_counter_makes_a_walk_in_payment_and_checks_codes(issuer, e2e_browser):
    from tungban.payments import services

    clerk = department_user("fehd-clerk", "FEHD")
    page, errors = _page(e2e_browser, issuer, "en")
    staff_login_page(page, issuer, clerk, "/staff/payments/counter/check")
    order = make_order(20_000)
    page.fill("#id_payload", services.fps_payload(order))
    page.click("#check")
    page.wait_for_selector("#check-ok")
    assert_no_violations(page, "counter check ok")
    bad = services.fps_payload(order)[:-4] + "0000"
    page.fill("#id_payload", bad)
    page.click("#check")
    page.wait_for_selector('#check-problems li[data-rule="crc_mismatch"][data-field="63"]')
    assert "CRC" in page.text_content("#check-problems")
    assert_no_violations(page, "counter check problems")
    page.goto(f"{issuer}/staff/payments/counter/static-qr")
    page.wait_for_selector("#static-qr")
    assert_no_violations(page, "counter static QR")
    page.goto(f"{issuer}/staff/payments/counter/?find-reference={order.reference}")
    page.fill("#id_find-reference", order.reference)
    page.click("#find")
    page.wait_for_selector("#pay-qr")
    assert_no_violations(page, "counter order QR")
    pay(order)
    page.wait_for_selector("#pay-paid")
    assert not errors
