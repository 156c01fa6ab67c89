"""Corporate login end to end in headless Chromium (issue 19 A, acceptance 3): a service asks
for ``openid corpid``; on the phone the app asks which company to act for (the two companies
whose mandates cover the service), the resident chooses the second and approves with the
passkey; the service's ID token names that company. After both mandates are revoked, the app
says there is no company to choose, approving is refused with the reason, and the sign-in page
shows the refusal (the service gets ``access_denied``). axe-core finds nothing on any of these
screens, in English and in Chinese."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import expect

from tungban.corpid import services
from tungban.corpid.models import Mandate
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, approval_url, bind_web_app, code_shown
from tungban.testing.factories import authorize_params, jwt_claims, make_client, make_resident, pkce
from tungban.wallet import services as wallet

from .conftest import KEUNG_KEE_BRN, REGISTER, TAI_MAN_BRN, offer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def _active(mandate):
    """Accepted (the app's acceptance is test_e2e_mandate's)."""
    Mandate.objects.filter(pk=mandate.pk).update(state="active", answered_at=timezone.now())


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_resident_chooses_the_company_in_the_app(issuer, officer, e2e_browser, tmp_path, lang):
    services.load_register(REGISTER)
    chan = make_resident(officer, hkid="A1234563")
    cheung = make_resident(officer, hkid="Y6543217", family_name_en="CHEUNG", given_name_en="Chi Keung")
    employee = make_resident(
        officer, hkid="G123456A", family_name_en="WONG", given_name_en="Siu Ling", name_zh="黃小玲"
    )
    services.bootstrap(chan, TAI_MAN_BRN)
    services.bootstrap(cheung, KEUNG_KEE_BRN)
    first = offer(chan, employee, services_=("biz",), actions=("view",))
    second = offer(cheung, employee, br=KEUNG_KEE_BRN, services_=("*",), actions=("view", "sign"))
    _active(first)
    _active(second)
    redirect = f"{issuer}/rp-callback"
    _, secret = make_client("biz", redirect, allowed_scopes=["openid", "corpid"], name_en="Biz", name_zh="商業")
    locale = "en-GB" if lang == "en" else "zh-HK"
    shots = Path(os.environ.get("TUNGBAN_E2E_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []

    phone_ctx = e2e_browser.new_context(locale=locale, viewport=PHONE)
    phone_ctx.set_default_timeout(TIMEOUT)
    phone = phone_ctx.new_page()
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(phone_ctx, phone)
    bind_web_app(phone, issuer, employee.hkid, wallet.issue_activation_code(employee, officer))

    desk_ctx = e2e_browser.new_context(locale=locale, viewport={"width": 1280, "height": 800})
    desk_ctx.set_default_timeout(TIMEOUT)
    desk = desk_ctx.new_page()
    desk.on("pageerror", lambda exc: errors.append(str(exc)))

    def start():
        verifier, challenge = pkce()
        desk.goto(
            f"{issuer}/oidc/authorize?" + urlencode(authorize_params("biz", redirect, challenge, scope="openid corpid"))
        )
        desk.wait_for_selector("#open-app")
        return verifier, approval_url(desk), code_shown(desk)

    # 1. Two companies offered; the resident chooses the second.
    verifier, link, code = start()
    phone.bring_to_front()
    phone.goto(link)
    phone.wait_for_selector("#screen-approve:not([hidden])")
    phone.wait_for_selector("#choice-set:not([hidden])")
    assert phone.text_content("#choice-legend") == (
        "Which company do you act for?" if lang == "en" else "你代表哪間公司？"
    )
    options = phone.locator("#choice-options input[name=choice]")
    assert options.count() == 2
    labels = phone.text_content("#choice-options")
    for org in (first.organisation, second.organisation):
        assert (org.name_en if lang == "en" else org.name_zh) in labels and org.br_number in labels
    expect(phone.locator('#claims input[value="authority"]')).to_be_hidden(timeout=TIMEOUT)  # the choice stands for it
    assert_no_violations(phone, f"app: choose the company ({lang})")
    phone.screenshot(path=str(shots / f"corpid-login-choose-{lang}-390.png"), full_page=True)
    phone.check(f'#choice-options input[value="{second.public_id}"]')
    phone.fill("#approve-code", code)
    phone.click("#approve-button")
    phone.wait_for_selector("#result:not([hidden])")
    assert phone.get_attribute("#result", "data-status") == "approved"
    desk.bring_to_front()
    desk.wait_for_url(f"{redirect}?**")
    query = {k: v[0] for k, v in parse_qs(urlsplit(desk.url).query).items()}
    tokens = requests.post(
        f"{issuer}/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": redirect,
            "code_verifier": verifier,
        },
        auth=("biz", secret),
    ).json()
    authority = jwt_claims(tokens["id_token"])["authority"]
    assert authority["applies_to"]["registration_number"] == KEUNG_KEE_BRN
    assert authority["mandate_id"] == str(second.public_id)

    # 2. Both mandates revoked: no company to choose; approving is refused with the reason.
    services.revoke(chan, TAI_MAN_BRN, first.public_id)
    services.revoke(cheung, KEUNG_KEE_BRN, second.public_id)
    _, link, code = start()
    phone.bring_to_front()
    phone.goto(link)
    phone.wait_for_selector("#choice-none:not([hidden])")
    assert phone.locator("#choice-options input").count() == 0
    assert ("no mandate in force" if lang == "en" else "有效授權") in phone.text_content("#choice-none")
    assert_no_violations(phone, f"app: no company to choose ({lang})")
    phone.screenshot(path=str(shots / f"corpid-login-none-{lang}-390.png"), full_page=True)
    phone.fill("#approve-code", code)
    phone.click("#approve-button")
    phone.wait_for_selector('#result[data-status="refused"]:not([hidden])')
    assert ("at this service" if lang == "en" else "此服務") in phone.text_content("#result-message")
    assert_no_violations(phone, f"app: refused, no company ({lang})")
    desk.bring_to_front()
    desk.wait_for_url("**/complete")
    desk.wait_for_selector("h1")
    assert desk.text_content("h1").strip() == (
        "You cannot act for a company here" if lang == "en" else "你不能在此代表公司行事"
    )
    back = desk.get_attribute(f'a[href^="{redirect}"]', "href")
    assert "error=access_denied" in back and "no_mandate_for_service" in back
    assert_no_violations(desk, f"sign-in page: no company to act for ({lang})")
    desk.screenshot(path=str(shots / f"corpid-login-refused-{lang}-1280.png"), full_page=True)
    phone_ctx.close()
    desk_ctx.close()
    assert not errors, errors
