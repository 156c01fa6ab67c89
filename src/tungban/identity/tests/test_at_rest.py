"""Personal data at rest (issue 13 item 10): the data directory is owner-only, HKID numbers
and e-ME contact data are encrypted, residents are found by a keyed hash, keys rotate, and
rows stored in clear before the change are encrypted by the migration."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection

from tungban.core import fields
from tungban.core.files import tighten
from tungban.identity import services
from tungban.identity.models import Resident
from tungban.testing.factories import make_resident, valid_hkid

SRC = str(Path(__file__).resolve().parents[3])


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_data_directory_and_database_are_owner_only(tmp_path):
    var = tmp_path / "var"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "TUNGBAN_SECRET_KEY", "TUNGBAN_UMASK") and not k.startswith("TUNGBAN_FIELD")
    }
    env.update(TUNGBAN_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="tungban.settings", PYTHONPATH=SRC)
    old = os.umask(0o022)  # what a shell usually has: the platform must not rely on it
    try:
        subprocess.run([sys.executable, "-m", "tungban.cli", "createcachetable"], env=env, check=True, timeout=120)
    finally:
        os.umask(old)
    assert _mode(var) == 0o700
    db = var / "tungban.sqlite3"
    assert db.exists()
    for path in [db, var / "secret_key", var / "field_encryption_key", var / "lookup_hash_key"]:
        assert _mode(path) == 0o600, path
    for path in var.rglob("*"):
        assert not _mode(path) & 0o077, path


def test_existing_world_readable_files_are_tightened(tmp_path):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys").chmod(0o755)
    loose = tmp_path / "keys" / "pin"
    loose.write_text("1234")
    loose.chmod(0o644)
    tmp_path.chmod(0o755)
    assert tighten(tmp_path) == 3
    assert (_mode(tmp_path), _mode(tmp_path / "keys"), _mode(loose)) == (0o700, 0o700, 0o600)


STORED = [
    "hkid",
    "hkid_hash",
    "family_name_en",
    "given_name_en",
    "name_zh",
    "date_of_birth",
    "residential_address",
    "billing_address",
    "phone",
    "email",
]


def _stored(resident) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(STORED)} FROM identity_resident WHERE id = %s", [resident.pk])
        return dict(zip(STORED, cursor.fetchone(), strict=True))


def test_hkid_and_contact_data_are_encrypted_and_found_by_keyed_hash(officer):
    r = make_resident(officer, residential_address="Flat 12A, 8 Nathan Road", phone="+852 9123 4567")
    r.email = "taiman@example.hk"
    r.save()
    raw = _stored(r)
    for name in ("hkid", "family_name_en", "given_name_en", "name_zh", "residential_address", "phone", "email"):
        assert getattr(r, name) not in raw[name] and raw[name].startswith(fields.PREFIX), name
    assert r.date_of_birth.isoformat() not in raw["date_of_birth"] and raw["date_of_birth"].startswith(fields.PREFIX)
    assert Resident.objects.get(pk=r.pk).date_of_birth == r.date_of_birth
    assert raw["hkid_hash"] == fields.lookup_hash(r.hkid) and r.hkid not in raw["hkid_hash"]
    found = services.get_by_hkid(r.hkid_display.lower())
    assert (found.pk, found.hkid, found.residential_address) == (r.pk, r.hkid, "Flat 12A, 8 Nathan Road")
    with pytest.raises(FieldError):  # a query on the encrypted column would silently find nothing
        list(Resident.objects.filter(hkid=r.hkid))


def test_one_account_per_hkid_through_the_hash(officer):
    r = make_resident(officer)
    with pytest.raises(services.errors.HkidTaken):
        make_resident(officer, hkid=r.hkid_display)


def test_key_rotation(officer, settings):
    r = make_resident(officer, residential_address="Flat 1")
    old_key = settings.TUNGBAN_FIELD_ENCRYPTION_KEYS[0]
    new_key = fields.generate_key()
    settings.TUNGBAN_FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    assert Resident.objects.get(pk=r.pk).residential_address == "Flat 1"  # old values still open
    call_command("reencrypt_fields", stdout=open(os.devnull, "w"))  # noqa: SIM115
    settings.TUNGBAN_FIELD_ENCRYPTION_KEYS = [new_key]
    again = Resident.objects.get(pk=r.pk)
    assert (again.residential_address, again.hkid) == ("Flat 1", r.hkid)
    settings.TUNGBAN_FIELD_ENCRYPTION_KEYS = [fields.generate_key()]
    with pytest.raises(fields.UnreadableValue):
        Resident.objects.get(pk=r.pk)  # never served as ciphertext


@pytest.mark.django_db(transaction=True)
def test_migration_encrypts_rows_stored_in_clear():
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("identity", "0001_initial")])
    hk = valid_hkid("E")
    from tungban.identity import seeding

    synthetic = seeding.synthetic_hkid(420)
    try:
        with connection.cursor() as cursor:
            for number in (hk, synthetic):
                cursor.execute(
                    "INSERT INTO identity_resident (public_id, hkid, family_name_en, given_name_en, name_zh,"
                    " date_of_birth, gender, tier, proofing_method, proofed_at, status, status_reason,"
                    " residential_address, billing_address, phone, email, created_at, updated_at) VALUES"
                    " (%s, %s, 'CHAN', 'Tai Man', '', '1958-03-14', 'male', 'plus', 'counter_in_person',"
                    " '2026-01-01 00:00:00', 'active', '', 'Flat 12A', '', '+852 9123 4567', 'a@example.hk',"
                    " '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                    [os.urandom(16).hex(), number],
                )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    r = Resident.objects.by_hkid(hk).get()
    assert (r.hkid, r.residential_address, r.phone) == (hk, "Flat 12A", "+852 9123 4567")
    assert (r.family_name_en, r.date_of_birth.isoformat()) == ("CHAN", "1958-03-14")
    assert _stored(r)["hkid"].startswith(fields.PREFIX) and _stored(r)["residential_address"].startswith(fields.PREFIX)
    assert seeding.next_start() == 421  # from the synthetic number stored in clear
