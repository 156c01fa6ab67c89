"""Bulk signing as a background job with a real ``tungban worker`` subprocess (issue 12,
acceptance 4): the approval of 50 PDFs returns at once; a worker signs them; killed with
SIGKILL mid-job and started again, it finishes with exactly one signature per document (the
results stored before the kill are kept as they were), then the service gets its callback.
Also: a callback that fails is retried with backoff.
"""

from __future__ import annotations

import base64
import http.server
import io
import json
import signal
import threading

import pytest
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from pyhanko.pdf_utils.reader import PdfFileReader

from tungban.signing.models import SigningDocument, SigningRequest
from tungban.testing.factories import PIN, make_client
from tungban.testing.tasks import start_worker, wait_for

from .conftest import SIGNING_SCOPES, client_token
from .test_signing_api import a_pdf, digest_doc, get, post

DOCUMENTS = 50


class _Service(http.server.BaseHTTPRequestHandler):
    """The service's callback endpoint: answers ``codes`` in turn (then 204)."""

    received: list = []
    codes: list = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        _Service.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(_Service.codes.pop(0) if _Service.codes else 204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def service_callback():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Service)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Service.received, _Service.codes = [], []
    yield f"http://127.0.0.1:{server.server_port}/signed"
    server.shutdown()


def _signatures(pdf: bytes) -> int:
    return len(PdfFileReader(io.BytesIO(pdf)).embedded_signatures)


@pytest.mark.live_http  # a worker subprocess must see the committed request
@pytest.mark.django_db(transaction=True)
def test_bulk_signing_returns_at_once_and_survives_a_killed_worker(issuer, signer_app, service_callback, tmp_path):
    _, app = signer_app
    client, secret = make_client(
        "bulk-svc", "https://bulk.example/cb", allowed_scopes=SIGNING_SCOPES, signing_callback_uri=service_callback
    )
    token = client_token(issuer, client.client_id, secret)
    pdfs = [a_pdf(f"Declaration {i}") for i in range(DOCUMENTS)]
    documents = [{"name": f"d{i}.pdf", "pdf": base64.b64encode(p).decode()} for i, p in enumerate(pdfs)]
    created = post(issuer, token, {"documents": documents}).json()

    # The approval is recorded at once; the signing is queued as a job.
    app.decide(created["approval_uri"], PIN, "approve")
    queued = get(issuer, token, created["id"]).json()
    assert queued["status"] == "pending" and queued["job"]["state"] == "queued"
    assert not SigningDocument.objects.filter(result__isnull=False).exists()
    req = SigningRequest.objects.get(pk=created["id"])

    def signed_so_far() -> dict[int, bytes]:
        return {d.index: bytes(d.result) for d in SigningDocument.objects.filter(request=req, result__isnull=False)}

    log = tmp_path / "worker.log"
    first = start_worker(log_path=log)
    try:
        wait_for(lambda: signed_so_far(), timeout=300, what="the first signed document", process=first)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    before = signed_so_far()
    assert 0 < len(before) < DOCUMENTS, "the worker must be killed mid-job"
    assert get(issuer, token, created["id"]).json()["status"] == "pending"  # nothing half-delivered
    assert DBTaskResult.objects.get(id=req.sign_task_id).status == TaskResultStatus.RUNNING
    assert _Service.received == []

    second = start_worker(log_path=log)
    try:
        wait_for(lambda: _Service.received, timeout=600, what="the callback", process=second)
    finally:
        second.terminate()
        second.wait(timeout=60)

    result = get(issuer, token, created["id"]).json()
    assert result["status"] == "signed" and result["job"]["state"] == "done"
    assert result["job"]["documents_signed"] == DOCUMENTS and result["callback_status"] == "http_204"
    assert _Service.received == [{"id": created["id"], "status": "signed"}]
    after = signed_so_far()
    assert {i: after[i] for i in before} == before  # stored before the kill: kept, not signed again
    for i, doc in enumerate(result["documents"]):
        signed = base64.b64decode(doc["signed_pdf"])
        assert signed.startswith(pdfs[i]) and _signatures(signed) == 1  # one signature each
    task = DBTaskResult.objects.get(id=req.sign_task_id)
    assert task.status == TaskResultStatus.SUCCESSFUL and len(task.worker_ids) == 2  # recovered once


def test_a_failing_callback_is_retried_with_backoff(issuer, signer_app, service_callback, run_tasks, settings):
    _, app = signer_app
    settings.TUNGBAN_TASK_RETRY_DELAY = 0  # the retries run at once here
    client, secret = make_client(
        "flaky-svc", "https://flaky.example/cb", allowed_scopes=SIGNING_SCOPES, signing_callback_uri=service_callback
    )
    token = client_token(issuer, client.client_id, secret)
    created = post(issuer, token, {"documents": [digest_doc()]}).json()
    _Service.codes = [500, 503]
    app.decide(created["approval_uri"], PIN, "approve")
    run_tasks()
    assert _Service.received == [{"id": created["id"], "status": "signed"}] * 3
    req = SigningRequest.objects.get(pk=created["id"])
    assert (req.callback_status, req.callback_attempts) == ("http_204", 3)

    # A service that never answers 2xx: given up after TUNGBAN_TASK_MAX_ATTEMPTS, and said so.
    settings.TUNGBAN_TASK_MAX_ATTEMPTS = 2
    other = post(issuer, token, {"documents": [digest_doc("b.txt", b"B")]}).json()
    _Service.received, _Service.codes = [], [500] * 5
    app.decide(other["approval_uri"], PIN, "approve")
    run_tasks()
    assert len(_Service.received) == 2
    assert get(issuer, token, other["id"]).json()["callback_status"] == "failed_http_500"


@pytest.mark.parametrize("documents", [3, 1], ids=["between documents", "after the last document"])
def test_a_certificate_revoked_while_the_job_signs_stops_it(
    issuer, signer_app, service_callback, run_tasks, monkeypatch, documents
):
    """An officer suspends the account (or the device is unbound) while the worker signs: the
    request is not reported signed, nothing signed is kept, and the service is told."""
    from tungban.signing import services

    _, app = signer_app
    client, secret = make_client(
        "revoked-svc",
        "https://revoked.example/cb",
        allowed_scopes=SIGNING_SCOPES,
        signing_callback_uri=service_callback,
    )
    token = client_token(issuer, client.client_id, secret)
    docs = [digest_doc(f"d{i}.txt", bytes([65 + i])) for i in range(documents)]
    created = post(issuer, token, {"documents": docs}).json()
    app.decide(created["approval_uri"], PIN, "approve")
    real, signed = services._cades, []

    def sign_then_revoke(signer, digest_hex, timestamper):
        result = real(signer, digest_hex, timestamper)
        if not signed:
            services.revoke(SigningRequest.objects.get(pk=created["id"]).credential, reason="privilege_withdrawn")
        signed.append(digest_hex)
        return result

    monkeypatch.setattr(services, "_cades", sign_then_revoke)
    run_tasks()
    assert len(signed) == 1  # the job stopped at the next document, or before marking it signed
    body = get(issuer, token, created["id"]).json()
    assert (body["status"], body["error"]) == ("failed", "certificate_revoked")
    assert not SigningDocument.objects.filter(request_id=created["id"], result__isnull=False).exists()
    assert _Service.received == [{"id": created["id"], "status": "failed"}]


def test_retry_delay_doubles():
    from datetime import timedelta

    from django.test import override_settings

    from tungban.core import jobs

    with override_settings(TUNGBAN_TASK_RETRY_DELAY=10, TUNGBAN_TASK_MAX_ATTEMPTS=3):
        assert [jobs.retry_delay(n) for n in (1, 2, 3)] == [timedelta(seconds=s) for s in (10, 20, 40)]
        assert [jobs.can_retry(n) for n in (1, 2, 3)] == [True, True, False]
