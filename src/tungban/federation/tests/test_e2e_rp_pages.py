"""The hosted service's pages and its refusal pages in headless Chromium at phone width, in
English and Chinese, axe clean (issue 23, part frp): the service's start page, a provider whose
chain is revoked, an ID token that does not verify, the resident declining."""

from __future__ import annotations

import pytest

from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT

from .test_rp import _revoked, world  # noqa: F401 - world is a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LOCALES = {"en": "en-GB", "zh": "zh-HK"}
HEADINGS = {"en": "The login was refused", "zh": "登入被拒"}


def _refused(page, lang: str, code: str, what: str) -> None:
    page.wait_for_selector("#refusal-message")
    assert page.get_attribute("#refusal-message", "data-code") == code
    assert page.text_content("h1").strip() == HEADINGS[lang]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), what
    assert_no_violations(page, f"{what} ({lang})")


def _through_provider(page, world, **callback) -> None:  # noqa: F811
    """Press "Log in with …", let the stand-in provider answer, follow its redirect back."""
    with page.expect_request(lambda r: r.url.startswith(world.provider.url)) as started:
        page.route(f"{world.provider.url}/**", lambda route: route.abort())
        page.click("#providers a")
    asked = world.provider.authorize(started.value.url)
    params = {"state": asked["state"], "iss": world.provider.url, **callback}
    if "error" not in params:
        params["code"] = asked["code"]
    page.goto(f"{world.page}callback?" + "&".join(f"{k}={v}" for k, v in params.items()))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_service_and_refusal_pages_at_phone_width(world, e2e_browser, lang):  # noqa: F811
    context = e2e_browser.new_context(locale=LOCALES[lang], viewport=PHONE)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()

    page.goto(world.page)
    assert page.locator("#providers a").count() == 1
    assert_no_violations(page, f"hosted service ({lang})")

    _through_provider(page, world, error="access_denied")
    _refused(page, lang, "login_declined", "declined")

    page.goto(world.page)
    world.provider.id_token_claims = {"nonce": "not-the-nonce"}
    _through_provider(page, world)
    _refused(page, lang, "invalid_id_token", "bad ID token")

    _revoked(world)
    page.goto(world.page)
    page.click("#providers a")
    _refused(page, lang, "invalid_trust_chain", "revoked chain")
    page.click("#back-to-service")
    page.wait_for_selector("#providers")
