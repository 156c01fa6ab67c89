"""Signing as the resident sees it in the app (issue 16, res16 items 4 and 5): a short
comparison code, the same as the service's, instead of a 64-character digest; the PDF's pages
shown in the app (rendered by the platform); a basic-tier account told what tungban+ is and
how to get it."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tungban.signing import compare
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, bind_web_app
from tungban.testing.factories import make_resident
from tungban.wallet import services as wallet

from .conftest import client_token
from .test_document_pages import two_pages

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("TUNGBAN_E2E_SHOTS", "/tmp/res16-shots"))


def _phone(e2e_browser, issuer, resident, officer):
    context = e2e_browser.new_context(locale="en-GB", viewport={"width": 390, "height": 844})
    context.set_default_timeout(TIMEOUT)
    phone = context.new_page()
    add_virtual_authenticator(context, phone)
    bind_web_app(phone, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))
    return phone


def _ask(issuer, signing_client, documents):
    client, secret = signing_client
    token = client_token(issuer, client.client_id, secret)
    created = requests.post(
        f"{issuer}/api/v1/signing/requests",
        json={"documents": documents},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    return created.json()


def test_app_shows_the_comparison_code_and_the_pdfs_pages(issuer, e2e_browser, officer, signing_client):
    resident = make_resident(officer)
    phone = _phone(e2e_browser, issuer, resident, officer)
    created = _ask(issuer, signing_client, [{"name": "declaration.pdf", "pdf": base64.b64encode(two_pages()).decode()}])
    phone.bring_to_front()
    phone.goto(created["approval_uri"])
    phone.wait_for_selector("#screen-approve:not([hidden])")
    expect(phone.locator("#compare-code")).to_have_text(compare.display(created["comparison_code"]))
    expect(phone.locator("#document-0 .digest")).to_be_hidden(timeout=TIMEOUT)  # the 64 characters folded away
    phone.click("#document-0-pages summary")
    expect(phone.locator("#document-0-pages img.doc-page")).to_have_count(2, timeout=3 * TIMEOUT)
    assert phone.get_attribute("#document-0-pages img.doc-page >> nth=1", "alt") == "Page 2 of 2 of declaration.pdf"
    assert phone.evaluate("document.querySelector('#document-0-pages img.doc-page').naturalWidth") > 300
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SHOTS / "app-sign-390.png"), full_page=True)


def test_basic_account_is_told_what_tungban_plus_is(issuer, e2e_browser, officer, signing_client):
    resident = make_resident(officer)
    resident.tier = "basic"
    resident.save(update_fields=["tier"])
    phone = _phone(e2e_browser, issuer, resident, officer)
    created = _ask(issuer, signing_client, [{"name": "form.txt", "sha256": "ab" * 32}])
    phone.bring_to_front()
    phone.goto(created["approval_uri"])
    phone.wait_for_selector("#screen-approve:not([hidden])")
    expect(phone.locator("#plus-explained")).to_be_visible()
    text = phone.text_content("#plus-explained")
    assert "registration counter" in text and "identity card" in text and "free" in text
    assert phone.locator("#document-0-pages").count() == 0  # a digest-only request: no pages
    phone.screenshot(path=str(SHOTS / "app-sign-basic-390.png"), full_page=True)
