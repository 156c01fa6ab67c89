"""The resident's 1823 pages (issue 22): choose the matter (grouped, searchable without
JavaScript), the case form with the case type's attributes, every error next to its field in the
page's language with nothing stored, the confirmation with the one-time tracking code, tracking
an anonymous case, "My cases" behind the portal's login, the case page and reopening, and the
assistant's hand-off (a transcript source registered with ``hotline.services.handoff``)."""

from __future__ import annotations

import re

import pytest

from tungban.eservices import login
from tungban.hotline.models import Case
from tungban.hotline.services import cases, handoff

from .conftest import PNG, lamp_case

LAMP_FORM = {
    "type": "street-light-fault",
    "kind": "complaint",
    "description": "The lamp outside 12 Hennessy Road is dark.",
    "attribute[lamp_post]": "E1234",
    "attribute[fault]": "out",
    "address": "12 Hennessy Road",
    "district": "wan-chai",
    "lat": "",
    "long": "",
    "contact_name": "",
    "contact_email": "",
    "contact_phone": "",
    "form_key": "k1",
}


def as_resident(client, resident):
    session = client.session
    session[login.SESSION_KEY] = {"resident": str(resident.public_id), "sub": "test-sub"}
    session.save()


@pytest.mark.parametrize("lang,words", [("en", "Tell 1823 about a matter"), ("zh-hant", "向1823反映事項")])
def test_home_in_both_languages(client, hotline, lang, words):
    html = client.get("/1823/", HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert words in html
    assert 'href="/search/"' in html and 'href="/assistant/"' in html


def test_choose_grouped_and_searchable(client, hotline):
    html = client.get("/1823/new/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert set(re.findall(r'data-code="([^"]+)"', html)) == {"street-light-fault", "refuse-collection", "tree-safety"}
    html = client.get("/1823/new/", {"q": "街燈"}).content.decode()
    assert re.findall(r'data-code="([^"]+)"', html) == ["street-light-fault"]
    html = client.get("/1823/new/", {"type": "no-such"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="type-unknown"' in html


def test_form_shows_the_case_types_attributes(client, hotline):
    html = client.get("/1823/new/", {"type": "street-light-fault"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for name in ("attribute[lamp_post]", "attribute[fault]", "attribute[seen_at]", "attribute[also]", "district"):
        assert f'name="{name}"' in html
    assert 'id="use-location" hidden' in html  # shown only by the script
    assert 'name="contact_email"' in html  # not logged in


@pytest.mark.parametrize("lang,needle", [("en", "Answer “Lamp post number”."), ("zh-hant", "燈柱編號")])
def test_errors_next_to_each_field_in_the_language_nothing_stored(client, hotline, lang, needle):
    bad = {
        **LAMP_FORM,
        "description": "",
        "attribute[lamp_post]": "",
        "attribute[fault]": "exploded",
        "address": "",
        "contact_email": "not-an-email",
        "lat": "north",
    }
    r = client.post("/1823/new/", bad, HTTP_ACCEPT_LANGUAGE=lang)
    assert r.status_code == 400
    html = r.content.decode()
    for field in ("description", "attr-lamp_post", "attr-fault", "contact_email", "lat"):
        assert f'id="{field}-error"' in html, field
    assert needle in html
    if lang == "zh-hant":
        assert "Describe the matter" not in html
    assert Case.objects.count() == 0
    assert 'value="12 Hennessy' not in html and "not-an-email" in html  # what was typed is kept


def test_anonymous_submit_confirmation_once_track_and_reopen(client, hotline, hyd_officer):
    r = client.post("/1823/new/", {**LAMP_FORM, "attachments": []}, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 302 and r["Location"] == "/1823/new/done/"
    case = Case.objects.get()
    assert case.channel == "web" and case.resident is None
    html = client.get("/1823/new/done/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    code = re.search(r'id="tracking-code">([^<]+)<', html).group(1)
    assert case.reference in html and "shown only once" in html
    again = client.get("/1823/new/done/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert code not in again and case.reference in again

    # Another browser: the case page needs the tracking code.
    other = type(client)()
    assert other.get(f"/1823/cases/{case.reference}/")["Location"].startswith("/1823/track/")
    r = other.post(
        "/1823/track/", {"reference": case.reference, "tracking_code": "WRONG-CODE1"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert r.status_code == 400 and 'id="reference-error"' in r.content.decode()
    r = other.post("/1823/track/", {"reference": case.reference, "tracking_code": code})
    assert r.status_code == 302
    page = other.get(f"/1823/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Highways Department" in page and 'id="close-due"' not in page  # not accepted yet

    cases.accept(case, hyd_officer)
    page = other.get(f"/1823/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The department is handling your case." in page and 'id="close-due"' in page
    cases.close(case, hyd_officer, "The lamp was repaired.")
    page = other.get(f"/1823/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert "The lamp was repaired." in page and 'id="reopen-form"' in page and 'id="closed-at"' in page
    r = other.post(f"/1823/cases/{case.reference}/", {"reason": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400 and 'id="reason-error"' in r.content.decode()
    case.refresh_from_db()
    assert case.state == "closed"
    r = other.post(f"/1823/cases/{case.reference}/", {"reason": "It is dark again."})
    assert r.status_code == 302
    case.refresh_from_db()
    assert case.state == "accepted" and case.reopened_count == 1


def test_logged_in_resident_my_cases_and_attachments(client, hotline, resident):
    assert client.get("/1823/cases/")["Location"].startswith("/services/login")
    as_resident(client, resident)
    from django.core.files.uploadedfile import SimpleUploadedFile

    r = client.post(
        "/1823/new/",
        {**LAMP_FORM, "attachments": [SimpleUploadedFile("lamp.png", PNG, "image/png")]},
    )
    assert r.status_code == 302
    case = Case.objects.get()
    assert case.resident == resident and case.tracking_code == "" and case.attachments.count() == 1
    assert 'id="tracking-code"' not in client.get("/1823/new/done/").content.decode()
    html = client.get("/1823/cases/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'data-reference="{case.reference}"' in html
    # The same form sent twice (a double click) is one case.
    client.post("/1823/new/", {**LAMP_FORM})
    assert Case.objects.count() == 1
    # Someone else's case is not shown.
    other, _code = lamp_case()
    assert client.get(f"/1823/cases/{other.reference}/").status_code == 404


def test_too_many_files_refused(client, hotline):
    from django.core.files.uploadedfile import SimpleUploadedFile

    files = [SimpleUploadedFile(f"p{i}.png", PNG, "image/png") for i in range(6)]
    r = client.post("/1823/new/", {**LAMP_FORM, "attachments": files}, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400 and 'id="attachments-error"' in r.content.decode()
    assert Case.objects.count() == 0


def test_assistant_handoff_prefills_and_keeps_the_transcript(client, hotline):
    def source(conversation_id, request):
        return "Q: the lamp is dark\nA: report it to 1823" if conversation_id == "conv-1" else None

    handoff.register_transcript_source(source)
    try:
        html = client.get(
            "/1823/new/", {"type": "street-light-fault", "conversation": "conv-1"}, HTTP_ACCEPT_LANGUAGE="en"
        ).content.decode()
        assert 'id="transcript-note"' in html and 'name="conversation" value="conv-1"' in html
        assert "From my conversation with the assistant" in html
        unknown = client.get("/1823/new/", {"type": "street-light-fault", "conversation": "conv-2"}).content.decode()
        assert 'id="transcript-note"' not in unknown
        r = client.post("/1823/new/", {**LAMP_FORM, "conversation": "conv-1"})
        assert r.status_code == 302
        case = Case.objects.get()
        assert case.channel == "assistant" and case.transcript.startswith("Q: the lamp is dark")
    finally:
        handoff.unregister_transcript_source(source)


def test_a_posted_transcript_is_ignored_and_service_prefill(client, hotline):
    """Only the server builds a transcript (from the person's own conversation): one posted in
    the form is not taken as the assistant's (review finding)."""
    from tungban.hotline.models import CaseType

    CaseType.objects.filter(code="refuse-collection").update(service_slug="senior-citizen-card")
    html = client.get("/1823/new/", {"service": "senior-citizen-card"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="type" value="refuse-collection"' in html
    r = client.post(
        "/1823/new/",
        {
            "type": "tree-safety",
            "kind": "enquiry",
            "description": "A branch hangs low.",
            "transcript": "User: a branch",
        },
    )
    assert r.status_code == 302
    assert Case.objects.get().transcript == "" and Case.objects.get().channel == "web"
