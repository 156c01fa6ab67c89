"""Submitting: every bad input is refused before anything is stored; attachments; idempotency."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from tungban.hotline import errors
from tungban.hotline.models import Case, CaseAttachment, CaseEvent, CaseType
from tungban.hotline.services import attachments

from .conftest import PDF, PNG, lamp_case


def _rows():
    return (Case.objects.count(), CaseEvent.objects.count(), CaseAttachment.objects.count())


BAD = [
    ({"case_type": "no-such-type"}, errors.UnknownCaseType),
    ({"kind": "rant"}, errors.UnknownKind),
    ({"description": "   "}, errors.DescriptionRequired),
    ({"description": "x" * 5001}, errors.DescriptionTooLong),
    ({"attribute_values": {"fault": "out"}}, errors.AttributeRequired),
    ({"attribute_values": {"lamp_post": "E1", "fault": "melted"}}, errors.AttributeInvalid),
    ({"attribute_values": {"lamp_post": "E1", "fault": ["out"]}}, errors.AttributeInvalid),
    ({"attribute_values": {"lamp_post": "E1", "fault": "out", "colour": "red"}}, errors.AttributeInvalid),
    ({"attribute_values": {"lamp_post": "E" * 201, "fault": "out"}}, errors.AttributeInvalid),
    ({"attribute_values": {"lamp_post": "E1", "fault": "out", "count": "three"}}, errors.AttributeInvalid),
    ({"attribute_values": {"lamp_post": "E1", "fault": "out", "count": "NaN"}}, errors.AttributeInvalid),
    ({"attribute_values": {"lamp_post": "E1", "fault": "out", "seen_at": "yesterday"}}, errors.AttributeInvalid),
    ({"attribute_values": {"lamp_post": "E1", "fault": "out", "also": "noise,fire"}}, errors.AttributeInvalid),
    ({"address": "", "district": ""}, errors.LocationRequired),
    ({"district": "gotham"}, errors.InvalidLocation),
    ({"lat": "22.28"}, errors.InvalidLocation),
    ({"lat": "91", "long": "114.1"}, errors.InvalidLocation),
    ({"lat": "22.3", "long": "-181"}, errors.InvalidLocation),
    ({"lat": "north", "long": "114.1"}, errors.InvalidLocation),
    ({"address": "x" * 501}, errors.InvalidLocation),
    ({"contact": {"email": "not-an-address"}}, errors.ContactInvalid),
    ({"contact": {"phone": "call me"}}, errors.ContactInvalid),
    ({"contact": {"name": "n" * 201}}, errors.ContactInvalid),
    ({"contact": {"fax": "123"}}, errors.ContactInvalid),
    ({"attachments": [("a.png", PNG)] * 6}, errors.TooManyAttachments),
    ({"attachments": [("a.png", b"")]}, errors.AttachmentEmpty),
    ({"attachments": [("a.exe", b"MZ\x90\x00" + b"\x00" * 200)]}, errors.AttachmentType),
    ({"attachments": [("a.txt", b"plain text pretending")]}, errors.AttachmentType),
    ({"service_slug": "no-such-service"}, errors.UnknownService),
]


@pytest.mark.parametrize(("change", "error"), BAD)
def test_bad_input_is_refused_and_nothing_is_stored(hotline, change, error):
    before = _rows()
    with pytest.raises(error) as caught:
        lamp_case(**change)
    assert _rows() == before
    assert caught.value.code == error.code


def test_inactive_case_type_is_refused(hotline):
    CaseType.objects.filter(code="street-light-fault").update(active=False)
    with pytest.raises(errors.UnknownCaseType):
        lamp_case()
    assert Case.objects.count() == 0


def test_errors_speak_both_languages(hotline):
    from django.utils import translation

    texts = {}
    for language in ("en", "zh-hant"):
        with translation.override(language):
            with pytest.raises(errors.AttributeInvalid) as caught:
                lamp_case(attribute_values={"lamp_post": "E1", "fault": "melted"})
            texts[language] = str(caught.value.message)
    assert texts["en"] == "The answer to “What is wrong” is not valid: not one of the choices"
    assert texts["zh-hant"] == "「問題」的答案無效：不是其中一個選項"


@override_settings(TUNGBAN_HOTLINE_MAX_ATTACHMENT_BYTES=1024)
def test_attachment_too_large_judged_before_reading(hotline):
    upload = SimpleUploadedFile("big.png", PNG + b"\x00" * 2000, content_type="image/png")
    with pytest.raises(errors.AttachmentTooLarge) as caught:
        lamp_case(attachments=[upload])
    assert caught.value.status == 413
    assert Case.objects.count() == 0


def test_attachments_are_stored_encrypted_and_read_back(hotline, settings):
    upload = SimpleUploadedFile("lamp.png", PNG, content_type="image/png")
    case, _ = lamp_case(attachments=[upload, ("letter.pdf", PDF)])
    stored = list(case.attachments.order_by("content_type"))
    assert [a.content_type for a in stored] == ["application/pdf", "image/png"]
    assert {a.filename for a in stored} == {"lamp.png", "letter.pdf"}
    for a in stored:
        raw = (settings.TUNGBAN_HOTLINE_FILES / a.stored_name).read_bytes()
        plain = attachments.read(a)
        assert plain in (PNG, PDF) and plain not in raw
        assert raw.startswith(b"a1:")


def test_attribute_answers_are_normalised(hotline):
    case, _ = lamp_case(
        attribute_values={
            "lamp_post": " E9 ",
            "fault": "flicker",
            "count": "2.50",
            "seen_at": "2026-12-01T20:15:00+08:00",
            "also": "leaning,noise",
        }
    )
    assert case.get_attribute_values() == {
        "also": ["leaning", "noise"],
        "count": "2.50",
        "fault": "flicker",
        "lamp_post": "E9",
        "seen_at": "2026-12-01T20:15:00+08:00",
    }


def test_location_kept_to_six_decimals(hotline):
    case, _ = lamp_case(lat="22.2783151", long=114.1747)
    case.refresh_from_db()
    assert str(case.lat) == "22.278315" and str(case.long) == "114.174700"


def test_idempotency_returns_the_same_case(hotline, resident):
    first, code = lamp_case(resident=resident, idempotency_key="k-1")
    before = _rows()
    again, code2 = lamp_case(resident=resident, idempotency_key="k-1", description="different words")
    assert again.pk == first.pk and code is None and code2 is None
    assert _rows() == before
    other, _ = lamp_case(resident=resident, idempotency_key="k-2")
    assert other.pk != first.pk


def test_anonymous_idempotency_needs_a_submitter_key(hotline):
    a, code = lamp_case(idempotency_key="same", submitter_key="anon:abc")
    b, code_b = lamp_case(idempotency_key="same", submitter_key="anon:abc")
    c, _ = lamp_case(idempotency_key="same", submitter_key="anon:def")
    assert a.pk == b.pk and code and code_b is None and c.pk != a.pk


def test_personal_data_is_encrypted_at_rest(hotline):
    from django.db import connection

    case, _ = lamp_case(contact={"name": "Chan Tai Man", "email": "tm@example.hk", "phone": "+852 9123 4567"})
    with connection.cursor() as cur:
        cur.execute(
            "SELECT description, contact_email, address FROM hotline_case WHERE reference = %s", [case.reference]
        )
        row = cur.fetchone()
    assert "Hennessy" not in row[0] and "tm@example.hk" not in row[1] and "Hennessy" not in row[2]
