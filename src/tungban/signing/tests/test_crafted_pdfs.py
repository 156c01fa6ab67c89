"""Crafted PDFs (issue 13 item 4): deeply nested objects, a deep page tree and a huge page
count are refused with a clear error (``pdf_too_complex``) on the verification page and
API, never a 500, and a verification that runs too long is cut off. The PDFs are written
here, on the fly: a few kilobytes are enough for deep nesting."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from tungban.core.errors import DomainError
from tungban.signing import verify

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def build(objects: list[bytes]) -> bytes:
    """A PDF of the given indirect objects (object 1 is the catalogue) with a correct xref."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def nested_arrays(depth: int = 20_000) -> bytes:
    return build(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Deep " + b"[" * depth + b"]" * depth + b" >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>",
        ]
    )


def nested_dictionaries(depth: int = 20_000) -> bytes:
    return build(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Deep " + b"<< /A " * depth + b"1" + b" >>" * depth + b" >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>",
        ]
    )


def deep_page_tree(depth: int = 3_000) -> bytes:
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(depth):
        number = 2 + level
        parent = b"/Parent %d 0 R " % (number - 1) if level else b""
        objects.append(b"<< /Type /Pages %s/Kids [%d 0 R] /Count 1 >>" % (parent, number + 1))
    objects.append(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 10 10] >>" % (depth + 1))
    return build(objects)


def many_pages(count: int) -> bytes:
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(count))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>"
    pages = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count)
    return build([b"<< /Type /Catalog /Pages 2 0 R >>", pages] + [page] * count)


CRAFTED = {
    "nested arrays": nested_arrays,
    "nested dictionaries": nested_dictionaries,
    "deep page tree": deep_page_tree,
}


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.mark.parametrize("make", CRAFTED.values(), ids=CRAFTED.keys())
def test_crafted_pdf_is_refused_by_the_verifier(db, make):
    with pytest.raises(DomainError) as exc:
        verify.verify_upload(make())
    assert (exc.value.code, exc.value.status, exc.value.field) == ("pdf_too_complex", 422, "file")
    assert "too complex" in str(exc.value.message)


@pytest.mark.parametrize("make", CRAFTED.values(), ids=CRAFTED.keys())
def test_crafted_pdf_on_the_page_and_the_api(client, db, make):
    data = make()
    page = client.post("/signing/verify", {"file": SimpleUploadedFile("crafted.pdf", data)}, **EN)
    assert page.status_code == 422
    html = page.content.decode()
    assert 'id="id_file_error"' in html and "This PDF is too complex to process" in html
    zh = client.post(
        "/signing/verify", {"file": SimpleUploadedFile("crafted.pdf", data)}, HTTP_ACCEPT_LANGUAGE="zh-hant"
    )
    assert zh.status_code == 422 and "此 PDF 太複雜" in zh.content.decode()
    api = client.post("/api/v1/signing/verify", {"file": SimpleUploadedFile("crafted.pdf", data)}, **EN)
    assert api.status_code == 422
    assert api.json()["error"] == "pdf_too_complex" and api.json()["field"] == "file"


def test_page_count_is_bounded(db, settings):
    """A PDF declaring more pages than ``TUNGBAN_PDF_MAX_PAGES`` is refused before its page
    tree is walked (a 100,000-page PDF took ~14 s of a worker)."""
    settings.TUNGBAN_PDF_MAX_PAGES = 100
    with pytest.raises(DomainError) as exc:
        verify.verify_upload(many_pages(101))
    assert exc.value.code == "pdf_too_complex" and "at most 100 pages" in str(exc.value.message)
    with pytest.raises(DomainError) as exc:
        verify.verify_upload(many_pages(100))
    assert exc.value.code == "no_signatures"  # within the limit: read, and found unsigned


def test_signing_request_pdfs_are_bounded_too(db):
    from tungban.signing import pdf

    with pytest.raises(DomainError) as exc:
        pdf.check_pdf(nested_arrays())
    assert exc.value.code == "pdf_too_complex"


#: Pages enough that walking the page tree takes seconds (~0.15-0.5 ms a page measured), far
#: more than the limits the tests below set: a PDF within the page limit that is slow to check.
SLOW_PAGES = 50_000


def slow_pdf(settings) -> bytes:
    settings.TUNGBAN_PDF_MAX_PAGES = SLOW_PAGES
    return many_pages(SLOW_PAGES)


@pytest.fixture
def verifier_ready(db):
    """A verifier process is up (starting one is not part of the time being measured)."""
    with pytest.raises(DomainError):
        verify.verify_upload(b"hello")


def test_a_verification_that_runs_too_long_is_cut_off(db, settings, verifier_ready):
    """``TUNGBAN_VERIFY_MAX_SECONDS`` bounds the work one upload may cost."""
    data = slow_pdf(settings)
    settings.TUNGBAN_VERIFY_MAX_SECONDS = 0.3
    started = time.monotonic()
    with pytest.raises(DomainError) as exc:
        verify.verify_upload(data)
    assert time.monotonic() - started < 10
    assert exc.value.code == "pdf_too_complex" and "took too long" in str(exc.value.message)


def test_the_time_limit_holds_in_a_worker_thread(transactional_db, settings, verifier_ready):
    """gunicorn's gthread workers (issue 14 item 1) run requests outside the main thread,
    where ``SIGALRM`` cannot reach: the limit must hold there too, and the request still
    answers within a bound (limit + stopping the child + margin for a loaded machine).
    (``transactional_db``: the thread has its own connection and reads the CAs.)"""
    data = slow_pdf(settings)
    settings.TUNGBAN_VERIFY_MAX_SECONDS = 1
    outcome = {}

    def request():
        started = time.monotonic()
        try:
            with translation.override("en"):  # as the request's middleware would
                verify.verify_upload(data)
        except DomainError as exc:
            outcome["error"] = exc
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=request, name="gthread-like")
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert outcome["error"].code == "pdf_too_complex" and "took too long" in str(outcome["error"].message)
    assert outcome["seconds"] < 1 + 6


def test_the_time_limit_answers_on_the_page_and_the_api_in_the_users_language(client, db, settings, verifier_ready):
    data = slow_pdf(settings)
    settings.TUNGBAN_VERIFY_MAX_SECONDS = 0.3
    zh = client.post("/signing/verify", {"file": SimpleUploadedFile("slow.pdf", data)}, HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert zh.status_code == 422 and "此 PDF 太複雜" in zh.content.decode()
    api = client.post("/api/v1/signing/verify", {"file": SimpleUploadedFile("slow.pdf", data)}, **EN)
    assert api.status_code == 422
    assert api.json()["error"] == "pdf_too_complex" and "took too long" in api.json()["message"]
