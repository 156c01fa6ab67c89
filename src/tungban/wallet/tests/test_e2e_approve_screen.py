"""The app's approval screen for screen-reader users (issue 16, res16 items 1 and 3): opening
an approval moves the focus to the request's heading and announces the request; the timer
warns before the request expires (the visible countdown itself is not read every second)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tungban.oidc import services as oidc
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, approval_url, bind_web_app
from tungban.testing.factories import authorize_params, pkce
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
SHOTS = Path(os.environ.get("TUNGBAN_E2E_SHOTS", "/tmp/res16-shots"))


@pytest.fixture
def context(e2e_browser):
    context = e2e_browser.new_context(locale="en-GB", viewport=PHONE)
    context.set_default_timeout(TIMEOUT)
    yield context
    context.close()


@pytest.fixture
def bound_phone(issuer, resident, officer, context):
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(context, page)
    bind_web_app(page, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))
    yield page
    assert not errors, errors


def _approval_link(context, issuer):
    redirect_uri = f"{issuer}/callback"
    oidc.register_client(
        client_id="e2e-focus", name_en="Harbour Library", name_zh="海港圖書館", redirect_uris=[redirect_uri]
    )
    _, challenge = pkce()
    desktop = context.new_page()
    desktop.goto(f"{issuer}/oidc/authorize?{urlencode(authorize_params('e2e-focus', redirect_uri, challenge))}")
    desktop.wait_for_selector("#open-app", state="attached")
    return approval_url(desktop)


def test_opening_an_approval_moves_focus_to_its_heading_and_announces_it(issuer, context, bound_phone):
    link = _approval_link(context, issuer)
    bound_phone.bring_to_front()
    bound_phone.goto(link)  # the link opens the app straight on the approval (its first screen)
    bound_phone.wait_for_selector("#screen-approve:not([hidden])")
    expect(bound_phone.locator("#approve-title")).to_be_focused()
    expect(bound_phone.locator("#notice")).to_contain_text("Harbour Library")
    SHOTS.mkdir(parents=True, exist_ok=True)
    bound_phone.screenshot(path=str(SHOTS / "app-approve-390.png"))


def test_app_timer_warns_screen_readers_before_the_request_expires(issuer, context, bound_phone, settings):
    settings.TUNGBAN_APPROVAL_TTL = 25  # crosses the 20-second warning a few seconds after opening
    link = _approval_link(context, issuer)
    bound_phone.bring_to_front()
    bound_phone.goto(link)
    bound_phone.wait_for_selector("#screen-approve:not([hidden])")
    live = bound_phone.locator("#countdown-announce")
    assert live.get_attribute("aria-live") == "polite"
    assert bound_phone.get_attribute("#countdown", "aria-live") == "off"  # the visible countdown is not read
    expect(live).to_contain_text(re.compile(r"20 seconds"), timeout=TIMEOUT)
