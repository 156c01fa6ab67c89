"""WSD's water bill (``wsd.water-bill.v1``, issue 16): served by the wsd provider, a valid,
deterministic record for every HKID (demo residents and any registered during a demo), none
for the demo child."""

from __future__ import annotations

from examples.providers import data, water_bill

from .test_providers import assert_valid


def test_served_by_wsd_only():
    assert water_bill.PRODUCT in data.PRODUCTS["wsd"]
    assert all(water_bill.PRODUCT not in data.PRODUCTS[d] for d in ("ird", "cr"))


def test_every_hkid_but_the_child_has_a_valid_stable_bill():
    for hkid in ("A1234563", "G123456A", "K5432103", "Y6543217", "Z6837054", "AB9876543"):
        bill = data.seeded_record(water_bill.PRODUCT, hkid)
        assert_valid(water_bill.PRODUCT, bill)
        assert bill == water_bill.record(hkid)  # deterministic
    assert data.seeded_record(water_bill.PRODUCT, "P8765433") is None
    assert water_bill.record("A1234563") != water_bill.record("G123456A")
