"""Issue 16 item 7 (staff16) and acceptance 3: axe-core reports no WCAG 2.x A/AA violation on
any staff page — the counter's home, registration (empty and with errors), the resident's page,
the activation-code page, the suspend confirmation, the re-binding approvals, the login lockout,
and the Django admin's main pages — at desktop and phone width (390 px), in English and
Traditional Chinese.

axe-core runs through :mod:`tungban.testing.a11y`. Set ``TUNGBAN_SHOTS_DIR`` to also
save a full-page screenshot of each page (for reviewers; never committed).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tungban.counter import services as counter
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT
from tungban.testing.factories import make_client, staff_login_page, staff_user, valid_hkid

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _shot(page, name: str, lang: str, width: str) -> None:
    where = os.environ.get("TUNGBAN_SHOTS_DIR")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(where) / f"{name}-{lang}-{width}.png"), full_page=True)


def _context(browser, issuer, lang, viewport):
    context = browser.new_context(locale="en-GB", viewport=viewport)
    context.set_default_timeout(TIMEOUT)
    context.add_cookies([{"name": "tungban_language", "value": lang, "url": issuer}])
    return context


def _register(page, issuer) -> None:
    """Fill in the counter's registration form and submit it: the activation code is shown."""
    page.goto(f"{issuer}/staff/residents/new")
    page.fill("#id_hkid", valid_hkid("K"))
    page.fill("#id_family_name_en", "LEE")
    page.fill("#id_given_name_en", "Siu Ming")
    page.fill("#id_date_of_birth", "1985-03-02")
    page.select_option("#id_gender", "female")
    page.check("#id_card_checked")
    page.click("#register-submit")
    page.wait_for_selector("#activation-code")


@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_every_staff_page_has_no_axe_violations(issuer, resident, officer, e2e_browser, lang):
    supervisor = staff_user("counter_supervisor")
    admin = staff_user("admin")
    service, _secret = make_client("svc-a11y")
    counter.request_rebind(resident, officer, reason="Phone lost", document_type="hkid_card", document_reference="1234")
    resident_path = f"/staff/residents/{resident.public_id}"
    from tungban.credentials import catalogue
    from tungban.credentials import services as credentials
    from tungban.testing.factories import make_resident

    catalogue.register_bundled()
    credential_officer = staff_user("credential_officer")
    holder = make_resident(officer, date_of_birth=resident.date_of_birth.replace(year=1950))
    licence = credentials.issue(
        credentials.get_type("senior-citizen-card"), holder, {"card_number": "SC12345678"}, issued_by="officer:test"
    )

    def check(page, name, width):
        page.wait_for_load_state("load")
        _shot(page, name, lang, width)
        assert_no_violations(page, f"{name} [{lang}, {width}]")

    def logged_in(user, start):
        page = _context(e2e_browser, issuer, lang, WIDTHS["desktop"]).new_page()
        staff_login_page(page, issuer, user, start)
        return page

    # One login per role (password and TOTP code: the costly part of this test); each role's
    # pages are then visited at each width in the same session.
    officer_page = logged_in(officer, "/staff/")
    supervisor_page = logged_in(supervisor, "/staff/")
    credentials_page = logged_in(credential_officer, "/staff/credentials/")
    admin_page = logged_in(admin, "/admin/")
    for width, viewport in WIDTHS.items():
        # The officer's pages.
        page = officer_page
        page.set_viewport_size(viewport)
        page.goto(f"{issuer}/staff/")
        check(page, "counter-home", width)
        page.goto(f"{issuer}/staff/residents/new")
        check(page, "register", width)
        page.click("#register-submit")  # nothing filled in: every error at once
        page.wait_for_selector(".field .error")
        check(page, "register-errors", width)
        _register(page, issuer)
        check(page, "activation-code", width)
        page.goto(f"{issuer}{resident_path}")
        check(page, "resident", width)
        suspend = page.locator("#suspend-account")
        if suspend.count():  # issue 16 item 2: a confirmation step (absent before)
            suspend.click()
            page.wait_for_selector("#suspend-confirm")
            check(page, "suspend-confirm", width)
            page.click("#suspend-submit")  # no reason given: the error on its field
            page.wait_for_selector("#id_reason_error")
            check(page, "suspend-errors", width)

        # A supervisor's approvals: the waiting list and the request on the resident's page.
        page = supervisor_page
        page.set_viewport_size(viewport)
        page.goto(f"{issuer}/staff/")
        page.wait_for_selector("#pending-rebinds")
        check(page, "approvals", width)
        page.goto(f"{issuer}{resident_path}#rebind")
        check(page, "resident-approval", width)

        # A credential officer's pages: the home, a credential, and the revoke confirmation
        # (issue 16 item 2) with its errors.
        page = credentials_page
        page.set_viewport_size(viewport)
        page.goto(f"{issuer}/staff/credentials/")
        check(page, "credentials-home", width)
        page.goto(f"{issuer}/staff/credentials/{licence.id}")
        check(page, "credential", width)
        page.click("#revoke")
        page.wait_for_selector("#status-confirm")
        check(page, "credential-revoke-confirm", width)
        page.click("#confirm-revoke")
        page.wait_for_selector("#id_reason_error")
        check(page, "credential-revoke-errors", width)

        # The administrator's main pages.
        page = admin_page
        page.set_viewport_size(viewport)
        page.goto(f"{issuer}/admin/")
        check(page, "admin-index", width)
        for name, path in [
            ("admin-residents", "/admin/identity/resident/"),
            ("admin-resident", f"/admin/identity/resident/{resident.pk}/change/"),
            ("admin-clients", "/admin/oidc/client/"),
            ("admin-client", f"/admin/oidc/client/{service.pk}/change/"),
            ("admin-client-add", "/admin/oidc/client/add/"),
        ]:
            page.goto(f"{issuer}{path}")
            check(page, name, width)
    for page in (officer_page, supervisor_page, credentials_page, admin_page):
        page.context.close()

    # The login lockout (django-axes), after too many failed attempts for one username.
    from axes.models import AccessAttempt
    from django.conf import settings

    AccessAttempt.objects.create(
        username="locked-officer",
        ip_address="127.0.0.1",
        user_agent="test",
        failures_since_start=settings.AXES_FAILURE_LIMIT,
        get_data="",
        post_data="",
        http_accept="*/*",
        path_info="/admin/login/",
    )
    for width, viewport in WIDTHS.items():
        ctx = _context(e2e_browser, issuer, lang, viewport)
        page = ctx.new_page()
        page.goto(f"{issuer}/admin/login/?next=/staff/")
        page.fill("#id_username", "locked-officer")
        page.fill("#id_password", "wrong")
        page.fill("#id_otp_token", "123456")
        page.click("input[type=submit]")
        page.wait_for_selector("#lockout")
        check(page, "lockout", width)
        ctx.close()
