"""The resident's pages (issue 17, "Bad input" on pages): each refusal is a clear message in
the page's language beside the field, and nothing partial is stored. The login itself is
the e2e test's (test_e2e_senior_card.py); here the portal session is set directly."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tungban.eservices.models import Application, Attachment, Service, State
from tungban.eservices.tests.helpers import PDF, PNG


@pytest.fixture
def draft(catalogue, resident):
    service = Service.objects.get(slug="senior-citizen-card")
    prefill = {"family_name": catalogue.PrefillValue("CHAN", "claim", "7")}
    return catalogue.start_application(resident, service, prefill=prefill)


def _url(app, page):
    return f"/services/my/{app.reference}/page/{page}"


def _post(client, app, page, data, lang="en", **extra):
    client.cookies["tungban_language"] = "zh-hant" if lang == "zh" else "en"
    return client.post(_url(app, page), {"form_version": app.form_version.digest, **data}, **extra)


def test_pages_need_the_portal_login(client, draft):
    response = client.get(_url(draft, "applicant"))
    assert response.status_code == 302 and response["Location"].startswith("/services/login?next=")


def test_another_residents_application_is_not_found(portal_client, catalogue):
    from tungban.testing.factories import make_resident

    other = catalogue.start_application(make_resident(), Service.objects.get(slug="senior-citizen-card"))
    assert portal_client.get(_url(other, "applicant")).status_code == 404


def test_a_prefilled_field_shows_its_source(portal_client, draft):
    portal_client.cookies["tungban_language"] = "en"
    html = portal_client.get(_url(draft, "applicant")).content.decode()
    assert 'value="CHAN"' in html
    assert 'data-prefill="verified"' in html and "From your e-ME profile" in html


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_wrong_answers_are_named_beside_each_field_in_the_pages_language(portal_client, draft, lang):
    response = _post(
        portal_client,
        draft,
        "applicant",
        {
            "family_name": "CHAN",
            "given_name": "Tai Man",
            "hkid": "A123456(7)",
            "birthdate": "1960-02-30",
            "phone": "123",
        },
        lang=lang,
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="error-summary"' in html and 'href="#f-hkid"' in html
    if lang == "en":
        assert "HKID number: enter an HKID number" in html and "8-digit Hong Kong phone number" in html
    else:
        assert "請輸入香港身份證號碼" in html and "八位數字的香港電話號碼" in html
        assert "儲存並繼續" in html and "來自你的「我的資料」" in html
        assert "Save and continue" not in html and "e-ME profile" not in html
    assert 'aria-invalid="true"' in html
    draft.refresh_from_db()
    assert draft.get_answers() == {"family_name": "CHAN"}  # nothing of the refused page stored


def test_a_stale_form_version_is_refused_on_the_page(portal_client, draft):
    portal_client.cookies["tungban_language"] = "en"
    response = portal_client.post(_url(draft, "card"), {"form_version": "0" * 64, "collection": "app"})
    assert response.status_code == 409
    assert "reload the page" in response.content.decode()
    draft.refresh_from_db()
    assert "collection" not in draft.get_answers()


def test_a_document_of_another_type_is_refused_and_not_stored(portal_client, draft):
    upload = SimpleUploadedFile("photo.png", PDF, content_type="image/png")  # a PDF claiming to be a PNG
    response = _post(portal_client, draft, "documents", {"photo": upload})
    assert response.status_code == 415
    assert "accepted types (JPEG, PNG)" in response.content.decode()
    assert Attachment.objects.count() == 0


def test_a_forged_prefilled_value_posted_is_marked_resident_edited(portal_client, draft, resident):
    response = _post(
        portal_client,
        draft,
        "applicant",
        {
            "family_name": "WONG",  # not the released CHAN
            "given_name": "Tai Man",
            "hkid": resident.hkid_display,
            "birthdate": "1960-05-17",
            "phone": "91234567",
        },
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.prefill["family_name"]["status"] == "resident_edited"
    html = portal_client.get(_url(draft, "applicant")).content.decode()
    assert 'data-prefill="resident_edited"' in html


def test_the_whole_form_by_pages_then_submit_once(portal_client, draft, resident):
    steps = [
        (
            "applicant",
            {
                "family_name": "CHAN",
                "given_name": "Tai Man",
                "hkid": resident.hkid_display,
                "birthdate": "1960-05-17",
                "phone": "9123 4567",
            },
        ),
        (
            "address",
            {
                "address__line1": "Flat 3B, 18 Nathan Road",
                "address__district": "Tsim Sha Tsui",
                "address__region": "KLN",
            },
        ),
        ("card", {"collection": "office"}),
        ("office", {"office": "sha-tin"}),  # the conditional page, shown for "office"
        ("documents", {"photo": SimpleUploadedFile("me.png", PNG, content_type="image/png")}),
        ("declaration", {"declaration": "yes"}),
    ]
    for page, data in steps:
        response = _post(portal_client, draft, page, data)
        assert response.status_code == 302, (page, response.content.decode()[:2000])
    assert response["Location"].endswith("/check")
    html = portal_client.get(f"/services/my/{draft.reference}/check").content.decode()
    assert "Sha Tin" in html and "me.png" in html and "Flat 3B, 18 Nathan Road, Tsim Sha Tsui, Kowloon" in html
    for _ in range(2):  # a double submission
        response = portal_client.post(
            f"/services/my/{draft.reference}/check", {"form_version": draft.form_version.digest}
        )
        assert response.status_code == 302
    app = Application.objects.get()
    assert app.state == State.SUBMITTED and app.events.filter(action="submitted").count() == 1
    status = portal_client.get(f"/services/my/{app.reference}/").content.decode()
    assert 'data-state="submitted"' in status and re.search(r"Submitted</span>", status)


def test_withdrawing_from_the_status_page(portal_client, draft):
    portal_client.cookies["tungban_language"] = "en"
    assert (
        portal_client.post(f"/services/my/{draft.reference}/withdraw", {"reason": "No longer needed"}).status_code
        == 302
    )
    draft.refresh_from_db()
    assert draft.state == State.WITHDRAWN
    html = portal_client.get(f"/services/my/{draft.reference}/").content.decode()
    assert "No longer needed" in html and "withdraw-link" not in html


def test_a_document_too_large_is_refused_before_it_is_read(portal_client, draft):
    portal_client.cookies["tungban_language"] = "en"
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * (2 * 1024 * 1024), content_type="image/png")
    response = _post(portal_client, draft, "documents", {"photo": big})
    assert response.status_code == 413
    assert "larger than 2 MB" in response.content.decode()
    assert Attachment.objects.count() == 0


def test_a_refused_page_keeps_no_document(portal_client, draft, settings):
    """The photo is fine but the page is posted against another form version: nothing stays,
    neither the row nor the file."""
    upload = SimpleUploadedFile("me.png", PNG, content_type="image/png")
    response = portal_client.post(_url(draft, "documents"), {"form_version": "0" * 64, "photo": upload})
    assert response.status_code == 409
    assert Attachment.objects.count() == 0
    folder = settings.TUNGBAN_ESERVICES_FILES
    assert not folder.exists() or not any(p.is_file() for p in folder.rglob("*"))
