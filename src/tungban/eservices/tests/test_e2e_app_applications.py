"""The resident's applications in the app, end to end in headless Chromium at phone width
(issue 17: drafts "resumable from the app or web"): the resident adds the card "My e-services
applications" to the app's personal assistant panel; it lists the application waiting for
their answer (the department's message), the draft (kept until …) and the one in progress,
each a link; the draft's link opens the portal page it stopped at, with the saved answers.
axe-core finds nothing, in English and in Chinese. (The portal login is set in the session:
the acceptance flow's test logs in through the app.)"""

from __future__ import annotations

import re

import pytest
from django.contrib.sessions.backends.db import SessionStore

from tungban.credentials import catalogue as credential_catalogue
from tungban.eservices import login, services
from tungban.eservices.models import Service
from tungban.eservices.tests.helpers import SENIOR_ANSWERS, department_user
from tungban.eservices.tests.staffing import submitted_senior_cards
from tungban.payments.services import load_fees
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, bind_web_app
from tungban.testing.factories import make_resident
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
CARD = '#panel-cards li[data-kind="eservices.applications"]'


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_app_lists_applications_and_resumes_a_draft(issuer, officer, e2e_browser, settings, tmp_path, lang):
    settings.TUNGBAN_ESERVICES_FILES = tmp_path / "files"
    credential_catalogue.register_bundled()
    load_fees()  # the fee schedule (issue 18), as `tungban setup` loads it
    services.load_catalogue()
    resident = make_resident(officer)
    asked, waiting = submitted_senior_cards(resident, 2)
    swd = department_user(f"swd-app-{lang}", "SWD", "officer")
    services.request_information(asked, swd, "Please upload a recent photo.", "請上載近照。")
    draft = services.start_application(resident, Service.objects.get(slug="senior-citizen-card"))
    services.save_draft(draft, resident, {**SENIOR_ANSWERS["applicant"], "hkid": resident.hkid}, page="applicant")

    context = e2e_browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=PHONE)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(context, page)
    bind_web_app(page, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))

    page.click("#assistant-link")
    page.wait_for_selector('#panel-manage li[data-kind="eservices.applications"]')
    page.click('#panel-manage li[data-kind="eservices.applications"] button.add')
    page.wait_for_selector(f'{CARD}[data-state="ok"]')
    links = page.locator(f"{CARD} dd a")
    assert links.count() == 3
    urgent, resumable, in_progress = (links.nth(i) for i in range(3))
    assert urgent.get_attribute("href") == f"/services/my/{asked.reference}/"
    assert resumable.get_attribute("href") == f"/services/my/{draft.reference}/page/address"
    assert in_progress.get_attribute("href") == f"/services/my/{waiting.reference}/"
    if lang == "en":
        assert urgent.text_content() == "More information is needed from you: Please upload a recent photo."
        assert re.fullmatch(r"Draft, kept until \d+ \w{3} \d{4}: continue where you left off", resumable.text_content())
        assert in_progress.text_content() == "Status: Submitted"
    else:
        assert urgent.text_content() == "需要你補交資料：請上載近照。"
        assert re.fullmatch(r"草稿，保留至\d+年\d+月\d+日：從上次停下的地方繼續", resumable.text_content())
    assert_no_violations(page, f"app: my e-services applications card ({lang})")

    # The draft's link opens the portal page it stopped at (logged in to the portal).
    session = SessionStore()
    session[login.SESSION_KEY] = {"resident": str(resident.public_id), "sub": "e2e"}
    session.create()
    context.add_cookies([{"name": "tungban_session", "value": session.session_key, "url": issuer}])
    resumable.click()
    page.wait_for_url(f"{issuer}/services/my/{draft.reference}/page/address")
    assert page.locator("#f-address-line1").count() == 1  # the address page, where it stopped
    page.goto(f"{issuer}/services/my/{draft.reference}/page/applicant")
    assert page.input_value("#f-family_name") == "CHAN"  # the answers saved before
    assert errors == []
