"""The company's consents and exchanges on the administrators' page, in headless Chromium at
phone width (issue 19, second wave): a bank's consent given by the director in the app and an
exchange under it are listed (who gave it, to whom, what, when, status); the administrator
revokes the consent on the page; axe-core finds nothing, in English and in Chinese."""

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
from tungban.testing.browser import TIMEOUT
from tungban.testing.factories import make_resident

from .conftest import REGISTER, TAI_MAN_BRN
from .test_e2e_mandate import PHONE, _no_overflow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_administrators_see_and_revoke_the_company_consents(issuer, officer, e2e_browser, app_of, lang):
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
    app_of(director).accept(str(consent.approval.id))
    with pytest.raises(DomainError):  # the CR provider is not running here: a refused exchange, recorded
        exchange.exchange(bank, consent_id=consent.id, product_id="cr.company-particulars.v1", request_id="e2e-0001")

    context = e2e_browser.new_context(locale="en-GB" if lang == "en" else "zh-HK", viewport=PHONE)
    context.set_default_timeout(TIMEOUT)
    session = SessionStore()
    session[login.SESSION_KEY] = {"resident": str(director.public_id), "sub": "e2e"}
    session.create()
    context.add_cookies([{"name": "tungban_session", "value": session.session_key, "url": issuer}])
    page = context.new_page()
    errors: list[str] = []
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
