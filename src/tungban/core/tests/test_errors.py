"""The error kernel: codes declared once with DomainError.define, and the API kit's schema."""

from __future__ import annotations

import types

import pytest
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from tungban.core.api import ErrorOut, error_catalogue, error_responses, tag
from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound, declared_errors

errors = types.ModuleType("sample_errors")
errors.NoThing = NotFound.define("no_thing", _("This request does not exist."))
errors.BadKey = DomainError.define("bad_key", "The key is bad.", field="key")
errors.TooMany = DomainError.define("too_many", "At most %(n)d, not %(got)d.", status=413)
errors.Taken = Conflict.define("taken", "Taken.")


def test_a_declared_error_is_a_subclass_with_its_code_status_and_message():
    error = errors.NoThing()
    assert isinstance(error, NotFound) and isinstance(error, DomainError)
    with translation.override("en"):
        assert (error.code, error.status, str(error.message), error.field) == (
            "no_thing",
            404,
            "This request does not exist.",
            None,
        )
    assert errors.NoThing.__name__ == "NoThing"
    with pytest.raises(errors.NoThing):
        raise errors.NoThing()
    with pytest.raises(NotFound):
        raise errors.NoThing()
    assert not issubclass(errors.Taken, Forbidden)


def test_raise_sites_override_message_field_status_and_add_details():
    assert errors.BadKey().field == "key"
    assert errors.BadKey(field=None).field is None
    assert errors.BadKey(field="other").field == "other"
    error = errors.BadKey("Another text.", status=401, details={"max_age": 5})
    assert (str(error.message), error.status, errors.BadKey.status) == ("Another text.", 401, 400)
    assert error.as_dict() == {
        "error": "bad_key",
        "message": "Another text.",
        "field": "key",
        "details": {"max_age": 5},
    }
    assert str(errors.TooMany(n=3, got=7).message) == "At most 3, not 7."
    assert errors.TooMany().status == 413


def test_messages_are_translated_when_raised_in_the_request_language():
    with translation.override("zh-hant"):
        zh = str(errors.NoThing().message)
    assert zh != "This request does not exist." and zh  # the existing zh-Hant msgid still matches


def test_codes_must_be_snake_case_and_unique_per_module():
    with pytest.raises(ValueError):
        DomainError.define("Bad-Code", "x")
    duplicated = types.ModuleType("dup")
    duplicated.A = DomainError.define("same", "a")
    duplicated.B = DomainError.define("same", "b")
    with pytest.raises(ValueError, match="same"):
        declared_errors(duplicated)
    assert [e.code for e in declared_errors(errors)] == ["no_thing", "bad_key", "too_many", "taken"]


def test_catalogue_and_tag_publish_the_codes_in_english():
    with translation.override("zh-hant"):
        catalogue = error_catalogue(errors)
    assert catalogue[0] == {"code": "no_thing", "status": 404, "message": "This request does not exist."}
    published = tag("sample", "A sample app.", errors)
    assert published["x-error-codes"] == catalogue
    assert "| `too_many` | 413 |" in published["description"]


def test_error_responses_and_the_schema():
    assert error_responses(404, 401) == {401: ErrorOut, 404: ErrorOut}
    with pytest.raises(ValueError):
        error_responses(418)
    body = errors.BadKey(details={"a": 1}).as_dict()
    assert ErrorOut(**body).model_dump() == body
