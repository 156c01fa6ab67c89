"""The cross-boundary consent in the web app (issue 23, part fop), on a phone screen, in both
languages, axe clean: the partner platform, "bind your account", exactly what crosses, the legal
basis and the filing reference; approving (the device's signature repeats the consent) makes
the binding. The partner's service is the live server's hosted RP (``test_bindings``)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tungban.federation.models import Binding
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import (
    TIMEOUT,
    add_virtual_authenticator,
    approval_url,
    bind_web_app,
    code_shown,
    decide_in_app,
)
from tungban.wallet import services as wallet

from .test_bindings import FILING, RP, world  # noqa: F401 - world is a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
WORDS = {
    "en-GB": (
        "Partner platform",
        "Guangdong unified identity authentication platform (demo)",
        "an identifier for this service only",
    ),
    "zh-HK": ("伙伴平台", "廣東省統一身份認證平台（示範）", "只供此服務使用的識別碼"),
}


@pytest.mark.parametrize("locale", ["en-GB", "zh-HK"])
def test_consent_on_the_phone_in_both_languages_and_approval_binds(world, e2e_browser, resident, officer, locale):  # noqa: F811
    context = e2e_browser.new_context(locale=locale, viewport=PHONE)
    context.set_default_timeout(TIMEOUT)
    try:
        phone = context.new_page()
        problems = []
        phone.on("pageerror", lambda exc: problems.append(str(exc)))
        add_virtual_authenticator(context, phone)
        bind_web_app(phone, world.url, resident.hkid, wallet.issue_activation_code(resident, officer))
        desktop = context.new_page()
        query, _params, _verifier = RP(world).authorization()
        desktop.goto(f"{world.url}/oidc/authorize?{urlencode(query)}")
        desktop.wait_for_selector("#open-app", state="attached")
        link, code = approval_url(desktop), code_shown(desktop)

        phone.bring_to_front()
        phone.goto(link)
        phone.wait_for_selector("#screen-approve:not([hidden])")
        label, partner, crossing = WORDS[locale]
        section = phone.locator("#request-details-section")
        expect(section).to_be_visible(timeout=TIMEOUT)
        text = section.inner_text()
        assert label in text and partner in text and crossing in text and FILING in text
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
        assert_no_violations(phone, f"cross-boundary consent ({locale})")

        decide_in_app(phone, link, code=code)
        binding = Binding.objects.get(resident=resident, removed_at__isnull=True)

        # The app lists the binding with its legal basis and removes it.
        phone.goto(f"{world.url}/app/#consents")
        item = phone.locator(f'[data-binding-id="{binding.id}"]')
        item.wait_for()
        assert partner in item.inner_text() and FILING in item.inner_text()
        assert_no_violations(phone, f"cross-boundary bindings ({locale})")
        phone.once("dialog", lambda dialog: dialog.accept())
        item.locator("button").click()
        phone.locator("#bindings-empty").wait_for(state="visible")
        binding.refresh_from_db()
        assert binding.removed_at is not None
        assert not problems, problems
    finally:
        context.close()
