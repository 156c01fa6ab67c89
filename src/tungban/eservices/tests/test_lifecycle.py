"""An application's life through the services (issue 17, "Lifecycle" and "Bad input"): every
transition recorded, every refusal a declared error that stores nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tungban.core.errors import DomainError
from tungban.credentials.models import Credential
from tungban.eservices.models import Application, ApplicationEvent, Attachment, PageProgress, Service, State
from tungban.eservices.tests.helpers import PDF, PNG, department_user, fill_senior_card, jpeg_bytes, pay
from tungban.testing.factories import make_resident


@pytest.fixture
def senior_service(catalogue):
    return Service.objects.get(slug="senior-citizen-card")


def _prefill(services, resident):
    return {
        "family_name": services.PrefillValue("CHAN", "claim", "release-1"),
        "given_name": services.PrefillValue("Tai Man", "claim", "release-1"),
        "birthdate": services.PrefillValue("1960-05-17", "claim", "release-1"),
        "hkid": services.PrefillValue(resident.hkid_display, "claim", "release-1"),
    }


def _code(call) -> str:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.code


def test_start_records_prefill_sources_and_is_idempotent(catalogue, senior_service, resident):
    s = catalogue
    app = s.start_application(resident, senior_service, prefill=_prefill(s, resident), idempotency_key="k1")
    again = s.start_application(resident, senior_service, prefill=_prefill(s, resident), idempotency_key="k1")
    assert again.pk == app.pk and Application.objects.count() == 1
    assert app.state == State.DRAFT and app.form_version.number == 1
    assert app.get_answers()["hkid"] == resident.hkid  # canonical form
    record = app.prefill["hkid"]
    assert record["source"] == "claim" and record["ref"] == "release-1" and record["status"] == "verified"
    assert record["digest"] == s.prefill_digest(resident.hkid)
    assert "A1" not in str(app.prefill)  # digests and ids only, never the values
    assert app.draft_expires_at > timezone.now() + dt.timedelta(days=29)
    assert [e.action for e in app.events.all()] == ["started"]
    assert PageProgress.objects.filter(application=app, page="applicant").exists()


def test_the_whole_senior_card_flow_issues_the_licence(catalogue, senior_service, resident, swd_officer, swd_approver):
    s = catalogue
    app = s.start_application(resident, senior_service, prefill=_prefill(s, resident))
    fill_senior_card(s, app, resident)
    app = s.submit(app, resident, version_digest=app.form_version.digest)
    assert app.state == State.SUBMITTED and app.pledge_due is not None
    assert app.pledge_due.weekday() < 5 and app.prefill["family_name"]["status"] == "verified"
    assert s.submit(app, resident).state == State.SUBMITTED  # a double submission: one application
    assert app.events.filter(action="submitted").count() == 1

    request = s.request_information(app, swd_officer, "Please send a clearer photo.", "請提供較清晰的相片。")
    app.refresh_from_db()
    assert app.state == State.INFORMATION_REQUESTED and app.assigned_to == swd_officer
    s.respond_to_information(app, resident, "Here it is.", [("clear.jpg", jpeg_bytes())])
    request.refresh_from_db()
    assert request.answer == "Here it is." and request.attachments.get().content_type == "image/jpeg"

    app = s.approve(app, swd_approver)
    assert app.state == State.LICENCE_ISSUED
    credential = Credential.objects.get(pk=app.credential_id)
    assert credential.holder == resident and credential.credential_type_id == "senior-citizen-card"
    assert credential.issued_by == f"eservices:{app.reference}"
    actions = [(e.action, e.actor_kind) for e in app.events.all()]
    assert actions == [
        ("started", "resident"),
        ("submitted", "resident"),
        ("review_started", "officer"),
        ("information_requested", "officer"),
        ("information_provided", "resident"),
        ("approved", "officer"),
        ("licence_issued", "system"),
    ]
    assert s.issue_licence(app).credential_id == app.credential_id  # issuing again: no second licence
    assert Credential.objects.filter(holder=resident).count() == 1


def test_a_forged_prefilled_value_is_recorded_as_resident_edited(catalogue, senior_service, resident):
    s = catalogue
    app = s.start_application(resident, senior_service, prefill=_prefill(s, resident))
    fill_senior_card(s, app, resident)
    s.save_draft(app, resident, {"birthdate": "1950-01-01"})  # not the released value
    app = s.submit(app, resident)
    assert app.prefill["birthdate"]["status"] == "resident_edited"
    assert app.prefill["family_name"]["status"] == "verified"
    # changing it back does not make it verified again
    app2 = s.start_application(make_resident(), senior_service, prefill=_prefill(s, resident))
    s.save_draft(app2, app2.resident, {"family_name": "WONG"})
    app2 = s.save_draft(app2, app2.resident, {"family_name": "CHAN"})[0]
    assert app2.prefill["family_name"]["status"] == "resident_edited"


def test_invalid_answers_store_nothing(catalogue, senior_service, resident):
    s = catalogue
    app = s.start_application(resident, senior_service)
    with pytest.raises(DomainError) as caught:
        s.save_draft(
            app, resident, {"family_name": "CHAN", "given_name": "Tai Man", "hkid": "A123456(7)"}, page="applicant"
        )
    assert caught.value.code == "form_invalid"
    fields = {e["field"] for e in caught.value.details["errors"]}
    assert {"hkid", "birthdate", "phone"} <= fields
    assert all(e["message_zh"] and e["message_en"] for e in caught.value.details["errors"])
    app.refresh_from_db()
    assert app.get_answers() == {}
    assert _code(lambda: s.submit(app, resident)) == "form_invalid"
    app.refresh_from_db()
    assert app.state == State.DRAFT and app.events.count() == 1


def test_a_stale_form_version_is_refused(catalogue, senior_service, resident):
    s = catalogue
    app = s.start_application(resident, senior_service)
    assert _code(lambda: s.save_draft(app, resident, {}, page="card", version_digest="0" * 64)) == "stale_form_version"
    assert _code(lambda: s.submit(app, resident, version_digest="0" * 64)) == "stale_form_version"
    assert _code(lambda: s.start_application(resident, senior_service, version_digest="f" * 64)) == "stale_form_version"


def test_uploads_are_checked_from_their_bytes(catalogue, senior_service, resident, settings):
    s = catalogue
    app = s.start_application(resident, senior_service)
    assert _code(lambda: s.add_attachment(app, resident, "photo", "photo.png", PDF)) == "file_type_refused"
    assert _code(lambda: s.add_attachment(app, resident, "photo", "photo.png", b"")) == "file_empty"
    big = PNG + b"\x00" * (2 * 1024 * 1024)
    assert _code(lambda: s.add_attachment(app, resident, "photo", "big.png", big)) == "file_too_large"
    assert _code(lambda: s.add_attachment(app, resident, "family_name", "x.png", PNG)) == "form_invalid"
    assert Attachment.objects.count() == 0
    doc = s.add_attachment(app, resident, "photo", "photo.png", PNG)
    assert doc.content_type == "image/png" and doc.size == len(PNG)
    stored = (settings.TUNGBAN_ESERVICES_FILES / doc.stored_name).read_bytes()
    assert PNG not in stored and b"PNG" not in stored  # encrypted at rest
    assert s.read_attachment(doc) == PNG


def test_officers_act_only_for_their_department(catalogue, senior_service, resident, swd_officer):
    s = catalogue
    app = s.start_application(resident, senior_service)
    fill_senior_card(s, app, resident)
    app = s.submit(app, resident)
    fsd = department_user("fsd-approver", "FSD", "approver")
    assert _code(lambda: s.request_information(app, fsd, "x", "x")) == "not_department_officer"
    assert _code(lambda: s.approve(app, fsd)) == "not_department_officer"
    assert _code(lambda: s.approve(app, swd_officer)) == "not_department_approver"
    assert _code(lambda: s.reject(app, swd_officer, "", "")) == "reason_required"
    app.refresh_from_db()
    assert app.state == State.SUBMITTED and app.events.count() == 2


def test_a_second_approval_needs_another_approver(catalogue, resident):
    s = catalogue
    service = Service.objects.get(slug="temporary-hawker-licence")
    app = s.start_application(resident, service)
    s.save_draft(
        app,
        resident,
        {"family_name": "CHAN", "given_name": "Tai Man", "hkid": resident.hkid, "phone": "91234567"},
        page="applicant",
    )
    s.save_draft(
        app,
        resident,
        {"trade": "flowers", "pitch_district": "victoria-park", "start_date": "2027-02-01", "has_assistants": False},
        page="stall",
    )
    photo = s.add_attachment(app, resident, "photo", "me.png", PNG)
    s.save_draft(app, resident, {"photo": str(photo.id)}, page="documents")
    s.save_draft(app, resident, {"declaration": True}, page="declaration")
    app = s.submit(app, resident)
    assert app.state == State.AWAITING_PAYMENT  # the licence fee (issue 18: HK$350)
    assert _code(lambda: s.approve(app, department_user("fehd-0", "FEHD", "approver"))) == "transition_not_allowed"
    app = pay(app)
    assert app.state == State.PAID and app.events.filter(action="paid").count() == 1
    first = department_user("fehd-1", "FEHD", "approver")
    second = department_user("fehd-2", "FEHD", "approver")
    app = s.approve(app, first)
    assert app.state == State.IN_REVIEW and app.first_approved_by == first
    assert _code(lambda: s.approve(app, first)) == "same_approver"
    app = s.approve(app, second)
    assert app.state == State.LICENCE_ISSUED
    cred = Credential.objects.get(pk=app.credential_id)
    assert cred.credential_type_id == "temporary-hawker-licence"


def test_transitions_not_allowed_are_refused(catalogue, senior_service, resident, swd_officer, swd_approver):
    s = catalogue
    app = s.start_application(resident, senior_service)
    assert _code(lambda: s.approve(app, swd_approver)) == "transition_not_allowed"
    assert _code(lambda: s.respond_to_information(app, resident, "x")) == "no_information_request"
    assert _code(lambda: s.respond_to_information(app, resident, " ")) == "answer_required"
    fill_senior_card(s, app, resident)
    app = s.submit(app, resident)
    app = s.reject(app, swd_officer, "Not eligible.", "不符合資格。")
    assert app.state == State.REJECTED
    assert _code(lambda: s.withdraw(app, resident)) == "transition_not_allowed"
    assert _code(lambda: s.save_draft(app, resident, {})) == "not_editable"
    assert _code(lambda: s.approve(app, swd_approver)) == "transition_not_allowed"
    event = app.events.get(action="rejected")
    assert (event.reason_en, event.reason_zh) == ("Not eligible.", "不符合資格。")


def test_another_residents_application_is_unknown(catalogue, senior_service, resident):
    s = catalogue
    app = s.start_application(resident, senior_service)
    other = make_resident()
    assert _code(lambda: s.save_draft(app, other, {})) == "application_unknown"
    assert _code(lambda: s.withdraw(app, other)) == "application_unknown"


def test_withdraw_and_expire(catalogue, senior_service, resident):
    s = catalogue
    app = s.start_application(resident, senior_service)
    assert s.withdraw(app, resident, reason="Changed my mind").state == State.WITHDRAWN
    old = s.start_application(resident, senior_service)
    s.add_attachment(old, resident, "photo", "p.png", PNG)
    Application.objects.filter(pk=old.pk).update(draft_expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert _code(lambda: s.save_draft(old, resident, {})) == "draft_expired"
    assert s.expire_drafts() == 1
    old.refresh_from_db()
    assert old.state == State.EXPIRED and old.get_answers() == {} and not old.attachments.exists()
    assert ApplicationEvent.objects.filter(application=old, action="expired", actor_kind="system").exists()


def test_a_resident_too_young_is_told_before_filling(catalogue, senior_service):
    young = make_resident(date_of_birth=dt.date(1990, 1, 1))
    with pytest.raises(DomainError) as caught:
        catalogue.start_application(young, senior_service)
    assert caught.value.code == "age_not_eligible" and "65" in str(caught.value.message)


def test_a_replaced_document_is_not_kept_after_submission(catalogue, senior_service, resident, settings):
    s = catalogue
    app = s.start_application(resident, senior_service)
    first = s.add_attachment(app, resident, "photo", "old.png", PNG)
    fill_senior_card(s, app, resident)  # uploads and chooses another photo
    app = s.submit(app, resident)
    chosen = app.get_answers()["photo"]
    assert [str(a.id) for a in app.attachments.all()] == [chosen] and str(first.id) != chosen
