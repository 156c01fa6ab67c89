"""The forms engine (issue 17, "Forms"): JSON Schema 2020-12 plus the kinds residents expect,
conditional pages, repeatable groups, declarations; one message per field in both languages."""

from __future__ import annotations

import pytest

from tungban.eservices.models import Service
from tungban.eservices.services import Definition


@pytest.fixture
def senior(catalogue):
    return Definition.of(Service.objects.get(slug="senior-citizen-card").form.current_version())


@pytest.fixture
def hawker(catalogue):
    return Definition.of(Service.objects.get(slug="temporary-hawker-licence").form.current_version())


def _by_field(errors):
    return {e.field: e for e in errors}


def test_every_missing_required_field_is_named_in_both_languages(senior):
    errors = _by_field(senior.validate(senior.clean({})))
    assert {"family_name", "hkid", "birthdate", "phone", "address", "collection", "photo", "declaration"} <= set(errors)
    assert errors["hkid"].message_en.startswith("HKID number:")
    assert errors["hkid"].message_zh.startswith("香港身份證號碼")
    assert errors["hkid"].message_en != errors["hkid"].message_zh


def test_hkid_check_digit_phone_and_date_are_checked_on_the_server(senior):
    answers = senior.clean({"hkid": "A123456(7)", "phone": "1234 5678", "birthdate": "1960-02-30"})
    errors = _by_field(senior.validate(answers, page="applicant"))
    assert "check digit" in errors["hkid"].message_en and "核對" in errors["hkid"].message_zh
    assert "8-digit" in errors["phone"].message_en
    assert "YYYY-MM-DD" in errors["birthdate"].message_en
    good = senior.clean(
        {
            "family_name": "CHAN",
            "given_name": "Tai Man",
            "hkid": "a123456 (3)",
            "phone": "+852 9123-4567",
            "birthdate": "1960-05-17",
        }
    )
    assert good["hkid"] == "A1234563" and good["phone"] == "91234567"
    assert senior.validate(good, page="applicant") == []


def test_a_declaration_must_be_ticked_and_an_unknown_field_is_refused(senior):
    errors = _by_field(senior.validate(senior.clean({"declaration": False, "is_admin": True})))
    assert "tick the box" in errors["declaration"].message_en
    assert "is_admin" in errors


def test_a_hidden_page_is_neither_required_nor_kept(senior):
    base = {"collection": "app", "office": "sha-tin"}
    assert "office" not in senior.clean(base)
    assert [p["id"] for p in senior.visible_pages(base)] == [
        "applicant",
        "address",
        "card",
        "documents",
        "declaration",
    ]
    shown = senior.visible_pages({"collection": "office"})
    assert "office" in [p["id"] for p in shown]
    errors = _by_field(senior.validate(senior.clean({"collection": "office", "office": "mars"})))
    assert "choose one of the options" in errors["office"].message_en


def test_repeatable_groups_name_the_item_at_fault(hawker):
    answers = hawker.clean(
        {"has_assistants": True, "assistants": [{"name": "WONG", "hkid": "A1234563"}, {"name": "", "hkid": "Z1"}]}
    )
    errors = _by_field(hawker.validate(answers, page="assistants"))
    assert set(errors) == {"assistants.1.name", "assistants.1.hkid"}
    assert errors["assistants.1.hkid"].message_en.startswith("Assistants 2 – HKID number")
    too_many = hawker.clean({"has_assistants": True, "assistants": [{"name": "A", "hkid": "A1234563"}] * 3})
    assert "at most 2" in _by_field(hawker.validate(too_many, page="assistants"))["assistants"].message_en
    assert hawker.validate(hawker.clean({"has_assistants": False}), page="stall") != []  # other stall fields
    assert "assistants" not in hawker.clean({"has_assistants": False, "assistants": [{"name": "A"}]})


def test_a_file_answer_must_be_one_of_the_applications_documents(senior):
    errors = _by_field(senior.validate({"photo": "123"}, page="documents", attachments={"photo": {"9"}}))
    assert "upload the document" in errors["photo"].message_en
    assert senior.validate({"photo": "9"}, page="documents", attachments={"photo": {"9"}}) == []
