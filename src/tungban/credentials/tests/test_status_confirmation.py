"""Issue 16 (staff16) item 2: suspending and revoking a credential ("Revoke permanently") is
no longer one click: a confirmation page states the consequence, a reason is required (and
recorded in the status history), revoking needs the confirmation ticked — and the department
systems' API applies the same rules."""

from __future__ import annotations

import pytest

from tungban.credentials import catalogue
from tungban.credentials.tests.conftest import make_holder
from tungban.credentials.tests.test_api import call, department_system
from tungban.credentials.tests.test_pages import _en, _officer_of
from tungban.testing.factories import login_staff


@pytest.fixture
def swd_client(client, bundled):
    login_staff(client, _officer_of("swd"))
    return client


@pytest.fixture
def swd_system(issuer, db):
    catalogue.register_bundled()
    return department_system(issuer, "swd")


def _url(card):
    return f"/staff/credentials/{card.id}"


def test_revoke_is_a_link_to_a_confirmation_page_that_changes_nothing(swd_client, senior_card):
    html = _en(swd_client).get(_url(senior_card)).content.decode()
    assert f'href="{_url(senior_card)}/status/revoked"' in html
    assert f'href="{_url(senior_card)}/status/suspended"' in html
    page = swd_client.get(f"{_url(senior_card)}/status/revoked")
    text = page.content.decode()
    assert page.status_code == 200 and 'id="status-confirm"' in text
    assert "can never be valid again" in text and 'name="confirm"' in text and 'name="reason"' in text
    senior_card.refresh_from_db()
    assert senior_card.status == "valid"


@pytest.mark.parametrize(
    "post, field",
    [
        ({"status": "revoked", "confirm": "on"}, "reason"),
        ({"status": "revoked", "reason": "Holder deceased"}, "confirm"),
        ({"status": "suspended", "reason": "   "}, "reason"),
    ],
)
def test_no_change_without_a_reason_or_the_confirmation(swd_client, senior_card, post, field):
    resp = _en(swd_client).post(f"{_url(senior_card)}/status", post)
    html = resp.content.decode()
    assert resp.status_code == 200 and 'id="status-confirm"' in html
    assert f'id="id_{field}_error"' in html and f'aria-describedby="id_{field}' in html
    senior_card.refresh_from_db()
    assert senior_card.status == "valid" and senior_card.status_changes.count() == 0


def test_revoke_with_reason_and_confirmation_is_recorded(swd_client, senior_card):
    resp = swd_client.post(
        f"{_url(senior_card)}/status", {"status": "revoked", "reason": "Holder deceased", "confirm": "on"}
    )
    assert resp.status_code == 302
    senior_card.refresh_from_db()
    assert senior_card.status == "revoked"
    assert senior_card.status_changes.get().reason == "Holder deceased"


def test_reinstating_needs_no_reason(swd_client, senior_card):
    swd_client.post(f"{_url(senior_card)}/status", {"status": "suspended", "reason": "Under review"})
    swd_client.post(f"{_url(senior_card)}/status", {"status": "valid"})
    senior_card.refresh_from_db()
    assert senior_card.status == "valid"


def test_the_api_applies_the_same_rules(swd_system):
    from tungban.credentials.models import Credential

    holder = make_holder()
    issued = call(
        swd_system,
        "POST",
        "/issue",
        {"type": "senior-citizen-card", "hkid": holder.resident.hkid, "claims": {"card_number": "SC87654321"}},
    ).json()
    path = f"/issued/{issued['id']}/status"
    resp = call(swd_system, "POST", path, {"status": "suspended"})
    assert resp.status_code == 422 and resp.json()["error"] == "status_reason_required"
    resp = call(swd_system, "POST", path, {"status": "revoked", "reason": "deceased"})
    assert resp.status_code == 422 and resp.json()["error"] == "revocation_not_confirmed"
    assert Credential.objects.get(id=issued["id"]).status == "valid"
    resp = call(swd_system, "POST", path, {"status": "revoked", "reason": "deceased", "confirm_final": True})
    assert resp.status_code == 200 and resp.json()["status"] == "revoked"
