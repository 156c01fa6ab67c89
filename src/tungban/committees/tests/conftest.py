import datetime as dt
import itertools

import pytest

from tungban.committees import services, subjects
from tungban.committees.management.commands.load_committee import DEFAULT
from tungban.committees.models import Member
from tungban.testing.factories import staff_user

from . import kinds

_names = itertools.count(1)


@pytest.fixture
def kind():
    kinds.register()
    kinds.PROPOSALS.clear()
    kinds.DECIDED.clear()
    yield kinds
    subjects.unregister(kinds.KIND)
    kinds.PROPOSALS.clear()
    kinds.DECIDED.clear()


@pytest.fixture
def committee(db):
    """The scheme's committee from the bundled file (seed 000 §12–13)."""
    return services.load_committee(DEFAULT)


def add_member(committee, *, role="member", brn="", sector="academia", name=None) -> Member:
    """A committee member who can log in (staff with a TOTP device)."""
    n = next(_names)
    user = staff_user("none", username=f"member{n}")
    return Member.objects.create(
        committee=committee,
        user=user,
        display_name=name or f"Member {n}",
        role=role,
        sector=sector,
        organisation_brn=brn,
        organisation_name=f"Organisation {brn}" if brn else "",
        term_from=dt.date(2025, 1, 1),
        term_to=dt.date(2027, 12, 31),
    )


@pytest.fixture
def meeting(committee):
    return services.create_meeting(committee, "2026-B1", dt.date(2026, 12, 10), quorum=3)
