"""Oversized request bodies are refused before anything reads them (issue 13 item 4: a
300 MB upload to the verification page was written to disk in full before the 413)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory


class Body(io.RawIOBase):
    """A request body of ``size`` bytes that counts how much of it was read."""

    def __init__(self, size: int):
        self.size, self.taken = size, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.size - self.taken)
        buffer[:n] = b"0" * n
        self.taken += n
        return n


def call(path: str, size: int, *, declared: int | None = None, language: str = "en"):
    """POST ``size`` bytes to ``path`` through the whole WSGI stack; ``(status, headers, body, bytes read)``."""
    body = Body(size)
    environ = RequestFactory().post(path, content_type="multipart/form-data; boundary=x").environ
    environ.update({"wsgi.input": body, "HTTP_ACCEPT_LANGUAGE": language})
    if declared is None:
        environ.pop("CONTENT_LENGTH", None)
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        environ["CONTENT_LENGTH"] = str(declared)
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = int(status.split()[0]), dict(headers)

    # As Django's test client does: the test's transaction must survive the request signals.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        content = b"".join(WSGIHandler()(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return seen["status"], seen["headers"], content, body.taken


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/signing/verify", "/api/v1/signing/verify"])
def test_an_oversized_verification_upload_is_refused_unread(settings, path):
    size = 300 * 1024 * 1024  # declared; nothing of it is produced unless read
    status, headers, content, taken = call(path, size, declared=size)
    assert status == 413 and taken == 0
    # the verification paths allow a document and its signature, and the form around them
    limit = 2 * settings.TUNGBAN_VERIFY_MAX_BYTES + 1024 * 1024
    if path.startswith("/api/"):
        body = json.loads(content)
        assert body["error"] == "request_too_large" and body["details"] == {"max_bytes": limit}
        assert body["message"] == "The request is too large: at most 41 MB can be sent here."
    else:
        assert "The request is too large: at most 41 MB can be sent here." in content.decode()
        assert 'lang="en"' in content.decode()


@pytest.mark.django_db
def test_the_limit_is_per_path_and_global(settings):
    settings.TUNGBAN_REQUEST_SIZE_LIMITS = {"/signing/": 2 * 1024 * 1024, "/signing/verify": 1024 * 1024}
    settings.TUNGBAN_MAX_REQUEST_BYTES = 8 * 1024 * 1024
    assert call("/signing/verify", 1024 * 1024 + 1, declared=1024 * 1024 + 1)[0] == 413  # longest prefix
    assert call("/signing/other", 1024 * 1024 + 1, declared=1024 * 1024 + 1)[0] != 413
    # elsewhere the global limit applies
    status, _, _, taken = call("/api/v1/wallet/bindings", 9 * 1024 * 1024, declared=9 * 1024 * 1024)
    assert status == 413 and taken == 0
    assert call("/api/v1/wallet/bindings", 1024, declared=1024)[0] != 413


@pytest.mark.django_db
def test_page_error_in_chinese(settings):
    status, headers, content, _ = call(
        "/signing/verify", 50 * 1024 * 1024, declared=50 * 1024 * 1024, language="zh-hant"
    )
    assert status == 413 and "請求太大" in content.decode()


@pytest.mark.django_db
def test_a_chunked_body_without_content_length_is_not_read(settings):
    """Django's WSGI request reads at most ``CONTENT_LENGTH`` bytes (none when it is absent),
    so a chunked upload cannot grow past the limit either."""
    status, _, _, taken = call("/api/v1/signing/verify", 100 * 1024 * 1024)
    assert taken == 0 and status == 422  # no file arrived


def test_wsgi_request_without_length_reads_nothing():
    body = Body(10 * 1024 * 1024)
    environ = RequestFactory().post("/x", data=b"", content_type="application/octet-stream").environ
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = body
    assert WSGIRequest(environ).read() == b"" and body.taken == 0
