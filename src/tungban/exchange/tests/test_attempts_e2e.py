"""The web app's history shows an exchange attempt of unknown outcome, and one still waiting
for its provider, in both languages (issue 14 item 4), in headless Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tungban.exchange.models import AttemptState, ExchangeAttempt
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, bind_web_app
from tungban.wallet import services as wallet

from .test_attempts import Killed, data_user, fetch, kill_at, make_consent, overdue, provider, resident  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def open_app(browser, issuer, locale):
    context = browser.new_context(locale=locale, viewport=PHONE)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(context, page)
    return context, page, errors


def history_items(page, count):
    page.wait_for_function(f"() => document.querySelectorAll('#history li[data-kind=exchange]').length === {count}")
    return page.locator("#history li[data-kind=exchange]")


def test_history_shows_unknown_and_waiting_attempts(
    issuer,
    data_user,  # noqa: F811
    resident,  # noqa: F811
    provider,  # noqa: F811
    kill_at,  # noqa: F811
    e2e_browser,
    officer,
):
    consent = make_consent(data_user, resident)
    kill_at("exchange.provider_returned")
    for _ in range(2):
        with pytest.raises(Killed):
            fetch(data_user, consent)
    older, newer = ExchangeAttempt.objects.order_by("started_at")
    assert older.state == newer.state == AttemptState.IN_FLIGHT
    overdue(older.pk)  # its time ran out: unknown; the newer one may still be answered

    context, page, errors = open_app(e2e_browser, issuer, "en-GB")
    bind_web_app(page, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))
    items = history_items(page, 2)
    waiting, unknown = items.nth(0), items.nth(1)
    assert (waiting.get_attribute("data-state"), waiting.get_attribute("data-exchange-id")) == (
        "in_progress",
        str(newer.pk),
    )
    assert "Waiting for Water Supplies Department to answer." in waiting.text_content()
    assert unknown.get_attribute("data-state") == "unknown"
    assert unknown.get_attribute("data-outcome") == "outcome_unknown"
    text = unknown.text_content()
    assert "Outcome unknown: Water Supplies Department may have released your data to the platform" in text
    assert "the platform did not record delivery to Transport Department" in text
    expect(unknown.locator(".outcome.unknown")).to_be_visible(timeout=TIMEOUT)

    # The same app in Chinese.
    context.set_extra_http_headers({"Accept-Language": "zh-HK,zh-Hant;q=0.9"})
    page.goto(f"{issuer}/app/")
    items = history_items(page, 2)
    assert "結果不明：水務署可能已向平台發放你的資料" in items.nth(1).text_content()
    assert "正在等候水務署回覆。" in items.nth(0).text_content()
    context.close()
    assert not errors, errors
