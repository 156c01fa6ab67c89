"""axe-core over every page a resident sees (issue 16, res16 item 6; acceptance 3), at phone
width (390 × 844), in English and Traditional Chinese: the sample service's pages (home, form
after login, confirmation, signing, error), the platform's sign-in page and its outcomes (an
invalid request, declined), sign-out (confirm, signed out), and the app's screens (binding,
home, data-sharing consents, e-licences, approval, result).

Each page is checked as the resident reaches it, by clicking through, with WCAG 2.0/2.1/2.2 A
and AA rules (:mod:`tungban.testing.a11y`)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tungban.oidc.models import EME_SCOPES
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, approval_url, bind_web_app
from tungban.testing.browser import sample_service as e2e_sample_service
from tungban.testing.factories import code_on_screen
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LANGS = {"en": ("en", "en-GB", "en"), "zh": ("zh-hant", "zh-HK", "zh-HK")}  # platform, locale, sample service


@pytest.fixture
def sample_service(issuer):
    with e2e_sample_service(issuer, "vehicle-licence-axe", [*EME_SCOPES, "signing"]) as base:
        yield base


def _approve_in_app(phone, link, label):
    phone.bring_to_front()
    phone.goto(link)
    phone.wait_for_selector("#screen-approve:not([hidden])")
    assert_no_violations(phone, f"the app's approval screen ({label})")
    if phone.is_visible("#code-set"):
        phone.fill("#approve-code", code_on_screen({"id": link.rsplit("/", 1)[1]}))
    phone.click("#approve-button")
    phone.wait_for_selector("#result:not([hidden])")
    assert_no_violations(phone, f"the app's result screen ({label})")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_resident_pages_have_no_axe_violations(issuer, e2e_browser, sample_service, resident, officer, lang):
    platform_lang, locale, service_lang = LANGS[lang]
    context = e2e_browser.new_context(locale=locale, viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(TIMEOUT)
    host = urlsplit(issuer).hostname
    context.add_cookies([{"name": "django_language", "value": platform_lang, "domain": host, "path": "/"}])

    # The app: binding, then home.
    phone = context.new_page()
    add_virtual_authenticator(context, phone)
    phone.goto(f"{issuer}/app/")
    phone.wait_for_selector("#screen-bind:not([hidden])")
    assert_no_violations(phone, f"the app's binding screen ({lang})")
    bind_web_app(phone, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))
    assert_no_violations(phone, f"the app's home screen ({lang})")
    for route, screen in (("#consents", "screen-consents"), ("#credentials", "screen-credentials")):
        phone.goto(f"{issuer}/app/{route}")
        phone.wait_for_selector(f"#{screen}:not([hidden])")
        assert_no_violations(phone, f"the app's {screen} ({lang})")

    # The sample service, and its login through the platform's sign-in page.
    web = context.new_page()
    web.goto(f"{sample_service}/?lang={service_lang}")
    assert_no_violations(web, f"the sample service's home page ({lang})")
    web.click("#login")
    web.wait_for_selector("#open-app")
    web.wait_for_selector(".qr svg", state="attached")
    assert_no_violations(web, f"the sign-in page ({lang})")
    web.click("#qr-details summary")  # the QR code folded on a phone, opened
    assert_no_violations(web, f"the sign-in page with its QR code ({lang})")
    _approve_in_app(phone, approval_url(web), f"login, {lang}")
    web.bring_to_front()
    web.wait_for_url(re.compile(r"/form"))
    assert_no_violations(web, f"the sample service's form after login ({lang})")
    web.click("#technical-details summary")
    assert_no_violations(web, f"the sample service's technical details ({lang})")

    web.fill("#registration_mark", "AB1234")
    web.select_option("#period", "12")
    web.click("#submit")
    web.wait_for_selector("#confirm-heading")
    assert_no_violations(web, f"the sample service's confirmation ({lang})")
    web.click("#sign-declaration")
    web.wait_for_selector("#comparison-code")
    assert_no_violations(web, f"the sample service's signing page ({lang})")

    web.goto(f"{sample_service}/callback?error=access_denied&state=x")
    assert_no_violations(web, f"the sample service's error page ({lang})")

    # The platform's outcomes: an invalid request, a declined one; signing out.
    web.goto(f"{issuer}/oidc/authorize?client_id=nobody&response_type=code&scope=openid")
    web.wait_for_selector("#error-code")
    assert_no_violations(web, f"the sign-in error page ({lang})")

    web.goto(f"{sample_service}/login")
    web.wait_for_selector("#open-app")
    link = approval_url(web)
    phone.bring_to_front()
    phone.goto(link)
    phone.wait_for_selector("#screen-approve:not([hidden])")
    phone.click("#decline-button")
    phone.wait_for_selector("#result:not([hidden])")
    web.bring_to_front()
    # The sign-in page sees the answer and opens its outcome itself (oidc/static/oidc: it polls the
    # status): wait for that navigation. A goto of the same address raced it (net::ERR_ABORTED
    # in a loaded full run).
    web.wait_for_url(re.compile(rf"/oidc/authorize/{re.escape(link.rsplit('/', 1)[1])}/complete"))
    web.wait_for_selector("#result-title")
    assert_no_violations(web, f"the declined page ({lang})")

    web.goto(f"{issuer}/oidc/logout")
    web.wait_for_selector("form button[type=submit]")
    assert_no_violations(web, f"the sign-out confirmation ({lang})")
    web.click("main form button[type=submit]")
    web.wait_for_load_state()
    assert_no_violations(web, f"the signed-out page ({lang})")
    context.close()
