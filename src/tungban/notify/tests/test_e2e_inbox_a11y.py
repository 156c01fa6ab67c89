"""The app's inbox screens (issue 16, notifications) in Traditional Chinese and English, at
phone width (390 px) and at 200% zoom: axe-core finds no WCAG 2.x A/AA violation
(:mod:`tungban.testing.a11y`; acceptance 3), nothing sticks out of the screen, and the
resident's language chooses the text.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tungban.notify import services
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, bind_web_app
from tungban.testing.factories import make_client, make_resident
from tungban.testing.tasks import run_queued_tasks
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TEXTS = {
    "zh-HK": {
        "verified": "已核實的發送者：運輸署",
        "subject": "車輛牌照續期",
        "title": "訊息",
        "unread": "未讀",
        "count": "1 則未讀",
    },
    "en-GB": {
        "verified": "Verified sender: Transport Department",
        "subject": "Vehicle licence renewal",
        "title": "Messages",
        "unread": "Unread",
        "count": "1 unread",
    },
}


def _sticking_out(page, screen: str) -> list[str]:
    return page.evaluate(
        f"[...document.querySelectorAll('#{screen} *')].filter(e => e.getBoundingClientRect().right > "
        "window.innerWidth + 1).map(e => e.id || e.className || e.tagName)"
    )


@pytest.mark.parametrize("locale", ["zh-HK", "en-GB"])
def test_inbox_and_message_screens_accessible_in_both_languages(issuer, officer, e2e_browser, tmp_path, locale):
    shots = Path(os.environ.get("TUNGBAN_E2E_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    lang = locale[:2]
    text = TEXTS[locale]
    client, _ = make_client("td-a11y", "https://td.example/cb")
    sender = services.create_sender("td", "Transport Department", "運輸署", client.client_id)
    template = services.create_template(
        sender,
        "licence-expiry",
        subject_en="Vehicle licence renewal",
        subject_zh="車輛牌照續期",
        body_en="Your vehicle licence ((plate)) expires on ((date)). Renew it online or at a licensing office.",
        body_zh="您的車輛牌照 ((plate)) 將於 ((date)) 到期。請在網上或到牌照事務處續期。",
    )
    resident = make_resident(officer)
    read = services.send_to_resident(sender, template, resident, {"plate": "AB 1234", "date": "2027-03-01"})
    unread = services.send_to_resident(sender, template, resident, {"plate": "CD 5678", "date": "2027-04-01"})
    run_queued_tasks()
    services.mark_read(resident, read.id)

    context = e2e_browser.new_context(locale=locale, viewport={"width": 390, "height": 844})
    context.set_default_timeout(TIMEOUT)
    phone = context.new_page()
    errors = []
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(context, phone)
    bind_web_app(phone, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))

    phone.wait_for_selector("#inbox-unread:not([hidden])")
    assert phone.text_content("#inbox-unread") == text["count"]  # one of the two is read
    phone.locator("#inbox-link").scroll_into_view_if_needed()
    phone.screenshot(path=str(shots / f"home-{lang}-390.png"))
    phone.click("#inbox-link")
    phone.wait_for_selector(f"li[data-message-id='{unread.id}']")
    phone.wait_for_selector("#push-state:not(:empty)", timeout=60_000)  # once the service worker is active
    assert phone.text_content("#inbox-title").strip() == text["title"]
    assert phone.locator("#inbox li").count() == 2
    assert phone.get_attribute(f"li[data-message-id='{unread.id}']", "data-read") == "false"
    assert phone.text_content(f"li[data-message-id='{unread.id}'] .badge.unread").strip() == text["unread"]
    assert phone.get_attribute(f"li[data-message-id='{read.id}']", "data-read") == "true"
    assert text["verified"] in phone.text_content(f"li[data-message-id='{unread.id}'] .sender-check")
    assert_no_violations(phone, f"the inbox ({locale}, 390 px)")
    phone.screenshot(path=str(shots / f"inbox-{lang}-390.png"), full_page=True)

    phone.click(f"li[data-message-id='{unread.id}'] a")
    phone.wait_for_selector("#screen-message:not([hidden])")
    phone.wait_for_function("() => document.getElementById('message-body').textContent.length > 0")
    assert phone.text_content("#message-title") == text["subject"]
    assert phone.text_content("#message-sender").strip() == text["verified"]
    assert phone.evaluate("document.activeElement.id") == "message-title"  # focus moved to the heading
    assert_no_violations(phone, f"a message ({locale}, 390 px)")
    phone.screenshot(path=str(shots / f"message-{lang}-390.png"), full_page=True)

    phone.set_viewport_size({"width": 195, "height": 422})  # 390 px at 200% zoom
    assert not _sticking_out(phone, "screen-message")
    phone.screenshot(path=str(shots / f"message-{lang}-zoom200.png"), full_page=True)
    phone.click("#message-back")
    phone.wait_for_selector(f"li[data-message-id='{unread.id}'][data-read='true']")
    assert not _sticking_out(phone, "screen-inbox")
    phone.screenshot(path=str(shots / f"inbox-{lang}-zoom200.png"), full_page=True)
    context.close()
    assert not errors, errors
