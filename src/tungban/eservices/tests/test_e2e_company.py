"""Issue 19, acceptance 1, end to end in headless Chromium: a director grants a mandate on the
company's CorpID page; the employee accepts it in the app; logs in to the business e-service
(the Certificate of Resident Status for a company) "for a company", choosing the company in the
app; the form's company particulars come from the Companies Registry and its tax position from
the Inland Revenue Department through the exchange gateway (separate provider processes), with
the company's consent approved in the app; the employee signs the declaration for the company
(approved in the app, signed by the signing job); the signed PDF validates with ``pdfsig``,
which shows both identities (the person and the company's seal); the application is submitted
and its page says "<person> for <company>". axe-core finds nothing on the new pages, in English
and in Chinese. (The director's portal login is set in the session, as CorpID's own e2e test
does; the employee logs in through the app.)"""

from __future__ import annotations

import contextlib
import re
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from django.contrib.sessions.backends.db import SessionStore

from tungban.corpid import services as corpid
from tungban.corpid.models import Mandate
from tungban.credentials import catalogue as credential_catalogue
from tungban.eservices import login, portal, services
from tungban.eservices.models import Application
from tungban.exchange import catalogue as exchange_catalogue
from tungban.exchange.models import ExchangeRecord
from tungban.payments.services import load_fees
from tungban.signing import ca
from tungban.signing.models import AuthorityRole
from tungban.signing.tests.test_seal import pdfsig, require
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import (
    TIMEOUT,
    add_virtual_authenticator,
    approval_url,
    bind_web_app,
    code_shown,
    decide_in_app,
)
from tungban.testing.factories import make_resident
from tungban.testing.tasks import run_queued_tasks_in_thread
from tungban.wallet import services as wallet

from .conftest import BRN, NAME_EN, NAME_ZH, REGISTER, SLUG

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
CR = "cr.company-particulars.v1"
IRD = "ird.business-tax-status.v1"
CARD = '#panel-cards li[data-kind="corpid.companies"]'


@pytest.fixture
def providers(issuer):
    """The Companies Registry's and the Inland Revenue Department's demo providers, each its
    own process, registered with the gateway."""
    from examples.providers.launch import start_provider, stop_provider

    started = {name: start_provider(name, issuer) for name in ("cr", "ird")}
    exchange_catalogue.register_bundled({name: url for name, (_proc, url) in started.items()})
    yield started
    for proc, _url in started.values():
        with contextlib.suppress(Exception):
            stop_provider(proc)


def _nss(tmp_path) -> str:
    """An NSS database trusting only the platform's root (for pdfsig)."""
    require("pdfsig")
    require("certutil")
    root = tmp_path / "root.pem"
    root.write_bytes(ca.certificate(AuthorityRole.ROOT).public_bytes(serialization.Encoding.PEM))
    nss = tmp_path / "nss"
    nss.mkdir()
    for args in (["-N", "--empty-password"], ["-A", "-n", "root", "-t", "C,C,C", "-i", str(root)]):
        done = subprocess.run(["certutil", "-d", f"sql:{nss}", *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    return f"sql:{nss}"


def _context(browser, locale):
    ctx = browser.new_context(locale=locale, viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    return ctx


def _fill_from(web, phone, product: str, lang: str, what: str) -> None:
    """Ask the company's consent for ``product`` on this page, approve it in the app, continue."""
    web.click(f"#fill-{product.replace('.', '-')}")
    web.wait_for_selector("#company-consent")
    assert_no_violations(web, f"e-services: the company's consent, {what} ({lang})")
    decide_in_app(phone, web.get_attribute("#open-app", "href"), "approve")
    web.bring_to_front()
    web.click("#consent-continue")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_employee_applies_for_the_company_prefilled_from_cr_and_ird_and_signs_for_it(
    issuer, officer, providers, e2e_browser, settings, tmp_path, lang
):
    settings.TUNGBAN_ESERVICES_FILES = tmp_path / "files"
    credential_catalogue.register_bundled()
    load_fees()
    services.load_catalogue()
    portal.ensure_portal()
    corpid.load_register(REGISTER)
    director = make_resident(officer, hkid="A1234563")
    employee = make_resident(
        officer, hkid="G123456A", family_name_en="WONG", given_name_en="Siu Ling", name_zh="黃小玲"
    )
    corpid.bootstrap(director, BRN)
    locale = "en-GB" if lang == "en" else "zh-HK"
    errors: list[str] = []

    # 1. The director grants the mandate on the company's CorpID page.
    boss = _context(e2e_browser, locale)
    session = SessionStore()
    session[login.SESSION_KEY] = {"resident": str(director.public_id), "sub": "e2e"}
    session.create()
    boss.add_cookies([{"name": "tungban_session", "value": session.session_key, "url": issuer}])
    admin = boss.new_page()
    admin.on("pageerror", lambda exc: errors.append(str(exc)))
    admin.goto(f"{issuer}/business/{BRN}/")
    admin.fill("#holder_hkid", employee.hkid)
    admin.select_option("#role", "user")
    admin.fill("#services", SLUG)
    admin.check('input[name=actions][value="sign"]')
    admin.click("#grant")
    admin.wait_for_selector('#mandates li[data-state="offered"]')
    mandate = Mandate.objects.get(holder=employee)
    assert mandate.services == [SLUG] and set(mandate.actions) == {"view", "apply", "sign"}

    # 2. The employee accepts it in the app (the personal assistant's "Companies I act for").
    phone_ctx = _context(e2e_browser, locale)
    phone = phone_ctx.new_page()
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(phone_ctx, phone)
    bind_web_app(phone, issuer, employee.hkid, wallet.issue_activation_code(employee, officer))
    phone.click("#assistant-link")
    phone.wait_for_selector('#panel-manage li[data-kind="corpid.companies"]')
    phone.click('#panel-manage li[data-kind="corpid.companies"] button.add')
    phone.wait_for_selector(f"{CARD}[data-state=ok]")
    phone.locator(CARD).locator("button.card-action").click()
    phone.wait_for_selector("#screen-approve:not([hidden])")
    phone.click("#approve-button")
    phone.wait_for_selector("#result:not([hidden])")
    mandate.refresh_from_db()
    assert mandate.state == "active"

    # 3. The business e-service: "Apply for a company"; the app asks which company.
    web = _context(e2e_browser, locale).new_page()
    web.on("pageerror", lambda exc: errors.append(str(exc)))
    web.goto(f"{issuer}/services/{SLUG}/apply")
    assert web.locator("#start").count() == 0  # corpid = "required": only for a company
    assert_no_violations(web, f"e-services: apply for a company ({lang})")
    web.click("#start-company")
    web.wait_for_selector("#open-app")
    link, code = approval_url(web), code_shown(web)
    phone.bring_to_front()
    phone.goto(link)
    phone.wait_for_selector("#screen-approve:not([hidden])")
    phone.wait_for_selector("#choice-set:not([hidden])")
    phone.check(f'#choice-options input[value="{mandate.public_id}"]')
    phone.fill("#approve-code", code)
    phone.click("#approve-button")
    phone.wait_for_selector("#result:not([hidden])")
    web.bring_to_front()
    web.wait_for_url(re.compile(r".*/services/my/IRD-[0-9A-Z]{4}-[0-9A-Z]{5}/page/company$"))
    acting = (
        "WONG, Siu Ling for Tai Man Demo Trading Company Limited" if lang == "en" else "黃小玲代表大文示範貿易有限公司"
    )
    assert web.text_content("#acting").strip() == acting
    app = Application.objects.get(resident=employee)
    assert (app.org_br_number, app.mandate_id) == (BRN, str(mandate.public_id))
    assert app.org_sub and app.org_sub != BRN  # the pairwise organisation id, never the BR number
    assert web.input_value("#f-company_name_en") == ""

    # 4. The company's particulars from the Companies Registry, with the company's consent.
    _fill_from(web, phone, CR, lang, "Companies Registry")
    web.wait_for_url(re.compile(r".*/page/company$"))
    assert web.input_value("#f-company_name_en") == NAME_EN
    assert web.input_value("#f-company_name_zh") == NAME_ZH
    assert web.input_value("#f-br_number") == BRN
    assert web.input_value("#f-company_number") == "0812345"
    assert web.input_value("#f-incorporated_on") == "1989-09-15"
    source = web.text_content("#f-company_name_en-source")
    assert (
        "From the Companies Registry, with your company's consent"
        if lang == "en"
        else "來自公司註冊處，已獲你的公司同意"
    ) in source
    assert_no_violations(web, f"e-services: company particulars from CR ({lang})")
    app.refresh_from_db()
    record = app.prefill["br_number"]
    assert (record["source"], record["provider"], record["status"]) == ("company", "cr", "verified")
    delivered = ExchangeRecord.objects.get(product_id=CR, outcome="delivered")
    assert str(delivered.consent_id) == record["ref"] and delivered.consumer_id == portal.ORGANISATION_ID
    web.click("#continue")

    # 5. Its tax position from the Inland Revenue Department, the same way.
    web.wait_for_url(re.compile(r".*/page/tax$"))
    _fill_from(web, phone, IRD, lang, "Inland Revenue Department")
    web.wait_for_url(re.compile(r".*/page/tax$"))
    assert re.fullmatch(r"[0-9]{4}/[0-9]{2}", web.input_value("#f-last_year_of_assessment"))
    assert "Inland Revenue" in web.text_content("#f-last_year_of_assessment-source") or lang == "zh"
    web.click("#continue")

    # 6. The rest of the form, then the declaration.
    web.wait_for_url(re.compile(r".*/page/claim$"))
    web.check("input[name=arrangement][value=mainland]")
    web.fill("#f-calendar_years", "2026")
    web.fill("#f-income", "Service fees from a Shenzhen client, HK$1,200,000")
    web.fill("#f-nature_of_business", "Trading")
    web.click("#continue")
    web.wait_for_url(re.compile(r".*/page/contact$"))
    assert web.input_value("#f-contact_family_name") == "WONG"  # the person's e-ME name, released at login
    if not web.input_value("#f-contact_phone"):
        web.fill("#f-contact_phone", "9123 4567")
    web.click("#continue")
    web.wait_for_url(re.compile(r".*/page/declaration$"))
    web.check("#f-declaration")
    web.click("#continue")

    # 7. Sign the declaration for the company: the app approves, the signing job signs.
    web.wait_for_url(re.compile(r".*/check$"))
    web.click("#sign-declaration")
    web.wait_for_selector("#sign-for-company")
    assert_no_violations(web, f"e-services: sign for the company ({lang})")
    decide_in_app(phone, web.get_attribute("#open-app", "href"), "approve")
    run_queued_tasks_in_thread()
    web.bring_to_front()
    web.click("#sign-continue")
    web.wait_for_selector("#signed-note")

    # 8. pdfsig: every signature valid; the person and the company both shown.
    app.refresh_from_db()
    signed = app.attachments.get(field="signed_declaration")
    pdf = tmp_path / "signed.pdf"
    pdf.write_bytes(services.read_attachment(signed))
    out = pdfsig(_nss(tmp_path), pdf)
    assert out.count("Signature is Valid.") == 2 and out.count("Certificate is Trusted.") == 2, out
    person, seal = out.split("Signature #2:")
    assert "Signer Certificate Common Name: WONG, Siu Ling" in person, out  # the person's tungban+ certificate
    assert f"for NTRHK-{BRN} under mandate {mandate.public_id}" in person, out
    assert f"O={NAME_EN}" in seal and f"NTRHK-{BRN}" in seal, out  # the company's seal (ETSI legal person)
    assert "Total document signed" in seal, out  # the seal, last, covers the person's signature

    # 9. Submitted; its page says who applied for whom.
    web.click("#submit")
    web.wait_for_selector("#state[data-state=submitted]")
    assert web.text_content("#applicant").strip() == acting
    assert_no_violations(web, f"e-services: a company's application submitted ({lang})")
    assert not errors, errors
