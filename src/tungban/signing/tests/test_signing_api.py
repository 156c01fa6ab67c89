"""The signing API for online services: hash, PDF and bulk signing after login and
anonymously, re-authentication, refusals that store nothing, callbacks, and revocation on
unbinding (issue #3)."""

import base64
import datetime as dt
import hashlib
import http.server
import json
import threading
import time

import pytest
import requests
from asn1crypto import cms
from cryptography import x509
from fpdf import FPDF
from joserfc import jws

from tungban.counter import services as counter
from tungban.identity.models import Resident
from tungban.oidc.models import LoginSession
from tungban.signing import ca
from tungban.signing.models import CredentialStatus, SigningCredential, SigningDocument, SigningRequest
from tungban.testing.factories import PIN, bind_cli, login, make_client, make_resident
from tungban.wallet import services as wallet
from tungban.wallet.models import ApprovalRequest

from .conftest import SIGNING_SCOPES, client_token

SCOPE = "openid profile signing"


def a_pdf(text: str = "Declaration") -> bytes:
    doc = FPDF()
    doc.add_page()
    doc.set_font("helvetica", size=14)
    doc.cell(0, 10, text)
    return bytes(doc.output())


def digest_doc(name: str = "contract.txt", content: bytes = b"I agree.") -> dict:
    return {"name": name, "sha256": hashlib.sha256(content).hexdigest()}


def post(issuer, token, body):
    return requests.post(f"{issuer}/api/v1/signing/requests", json=body, headers={"Authorization": f"Bearer {token}"})


def get(issuer, token, request_id):
    return requests.get(f"{issuer}/api/v1/signing/requests/{request_id}", headers={"Authorization": f"Bearer {token}"})


def nothing_stored():
    return not SigningRequest.objects.exists() and not ApprovalRequest.objects.filter(kind="sign").exists()


@pytest.fixture
def anon_token(issuer, signing_client):
    client, secret = signing_client
    return client_token(issuer, client.client_id, secret)


def test_hash_signing_returns_a_cades_detached_signature_by_the_resident(issuer, signer_app, anon_token, run_tasks):
    resident, app = signer_app
    created = post(issuer, anon_token, {"documents": [digest_doc()]})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "pending" and body["documents"][0]["signature"] is None
    shown = app.show(body["approval_uri"], PIN)
    assert shown["kind"] == "sign" and shown["documents"] == [
        {"name": "contract.txt", "sha256": digest_doc()["sha256"]}
    ]
    app.decide(body["approval_uri"], PIN, "approve")
    queued = get(issuer, anon_token, body["id"]).json()  # approved; signing is a background job
    assert queued["status"] == "pending" and queued["job"]["state"] == "queued"
    run_tasks()
    result = get(issuer, anon_token, body["id"]).json()
    assert result["status"] == "signed"
    signed = cms.ContentInfo.load(base64.b64decode(result["documents"][0]["signature"]))
    info = signed["content"]["signer_infos"][0]
    attrs = {a["type"].native: a for a in info["signed_attrs"]}
    assert attrs["message_digest"]["values"][0].native == hashlib.sha256(b"I agree.").digest()
    assert "signing_certificate_v2" in attrs  # CAdES-BES (ETSI EN 319 122-1 §5.2.2)
    assert signed["content"]["encap_content_info"]["content"].native is None  # detached
    assert [a["type"].native for a in info["unsigned_attrs"]] == ["signature_time_stamp_token"]
    cert = x509.load_pem_x509_certificate(result["signer"]["certificate"].encode())
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "CHAN, Tai Man 陳大文"
    assert resident.hkid not in cert.subject.rfc4514_string()
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.content_commitment and usage.value.digital_signature
    # The resident's history shows which service had documents signed.
    assert [h["kind"] for h in app.history(PIN)][:1] == ["sign"]


def test_pdf_signing_after_login_and_download(issuer, signer_app, signing_client, run_tasks):
    resident, app = signer_app
    client, secret = signing_client
    token = login(issuer, app, client.client_id, secret, client.redirect_uris[0], scope=SCOPE)["access_token"]
    original = a_pdf()
    created = post(
        issuer,
        token,
        {"documents": [{"name": "declaration.pdf", "pdf": base64.b64encode(original).decode()}], "reason": "Renewal"},
    )
    assert created.status_code == 201, created.text
    # Signing after login goes to this resident's app without a QR code.
    assert [p["id"] for p in app.pending(PIN)] == [created.json()["approval_uri"].rsplit("/", 1)[1]]
    app.decide(created.json()["approval_uri"], PIN, "approve")
    run_tasks()
    result = get(issuer, token, created.json()["id"]).json()
    assert result["status"] == "signed" and result["format"] == "pades"
    signed = base64.b64decode(result["documents"][0]["signed_pdf"])
    assert signed.startswith(original)  # an incremental update: the original bytes are intact
    assert b"/ETSI.CAdES.detached" in signed
    download = requests.get(
        f"{issuer}/api/v1/signing/requests/{created.json()['id']}/documents/0",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert download.headers["Content-Type"] == "application/pdf" and download.content == signed
    assert 'filename="declaration.pdf"' in download.headers["Content-Disposition"]


def test_bulk_signing_fifty_documents_with_one_approval(issuer, signer_app, anon_token, run_tasks):
    _, app = signer_app
    docs = [digest_doc(f"doc-{i}.txt", f"content {i}".encode()) for i in range(50)]
    created = post(issuer, anon_token, {"documents": docs}).json()
    app.decide(created["approval_uri"], PIN, "approve")
    assert get(issuer, anon_token, created["id"]).json()["job"] == {
        "state": "queued",
        "documents_signed": 0,
        "documents_total": 50,
        "attempts": 0,
    }
    run_tasks()
    result = get(issuer, anon_token, created["id"]).json()
    assert result["status"] == "signed" and len(result["documents"]) == 50
    assert result["job"]["state"] == "done" and result["job"]["documents_signed"] == 50
    for i, doc in enumerate(result["documents"]):
        info = cms.ContentInfo.load(base64.b64decode(doc["signature"]))["content"]["signer_infos"][0]
        digest = next(a for a in info["signed_attrs"] if a["type"].native == "message_digest")["values"][0].native
        assert digest == hashlib.sha256(f"content {i}".encode()).digest()
    assert SigningCredential.objects.count() == 1  # one key and certificate for the device


@pytest.mark.parametrize(
    "documents, code, field",
    [
        ([{"name": "a", "sha256": "ab" * 31}], "invalid_digest", "documents.0.sha256"),
        ([{"name": "a", "sha256": "zz" * 32}], "invalid_digest", "documents.0.sha256"),
        ([{"name": "a", "sha256": "ab" * 48}], "invalid_digest", "documents.0.sha256"),
        ([], "no_documents", "documents"),
        ([digest_doc(f"d{i}") for i in range(51)], "too_many_documents", "documents"),
        ([digest_doc(), {"name": "b.pdf", "pdf": base64.b64encode(a_pdf()).decode()}], "mixed_documents", "documents"),
        ([{"name": "x.pdf", "pdf": base64.b64encode(b"hello, not a pdf").decode()}], "not_pdf", "documents.0.pdf"),
        (
            [{"name": "x.pdf", "pdf": base64.b64encode(b"%PDF-1.7\ngarbage without xref").decode()}],
            "not_pdf",
            "documents.0.pdf",
        ),
        ([{"name": "x.pdf", "pdf": "***"}], "invalid_request", "documents.0.pdf"),
        ([{"name": "bad\nname", "sha256": "ab" * 32}], "invalid_request", "documents.0.name"),
    ],
)
def test_bad_documents_are_refused_and_nothing_is_stored(issuer, anon_token, documents, code, field):
    response = post(issuer, anon_token, {"documents": documents})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == code and response.json()["field"] == field
    assert nothing_stored()


def test_encrypted_pdf_is_refused(issuer, anon_token):
    doc = FPDF()
    doc.set_encryption(owner_password="owner", user_password="user")
    doc.add_page()
    doc.set_font("helvetica", size=12)
    doc.cell(0, 10, "secret")
    response = post(
        issuer, anon_token, {"documents": [{"name": "e.pdf", "pdf": base64.b64encode(bytes(doc.output())).decode()}]}
    )
    assert response.status_code == 400 and response.json()["error"] == "encrypted_pdf"
    assert nothing_stored()


def test_services_without_the_signing_scope_cannot_sign(issuer, db):
    client, secret = make_client("no-sign", "https://nosign.example/cb")
    token = requests.post(
        f"{issuer}/oidc/token",
        data={"grant_type": "client_credentials", "scope": "signing"},
        auth=(client.client_id, secret),
    ).json()["access_token"]
    response = post(issuer, token, {"documents": [digest_doc()]})
    assert response.status_code == 403 and response.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert post(issuer, "not-a-token", {"documents": [digest_doc()]}).status_code == 401
    assert nothing_stored()


def test_basic_tier_resident_cannot_sign(issuer, officer, signing_client, tmp_path):
    resident = make_resident(officer)
    Resident.objects.filter(pk=resident.pk).update(tier="basic")
    app = bind_cli(issuer, resident, tmp_path / "basic")
    client, secret = signing_client
    token = login(issuer, app, client.client_id, secret, client.redirect_uris[0], scope=SCOPE)["access_token"]
    response = post(issuer, token, {"documents": [digest_doc()]})
    assert response.status_code == 403 and response.json()["error"] == "plus_required"
    # Anonymous signing approved by a basic-tier resident fails at approval: nothing signed.
    anon = client_token(issuer, client.client_id, secret)
    created = post(issuer, anon, {"documents": [digest_doc()]}).json()
    with pytest.raises(Exception) as refused:
        app.decide(created["approval_uri"], PIN, "approve")
    assert getattr(refused.value, "code", "") == "plus_required"
    result = get(issuer, anon, created["id"]).json()
    assert result["status"] == "failed" and result["error"] == "plus_required"
    assert not SigningCredential.objects.exists()
    assert not SigningDocument.objects.filter(result__isnull=False).exists()


def test_old_login_must_reauthenticate_before_signing(issuer, signer_app, db):
    _, app = signer_app
    client, secret = make_client(
        "strict-svc", "https://strict.example/cb", allowed_scopes=SIGNING_SCOPES, signing_max_auth_age=300
    )
    token = login(issuer, app, client.client_id, secret, client.redirect_uris[0], scope=SCOPE)["access_token"]
    assert post(issuer, token, {"documents": [digest_doc()]}).status_code == 201  # fresh login
    LoginSession.objects.update(auth_time=int(time.time()) - 301)
    response = post(issuer, token, {"documents": [digest_doc()]})
    assert response.status_code == 401
    assert (
        response.json()["error"] == "insufficient_user_authentication" and response.json()["details"]["max_age"] == 300
    )
    assert "max_age=300" in response.headers["WWW-Authenticate"]  # RFC 9470 §3


def test_declined_and_expired_requests_sign_nothing(issuer, signer_app, anon_token, settings):
    _, app = signer_app
    declined = post(issuer, anon_token, {"documents": [digest_doc()]}).json()
    app.decide(declined["approval_uri"], PIN, "decline")
    assert get(issuer, anon_token, declined["id"]).json()["status"] == "declined"
    expired = post(issuer, anon_token, {"documents": [digest_doc()]}).json()
    ApprovalRequest.objects.filter(pk=expired["approval_uri"].rsplit("/", 1)[1]).update(
        expires_at="2000-01-01T00:00:00Z"
    )
    with pytest.raises(Exception) as late:
        app.decide(expired["approval_uri"], PIN, "approve")
    assert getattr(late.value, "code", "") == "request_expired"
    assert get(issuer, anon_token, expired["id"]).json()["status"] == "expired"
    assert not SigningDocument.objects.filter(result__isnull=False).exists()


def test_the_device_must_sign_the_documents_it_was_shown(issuer, signer_app, anon_token):
    """The approval covers the digests: a signature over other digests is refused."""
    _, app = signer_app
    created = post(issuer, anon_token, {"documents": [digest_doc()]}).json()
    rid = created["approval_uri"].rsplit("/", 1)[1]
    key = app.load_key(PIN)
    req = app.show(rid, PIN)
    payload = {
        "request_id": rid,
        "requester": req["requester"]["id"],
        "nonce": req["nonce"],
        "decision": "approve",
        "claims": [],
        "documents": [hashlib.sha256(b"something else").hexdigest()],
    }
    signature = jws.serialize_compact({"alg": "ES256", "kid": app.meta["device_id"]}, json.dumps(payload).encode(), key)
    with pytest.raises(Exception) as refused:
        app._call("POST", f"/api/v1/wallet/requests/{rid}/decision", {"signature": signature}, device_key=key)
    assert getattr(refused.value, "code", "") == "bad_signature"
    assert get(issuer, anon_token, created["id"]).json()["status"] == "pending"


def test_another_service_cannot_read_the_request(issuer, anon_token, db):
    created = post(issuer, anon_token, {"documents": [digest_doc()]}).json()
    other, secret = make_client("other-svc", "https://other.example/cb", allowed_scopes=SIGNING_SCOPES)
    assert get(issuer, client_token(issuer, other.client_id, secret), created["id"]).status_code == 404


class _Recorder(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        _Recorder.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_callback_tells_the_service_when_signed(issuer, signer_app, db, run_tasks):
    _, app = signer_app
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        callback = f"http://127.0.0.1:{server.server_port}/signed"
        client, secret = make_client(
            "cb-svc", "https://cb.example/cb", allowed_scopes=SIGNING_SCOPES, signing_callback_uri=callback
        )
        token = client_token(issuer, client.client_id, secret)
        created = post(issuer, token, {"documents": [digest_doc()]}).json()
        _Recorder.received.clear()
        app.decide(created["approval_uri"], PIN, "approve")
        run_tasks()
        assert _Recorder.received == [{"id": created["id"], "status": "signed"}]  # no personal data
        assert SigningRequest.objects.get(pk=created["id"]).callback_status == "http_204"
    finally:
        server.shutdown()


def test_callback_also_reports_a_failed_approval(issuer, officer, tmp_path, db, run_tasks):
    resident = make_resident(officer)
    Resident.objects.filter(pk=resident.pk).update(tier="basic")
    app = bind_cli(issuer, resident, tmp_path / "basic")
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        callback = f"http://127.0.0.1:{server.server_port}/signed"
        client, secret = make_client(
            "cb-fail", "https://cbf.example/cb", allowed_scopes=SIGNING_SCOPES, signing_callback_uri=callback
        )
        created = post(
            issuer, client_token(issuer, client.client_id, secret), {"documents": [digest_doc()], "reason": "Tenancy"}
        ).json()
        assert app.show(created["approval_uri"], PIN)["reason"] == "Tenancy"
        _Recorder.received.clear()
        with pytest.raises(Exception):
            app.decide(created["approval_uri"], PIN, "approve")
        run_tasks()
        assert _Recorder.received == [{"id": created["id"], "status": "failed"}]
    finally:
        server.shutdown()


def test_unbinding_revokes_the_certificate_and_a_new_phone_gets_a_new_one(
    issuer, signer_app, anon_token, tmp_path, run_tasks
):
    resident, app = signer_app
    first = post(issuer, anon_token, {"documents": [digest_doc()]}).json()
    app.decide(first["approval_uri"], PIN, "approve")
    run_tasks()
    old = SigningCredential.objects.get()
    wallet.unbind_active(resident, reason="lost phone")
    old.refresh_from_db()
    assert old.status == CredentialStatus.REVOKED and old.revocation_reason == "cessation_of_operation"
    crl = x509.load_der_x509_crl(requests.get(f"{issuer}/signing/crl/signing-ca.crl").content)
    entry = crl.get_revoked_certificate_by_serial_number(int(old.serial, 16))
    assert (
        entry is not None
        and entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        == x509.ReasonFlags.cessation_of_operation
    )
    assert crl.is_signature_valid(ca.certificate("signing").public_key())
    new_app = bind_cli(issuer, resident, tmp_path / "new-phone")
    second = post(issuer, anon_token, {"documents": [digest_doc()]}).json()
    new_app.decide(second["approval_uri"], PIN, "approve")
    run_tasks()
    assert get(issuer, anon_token, second["id"]).json()["signer"]["serial"] != old.serial


def test_suspension_revokes_and_crl_numbers_increase(issuer, signer_app, anon_token, run_tasks):
    resident, app = signer_app
    created = post(issuer, anon_token, {"documents": [digest_doc()]}).json()
    app.decide(created["approval_uri"], PIN, "approve")
    run_tasks()
    before = (
        x509.load_der_x509_crl(ca.current_crl("signing"))
        .extensions.get_extension_for_class(x509.CRLNumber)
        .value.crl_number
    )
    counter.suspend_account(resident, reason="reported stolen")
    credential = SigningCredential.objects.get()
    assert credential.status == CredentialStatus.REVOKED and credential.revocation_reason == "privilege_withdrawn"
    crl = x509.load_der_x509_crl(ca.current_crl("signing"))
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == before + 1
    assert crl.get_revoked_certificate_by_serial_number(int(credential.serial, 16)) is not None


def test_ca_certificates_and_root_crl_are_published(issuer, db):
    root = x509.load_der_x509_certificate(requests.get(f"{issuer}/signing/ca/root-ca.crt").content)
    signing = x509.load_pem_x509_certificate(requests.get(f"{issuer}/signing/ca/signing-ca.crt?format=pem").content)
    signing.verify_directly_issued_by(root)
    assert signing.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    root_crl = requests.get(f"{issuer}/signing/crl/root-ca.crl")
    assert root_crl.headers["Content-Type"] == "application/pkix-crl"
    assert x509.load_der_x509_crl(root_crl.content).is_signature_valid(root.public_key())
    assert requests.get(f"{issuer}/signing/crl/nope.crl").status_code == 404


def test_a_certificate_near_expiry_is_superseded_before_it_signs(issuer, signer_app, anon_token, run_tasks):
    _, app = signer_app
    first = post(issuer, anon_token, {"documents": [digest_doc()]}).json()
    app.decide(first["approval_uri"], PIN, "approve")
    run_tasks()
    old = SigningCredential.objects.get()
    SigningCredential.objects.filter(pk=old.pk).update(not_after="2000-01-01T00:00:00Z")
    second = post(issuer, anon_token, {"documents": [digest_doc()]}).json()
    app.decide(second["approval_uri"], PIN, "approve")
    run_tasks()
    old.refresh_from_db()
    new = SigningCredential.objects.exclude(pk=old.pk).get()
    assert old.status == CredentialStatus.REVOKED and old.revocation_reason == "superseded"
    assert get(issuer, anon_token, second["id"]).json()["signer"]["serial"] == new.serial
    assert new.subject_serial == old.subject_serial  # the same person in every certificate


def test_an_unexpected_signing_error_fails_the_request_and_signs_nothing(
    issuer, signer_app, anon_token, monkeypatch, run_tasks, settings
):
    from tungban.signing import services

    _, app = signer_app
    created = post(issuer, anon_token, {"documents": [digest_doc()]}).json()

    def broken(*args, **kwargs):
        raise RuntimeError("HSM fell over")

    monkeypatch.setattr(services, "_cades", broken)
    settings.TUNGBAN_TASK_RETRY_DELAY = 0  # retries run at once here
    app.decide(created["approval_uri"], PIN, "approve")  # recorded; the worker signs
    assert run_tasks() == settings.TUNGBAN_TASK_MAX_ATTEMPTS  # every attempt, then it gives up
    result = get(issuer, anon_token, created["id"]).json()
    assert result["status"] == "failed" and result["error"] == "signing_failed"
    assert result["job"]["state"] == "failed" and result["job"]["attempts"] == settings.TUNGBAN_TASK_MAX_ATTEMPTS
    assert not SigningDocument.objects.filter(result__isnull=False).exists()


def test_pdf_without_pages_is_refused(issuer, anon_token):
    empty = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    xref = len(empty)
    empty += (
        b"xref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \ntrailer<</Size 3/Root 1 0 R>>\nstartxref\n"
        + str(xref).encode()
        + b"\n%%EOF\n"
    )
    response = post(issuer, anon_token, {"documents": [{"name": "empty.pdf", "pdf": base64.b64encode(empty).decode()}]})
    assert response.status_code == 400 and response.json()["error"] == "not_pdf"
    assert nothing_stored()


def test_missing_token_names_the_bearer_scheme(issuer, db):
    response = requests.post(f"{issuer}/api/v1/signing/requests", json={"documents": [digest_doc()]})
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_chinese_document_names_download_with_rfc6266_filename(issuer, signer_app, anon_token, run_tasks):
    _, app = signer_app
    created = post(
        issuer, anon_token, {"documents": [{"name": "聲明書.pdf", "pdf": base64.b64encode(a_pdf()).decode()}]}
    ).json()
    app.decide(created["approval_uri"], PIN, "approve")
    run_tasks()
    download = requests.get(
        f"{issuer}/api/v1/signing/requests/{created['id']}/documents/0",
        headers={"Authorization": f"Bearer {anon_token}"},
    )
    assert "filename*=utf-8''%E8%81%B2%E6%98%8E%E6%9B%B8.pdf" in download.headers["Content-Disposition"]


def test_purge_deletes_contents_past_their_time_and_keeps_the_record(issuer, signer_app, anon_token, run_tasks):
    from django.utils import timezone

    from tungban.signing import services

    _, app = signer_app
    created = post(issuer, anon_token, {"documents": [digest_doc()]}).json()
    app.decide(created["approval_uri"], PIN, "approve")
    run_tasks()
    assert services.purge_expired() == 0  # not yet due
    later = timezone.now() + dt.timedelta(hours=2)
    assert services.purge_expired(later, batch=1) == 1
    assert services.purge_expired(later) == 0  # nothing left to purge
    doc = SigningDocument.objects.get()
    assert doc.result is None and doc.sha256 == digest_doc()["sha256"]


def test_oversize_body_gets_a_json_413(issuer, anon_token, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    big = {"documents": [{"name": "big.pdf", "pdf": base64.b64encode(a_pdf() + b"%" * 20_000).decode()}]}
    response = post(issuer, anon_token, big)
    assert response.status_code == 413 and response.json()["error"] == "request_too_large"
    assert response.json()["details"]["max_bytes"] == 10_000
    assert nothing_stored()


def test_a_retried_signing_request_with_the_same_idempotency_key_is_the_same_request(issuer, anon_token):
    """Issue 14 item 2: the service's retry after a lost answer gets the first signing request,
    not a second approval for the resident; another body with the key is refused (422)."""
    headers = {"Authorization": f"Bearer {anon_token}", "Idempotency-Key": '"sign-0b3f9a1c-retry"'}
    url = f"{issuer}/api/v1/signing/requests"
    first = requests.post(url, json={"documents": [digest_doc()]}, headers=headers)
    assert first.status_code == 201, first.text
    again = requests.post(url, json={"documents": [digest_doc()]}, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert SigningRequest.objects.count() == 1 and ApprovalRequest.objects.filter(kind="sign").count() == 1
    other = requests.post(url, json={"documents": [digest_doc(content=b"Other")]}, headers=headers)
    assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"
    assert SigningRequest.objects.count() == 1
