"""Acceptance 1 of issue 23 (跨境通辦), end to end in headless Chromium across three instances:
the trust anchor and the Guangdong partner platform run as their own processes (own databases,
keys, ``TUNGBAN_VAR_DIR``), the Hong Kong platform is the live server; everything was enrolled
with the operators' management commands (:mod:`tungban.testing.federation`).

(a) A Hong Kong resident (web app bound on HK) opens GD's service and logs in with HK: the app
    shows the binding consent with exactly what crosses (an identifier for this service only and
    the assurance level), the partner and the filing reference; approved, GD's service shows a
    pairwise identifier and the level — no name, no identity card number.
(b) A GD user (web app bound on GD's origin) opens HK's cross-boundary service, logs in with GD,
    binds, and HK's service shows the login.
(c) The HK resident removes the binding in the app; the next login to GD's service asks to bind
    again (declined here: GD's service says so).

Pages in English and Chinese, at phone width, axe finds nothing on any of them.
"""

from __future__ import annotations

import re

import pytest

from tungban.federation.models import Binding, CrossBoundaryRelease, RemoteLogin
from tungban.setup import federation_demo
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import (
    TIMEOUT,
    add_virtual_authenticator,
    approval_url,
    bind_web_app,
    code_shown,
    decide_in_app,
)
from tungban.testing.federation import federation_instances  # noqa: F401 - the fixture
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LANGUAGES = {"en": ("en-GB", "en"), "zh": ("zh-HK", "zh-hant")}


def _context(browser, lang: str):
    context = browser.new_context(locale=LANGUAGES[lang][0], viewport=PHONE)
    context.set_default_timeout(TIMEOUT)
    return context


def _in_both_languages(page, url: str, what: str, check=None) -> None:
    """Load ``url`` in English and in Chinese (the language cookie of the page's origin): axe
    finds nothing, nothing scrolls sideways, ``check(page, lang)`` holds."""
    for lang, (_locale, cookie) in LANGUAGES.items():
        page.context.add_cookies([{"name": "tungban_language", "value": cookie, "url": url}])
        page.goto(url)
        assert page.evaluate("document.documentElement.lang") == ("en" if lang == "en" else "zh-Hant-HK")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{what} ({lang})"
        assert_no_violations(page, f"{what} ({lang})")
        if check:
            check(page, lang)


def _bound_phone(browser, lang: str, base_url: str, hkid: str, code: str):
    context = _context(browser, lang)
    phone = context.new_page()
    add_virtual_authenticator(context, phone)
    bind_web_app(phone, base_url, hkid, code)
    return phone


def _log_in_from(desktop, service_url: str, provider: str) -> tuple[str, str]:
    """On the service's page, "Log in with your <partner> account": to the provider's sign-in
    page (axe clean); returns its app link and the number to type."""
    desktop.goto(service_url)
    desktop.click(f'a[data-provider="{provider}"]')
    desktop.wait_for_selector("#open-app", state="attached")
    assert desktop.url.startswith(f"{provider}/oidc/authorize")
    assert_no_violations(desktop, "the partner's sign-in page")
    return approval_url(desktop), code_shown(desktop)


def _consent_text(phone, link: str) -> str:
    phone.bring_to_front()
    phone.goto(link)
    phone.wait_for_selector("#screen-approve:not([hidden])")
    section = phone.locator("#request-details-section")
    section.wait_for(state="visible")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert_no_violations(phone, "the cross-boundary consent in the app")
    return section.inner_text()


def test_cross_boundary_login_both_ways_and_removing_the_binding(federation_instances, e2e_browser, resident, officer):  # noqa: F811
    fed = federation_instances
    info, hk, gd = fed.info, fed.hk.url, fed.gd.url
    gd_service, hk_service = f"{info['gd_service']}/", f"{info['hk_service']}/"

    # The public pages of both platforms, in both languages.
    look = _context(e2e_browser, "en").new_page()

    def lists_both(page, lang):
        hosted = page.locator(".hosted-service").first.inner_text()
        assert ("Department of Health" if lang == "en" else "衞生署") in hosted  # its trust mark's department
        assert page.locator(f'.partner-service[data-entity="{info["gd_service"]}"]').count() == 1

    _in_both_languages(look, f"{hk}/cross-boundary/", "HK /cross-boundary/", lists_both)
    _in_both_languages(look, gd_service, "GD's service page")
    _in_both_languages(look, hk_service, "HK's cross-boundary service page")

    # (a) HK resident → GD's service, logging in with HK; the app asks to bind.
    hk_phone = _bound_phone(e2e_browser, "en", hk, resident.hkid, wallet.issue_activation_code(resident, officer))
    desktop = _context(e2e_browser, "en").new_page()
    link, code = _log_in_from(desktop, gd_service, hk)
    consent = _consent_text(hk_phone, link)
    assert federation_demo.GD["name_en"] in consent and federation_demo.HK_FILING in consent
    assert "Bind your account" in consent
    # Exactly what crosses: the pairwise identifier and the level, nothing else.
    assert re.search(
        r"What crosses the boundary\s+an identifier for this service only; your identity assurance level\s*(\n|$)",
        consent,
    ), consent
    for private in (resident.name_en, resident.name_zh, resident.hkid_display, "date of birth"):
        assert private not in consent
    assert decide_in_app(hk_phone, link, code=code)
    desktop.bring_to_front()
    desktop.wait_for_selector("#received-sub", timeout=TIMEOUT)
    assert desktop.url == gd_service
    sub = desktop.text_content("#received-sub").strip()
    assert re.fullmatch(r"[A-Za-z0-9_.:-]{16,}", sub) and resident.hkid not in sub
    assert desktop.get_attribute("#received-acr", "data-acr").startswith("urn:tungban:acr:")
    page = desktop.content()
    for private in (resident.name_en, resident.name_zh, resident.hkid_display, resident.hkid):
        assert private not in page
    assert desktop.locator(".received-claim").count() == 0  # nothing else crossed
    assert_no_violations(desktop, "GD's service, logged in with HK")
    binding = Binding.objects.get(resident=resident, removed_at__isnull=True)
    assert binding.partner.entity_id == gd and binding.claims == []  # nothing beyond sub and acr
    release = CrossBoundaryRelease.objects.get(binding=binding)
    assert release.recipient == info["gd_service"] and release.filing_reference == federation_demo.HK_FILING

    # (b) GD user → HK's cross-boundary service, logging in with GD (web app bound on GD's origin).
    person = info["gd_resident"]
    gd_phone = _bound_phone(e2e_browser, "zh", gd, re.sub(r"[()]", "", person["hkid"]), person["activation_code"])
    gd_desktop = _context(e2e_browser, "zh").new_page()
    link, code = _log_in_from(gd_desktop, hk_service, gd)
    consent = _consent_text(gd_phone, link)
    assert federation_demo.HK["name_zh"] in consent and federation_demo.GD_FILING in consent
    assert "林曉明" not in consent
    assert decide_in_app(gd_phone, link, code=code)
    gd_desktop.bring_to_front()
    gd_desktop.wait_for_selector("#received-sub", timeout=TIMEOUT)
    login = RemoteLogin.objects.get(service__path="federation/services/hk-cross-boundary", error="")
    assert login.provider == gd and login.completed_at
    assert gd_desktop.text_content("#received-sub").strip() == login.subject
    assert "林曉明" not in gd_desktop.content() and "R135790" not in gd_desktop.content()
    assert_no_violations(gd_desktop, "HK's service, logged in with GD (zh)")

    # (c) The HK resident removes the binding in the app; the next login asks to bind again.
    hk_phone.bring_to_front()
    hk_phone.goto(f"{hk}/app/")
    remove_binding_in_app(hk_phone, binding.pk)
    assert Binding.objects.get(pk=binding.pk).removed_at is not None
    desktop.bring_to_front()
    desktop.goto(gd_service)
    desktop.click("#logout")
    desktop.wait_for_selector("#providers")
    link, code = _log_in_from(desktop, gd_service, hk)
    consent = _consent_text(hk_phone, link)
    assert "Bind your account" in consent and federation_demo.GD["name_en"] in consent
    decide_in_app(hk_phone, link, "decline")
    desktop.bring_to_front()
    desktop.wait_for_selector("#return-link", timeout=TIMEOUT)  # the platform says it was declined
    desktop.click("#return-link")  # back to the service: access_denied
    desktop.wait_for_selector("#refusal-message", timeout=TIMEOUT)
    assert desktop.url.startswith(f"{gd_service}callback?")
    assert desktop.get_attribute("#refusal-message", "data-code") == "login_declined"
    assert_no_violations(desktop, "GD's refusal page: declined")
    assert not Binding.objects.filter(resident=resident, removed_at__isnull=True).exists()


def remove_binding_in_app(phone, binding_id) -> None:
    """In the web app: home → "See and revoke my consents" → the binding's "remove" button,
    confirmed; waits until the screen no longer lists it (axe clean before and after)."""
    phone.wait_for_selector("#screen-home:not([hidden])")
    phone.click("#consents-link")
    item = phone.locator(f'li[data-binding-id="{binding_id}"]')
    item.wait_for(state="visible")
    assert_no_violations(phone, "the app's consents and bindings")
    phone.once("dialog", lambda dialog: dialog.accept())
    item.locator("button").click()
    item.wait_for(state="detached")
    assert_no_violations(phone, "the app's bindings after removal")
