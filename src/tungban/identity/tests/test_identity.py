import datetime as dt

import pytest

from tungban.core.errors import Conflict, DomainError
from tungban.identity import hkid, services
from tungban.identity.models import GuardianConsent, PopulationRecord, Resident
from tungban.identity.services import Guardian
from tungban.testing.factories import make_resident, valid_hkid


@pytest.mark.parametrize(
    "raw, canonical",
    [
        ("A123456(3)", "A1234563"),
        ("a123456 3", "A1234563"),
        ("G123456(A)", "G123456A"),
        ("AB987654(3)", "AB9876543"),
        ("C668668(9)", "C6686689"),
    ],
)
def test_hkid_valid(raw, canonical):
    assert hkid.normalize(raw) == canonical


@pytest.mark.parametrize("raw", ["A123456(4)", "G123456(0)", "AB987654(A)"])
def test_hkid_wrong_check_digit(raw):
    with pytest.raises(DomainError) as err:
        hkid.normalize(raw)
    assert err.value.code == "hkid_check_digit"


@pytest.mark.parametrize("raw", ["", "123456(3)", "ABC123456(3)", "A12345(3)", "A123456(B)"])
def test_hkid_bad_format(raw):
    with pytest.raises(DomainError) as err:
        hkid.normalize(raw)
    assert err.value.code == "hkid_format"


def test_hkid_display_and_mask():
    assert hkid.display("A1234563") == "A123456(3)"
    assert "456" not in hkid.masked("A1234563")


def _years_ago(years, days=0):
    today = dt.date.today()
    return today.replace(year=today.year - years) - dt.timedelta(days=days)


def test_counter_registration_is_plus_and_proofed_in_person(officer):
    r = make_resident(officer)
    assert r.tier == "plus" and r.proofing_method == "counter_in_person" and r.proofed_by == officer
    assert r.audit_events.filter(action="registered").exists()


def test_under_11_refused_and_nothing_stored(officer):
    with pytest.raises(DomainError) as err:
        make_resident(officer, date_of_birth=_years_ago(11, days=-1))
    assert err.value.code == "too_young"
    assert Resident.objects.count() == 0


def test_minor_needs_guardian(officer):
    with pytest.raises(DomainError) as err:
        make_resident(officer, date_of_birth=_years_ago(15))
    assert err.value.code == "guardian_required"
    assert Resident.objects.count() == 0
    r = make_resident(officer, date_of_birth=_years_ago(15), guardian=Guardian("CHAN Siu Ming", "A123456(3)", "father"))
    consent = GuardianConsent.objects.get(resident=r)
    assert consent.guardian_hkid == "A1234563" and consent.recorded_by == officer


def test_minor_guardian_hkid_checked(officer):
    with pytest.raises(DomainError) as err:
        make_resident(officer, date_of_birth=_years_ago(12), guardian=Guardian("X", "A123456(4)", "mother"))
    assert err.value.code == "hkid_check_digit"
    assert Resident.objects.count() == 0


def test_one_hkid_one_account(officer):
    r = make_resident(officer)
    with pytest.raises(Conflict) as err:
        make_resident(officer, hkid=hkid.display(r.hkid).lower())
    assert err.value.code == "hkid_taken"
    assert Resident.objects.count() == 1


def test_wrong_check_digit_stores_nothing(officer):
    with pytest.raises(DomainError):
        make_resident(officer, hkid="A123456(4)")
    assert Resident.objects.count() == 0


@pytest.fixture
def register_entry(db):
    return PopulationRecord.objects.create(
        hkid=valid_hkid("K"),
        family_name_en="LEE",
        given_name_en="Ka Yan",
        name_zh="李嘉欣",
        date_of_birth=dt.date(1985, 11, 20),
        gender="female",
    )


def _claimed(entry, **over):
    data = dict(
        hkid=entry.hkid,
        family_name_en="lee",
        given_name_en="KA  YAN",
        name_zh="李嘉欣",
        date_of_birth=entry.date_of_birth,
        gender="female",
    )
    data.update(over)
    return data


def test_self_registration_proofed_against_register(register_entry):
    r = services.self_register(**_claimed(register_entry))
    assert r.tier == "basic" and r.proofing_method == "population_register" and r.proofed_by is None


@pytest.mark.parametrize("field, value", [("family_name_en", "LEUNG"), ("date_of_birth", dt.date(1985, 11, 21))])
def test_self_registration_mismatch_refused(register_entry, field, value):
    with pytest.raises(DomainError) as err:
        services.self_register(**_claimed(register_entry, **{field: value}))
    assert err.value.code == "proofing_failed"
    assert Resident.objects.count() == 0


def test_self_registration_not_in_register(db):
    with pytest.raises(DomainError) as err:
        services.self_register(
            hkid=valid_hkid("Z"),
            family_name_en="A",
            given_name_en="B",
            date_of_birth=dt.date(1990, 1, 1),
            gender="male",
        )
    assert err.value.code == "proofing_failed"


def test_suspend_and_reinstate(resident, officer):
    services.set_status(resident, "suspended", reason="lost card", actor=officer)
    with pytest.raises(DomainError) as err:
        services.require_active(resident)
    assert err.value.code == "account_suspended"
    services.set_status(resident, "active", actor=officer)
    services.require_active(resident)


def test_update_contact_validates(resident):
    with pytest.raises(DomainError) as err:
        services.update_contact(resident, email="not-an-email")
    assert err.value.code == "invalid_email"
    services.update_contact(resident, phone="+852 2345 6789")
    resident.refresh_from_db()
    assert resident.phone == "+852 2345 6789"
