"""Signing end to end in headless Chromium: a plus-tier resident binds the web app, logs in
to the sample service (vehicle-licence renewal), submits the form, signs the declaration
PDF by approving in the web app with the passkey, and downloads the signed PDF, which
pyHanko validates against the tungban root certificate. Also: a basic-tier resident sees
in the app why an (anonymous) signing request could not be signed.

Chromium gets a CDP virtual authenticator, so the real WebAuthn ceremonies run.
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import json
import os
import re
from io import BytesIO
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tungban.oidc.models import EME_SCOPES
from tungban.signing import ca
from tungban.signing.models import SigningRequest
from tungban.testing.browser import (
    TIMEOUT,
    add_virtual_authenticator,
    approval_url,
    bind_web_app,
    decide_in_app,
)
from tungban.testing.browser import sample_service as e2e_sample_service
from tungban.testing.factories import make_resident
from tungban.testing.tasks import start_worker, wait_for
from tungban.wallet import services as wallet

from .conftest import client_token

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
def browser(e2e_browser):
    return e2e_browser


@pytest.fixture
def shots(tmp_path) -> Path:
    path = Path(os.environ.get("TUNGBAN_E2E_SCREENSHOTS", tmp_path))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def sample_service(issuer):
    """The vehicle-licence sample service on a free port, registered with the signing scope."""
    # Polls every 2 s: the live server's in-memory SQLite answers a poll that overlaps the
    # signing transaction with "table is locked" (HTTP 500), which the service retries.
    with e2e_sample_service(
        issuer, "vehicle-licence-sign-e2e", [*EME_SCOPES, "signing"], VL_SIGNING_POLL_SECONDS=2
    ) as base:
        yield base


@pytest.fixture
def worker(issuer, shots):
    """A real ``tungban worker`` next to the live server, as the demo runs one: it signs."""
    process = start_worker(log_path=shots / "worker.log")
    yield process
    process.terminate()
    process.wait(timeout=60)


def _context(browser, **kw):
    ctx = browser.new_context(locale="en-GB", **kw)
    ctx.set_default_timeout(TIMEOUT)
    return ctx


def _phone(browser):
    """The resident's phone: a tab with a platform authenticator; collects script errors."""
    ctx = _context(browser, viewport=PHONE)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(ctx, page)
    return page, errors


def _validate(pdf: bytes, root_pem: bytes):
    """pyHanko's validation of the (only) signature, trusting the tungban root; CRLs and
    the CA certificates are fetched from the platform. In a thread of its own: pyHanko runs
    an asyncio loop, and Playwright's sync API already has one in the test thread."""
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    def run():
        _, _, der = pem.unarmor(root_pem)
        root = asn1_x509.Certificate.load(der)
        reader = PdfFileReader(BytesIO(pdf))
        signatures = reader.embedded_signatures
        assert len(signatures) == 1
        context = ValidationContext(trust_roots=[root], allow_fetching=True, revocation_mode="hard-fail")
        ts_context = ValidationContext(trust_roots=[root], allow_fetching=True)
        return validate_pdf_signature(signatures[0], context, ts_validation_context=ts_context)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result(timeout=120)


def test_plus_resident_signs_the_declaration(issuer, sample_service, worker, browser, resident, officer, shots):
    assert resident.tier == "plus"

    # 1. The resident binds the web app on the phone (device key + passkey).
    phone, phone_errors = _phone(browser)
    bind_web_app(phone, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))

    # 2. On a computer: log in to the sample service with tungban, approve in the app.
    desktop = _context(browser, viewport={"width": 1280, "height": 900}).new_page()
    desktop.goto(f"{sample_service}/?lang=en")
    desktop.click("#login")
    desktop.wait_for_selector("#open-app")
    assert decide_in_app(phone, approval_url(desktop), "approve").startswith("Approved")

    # 3. The pre-filled form: add the vehicle, submit.
    desktop.bring_to_front()
    desktop.wait_for_selector("#registration_mark", timeout=TIMEOUT)
    assert desktop.input_value("#name_en") == "Tai Man CHAN"
    desktop.fill("#registration_mark", "ab 1234")
    desktop.select_option("#period", "12")
    desktop.click("#submit")
    desktop.wait_for_selector("#reference")
    reference = desktop.text_content("#reference").strip()
    preview = desktop.request.get(f"{sample_service}/declaration/{reference}.pdf")
    assert preview.ok and preview.headers["content-type"] == "application/pdf"
    declaration = preview.body()

    # 4. "Sign the declaration": the service asks tungban with the login's access token.
    desktop.click("#sign-declaration")
    desktop.wait_for_selector("#open-app")
    heading = desktop.text_content("#sign-heading")
    assert "Approve the signature in your tungban app" in heading and "請在 tungban 通辦 app 批准簽署" in heading
    desktop.wait_for_selector(".qr svg")  # drawn by the page's script once it has loaded
    assert desktop.locator(".qr svg").count() == 1
    sign_link = desktop.get_attribute("#open-app", "href")
    assert re.fullmatch(rf"{re.escape(issuer)}/app/approve/{UUID}", sign_link), sign_link
    request = SigningRequest.objects.select_related("approval").get()
    assert request.resident_id == resident.id and request.format == "pades"
    document = request.documents.get()
    assert document.name == f"declaration-{reference}.pdf"
    assert document.sha256 == hashlib.sha256(declaration).hexdigest()
    assert desktop.text_content("#document-sha256").strip() == document.sha256
    desktop.screenshot(path=str(shots / "sign-service-pending.png"), full_page=True)

    # 5. The app shows the service, the document and its full digest, and what approving means.
    phone.bring_to_front()
    phone.goto(sign_link)
    phone.wait_for_selector("#screen-approve:not([hidden])")
    assert phone.text_content("#request-service").strip() == "Vehicle Licence Renewal"
    assert "車輛牌照續期" in phone.text_content("#request-service-other")
    assert phone.text_content("#request-kind").strip() == "Sign documents"
    expect(phone.locator("#sign-details")).to_be_visible(timeout=TIMEOUT)
    expect(phone.locator("#claims-set")).to_be_hidden(timeout=TIMEOUT)
    expect(phone.locator("#claims-hint")).to_be_hidden(timeout=TIMEOUT)
    items = phone.locator("#documents li.document")
    assert items.count() == 1
    assert f"declaration-{reference}.pdf" in items.first.text_content()
    assert phone.text_content("#document-0 .digest").strip() == document.sha256
    # The resident compares a 6-character code, the same on the service's page (issue 16).
    expect(phone.locator("#compare-code")).to_have_text(desktop.text_content("#comparison-code").strip())
    phone.click("#document-0 .digest-details summary")  # the full digest, folded away
    assert (
        phone.evaluate("getComputedStyle(document.querySelector('#document-0 .digest')).fontFamily")
        .lower()
        .find("mono")
        >= 0
    )
    legal = phone.text_content("#sign-legal")
    assert "tungban+" in legal and "legally" in legal
    assert "CHAN" in phone.text_content("#sign-signer")
    expect(phone.locator("#sign-needs-plus")).to_be_hidden(timeout=TIMEOUT)
    assert phone.text_content("#approve-button").strip() == "Approve and sign"
    # Readable on a 390 px phone: the digest wraps inside the screen, no sideways scrolling.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    box = phone.locator("#document-0 .digest").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    phone.evaluate("window.scrollTo(0, 0)")
    phone.screenshot(path=str(shots / "sign-approval-390x844.png"))
    phone.screenshot(path=str(shots / "sign-approval-full.png"), full_page=True)

    phone.click("#approve-button")
    phone.wait_for_selector("#result:not([hidden])")
    assert phone.text_content("#result-heading").strip().startswith("Signed")
    assert "Vehicle Licence Renewal" in phone.text_content("#result-message")

    # The device signed exactly this document's digest, confirmed with the passkey; the
    # worker's job signs the PDF.
    signed = SigningRequest.objects.filter(pk=request.pk, signed_at__isnull=False)
    wait_for(signed.exists, timeout=TIMEOUT / 1000, what="the signing job", process=worker)
    request.refresh_from_db()
    request.approval.refresh_from_db()
    assert request.status() == "signed"
    assert request.approval.user_verification == "passkey"
    payload = request.approval.signature.split(".")[1]
    decision = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert decision["documents"] == [document.sha256] and decision["decision"] == "approve"

    # 6. The service's page notices the signature by itself.
    desktop.bring_to_front()
    desktop.wait_for_selector("#sign-result", timeout=TIMEOUT)
    result = desktop.text_content("#sign-result")
    signer = ca.common_name(resident)  # the certificate's CN: English then Chinese name
    assert "陳大文" in signer
    assert re.search(rf"Signed by {re.escape(signer)} at \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d HKT", result), result
    assert f"已由 {signer} 於" in result
    assert desktop.text_content("#certificate-serial").strip() == request.credential.serial
    desktop.screenshot(path=str(shots / "sign-service-signed.png"), full_page=True)

    # 7. Download the signed PDF: pyHanko finds it intact and valid under the tungban root.
    with desktop.expect_download() as info:
        desktop.click("#download-signed")
    download = info.value
    assert download.suggested_filename == f"declaration-{reference}-signed.pdf"
    signed = Path(download.path()).read_bytes()
    (shots / "declaration-signed.pdf").write_bytes(signed)
    assert signed.startswith(declaration) and len(signed) > len(declaration)  # an incremental update
    root_pem = requests.get(f"{issuer}/signing/ca/root-ca.crt", params={"format": "pem"}, timeout=30).content
    assert root_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    status = _validate(signed, root_pem)
    assert status.intact and status.valid, status.pretty_print_details()
    assert status.trusted, status.pretty_print_details()
    assert status.bottom_line, status.pretty_print_details()
    assert status.coverage.name == "ENTIRE_FILE"
    assert signer in status.signing_cert.subject.human_friendly
    assert (
        status.timestamp_validity is not None and status.timestamp_validity.intact and status.timestamp_validity.valid
    )

    assert not phone_errors, phone_errors


def test_basic_tier_resident_sees_why_nothing_was_signed(issuer, browser, officer, signing_client, shots):
    """Anonymous signing (the service's own token): a basic-tier resident approves, the
    platform refuses to sign, and the app says why instead of claiming success."""
    resident = make_resident(officer, given_name_en="Siu Ling", name_zh="陳小玲")
    resident.tier = "basic"
    resident.save(update_fields=["tier"])
    phone, phone_errors = _phone(browser)
    bind_web_app(phone, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))

    client, secret = signing_client
    token = client_token(issuer, client.client_id, secret)
    digests = [hashlib.sha256(b"first").hexdigest(), hashlib.sha256(b"second").hexdigest()]
    created = requests.post(
        f"{issuer}/api/v1/signing/requests",
        json={
            "documents": [{"name": "form-a.txt", "sha256": digests[0]}, {"name": "form-b.txt", "sha256": digests[1]}]
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text

    phone.bring_to_front()
    phone.goto(created.json()["approval_uri"])
    phone.wait_for_selector("#screen-approve:not([hidden])")
    assert [phone.text_content(f"#document-{i} .digest").strip() for i in range(2)] == digests
    assert "form-b.txt" in phone.text_content("#document-1 .document-name")
    expect(phone.locator("#sign-needs-plus")).to_be_visible(timeout=TIMEOUT)
    phone.click("#approve-button")
    phone.wait_for_selector("#result:not([hidden])")
    assert phone.text_content("#result-heading").strip() == "Not signed"
    assert phone.get_attribute("#result", "data-status") == "failed"
    assert "tungban+" in phone.text_content("#result-message")
    phone.screenshot(path=str(shots / "sign-failed.png"))

    result = requests.get(
        f"{issuer}/api/v1/signing/requests/{created.json()['id']}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    assert result["status"] == "failed" and result["error"] == "plus_required"
    assert not phone_errors, phone_errors
