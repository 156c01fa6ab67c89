import io
import json
import stat

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from joserfc.jwk import ECKey

from tungban.core.errors import Conflict, DomainError
from tungban.identity import hkid, seeding
from tungban.identity.models import Resident
from tungban.identity.services import age_on, today
from tungban.setup.demo import _valid_population
from tungban.wallet import services as wallet
from tungban.wallet.models import Device
from tungban.wallet.seeding import seed_devices


def _proof(private_jwk: dict, method: str, url: str) -> str:
    """An ``Authorization: Device`` proof, built by the CLI app's own function."""
    from tungban.wallet.client import device_proof

    return device_proof(ECKey.import_key(private_jwk), private_jwk["kid"], method, url)


@pytest.mark.parametrize("n", [0, 1, 9, 10, 999_999, 1_000_000, 12_345_678, seeding.SYNTHETIC_LIMIT - 1])
def test_synthetic_hkid_is_valid_and_invertible(n):
    number = seeding.synthetic_hkid(n)
    assert hkid.normalize(number) == number and len(number) == 9 and number.startswith("Z")
    assert seeding.synthetic_index(number) == n


def test_synthetic_hkids_unique_ordered_and_apart_from_demo_residents():
    numbers = [seeding.synthetic_hkid(n) for n in range(0, seeding.SYNTHETIC_LIMIT, 9973)]
    assert numbers == sorted(set(numbers))
    assert all(seeding.synthetic_index(row[0]) is None for row in _valid_population())
    for bad in (-1, seeding.SYNTHETIC_LIMIT):
        with pytest.raises(ValueError):
            seeding.synthetic_hkid(bad)


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["auto", "insert", "copy"])
def test_seed_residents_in_batches_with_valid_unique_hkids(method):
    if method == "copy" and connection.vendor != "postgresql":
        with pytest.raises(ValueError):
            seeding.seed_residents(1, method=method)
        return
    calls = []
    result = seeding.seed_residents(300, batch_size=128, progress=lambda *a: calls.append(a), method=method)
    assert (result.start, result.count) == (0, 300) and result.elapsed > 0 and result.rate > 0
    assert [c[:2] for c in calls] == [(128, 300), (256, 300), (300, 300)]
    residents = list(Resident.objects.all())
    assert len(residents) == 300
    assert {r.hkid for r in residents} == {seeding.synthetic_hkid(n) for n in range(300)}
    assert all(hkid.normalize(r.hkid) == r.hkid for r in residents)
    assert len({r.public_id for r in residents}) == 300
    assert len({r.email for r in residents}) == 300
    now = today()
    for r in residents:
        assert (r.tier, r.proofing_method) in {("plus", "counter_in_person"), ("basic", "population_register")}
        assert 18 <= age_on(r.date_of_birth, now) <= 100
        assert r.family_name_en and r.given_name_en and r.name_zh and r.gender in ("male", "female")
        assert r.residential_address and r.phone.startswith("+852 ") and r.is_active and r.proofed_by is None
        assert r.created_at == r.updated_at and r.proofed_at <= r.created_at
        assert (
            r.email
            == f"{r.given_name_en.split()[0].lower()}.{r.family_name_en.lower()}{seeding.synthetic_index(r.hkid)}@example.org"
        )
    tiers = [r.tier for r in residents]
    assert 0.4 < tiers.count("plus") / 300 < 0.8  # 60 % plus
    assert len({r.name_zh for r in residents}) > 50  # varied names


@pytest.mark.django_db
def test_second_run_continues_and_overlap_is_refused():
    seeding.seed_residents(40)
    second = seeding.seed_residents(25)
    assert second.start == 40 and seeding.next_start() == 65
    assert Resident.objects.count() == 65 == len(set(Resident.objects.values_list("hkid", flat=True)))
    with pytest.raises(Conflict) as err:
        seeding.seed_residents(10, start=60)
    assert err.value.code == "hkid_taken" and Resident.objects.count() == 65
    with pytest.raises(ValueError):
        seeding.seed_residents(0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args, message",
    [
        (["0"], "at least 1"),
        (["5", "--devices", "6", "--devices-file", "keys.json"], "between 0 and N"),
        (["5", "--devices", "2"], "--devices-file"),
        (["5", "--batch-size", "0"], "--batch-size"),
    ],
)
def test_command_refuses_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("seed_residents", *args, stdout=io.StringIO())
    assert not Resident.objects.exists()


@pytest.mark.django_db
def test_command_seeds_and_binds_devices_that_authenticate(tmp_path):
    seeding.seed_residents(7)
    path = tmp_path / "devices.json"
    out = io.StringIO()
    call_command(
        "seed_residents", "30", "--batch-size", "16", "--devices", "3", "--devices-file", str(path), stdout=out
    )
    assert "rows/s" in out.getvalue() and Resident.objects.count() == 37
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keys = json.loads(path.read_text())
    expected = [str(Resident.objects.by_hkid(seeding.synthetic_hkid(n)).get().public_id) for n in (7, 8, 9)]
    assert [k["resident"] for k in keys] == expected  # the first three of this run
    url = "http://testserver/api/v1/wallet/me"
    for k in keys:
        device = wallet.authenticate_device("Device " + _proof(k["private_jwk"], "GET", url), "GET", url)
        assert str(device.id) == k["device_id"] and str(device.resident.public_id) == k["resident"]
        assert device.status == "active" and device.platform == "cli"
        assert device.jwk_thumbprint == ECKey.import_key(device.public_jwk).thumbprint()
        assert "d" not in device.public_jwk
        assert device.resident.audit_events.filter(action="device_bound").exists()


@pytest.mark.django_db
def test_seed_devices_refuses_web_and_bound_residents():
    seeding.seed_residents(2)
    residents = seeding.seeded_residents(0, 2)
    with pytest.raises(DomainError) as err:
        seed_devices(residents, platform="web")
    assert err.value.code == "passkey_required"
    seed_devices(residents[:1])
    with pytest.raises(Conflict) as err:
        seed_devices(residents)
    assert err.value.code == "already_bound" and Device.objects.count() == 1
