"""The web app and data-sharing consents (授權數據交換) end to end in headless Chromium: the
Transport Department asks for consent to obtain the address registered with the Water
Supplies Department; the resident reads the terms and approves in the app (passkey), the
data user obtains the data once, the resident finds the consent under "Data sharing" with
the keyboard and revokes it, the data user's next request is refused, and the app's history
("who used my data") shows both exchanges.

Selectors: approval screen ``#consent-details`` (``#consent-data-user``,
``#consent-data-provider``, ``#consent-product``, ``#consent-fields``, ``#consent-purpose``,
``#consent-duration``, ``#consent-uses``); consents screen ``#screen-consents`` with
``li[data-consent-id=…][data-status=…]`` and ``button.revoke``; history entries
``#history li[data-kind=exchange]`` / ``li[data-kind=release]``.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from django.utils import translation
from playwright.sync_api import expect

from examples.data_user import DataUserError
from tungban.exchange import catalogue
from tungban.exchange.tests.conftest import make_data_user
from tungban.oidc import services as oidc
from tungban.oidc.models import Client
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, bind_web_app
from tungban.testing.factories import make_resident
from tungban.wallet import services as wallet
from tungban.wallet.models import ApprovalRequest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
WSD = "wsd.registered-address.v1"
PRODUCT = "Address registered with the Water Supplies Department"
PURPOSE = "Pre-fill the vehicle licence renewal form"
TAI_MAN = "A1234563"  # in the demo providers' records


@pytest.fixture
def phone(e2e_browser):
    """The resident's phone (English), with a platform authenticator; fails the test on any
    uncaught script error in the app."""
    context = e2e_browser.new_context(locale="en-GB", viewport=PHONE)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(context, page)
    yield page
    context.close()
    assert not errors, errors


def _jws_payload(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_consent_approved_listed_revoked_and_history(issuer, officer, phone, tmp_path):
    from examples.providers.launch import running_provider

    catalogue.register_bundled({})
    td = make_data_user(issuer, "td", name_en="Transport Department", name_zh="運輸署")
    resident = make_resident(officer, hkid=TAI_MAN)
    bind_web_app(phone, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))

    sub = oidc.pairwise_sub(resident, Client.objects.get(client_id=td.client_id))
    asked = td.request_consent(WSD, PURPOSE, 30 * 86400, sub=sub)
    approval_id = asked["approval_uri"].rsplit("/", 1)[1]
    assert asked["approval_uri"] == f"{issuer}/app/approve/{approval_id}"

    # The approval screen: who asks, from whom, which data, why, how long, how often.
    phone.bring_to_front()
    phone.goto(asked["approval_uri"])
    phone.wait_for_selector("#screen-approve:not([hidden])")
    expect(phone.locator("#consent-details")).to_be_visible(timeout=TIMEOUT)
    expect(phone.locator("#claims-set")).to_be_hidden(timeout=TIMEOUT)
    expect(phone.locator("#sign-details")).to_be_hidden(timeout=TIMEOUT)
    with translation.override("en"):  # the kind's label comes from the wallet's kind registry
        assert phone.text_content("#request-kind").strip() == wallet.kind_labels()["consent"]
    assert phone.text_content("#request-service").strip() == "Transport Department"
    assert phone.text_content("#consent-data-user").strip() == "Transport Department"
    assert phone.text_content("#consent-data-provider").strip() == "Water Supplies Department"
    assert phone.text_content("#consent-product").strip() == PRODUCT
    assert phone.locator("#consent-fields li").all_text_contents() == [
        "Residential address",
        "Residential address in Chinese",
        "Registered since",
    ]
    assert phone.text_content("#consent-purpose").strip() == PURPOSE
    assert phone.text_content("#consent-duration").strip() == "30 days from when you approve"
    assert phone.text_content("#consent-uses").strip() == "Any number of times while valid"
    summary = phone.text_content("#consent-summary")
    assert "Transport Department may obtain this data about you directly from Water Supplies Department" in summary
    assert "revoke this consent at any time" in phone.text_content("#consent-legal")
    assert phone.text_content("#approve-button").strip() == "Give consent"
    shots = Path(os.environ.get("TUNGBAN_E2E_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    phone.evaluate("window.scrollTo(0, 0)")
    phone.screenshot(path=str(shots / "consent-approval-full.png"), full_page=True)

    phone.click("#approve-button")
    phone.wait_for_selector("#result:not([hidden])")
    assert phone.text_content("#result-heading").strip() == "Consent given"
    expect(phone.locator("#result-consents")).to_be_visible(timeout=TIMEOUT)
    approval = ApprovalRequest.objects.get(pk=approval_id)
    assert approval.user_verification == "passkey"
    # The device signed exactly the terms shown.
    assert _jws_payload(approval.signature)["terms"] == approval.context["terms_sha256"]
    granted = td.consent(asked["id"])
    assert granted["status"] == "active" and granted["artefact"]

    # The data user obtains the address once.
    with running_provider("wsd", issuer) as url:
        catalogue.register_bundled({"wsd": url})
        assert td.fetch(asked["id"], WSD)["data"]["address"]

    # Home → "Data sharing", by keyboard.
    phone.goto(f"{issuer}/app/")
    phone.wait_for_selector("#profile dd[data-field=hkid]:not(:empty)")
    phone.focus("#consents-link")
    phone.keyboard.press("Enter")
    phone.wait_for_selector("#screen-consents:not([hidden])")
    assert phone.evaluate("document.activeElement.id") == "consents-title"
    item = phone.locator(f'li[data-consent-id="{asked["id"]}"]')
    item.wait_for()
    assert item.get_attribute("data-status") == "active"
    text = item.text_content()
    for part in (
        "Transport Department",
        "Active",
        PRODUCT,
        "Water Supplies Department",
        PURPOSE,
        "Valid until",
        "Times used",
        "1 (no limit)",
    ):
        assert part in text, (part, text)
    phone.screenshot(path=str(shots / "consents-390x844.png"), full_page=True)

    # Revoke: confirm first; the list refreshes; the data user's next request is refused.
    dialogs = []
    phone.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    item.locator("button.revoke").click()
    phone.wait_for_selector(f'li[data-consent-id="{asked["id"]}"][data-status=revoked]')
    assert "Transport Department will no longer be able to obtain" in dialogs[0]
    assert "Consent revoked" in phone.text_content("#notice")
    item = phone.locator(f'li[data-consent-id="{asked["id"]}"]')
    assert item.locator("button.revoke").count() == 0
    assert "Revoked" in item.text_content() and "Revoked on" in item.text_content()
    assert phone.text_content("#alert").strip() == ""
    assert td.consent(asked["id"])["status"] == "revoked"
    with pytest.raises(DataUserError) as refused:
        td.fetch(asked["id"], WSD)
    assert refused.value.code == "consent_revoked"

    # Who used my data: both exchanges, newest first.
    phone.click("#consents-back")
    phone.wait_for_selector("#screen-home:not([hidden])")
    phone.wait_for_function("() => document.querySelectorAll('#history li[data-kind=exchange]').length === 2")
    entries = phone.locator("#history li[data-kind=exchange]")
    newest, oldest = entries.nth(0).text_content(), entries.nth(1).text_content()
    assert f"Transport Department asked for {PRODUCT} from Water Supplies Department" in newest
    assert "Refused (consent revoked)" in newest and f"Purpose: {PURPOSE}" in newest
    assert f"Transport Department received {PRODUCT} from Water Supplies Department" in oldest
    assert "Delivered" in oldest and f"Purpose: {PURPOSE}" in oldest
    assert entries.nth(0).get_attribute("data-outcome") == "consent_revoked"
    # Each is in the public transparency log: the app checked the signed head, the leaf and
    # its inclusion proof (issue 14 item 10).
    phone.wait_for_function(
        "() => document.querySelectorAll('#history li[data-kind=exchange] [data-log=verified]').length === 2"
    )
    assert "In the public log (entry 2): checked by this app" in entries.nth(0).text_content()
    assert "In the public log (entry 1): checked by this app" in entries.nth(1).text_content()  # 0: its attempt
    # A record changed in the database after it was logged: the app says the log does not back it.
    from tungban.exchange.models import ExchangeRecord

    ExchangeRecord.objects.filter(outcome="consent_revoked").update(outcome="no_record")
    phone.reload()
    phone.wait_for_function(
        "() => document.querySelectorAll('#history li[data-kind=exchange] [data-log=failed]').length === 1"
    )
    assert "Not confirmed by the public log" in phone.locator("#history li[data-kind=exchange]").nth(0).text_content()
    ExchangeRecord.objects.filter(outcome="no_record").update(outcome="consent_revoked")
    expect(phone.locator("#history-empty")).to_be_hidden(timeout=TIMEOUT)
    phone.locator("#history").scroll_into_view_if_needed()
    phone.screenshot(path=str(shots / "history-390x844.png"), full_page=True)

    # The app kept the largest signed tree head it accepted (issue 14 review, H1 b) ...
    kept = phone.evaluate("() => JSON.parse(localStorage.getItem('tungban-log-head'))")
    assert kept["tree_size"] == 3 and kept["seq"] >= 1, kept
    # ... so a log cut back under it (the newest exchange's leaf erased, its heads too) is caught:
    # the older exchange's proof is against a smaller head than the kept one.
    from tungban.testing.logs import cut_back

    cut_back(2)
    phone.reload()
    phone.wait_for_function(
        "() => document.querySelectorAll('#history li[data-kind=exchange] [data-log-problem=rollback]').length === 1"
    )
    assert "NOT VERIFIED: the public log is smaller than the one this app saw before" in (
        phone.locator("#history li[data-kind=exchange]").nth(1).text_content()
    )
