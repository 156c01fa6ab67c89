"""Profile fields are bounded and refuse NUL, control characters and lone surrogates
(issue 13 item 11): a clear 422 in the API, nothing stored, never a 500."""

from __future__ import annotations

import pytest

from tungban.core.errors import DomainError
from tungban.identity import services
from tungban.identity.models import Resident
from tungban.testing.factories import PIN, bind_cli, make_resident, valid_hkid
from tungban.wallet.client import AppError

BAD = [
    ("residential_address", "Flat 1\ud800, Nathan Road", "invalid_characters"),  # lone surrogate
    ("residential_address", "Flat 1\x00, Nathan Road", "invalid_characters"),  # NUL
    ("billing_address", "Flat 1\x1b[31m", "invalid_characters"),  # terminal escape
    ("phone", "+852 \u202e9876", "invalid_characters"),  # bidi override
    ("residential_address", "A" * 301, "text_too_long"),
    ("email", "a" * 250 + "@example.org", "text_too_long"),
    ("phone", "1" * 21, "text_too_long"),
]


@pytest.mark.parametrize("field, value, code", BAD)
def test_profile_update_refuses_bad_text_with_422(issuer, resident, app_home, field, value, code):
    app = bind_cli(issuer, resident, app_home)
    before = Resident.objects.values(field).get(pk=resident.pk)
    with pytest.raises(AppError) as err:
        app._call("PATCH", "/api/v1/wallet/me", {field: value}, device_key=app.load_key(PIN))
    assert (err.value.code, err.value.status) == (code, 422)
    assert Resident.objects.values(field).get(pk=resident.pk) == before


def test_twenty_megabyte_address_refused(issuer, resident, app_home):
    app = bind_cli(issuer, resident, app_home)
    with pytest.raises(AppError) as err:
        app._call("PATCH", "/api/v1/wallet/me", {"residential_address": "x" * (20 * 1024 * 1024)}, app.load_key(PIN))
    assert err.value.status in (413, 422)


def test_addresses_keep_their_lines(resident):
    services.update_contact(resident, residential_address="Flat 1A\r\n8 Nathan Road\nKowloon")
    resident.refresh_from_db()
    assert resident.residential_address == "Flat 1A\n8 Nathan Road\nKowloon"


def test_names_are_bounded_at_registration(officer):
    with pytest.raises(DomainError) as err:
        make_resident(officer, name_zh="陳" * 21)
    assert (err.value.code, err.value.field, err.value.status) == ("text_too_long", "name_zh", 422)
    with pytest.raises(DomainError) as err:
        make_resident(officer, hkid=valid_hkid("B"), given_name_en="Tai\x00Man")
    assert (err.value.code, err.value.field) == ("invalid_characters", "given_name_en")
    assert not Resident.objects.exists()


def test_self_registration_api_refuses_bad_text(issuer, db):
    import requests

    r = requests.post(
        issuer + "/api/v1/wallet/registrations",
        json={
            "hkid": valid_hkid("K"),
            "family_name_en": "LEE",
            "given_name_en": "Ka\ud800Yan",
            "date_of_birth": "1985-11-20",
            "gender": "female",
        },
        headers={"Accept-Language": "en"},
    )
    assert r.status_code == 422 and r.json()["error"] == "invalid_characters"
    assert r.json()["field"] == "given_name_en" and "Given name" in r.json()["message"]
