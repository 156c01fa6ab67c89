"""A company's consent in headless Chromium at phone width (issue 19, second wave): the director
approves a bank's consent for the company in the web app, which names the company and the
company's fields; the consent and an exchange under it are listed on the administrators' page
(who gave it, to whom, what, when, status); the administrator revokes the consent there.
axe-core finds nothing, in English and in Chinese."""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.db import SessionStore

from tungban.core.errors import DomainError
from tungban.corpid import services
from tungban.eservices import login
from tungban.exchange import catalogue
from tungban.exchange import services as exchange
from tungban.exchange.models import Consent
from tungban.exchange.models import Organisation as DataUser
from tungban.exchange.tests.conftest import make_data_user
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, bind_web_app
from tungban.testing.factories import make_resident
from tungban.wallet import services as wallet

from .conftest import REGISTER, TAI_MAN_BRN
from .test_e2e_mandate import PHONE, _no_overflow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_administrators_see_and_revoke_the_company_consents(issuer, officer, e2e_browser, lang):
    services.load_register(REGISTER)
    director = make_resident(officer, hkid="A1234563")
    services.bootstrap(director, TAI_MAN_BRN)
    catalogue.register_bundled({})
    make_data_user(issuer, "sme-bank", kind="bank", name_en="Sample SME Bank", name_zh="樣本中小企銀行")
    bank = DataUser.objects.get(id="sme-bank")
    consent = services.company_consent(
        director,
        TAI_MAN_BRN,
        bank,
        product_id="cr.company-particulars.v1",
        purpose="SME loan application",
        duration_seconds=3600,
        service="sme-bank-client",
    )
    locale = "en-GB" if lang == "en" else "zh-HK"
    errors: list[str] = []

    # The director approves it in the app: the app names the company and the company's fields.
    phone = e2e_browser.new_context(locale=locale, viewport=PHONE)
    phone.set_default_timeout(TIMEOUT)
    app = phone.new_page()
    app.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(phone, app)
    bind_web_app(app, issuer, director.hkid, wallet.issue_activation_code(director, officer))
    app.goto(f"{issuer}/app/approve/{consent.approval.id}")
    app.wait_for_selector("#screen-approve:not([hidden])")
    details = app.text_content("#request-details")
    assert TAI_MAN_BRN in details
    assert ("Tai Man Demo Trading Company Limited" if lang == "en" else "大文示範貿易有限公司") in details
    assert app.text_content("#request-details-title") == (
        "Consent on behalf of a company" if lang == "en" else "代表公司給予同意"
    )
    assert app.locator('#consent-fields li[data-field="directors"]').count() == 1
    assert_no_violations(app, f"app: a consent for a company ({lang})")
    app.click("#approve-button")
    app.wait_for_selector("#result:not([hidden])")
    consent.refresh_from_db()
    assert consent.status == "active" and consent.given_by == director
    phone.close()

    with pytest.raises(DomainError):  # the CR provider is not running here: a refused exchange, recorded
        exchange.exchange(bank, consent_id=consent.id, product_id="cr.company-particulars.v1", request_id="e2e-0001")

    context = e2e_browser.new_context(locale=locale, viewport=PHONE)
    context.set_default_timeout(TIMEOUT)
    session = SessionStore()
    session[login.SESSION_KEY] = {"resident": str(director.public_id), "sub": "e2e"}
    session.create()
    context.add_cookies([{"name": "tungban_session", "value": session.session_key, "url": issuer}])
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{issuer}/business/{TAI_MAN_BRN}/")
    row = page.locator(f'#consent-list li[data-consent="{consent.id}"]')
    assert row.get_attribute("data-status") == "active"
    text = row.text_content()
    assert ("Sample SME Bank" if lang == "en" else "樣本中小企銀行") in text and "SME loan application" in text
    assert "CHAN" in text  # who gave it
    assert page.locator("#exchange-list li").count() == 1
    assert "provider_unavailable" in page.text_content("#exchange-list")
    assert_no_violations(page, f"CorpID: the company's consents and exchanges ({lang})")
    _no_overflow(page, "the company's consents")

    row.locator("button.revoke-consent").click()
    page.wait_for_selector(f'#consent-list li[data-consent="{consent.id}"][data-status="revoked"]')
    assert page.locator(f'#consent-list li[data-consent="{consent.id}"] button').count() == 0
    assert ("Revoked a consent" if lang == "en" else "撤銷了分享公司資料的同意") in page.text_content("#events")
    assert_no_violations(page, f"CorpID: a consent revoked ({lang})")
    assert Consent.objects.get(pk=consent.pk).status == "revoked"
    context.close()
    assert not errors, errors
