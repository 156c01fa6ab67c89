"""The resident's side attacked (issue 17, review by a hostile resident and a careless one):
another resident's applications and documents, forged or replayed prefill, uploads, CSRF,
the login's return address and errors, malformed posts. Each test names what it tries; a
refusal is a clear page in the resident's language and stores nothing."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tungban.eservices import login, portal
from tungban.eservices.models import Application, ApplicationEvent, Attachment, Service, State
from tungban.eservices.tests.helpers import PDF, PNG, fill_senior_card
from tungban.testing.factories import make_resident


def _log_in(client, resident, sub="sub-for-tests", lang="en"):
    session = client.session
    session[login.SESSION_KEY] = {"resident": str(resident.public_id), "sub": sub}
    session.save()
    client.cookies["tungban_language"] = "zh-hant" if lang == "zh" else "en"
    return client


@pytest.fixture
def senior(catalogue):
    return Service.objects.get(slug="senior-citizen-card")


@pytest.fixture
def victim(catalogue, senior):
    """Another resident with a submitted application, a document and a draft."""
    person = make_resident()
    app = catalogue.start_application(person, senior)
    fill_senior_card(catalogue, app, person)
    app = catalogue.submit(app, person)
    draft = catalogue.start_application(person, senior)
    return person, app, draft


@pytest.fixture
def attacker(client, resident, catalogue):
    return _log_in(client, resident)


def _snapshot(app: Application):
    app.refresh_from_db()
    return (app.state, app.answers, json.dumps(app.prefill, sort_keys=True), app.events.count())


# --- another resident's applications (IDOR by reference) ---
def test_every_page_of_another_residents_application_is_not_found(attacker, victim):
    _, app, draft = victim
    doc = app.attachments.first()
    before = (_snapshot(app), _snapshot(draft))
    ref, dref = app.reference, draft.reference
    gets = [
        f"/services/my/{ref}/",
        f"/services/my/{dref}/",
        f"/services/my/{dref}/page/applicant",
        f"/services/my/{dref}/check",
        f"/services/my/{ref}/withdraw",
        f"/services/my/{ref}/licence.pdf",
        f"/services/my/{ref}/sign",
        f"/services/my/{ref}/document/{doc.pk}",
        f"/services/my/{ref.lower()}/document/{doc.pk}",  # the converter upper-cases
    ]
    for url in gets:
        assert attacker.get(url).status_code == 404, url
    posts = [
        (f"/services/my/{dref}/page/applicant", {"family_name": "EVIL", "form_version": draft.form_version.digest}),
        (f"/services/my/{dref}/check", {"form_version": draft.form_version.digest}),
        (f"/services/my/{ref}/withdraw", {"reason": "not mine"}),
        (f"/services/my/{ref}/respond", {"answer": "hello"}),
        (f"/services/my/{dref}/sign", {}),
        (f"/services/my/{dref}/data/wsd.registered-address.v1", {"page": "premises"}),
    ]
    for url, data in posts:
        assert attacker.post(url, data).status_code == 404, url
    assert (_snapshot(app), _snapshot(draft)) == before


def test_an_unknown_and_another_residents_reference_answer_the_same(attacker, victim, resident, senior, catalogue):
    """Nothing tells a probing resident that a reference exists (same status and page)."""
    _, app, _draft = victim
    mine = catalogue.start_application(resident, senior)
    unknown = mine.reference[:-1] + ("0" if mine.reference[-1] != "0" else "1")
    Application.objects.filter(pk=mine.pk).delete()
    theirs = attacker.get(f"/services/my/{app.reference}/")
    nobody = attacker.get(f"/services/my/{unknown}/")
    assert theirs.status_code == nobody.status_code == 404
    assert theirs.content.replace(app.reference.encode(), b"") == nobody.content.replace(unknown.encode(), b"")


def test_another_applications_document_cannot_be_chosen_as_an_answer(attacker, victim, resident, senior, catalogue):
    """A draft's ``photo__current`` naming another resident's document id is refused."""
    _, app, _draft = victim
    theirs = app.attachments.get(field="photo")
    mine = catalogue.start_application(resident, senior)
    response = attacker.post(
        f"/services/my/{mine.reference}/page/documents",
        {"form_version": mine.form_version.digest, "photo__current": str(theirs.pk)},
    )
    assert response.status_code == 422
    mine.refresh_from_db()
    assert "photo" not in mine.get_answers()
    assert attacker.get(f"/services/my/{mine.reference}/document/{theirs.pk}").status_code == 404


# --- prefill: forged, replayed, tampered ---
def test_provenance_posted_with_the_page_is_ignored(attacker, resident, senior, catalogue):
    draft = catalogue.start_application(
        resident, senior, prefill={"family_name": catalogue.PrefillValue("CHAN", "claim", "7")}
    )
    response = attacker.post(
        f"/services/my/{draft.reference}/page/applicant",
        {
            "form_version": draft.form_version.digest,
            "family_name": "WONG",
            "given_name": "Tai Man",
            "hkid": resident.hkid_display,
            "birthdate": "1960-05-17",
            "phone": "91234567",
            # an attacker's guesses at the provenance fields
            "prefill": json.dumps({"family_name": {"status": "verified"}}),
            "family_name__status": "verified",
            "family_name__source": "claim",
            "prefill.family_name.status": "verified",
            "given_name__status": "verified",
        },
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert set(draft.prefill) == {"family_name"}
    assert draft.prefill["family_name"]["status"] == "resident_edited"
    assert set(draft.get_answers()) == {"family_name", "given_name", "hkid", "birthdate", "phone"}


def test_an_edited_prefilled_value_put_back_is_not_verified_again(attacker, resident, senior, catalogue):
    draft = catalogue.start_application(
        resident, senior, prefill={"family_name": catalogue.PrefillValue("CHAN", "claim", "7")}
    )
    page = {"given_name": "Tai Man", "hkid": resident.hkid_display, "birthdate": "1960-05-17", "phone": "91234567"}
    for name in ("WONG", "CHAN"):
        catalogue.save_draft(draft, resident, {**page, "family_name": name}, page="applicant")
    draft.refresh_from_db()
    assert draft.prefill["family_name"]["status"] == "resident_edited"


def test_prefill_digests_are_keyed_so_guessable_values_cannot_be_recovered(resident, senior, catalogue, settings):
    """A date of birth (about 36 500 candidates) or an HKID behind a plain SHA-256 is found by
    trying them all; the digest is an HMAC under the platform's look-up key instead."""
    prefill = {
        "birthdate": catalogue.PrefillValue("1960-05-17", "claim", "7"),
        "hkid": catalogue.PrefillValue(resident.hkid_display, "claim", "7"),
    }
    draft = catalogue.start_application(resident, senior, prefill=prefill)
    stored = json.dumps(draft.prefill)
    for value in ('"1960-05-17"', json.dumps(resident.hkid)):
        assert hashlib.sha256(value.encode()).hexdigest() not in stored
    first = draft.prefill["birthdate"]["digest"]
    settings.TUNGBAN_LOOKUP_HASH_KEY = "another-key"
    other = catalogue.start_application(resident, senior, prefill=prefill)
    assert other.prefill["birthdate"]["digest"] != first


# --- uploads ---
@pytest.mark.parametrize(
    "name,data,declared",
    [
        ("photo.png", b"<html><script>alert(1)</script></html>", "image/png"),  # HTML as a PNG
        ("photo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml"),
        ("photo.png", b"PK\x03\x04" + b"\x00" * 64, "image/png"),  # an archive (zip bomb route)
        ("photo.png", PDF, "image/png"),  # a PDF is not accepted for a photo
    ],
)
def test_an_upload_is_typed_by_its_bytes(attacker, resident, senior, catalogue, name, data, declared):
    draft = catalogue.start_application(resident, senior)
    upload = SimpleUploadedFile(name, data, content_type=declared)
    response = attacker.post(
        f"/services/my/{draft.reference}/page/documents", {"form_version": draft.form_version.digest, "photo": upload}
    )
    assert response.status_code == 415
    assert Attachment.objects.count() == 0


def test_a_hostile_file_name_is_escaped_and_never_a_path(attacker, resident, senior, catalogue, settings):
    draft = catalogue.start_application(resident, senior)
    hostile = '../../<img src=x onerror=alert(1)>".png'
    upload = SimpleUploadedFile(hostile, PNG, content_type="image/png")
    response = attacker.post(
        f"/services/my/{draft.reference}/page/documents", {"form_version": draft.form_version.digest, "photo": upload}
    )
    assert response.status_code == 302
    doc = Attachment.objects.get()
    assert ".." not in doc.stored_name and "<" not in doc.stored_name
    assert (
        (settings.TUNGBAN_ESERVICES_FILES / doc.stored_name)
        .resolve()
        .is_relative_to(settings.TUNGBAN_ESERVICES_FILES.resolve())
    )
    for url in (f"/services/my/{draft.reference}/page/documents", f"/services/my/{draft.reference}/check"):
        html = attacker.get(url).content.decode()
        assert "<img src=x" not in html
    served = attacker.get(f"/services/my/{draft.reference}/document/{doc.pk}")
    assert served["Content-Type"] == "image/png"
    assert served["Content-Disposition"].startswith("attachment;") and "<" not in served["Content-Disposition"]
    assert served["X-Content-Type-Options"] == "nosniff"


def test_a_png_html_polyglot_is_served_as_an_image_download(attacker, resident, senior, catalogue):
    draft = catalogue.start_application(resident, senior)
    polyglot = PNG + b"<html><script>alert(1)</script></html>"
    upload = SimpleUploadedFile("p.html", polyglot, content_type="text/html")
    attacker.post(
        f"/services/my/{draft.reference}/page/documents", {"form_version": draft.form_version.digest, "photo": upload}
    )
    doc = Attachment.objects.get()
    served = attacker.get(f"/services/my/{draft.reference}/document/{doc.pk}")
    assert served["Content-Type"] == "image/png" and served["Content-Disposition"].startswith("attachment;")
    assert served["X-Content-Type-Options"] == "nosniff"


def test_answers_and_file_names_are_encrypted_at_rest(attacker, resident, senior, catalogue, settings):
    from django.db import connection

    draft = catalogue.start_application(resident, senior)
    fill_senior_card(catalogue, draft, resident)
    with connection.cursor() as cursor:
        cursor.execute("SELECT answers FROM eservices_application WHERE id = %s", [draft.pk])
        (answers,) = cursor.fetchone()
        cursor.execute("SELECT filename FROM eservices_attachment WHERE application_id = %s", [draft.pk])
        (filename,) = cursor.fetchone()
    assert "Nathan Road" not in answers and resident.hkid not in answers
    assert "me.png" not in filename
    for path in settings.TUNGBAN_ESERVICES_FILES.rglob("*"):
        if path.is_file():
            assert PNG[:8] not in path.read_bytes()


# --- malformed posts from a careless or hostile browser ---
@pytest.mark.parametrize("rows", ["abc", "1e9", "-5", ""])
def test_a_garbled_row_count_is_not_a_server_error(client, resident, catalogue, rows):
    service = Service.objects.get(slug="fire-service-installation-certificate")
    draft = catalogue.start_application(resident, service)
    _log_in(client, resident)
    page = next(p["id"] for p in catalogue.Definition.of(draft.form_version).pages if "installations" in p["fields"])
    response = client.post(
        f"/services/my/{draft.reference}/page/{page}",
        {"form_version": draft.form_version.digest, "installations__rows": rows, "action": "save"},
    )
    assert response.status_code in (302, 422), response.status_code


# --- CSRF on every state-changing page ---
def test_every_state_changing_page_needs_the_csrf_token(resident, senior, catalogue):
    browser = _log_in(Client(enforce_csrf_checks=True), resident)
    draft = catalogue.start_application(resident, senior)
    before = _snapshot(draft)
    ref = draft.reference
    for url in (
        f"/services/my/{ref}/page/applicant",
        f"/services/my/{ref}/check",
        f"/services/my/{ref}/withdraw",
        f"/services/my/{ref}/respond",
        f"/services/my/{ref}/sign",
        f"/services/my/{ref}/data/wsd.registered-address.v1",
        "/services/logout",
    ):
        assert browser.post(url, {"form_version": draft.form_version.digest, "family_name": "X"}).status_code == 403
    assert _snapshot(draft) == before
    assert browser.session.get(login.SESSION_KEY)  # the cross-site logout did not log out


# --- the portal's login ---
@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example", "javascript:alert(1)"],
)
def test_the_login_never_returns_to_another_site(client, catalogue, target, monkeypatch):
    from django.http import HttpResponseRedirect

    class Provider:  # the platform's authorization page is not what is tested here
        def authorize_redirect(self, request, redirect_uri, **params):
            return HttpResponseRedirect("/authorize")

    monkeypatch.setattr(login, "oauth_client", Provider)
    assert client.get("/services/login", {"next": target}).status_code == 302
    assert client.session[login.INTENT_KEY]["next"] == "/services/my/"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_forged_login_callback_is_refused_in_the_residents_language(client, catalogue, lang):
    """A callback with a state this browser never sent (login CSRF, a replayed link): refused
    with a message in the page's language, no raw library text, nobody logged in."""
    client.cookies["tungban_language"] = "zh-hant" if lang == "zh" else "en"
    response = client.get("/services/login/callback", {"code": "stolen", "state": "forged"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "CSRF Warning" not in html and "mismatching_state" not in html
    if lang == "zh":
        assert "登入未能完成" in html and "再試" in html
    else:
        assert "The login did not complete" in html and "try again" in html
    assert login.SESSION_KEY not in client.session


def test_login_cycles_the_session_key(client, resident, catalogue, rf):
    client.get("/services/login", {"next": "/services/my/"})  # a session exists before the login
    request = rf.get("/")
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore(client.session.session_key)
    request.session = store
    before = store.session_key
    login.log_in(request, resident, "sub")
    assert request.session.session_key != before


def test_only_first_party_clients_resolve_a_pairwise_sub(resident, catalogue):
    """A third-party client cannot use ``first_party_login``; the portal's own ``sub`` at
    another client's sector resolves nobody."""
    from tungban.oidc import services as oidc
    from tungban.oidc.models import Client as OidcClient
    from tungban.testing.factories import make_client

    portal.ensure_portal()
    third, _secret = make_client()
    theirs = oidc.pairwise_sub(resident, third)
    assert oidc.first_party_login(third.client_id, theirs) == (None, None)
    ours = oidc.pairwise_sub(resident, OidcClient.objects.get(client_id=portal.CLIENT_ID))
    assert ours != theirs
    assert oidc.first_party_login(portal.CLIENT_ID, ours)[0] == resident
    assert oidc.first_party_login(portal.CLIENT_ID, theirs) == (None, None)


# --- state machine ---
def test_two_tabs_submitting_make_one_submission(attacker, resident, senior, catalogue):
    draft = catalogue.start_application(resident, senior)
    fill_senior_card(catalogue, draft, resident)
    url = f"/services/my/{draft.reference}/check"
    first = attacker.post(url, {"form_version": draft.form_version.digest})
    second = attacker.post(url, {"form_version": draft.form_version.digest})
    assert first.status_code == second.status_code == 302
    assert ApplicationEvent.objects.filter(application=draft, action="submitted").count() == 1


def test_after_submission_pages_cannot_change_answers(attacker, resident, senior, catalogue):
    draft = catalogue.start_application(resident, senior)
    fill_senior_card(catalogue, draft, resident)
    catalogue.submit(draft, resident)
    before = _snapshot(draft)
    response = attacker.post(
        f"/services/my/{draft.reference}/page/applicant",
        {"form_version": draft.form_version.digest, "family_name": "EVIL"},
    )
    assert response.status_code == 302 and response["Location"] == f"/services/my/{draft.reference}/"
    assert _snapshot(draft) == before
    assert catalogue.withdraw(draft, resident).state == State.WITHDRAWN
    response = attacker.post(f"/services/my/{draft.reference}/withdraw", {"reason": "again"})
    assert response.status_code == 409


def test_an_information_request_is_answered_once(attacker, resident, senior, catalogue, swd_officer):
    draft = catalogue.start_application(resident, senior)
    fill_senior_card(catalogue, draft, resident)
    catalogue.submit(draft, resident)
    catalogue.request_information(draft, swd_officer, "Send a clearer photo.", "請提供較清晰的相片。")
    url = f"/services/my/{draft.reference}/respond"
    assert attacker.post(url, {"answer": "Here it is"}).status_code == 302
    second = attacker.post(url, {"answer": "And again", "documents": SimpleUploadedFile("x.pdf", PDF)})
    assert second.status_code == 409
    assert draft.information_requests.get().answer == "Here it is"
    assert Attachment.objects.filter(field="information").count() == 0


def test_plain_prefill_digests_already_stored_are_rekeyed(resident, senior, catalogue):
    """Migration 0002: a stored plain SHA-256 becomes the HMAC when the answer still matches
    (still ``verified``); otherwise no digest is kept and the record is ``resident_edited``."""
    from importlib import import_module

    from django.apps import apps

    from tungban.eservices.services.forms import digest as plain

    prefill = {
        "family_name": catalogue.PrefillValue("CHAN", "claim", "7"),
        "birthdate": catalogue.PrefillValue("1960-05-17", "claim", "7"),
    }
    draft = catalogue.start_application(resident, senior, prefill=prefill)
    legacy = {
        "family_name": {**draft.prefill["family_name"], "digest": plain("CHAN")},
        "birthdate": {**draft.prefill["birthdate"], "digest": plain("1999-01-01")},  # no longer the answer
    }
    Application.objects.filter(pk=draft.pk).update(prefill=legacy)
    import_module("tungban.eservices.migrations.0004_keyed_prefill_digests").rekey(apps, None)
    draft.refresh_from_db()
    assert draft.prefill["family_name"] == {**legacy["family_name"], "digest": catalogue.prefill_digest("CHAN")}
    assert draft.prefill["birthdate"]["digest"] == "" and draft.prefill["birthdate"]["status"] == "resident_edited"


@pytest.mark.parametrize("page", ["../../admin", "premises/x", "nope"])
def test_a_hostile_return_page_on_the_consent_page_is_not_a_server_error(client, resident, catalogue, page):
    """The consent page's ``?page=`` (where to go back) is the resident's to tamper with: a
    value that is not one of the form's pages goes back to the form's first page."""
    from tungban.exchange import catalogue as exchange_catalogue
    from tungban.oidc import services as oidc
    from tungban.oidc.models import Client as OidcClient

    exchange_catalogue.register_bundled({"wsd": "http://127.0.0.1:9"})
    portal.ensure_portal()
    sub = oidc.pairwise_sub(resident, OidcClient.objects.get(client_id=portal.CLIENT_ID))
    service = Service.objects.get(slug="fire-service-installation-certificate")
    draft = catalogue.start_application(resident, service, portal_sub=sub)
    _log_in(client, resident, sub=sub)
    asked = client.post(f"/services/my/{draft.reference}/data/wsd.registered-address.v1", {"page": page})
    assert asked.status_code == 302
    shown = client.get(asked["Location"])
    assert shown.status_code == 200
    assert f'href="/services/my/{draft.reference}/page/start"' in shown.content.decode()


def test_the_portal_login_lasts_while_the_resident_is_active(client, resident, catalogue):
    """``IDLE_SECONDS`` is an idle limit: each page moves the session's end on, so a resident
    filling a long form is not logged out (and the page they post lost) 30 minutes after the
    login."""
    import datetime as dt

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    session = client.session
    session[login.SESSION_KEY] = {"resident": str(resident.public_id), "sub": "sub-for-tests"}
    session.set_expiry(login.IDLE_SECONDS)
    session.save()
    soon = timezone.now() + dt.timedelta(seconds=60)  # 29 minutes of filling in have passed
    Session.objects.filter(session_key=session.session_key).update(expire_date=soon)
    assert client.get("/services/my/").status_code == 200
    row = Session.objects.get(session_key=client.session.session_key)
    assert row.expire_date > timezone.now() + dt.timedelta(seconds=login.IDLE_SECONDS - 60)


def test_a_resident_post_larger_than_its_documents_is_refused_before_it_is_read(attacker, resident, senior, catalogue):
    """The resident's pages carry at most ``TUNGBAN_ESERVICES_MAX_FILES`` documents of
    ``TUNGBAN_ESERVICES_MAX_UPLOAD``: a body declared larger is refused by its
    ``Content-Length`` (the platform-wide 48 MB would let it be spooled first)."""
    from django.conf import settings

    draft = catalogue.start_application(resident, senior)
    limit = settings.TUNGBAN_ESERVICES_MAX_UPLOAD * settings.TUNGBAN_ESERVICES_MAX_FILES + 1024 * 1024
    assert limit < settings.TUNGBAN_MAX_REQUEST_BYTES
    response = attacker.post(
        f"/services/my/{draft.reference}/page/documents",
        {"form_version": draft.form_version.digest},
        CONTENT_LENGTH=str(limit + 1),
    )
    assert response.status_code == 413
    assert Attachment.objects.count() == 0


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_too_many_documents_in_an_answer_are_refused_and_nothing_is_kept(
    client, resident, senior, catalogue, swd_officer, settings, lang
):
    draft = catalogue.start_application(resident, senior)
    fill_senior_card(catalogue, draft, resident)
    catalogue.submit(draft, resident)
    catalogue.request_information(draft, swd_officer, "Send your papers.", "請提交文件。")
    _log_in(client, resident, lang=lang)
    documents = [SimpleUploadedFile(f"d{i}.pdf", PDF) for i in range(settings.TUNGBAN_ESERVICES_MAX_FILES + 1)]
    response = client.post(f"/services/my/{draft.reference}/respond", {"answer": "Here", "documents": documents})
    assert response.status_code == 422
    html = response.content.decode()
    expected = f"最多提交 {settings.TUNGBAN_ESERVICES_MAX_FILES} 份" if lang == "zh" else "at most 5 documents"
    assert expected in html
    assert Attachment.objects.filter(field="information").count() == 0
    draft.refresh_from_db()
    assert draft.state == State.INFORMATION_REQUESTED


def test_answers_for_a_hidden_page_or_unknown_fields_are_not_stored(attacker, resident, senior, catalogue):
    """``office`` is shown only when the card is collected at an office: posting it while
    the card goes to the app, or posting fields the page does not have, stores nothing."""
    draft = catalogue.start_application(resident, senior)
    catalogue.save_draft(draft, resident, {"collection": "app"}, page="card")
    hidden = attacker.post(
        f"/services/my/{draft.reference}/page/office", {"form_version": draft.form_version.digest, "office": "x"}
    )
    assert hidden.status_code == 302 and "/page/office" not in hidden["Location"]
    extra = attacker.post(
        f"/services/my/{draft.reference}/page/card",
        {"form_version": draft.form_version.digest, "collection": "app", "office": "x", "is_admin": "1"},
    )
    assert extra.status_code == 302
    draft.refresh_from_db()
    assert draft.get_answers() == {"collection": "app"}


def test_a_third_party_client_cannot_open_a_signing_request_without_a_login(resident, catalogue):
    from tungban.core.errors import DomainError
    from tungban.signing import services as signing
    from tungban.testing.factories import make_client

    third, _secret = make_client()
    with pytest.raises(DomainError) as caught:
        signing.create_request_for(third.client_id, resident, [])
    assert caught.value.code == "signing_not_allowed"
