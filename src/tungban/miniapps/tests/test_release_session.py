"""Security review M5 (fixb): a mini-app's bridge requests in one launch session write one
release record per (mini-app, permission's claims), not one per request — a loop in a
mini-app cannot flood the resident's history; a later session is recorded again."""

from __future__ import annotations

import datetime as dt

import pytest

from tungban.miniapps import services
from tungban.miniapps.constants import LAUNCH_TTL
from tungban.testing.factories import make_resident
from tungban.wallet.models import ReleaseRecord

pytestmark = pytest.mark.django_db


def test_one_release_per_launch_session(library_card, officer):
    resident = make_resident(officer)
    services.grant(resident, "library-card", "profile.name")
    for _ in range(50):
        assert services.call(resident, "library-card", "profile.name")
    (rec,) = ReleaseRecord.objects.filter(resident=resident)
    assert (rec.requester_id, rec.kind, rec.claims) == ("miniapp:library-card", "miniapp", ["name_en", "name_zh"])

    # Another resident's calls are their own record.
    other = make_resident(officer)
    services.grant(other, "library-card", "profile.name")
    services.call(other, "library-card", "profile.name")
    assert ReleaseRecord.objects.filter(resident=other).count() == 1

    # A later session (the launch context's lifetime past) is recorded again.
    ReleaseRecord.objects.filter(pk=rec.pk).update(released_at=rec.released_at - dt.timedelta(seconds=LAUNCH_TTL + 1))
    services.call(resident, "library-card", "profile.name")
    assert ReleaseRecord.objects.filter(resident=resident).count() == 2
