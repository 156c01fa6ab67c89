"""Issue 16, polish16: wording and flow defects on the officers' pages found in a walkthrough."""

import pytest

from tungban.counter.tests.test_staff_signing import issue_credential
from tungban.testing.factories import login_staff


@pytest.fixture
def staff_client(client, officer):
    login_staff(client, officer)
    return client


def suspend_page(client, resident) -> str:
    resp = client.get(f"/staff/residents/{resident.public_id}/suspend", HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 200
    return resp.content.decode()


CERT_SENTENCE = "is revoked permanently"


def test_suspend_confirmation_says_the_signing_certificate_is_revoked(staff_client, resident):
    """Item 2: suspending revokes the resident's signing certificate for good; the
    confirmation says so when the account has one."""
    issue_credential(resident)
    html = suspend_page(staff_client, resident)
    assert CERT_SENTENCE in html


def test_suspend_confirmation_says_nothing_of_a_certificate_when_there_is_none(staff_client, resident):
    assert CERT_SENTENCE not in suspend_page(staff_client, resident)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [("813(7)", "8137"), ("K987654(5)", "6545"), ("k987 654 (5)", "6545"), ("AB12", "AB12"), ("8137", "8137")],
)
def test_rebind_document_number_is_accepted_as_printed(typed, kept):
    """Item 3: the number as printed on an HKID card (brackets, spaces) gives its last 4
    letters or digits; nothing is cut off silently by a maxlength."""
    from tungban.counter.forms import RebindForm

    form = RebindForm(
        data={"reason": "lost phone", "document_type": "hkid_card", "document_reference": typed, "checked": "on"}
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["document_reference"] == kept
    assert 'maxlength="4"' not in str(form["document_reference"])


@pytest.mark.parametrize("typed", ["813", "81-3", "(7)"])
def test_rebind_document_number_needs_four_letters_or_digits(typed):
    from tungban.counter.forms import RebindForm

    form = RebindForm(
        data={"reason": "lost phone", "document_type": "hkid_card", "document_reference": typed, "checked": "on"}
    )
    assert not form.is_valid()
    assert "document_reference" in form.errors


def test_rebind_hint_gives_an_example():
    from django.utils import translation

    from tungban.counter.forms import RebindForm

    with translation.override("en"):
        assert "K987654(5)" in str(RebindForm()["document_reference"].help_text)


@pytest.mark.django_db
def test_rebind_form_is_hidden_while_a_request_is_open(client):
    """Item 4: while a re-binding request is pending or approved, neither the asking officer
    nor the supervisor is offered the form to ask again; the supervisor's home page lists it."""
    from tungban.counter.models import RebindRequest
    from tungban.counter.tests.test_roles_and_rebind import REBIND
    from tungban.counter.tests.test_staff_signing import bind_device
    from tungban.testing.factories import make_resident, staff_user
    from tungban.wallet.models import ActivationCode

    asker, supervisor = staff_user("counter_officer"), staff_user("counter_supervisor")
    resident = make_resident(asker)
    ActivationCode.objects.filter(resident=resident).update(used_at="2026-01-01T00:00Z")
    bind_device(resident)
    page = f"/staff/residents/{resident.public_id}"
    login_staff(client, asker)
    assert 'id="rebind-form"' in client.get(page).content.decode()
    client.post(f"{page}/rebind", REBIND)
    request = RebindRequest.objects.get()
    assert 'id="rebind-form"' not in client.get(page).content.decode()
    login_staff(client, supervisor)
    home = client.get("/staff/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"/staff/residents/{resident.public_id}#rebind" in home
    assert 'id="rebind-form"' not in client.get(page).content.decode()
    client.post(f"/staff/rebind-requests/{request.pk}/approve")
    request.refresh_from_db()
    assert request.status == "approved"
    assert 'id="rebind-form"' not in client.get(page).content.decode()
    login_staff(client, asker)
    assert 'id="rebind-form"' not in client.get(page).content.decode()


def test_status_reason_is_set_apart_from_the_status(staff_client, resident):
    """Item 10: "Status: Suspended HKID card reported stolen" read as one phrase."""
    import re

    from tungban.counter import services

    services.suspend_account(resident, reason="HKID card reported stolen")
    html = staff_client.get(f"/staff/residents/{resident.public_id}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    status = re.search(r'<td id="status">(.*?)</td>', html, re.S).group(1)
    assert " ".join(status.split()) == "Suspended (reason: HKID card reported stolen)"
    zh = staff_client.get(f"/staff/residents/{resident.public_id}", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    status = re.search(r'<td id="status">(.*?)</td>', zh, re.S).group(1)
    assert "（原因：HKID card reported stolen）" in status


def test_counter_personal_code_labels_the_tier_without_staff_jargon():
    """Item 10: the officer's result said "Account level (no photo)" (the app's hint to the
    resident that no photo is shown); the counter says "Account level"."""
    from django.utils import translation

    from tungban.counter.personal_code import counter_claims

    with translation.override("en"):
        shown = counter_claims({"name": "CHAN Tai Man", "tier": "plus"})
        assert shown[-1]["name"] == "tier" and shown[-1]["label"] == "Account level"
        assert all("photo" not in c["label"] for c in shown)
    with translation.override("zh-hant"):
        assert counter_claims({"name": "CHAN Tai Man", "tier": "plus"})[-1]["label"] == "帳戶級別"
