"""The fee schedule (issue 18, "Fee schedule"): the shipped files load, loading again changes
nothing, a new amount is a new version from a later date, a loaded version never changes or
goes, and bad files are refused whole with every problem named."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tungban.core.errors import DomainError
from tungban.payments import services
from tungban.payments.models import FeeItem, FeeVersion

pytestmark = pytest.mark.django_db

HAWKER = """department = "FEHD"

[[fees]]
service = "temporary-hawker-licence"
code = "licence"
label_en = "Temporary hawker licence"
label_zh = "臨時小販牌照"

[[fees.versions]]
effective_from = 2000-04-01
amount_cents = 35000
legal_reference = "Cap. 132CJ"
"""


def _write(root, text, name="fehd.toml"):
    root.mkdir(exist_ok=True)
    (root / name).write_text(text, encoding="utf-8")
    return root


def _code(fn) -> str:
    with pytest.raises(DomainError) as caught:
        fn()
    return caught.value.code


def test_the_shipped_schedule_loads_and_loading_again_changes_nothing():
    first = services.load_fees()
    assert first["versions_added"] == first["versions"] > 20
    before = {v.pk: (v.amount_cents, v.effective_to, v.digest) for v in FeeVersion.objects.all()}
    assert services.load_fees()["versions_added"] == 0
    assert {v.pk: (v.amount_cents, v.effective_to, v.digest) for v in FeeVersion.objects.all()} == before
    hawker = services.current_fee("FEHD", "temporary-hawker-licence", "licence")
    assert hawker.amount_cents == 35000 and "132CJ" in hawker.legal_reference and not hawker.illustrative


def test_versions_follow_each_other_by_date():
    services.load_fees()
    levy = [("IRD", "business-registration", "levy")]
    on = {
        d: services.current_fee(*levy[0], on=dt.date.fromisoformat(d)).amount_cents
        for d in ("2020-01-01", "2023-01-01", "2025-01-01")
    }
    assert on == {"2020-01-01": 25000, "2023-01-01": 15000, "2025-01-01": 0}
    versions = list(
        FeeItem.objects.get(service="business-registration", code="levy").versions.order_by("effective_from")
    )
    assert versions[0].effective_to == dt.date(2022, 6, 16)  # the day before the next one
    assert _code(lambda: services.current_fee(*levy[0], on=dt.date(2010, 1, 1))) == "fee_not_in_force"
    assert _code(lambda: services.current_fee("FEHD", "nothing", "licence")) == "fee_unknown"
    fees = services.fees_for_service("IRD", "business-registration", on=dt.date(2024, 5, 1))
    assert [(v.item.code, v.amount_cents) for v in fees] == [("levy", 0), ("registration-fee", 220000)]


def test_a_new_amount_is_a_new_version(tmp_path):
    root = _write(tmp_path / "fees", HAWKER)
    services.load_fees(root)
    _write(root, HAWKER + "\n[[fees.versions]]\neffective_from = 2027-01-01\namount_cents = 40000\n")
    assert services.load_fees(root)["versions_added"] == 1
    old = FeeVersion.objects.get(effective_from=dt.date(2000, 4, 1))
    assert old.amount_cents == 35000 and old.effective_to == dt.date(2026, 12, 31)
    args = ("FEHD", "temporary-hawker-licence", "licence")
    assert services.current_fee(*args, on=dt.date(2026, 12, 31)).amount_cents == 35000
    assert services.current_fee(*args, on=dt.date(2027, 1, 1)).amount_cents == 40000


def test_a_loaded_version_never_changes_or_goes(tmp_path):
    root = _write(tmp_path / "fees", HAWKER)
    services.load_fees(root)
    _write(root, HAWKER.replace("35000", "36000"))
    assert _code(lambda: services.load_fees(root)) == "fee_version_changed"
    _write(root, HAWKER.replace("2000-04-01", "2001-04-01"))
    assert _code(lambda: services.load_fees(root)) == "fee_version_removed"
    _write(root, HAWKER.replace('code = "licence"', 'code = "other"'))
    assert _code(lambda: services.load_fees(root)) == "fee_version_removed"
    assert FeeVersion.objects.get().amount_cents == 35000 and FeeItem.objects.get().code == "licence"
    _write(root, HAWKER.replace("Temporary hawker licence", "Temporary hawker licence (festive)"))
    services.load_fees(root)  # a label is not an amount: it may change
    assert FeeItem.objects.get().label_en == "Temporary hawker licence (festive)"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("department = ", "fehd.toml:"),
        (HAWKER.replace("amount_cents = 35000", 'amount_cents = "350"'), "fees.0.versions.0.amount_cents"),
        (HAWKER.replace("amount_cents = 35000", "amount_cents = -1"), "fees.0.versions.0.amount_cents"),
        (HAWKER.replace('department = "FEHD"', 'department = "SWD"'), "not the file's name"),
        (HAWKER + HAWKER.split("\n", 1)[1], "appears twice"),
        (HAWKER + "\n[[fees.versions]]\neffective_from = 2000-04-01\namount_cents = 1\n", "same day"),
        (HAWKER.replace('"Cap. 132CJ"', '"Cap. 132CJ"\neffective_to = 1999-01-01'), "ends before it starts"),
        (
            HAWKER.replace(
                '"Cap. 132CJ"',
                '"Cap. 132CJ"\nconcessions = [{ code = "senior", label_en = "S", label_zh = "長者", amount_cents = 50000 }]',
            ),
            "costs more than the fee",
        ),
        (HAWKER.replace('code = "licence"', 'code = "Licence!"'), "fees.0.code"),
    ],
)
def test_bad_files_are_refused_whole(tmp_path, text, problem):
    root = _write(tmp_path / "fees", text)
    _write(root, HAWKER.replace("FEHD", "SWD").replace("temporary-hawker-licence", "other"), "swd.toml")
    with pytest.raises(DomainError) as caught:
        services.load_fees(root)
    assert caught.value.code == "fees_invalid"
    assert any(problem in p for p in caught.value.details["problems"]), caught.value.details
    assert not FeeItem.objects.exists()  # nothing from the good file either


def test_the_command_loads_and_reports(tmp_path, capsys):
    root = _write(tmp_path / "fees", HAWKER)
    call_command("load_fees", str(root))
    assert "1 fee items, 1 versions (1 new)" in capsys.readouterr().out
    _write(root, HAWKER.replace("35000", "1"))
    with pytest.raises(CommandError, match="fee_version_changed"):
        call_command("load_fees", str(root))
