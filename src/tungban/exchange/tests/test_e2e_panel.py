"""The personal assistant panel end to end in headless Chromium (issue 16): the resident adds
cards, reorders and removes one, gives the water-bill consent from the card (the app's consent
approval, passkey), and the card then shows the balance fetched from WSD through the gateway
with its source; both languages, 390 px, axe-core. Screenshots go to
``$TUNGBAN_E2E_SCREENSHOTS`` when set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from examples.providers import water_bill
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, bind_web_app
from tungban.testing.factories import make_resident
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def _order(page):
    return page.eval_on_selector_all("#panel-cards > li", "els => els.map(e => e.dataset.kind)")


@pytest.mark.parametrize("locale", ["en-GB", "zh-HK"])
def test_choose_cards_consent_and_see_the_water_bill(issuer, officer, providers, e2e_browser, tmp_path, locale):
    providers("wsd")
    resident = make_resident(officer)
    shots = Path(os.environ.get("TUNGBAN_E2E_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    tag = "en" if locale.startswith("en") else "zh"
    context = e2e_browser.new_context(locale=locale, viewport=PHONE)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(context, page)
    bind_web_app(page, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))

    page.click("#assistant-link")
    page.wait_for_selector("#screen-assistant:not([hidden])")
    page.wait_for_selector("#panel-manage li")
    expect(page.locator("#panel-empty")).to_be_visible(timeout=TIMEOUT)
    page.screenshot(path=str(shots / f"assistant-empty-{tag}-390.png"), full_page=True)

    # Add three cards, move the last up, remove one.
    for kind in ("exchange.recent-uses", "credentials.expiring", "exchange.water-bill"):
        page.click(f'#panel-manage li[data-kind="{kind}"] button.add')
        page.wait_for_selector(f'#panel-cards li[data-kind="{kind}"]')
    assert _order(page) == ["exchange.recent-uses", "credentials.expiring", "exchange.water-bill"]
    page.click('#panel-manage li[data-kind="exchange.water-bill"] button.up')
    page.wait_for_function(
        "() => document.querySelectorAll('#panel-cards > li')[1].dataset.kind === 'exchange.water-bill'"
    )
    page.click('#panel-manage li[data-kind="exchange.water-bill"] button.up')
    page.wait_for_function(
        "() => document.querySelectorAll('#panel-cards > li')[0].dataset.kind === 'exchange.water-bill'"
    )
    page.click('#panel-manage li[data-kind="credentials.expiring"] button.remove')
    page.wait_for_selector('#panel-cards li[data-kind="credentials.expiring"]', state="detached")
    assert _order(page) == ["exchange.water-bill", "exchange.recent-uses"]

    # The water bill needs consent: nothing shown until the resident gives it.
    bill_card = page.locator('#panel-cards li[data-kind="exchange.water-bill"]')
    assert bill_card.get_attribute("data-state") == "consent_needed"
    assert_no_violations(page, f"the assistant panel, water bill awaiting consent ({locale}, 390 px)")
    page.screenshot(path=str(shots / f"assistant-consent-needed-{tag}-390.png"), full_page=True)
    bill_card.locator("button.card-action").click()
    page.wait_for_selector("#screen-approve:not([hidden])")
    page.wait_for_selector("#consent-details")
    page.click("#approve-button")
    page.wait_for_selector("#result:not([hidden])")

    page.goto(f"{issuer}/app/#assistant")
    page.wait_for_selector('#panel-cards li[data-kind="exchange.water-bill"][data-state="ok"]')
    bill = water_bill.record(resident.hkid)
    text = bill_card.text_content()
    assert bill["balance_hkd"] in text and bill["account_number"] in text
    source = bill_card.locator(".card-source").text_content()
    assert ("Water Supplies Department" if tag == "en" else "水務署") in source
    assert ("Water bill balance" if tag == "en" else "水費單結餘") in source
    recent = page.locator('#panel-cards li[data-kind="exchange.recent-uses"]').text_content()
    assert ("personal assistant" if tag == "en" else "個人助理") in recent
    assert_no_violations(page, f"the assistant panel with the water bill ({locale}, 390 px)")
    page.screenshot(path=str(shots / f"assistant-water-bill-{tag}-390.png"), full_page=True)
    # Reloading shows the kept answer; "Refresh" fetches again and shows the card anew (review M5).
    from tungban.exchange.models import ExchangeRecord

    page.reload()
    page.wait_for_selector('#panel-cards li[data-kind="exchange.water-bill"][data-state="ok"]')
    fetched = ExchangeRecord.objects.filter(resident=resident).count()
    assert bill_card.locator("button.card-action").text_content() == ("Refresh" if tag == "en" else "重新整理")
    bill_card.evaluate("card => card.setAttribute('data-before-refresh', '')")
    bill_card.locator("button.card-action").click()
    page.wait_for_selector(
        '#panel-cards li[data-kind="exchange.water-bill"][data-state="ok"]:not([data-before-refresh])'
    )
    assert ExchangeRecord.objects.filter(resident=resident).count() == fetched + 1
    page.set_viewport_size({"width": 195, "height": 422})  # 200% zoom
    wide = page.evaluate(
        "[...document.querySelectorAll('#screen-assistant *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.id || e.className || e.tagName)"
    )
    page.screenshot(path=str(shots / f"assistant-{tag}-zoom200.png"), full_page=True)
    assert not wide, wide
    context.close()
    assert not errors, errors
