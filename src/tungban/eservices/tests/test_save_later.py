"""Issue 17 (walkthrough): "Save and come back later" saves a page that has errors — saving a
draft never validates, submitting does (GOV.UK Forms' and FormSG's behaviour). What was typed
is kept, a refused document is not, a changed prefilled value is ``resident_edited``, and
"Continue" still validates."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tungban.eservices.models import Attachment, Service
from tungban.eservices.services import PREFILL_EDITED, PREFILL_VERIFIED


@pytest.fixture
def senior(catalogue):
    return Service.objects.get(slug="senior-citizen-card")


def _typed(app):
    return {
        "form_version": app.form_version.digest,
        "family_name": "CHAN",
        "given_name": "Siu Ming",
        "hkid": "A123456(4)",
    }  # the check digit is wrong


def test_continue_refuses_the_page_and_stores_nothing(portal_client, catalogue, senior, resident):
    prefill = {"given_name": catalogue.PrefillValue("Tai Man", "claim", "7")}
    app = catalogue.start_application(resident, senior, prefill=prefill)
    response = portal_client.post(f"/services/my/{app.reference}/page/applicant", _typed(app))
    assert response.status_code == 422
    app.refresh_from_db()
    assert app.get_answers()["given_name"] == "Tai Man" and "hkid" not in app.get_answers()
    assert app.prefill["given_name"]["status"] == PREFILL_VERIFIED


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_save_keeps_a_page_with_errors_and_says_until_when(portal_client, catalogue, senior, resident, lang):
    prefill = {"given_name": catalogue.PrefillValue("Tai Man", "claim", "7")}
    app = catalogue.start_application(resident, senior, prefill=prefill)
    portal_client.cookies["tungban_language"] = "zh-hant" if lang == "zh" else "en"
    response = portal_client.post(
        f"/services/my/{app.reference}/page/applicant", {**_typed(app), "action": "save", "smuggled": "x"}
    )
    assert response.status_code == 302 and response["Location"].endswith("?saved=1")
    app.refresh_from_db()
    answers = app.get_answers()
    assert answers["given_name"] == "Siu Ming" and answers["hkid"] == "A123456(4)"  # as typed, error and all
    assert "smuggled" not in answers  # only the page's own fields
    assert app.prefill["given_name"]["status"] == PREFILL_EDITED  # the verified value was changed
    assert app.draft_expires_at is not None
    status = portal_client.get(response["Location"]).content.decode()
    date = timezone.localdate(app.draft_expires_at).isoformat()  # the page shows Hong Kong's date
    saved = "Your answers are saved." if lang == "en" else "已儲存"
    assert saved in status and date in status, status

    # Coming back, the page shows what was typed beside its error; "Continue" still validates.
    page = portal_client.get(f"/services/my/{app.reference}/page/applicant").content.decode()
    assert 'value="A123456(4)"' in page and 'value="Siu Ming"' in page
    again = portal_client.post(f"/services/my/{app.reference}/page/applicant", _typed(app))
    assert again.status_code == 422 and 'id="f-hkid-error"' in again.content.decode()


def test_save_with_a_refused_document_keeps_the_answers_but_not_the_file(
    portal_client, catalogue, senior, resident, settings
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    app = catalogue.start_application(resident, senior)
    page = next(p["id"] for p in catalogue.Definition.of(app.form_version).pages if "photo" in p["fields"])
    response = portal_client.post(
        f"/services/my/{app.reference}/page/{page}",
        {
            "form_version": app.form_version.digest,
            "photo": SimpleUploadedFile("me.png", b"MZ\x90\x00 not an image", content_type="image/png"),
            "action": "save",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("?saved=1")
    assert not Attachment.objects.filter(application=app).exists()
    files = settings.TUNGBAN_ESERVICES_FILES
    assert not files.exists() or not [p for p in files.rglob("*") if p.is_file()]
    app.refresh_from_db()
    assert "photo" not in app.get_answers()
