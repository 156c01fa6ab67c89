"""The e-licences-about-to-expire card of the personal assistant panel (issue 16)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from tungban.credentials import cards
from tungban.credentials.models import Credential
from tungban.wallet import cards as panel_cards


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def test_registered_by_credentials(db):
    assert panel_cards.get("credentials.expiring").load is cards.expiring_card


def test_only_licences_expiring_soon_are_shown_with_their_source(senior_card, holder):
    resident = holder.resident
    card = cards.expiring_card(resident)
    assert card["state"] == "empty"  # issued today for years

    credential = Credential.objects.get(holder=resident)
    credential.expires_at = timezone.now() + dt.timedelta(days=30)
    credential.save(update_fields=["expires_at"])
    card = cards.expiring_card(resident)
    assert card["state"] == "ok"
    (item,) = card["items"]
    assert item["label"] == credential.credential_type.name_en and item["value"].startswith("Expires on ")
    (source,) = card["sources"]
    assert source["department"] == credential.issuer.name_en
    assert source["product"] == credential.credential_type.name_en
    assert source["fetched_at"] == credential.issued_at.isoformat()

    credential.expires_at = timezone.now() - dt.timedelta(days=1)  # already expired: not "about to"
    credential.save(update_fields=["expires_at"])
    assert cards.expiring_card(resident)["state"] == "empty"
