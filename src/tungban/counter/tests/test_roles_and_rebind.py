"""Issue 13 item 1: only counter roles use the counter; re-binding an account that has a bound
phone or is tungban+ needs a reason, an identity check and a second officer's approval (a
supervisor), and the old phone is told."""

import pytest
from django.utils import translation
from joserfc.jwk import ECKey

from tungban.counter.models import RebindRequest
from tungban.identity.models import Resident
from tungban.testing.factories import login_staff, make_resident, staff_user
from tungban.wallet.models import ActivationCode, Device

pytestmark = pytest.mark.django_db

REBIND = {
    "reason": "Phone lost on the MTR",
    "document_type": "hkid_card",
    "document_reference": "4563",
    "checked": "on",
}


def _client(client, role):
    return login_staff(client, staff_user(role))


def _bound(resident) -> Device:
    key = ECKey.generate_key("P-256")
    return Device.objects.create(
        resident=resident, platform="cli", public_jwk=key.as_dict(private=False), jwk_thumbprint=key.thumbprint()
    )


def _unused_codes(resident) -> int:
    return ActivationCode.objects.filter(resident=resident, used_at__isnull=True).count()


@pytest.fixture
def plus_resident(officer):
    resident = make_resident(officer)
    ActivationCode.objects.filter(resident=resident).update(used_at="2026-01-01T00:00Z")
    _bound(resident)
    return resident


@pytest.mark.parametrize("role", ["none", "credential_officer"])
def test_staff_without_a_counter_role_cannot_use_the_counter(client, role, plus_resident):
    """The attack of item 1: an issuing department's officer issued a code for a resident."""
    _client(client, role)
    assert client.get("/staff/").status_code == 403
    assert client.get(f"/staff/residents/{plus_resident.public_id}").status_code == 403
    resp = client.post(f"/staff/residents/{plus_resident.public_id}/activation", {})
    assert resp.status_code == 403 and _unused_codes(plus_resident) == 0
    assert client.post(f"/staff/residents/{plus_resident.public_id}/rebind", REBIND).status_code == 403
    assert not RebindRequest.objects.exists()


def test_a_counter_officer_alone_cannot_rebind_a_bound_account(client, plus_resident):
    _client(client, "counter_officer")
    resp = client.post(f"/staff/residents/{plus_resident.public_id}/activation", {}, HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 302 and _unused_codes(plus_resident) == 0
    html = client.get(resp["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "second officer" in html


def test_rebind_request_needs_reason_and_identity_check(client, plus_resident):
    _client(client, "counter_officer")
    url = f"/staff/residents/{plus_resident.public_id}/rebind"
    for missing in ("reason", "document_type", "document_reference", "checked"):
        data = {k: v for k, v in REBIND.items() if k != missing}
        resp = client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
        assert resp.status_code == 200, missing  # the form again, with the error
    assert not RebindRequest.objects.exists()


def test_rebind_needs_a_different_supervisor(client, plus_resident):
    requester = staff_user("counter_supervisor")
    login_staff(client, requester)
    client.post(f"/staff/residents/{plus_resident.public_id}/rebind", REBIND)
    request = RebindRequest.objects.get()
    assert request.status == "pending" and request.requested_by == requester and request.reason == REBIND["reason"]
    approve = f"/staff/rebind-requests/{request.pk}/approve"
    # Not by the officer who asked, even a supervisor.
    resp = client.post(approve, HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 403 and _unused_codes(plus_resident) == 0
    # Not by another officer without the supervisor role.
    _client(client, "counter_officer")
    assert client.post(approve).status_code == 403 and _unused_codes(plus_resident) == 0
    request.refresh_from_db()
    assert request.status == "pending"


def test_supervisor_approval_lets_the_requester_issue_the_code_and_the_old_phone_is_told(client, plus_resident):
    from tungban.wallet import services as wallet

    old_device = wallet.active_device(plus_resident)
    requester = staff_user("counter_officer")
    login_staff(client, requester)
    client.post(f"/staff/residents/{plus_resident.public_id}/rebind", REBIND)
    request = RebindRequest.objects.get()
    supervisor = staff_user("counter_supervisor")
    login_staff(client, supervisor)
    resp = client.post(f"/staff/rebind-requests/{request.pk}/approve", HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 302 and _unused_codes(plus_resident) == 0
    request.refresh_from_db()
    assert request.status == "approved" and request.decided_by == supervisor and request.decided_at
    login_staff(client, requester)
    resp = client.post(f"/staff/rebind-requests/{request.pk}/issue", HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert resp.status_code == 200 and b'id="activation-code"' in resp.content
    assert _unused_codes(plus_resident) == 1
    # Stored and shown: reason, document seen, both officers.
    html = client.get(f"/staff/residents/{plus_resident.public_id}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for text in (
        REBIND["reason"],
        "Hong Kong identity card",
        "4563",
        request.requested_by.username,
        supervisor.username,
    ):
        assert text in html, text
    client.cookies["tungban_language"] = "zh-hant"
    html = client.get(f"/staff/residents/{plus_resident.public_id}").content.decode()
    assert "香港身份證" in html and "決定者（第二名職員）" in html
    # The resident's account has a notice; the still-bound phone is told on its next open.
    notices = wallet.notices(plus_resident)
    assert [n.kind for n in notices] == ["counter_rebind"]
    with translation.override("en"):
        assert "new activation code" in wallet.notice_text(notices[0])
    assert old_device.pk == wallet.active_device(plus_resident).pk


def test_first_code_of_an_unbound_basic_account_needs_one_officer(client, officer):
    resident = make_resident(officer)
    Resident.objects.filter(pk=resident.pk).update(tier="basic")
    _client(client, "counter_officer")
    resp = client.post(f"/staff/residents/{resident.public_id}/activation", {}, follow=True)
    assert resp.status_code == 200 and b'id="activation-code"' in resp.content


def test_old_phone_is_told_on_its_next_open_and_in_the_history(issuer, resident, officer, tmp_path):
    """The notice reaches the bound phone (API ``/notices``, in the app's language) and, once
    the new phone is bound, the old one with its ``device_unbound`` error."""
    from tungban.counter import services
    from tungban.testing.factories import PIN, bind_cli
    from tungban.wallet.client import AppError, WalletClient

    old = bind_cli(issuer, resident, tmp_path / "old")
    request = services.request_rebind(
        resident, officer, reason="lost phone", document_type="hkid_card", document_reference="1234"
    )
    services.approve_rebind(request.pk, staff_user("counter_supervisor"))
    _request, code = services.issue_rebind_code(request.pk, officer)

    old.http.headers["Accept-Language"] = "en"
    notices = old._call("GET", "/api/v1/wallet/notices", device_key=old.load_key(PIN))
    assert [n["kind"] for n in notices] == ["counter_rebind"] and "new activation code" in notices[0]["text"]
    old.http.headers["Accept-Language"] = "zh-hant"
    zh = old._call("GET", "/api/v1/wallet/notices", device_key=old.load_key(PIN))
    assert "啟動碼" in zh[0]["text"]
    old.http.headers["Accept-Language"] = "en"

    new = WalletClient(tmp_path / "new", issuer)
    new.http.headers["Accept-Language"] = "en"
    new.bind(resident.hkid, code, PIN)
    with pytest.raises(AppError) as refused:
        old.me(PIN)
    assert refused.value.code == "device_unbound" and "new activation code" in refused.value.message
    history = new._call("GET", "/api/v1/wallet/notices", device_key=new.load_key(PIN))
    assert [n["kind"] for n in history] == ["counter_rebind"]


# --- Security review of item 1: an account that has ever been bound ------------------------------


def _basic_bound_resident(officer):
    """A self-registered (basic tier) account with a bound phone: the attack's target."""
    resident = make_resident(officer)
    Resident.objects.filter(pk=resident.pk).update(tier="basic")
    resident.refresh_from_db()
    ActivationCode.objects.filter(resident=resident).update(used_at="2026-01-01T00:00Z")
    _bound(resident)
    return resident


def test_unbind_then_activation_needs_a_second_officer(client, officer):
    """Review finding 1: unbinding first must not turn a re-binding into a first code."""
    resident = _basic_bound_resident(officer)
    _client(client, "counter_officer")
    assert client.post(f"/staff/residents/{resident.public_id}/unbind", {}).status_code == 302
    resp = client.post(f"/staff/residents/{resident.public_id}/activation", {}, HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 302 and b'id="activation-code"' not in resp.content
    assert _unused_codes(resident) == 0
    html = client.get(resp["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "second officer" in html and 'id="rebind-form"' in html


def test_suspend_reinstate_then_activation_needs_a_second_officer(client, officer):
    resident = _basic_bound_resident(officer)
    _client(client, "counter_officer")
    base = f"/staff/residents/{resident.public_id}"
    assert client.post(f"{base}/suspend", {"reason": "x"}).status_code == 302
    assert client.post(f"{base}/reinstate", {"reason": "y"}).status_code == 302
    resident.refresh_from_db()
    assert resident.is_active
    resp = client.post(f"{base}/activation", {})
    assert resp.status_code == 302 and _unused_codes(resident) == 0


def test_an_account_whose_code_was_used_needs_a_second_officer(officer):
    """A binding started with a counter's code (even one never completed) counts as bound."""
    from tungban.counter import services
    from tungban.wallet import services as wallet

    resident = make_resident(officer)
    Resident.objects.filter(pk=resident.pk).update(tier="basic")
    resident.refresh_from_db()
    assert not services.needs_second_officer(resident)  # the very first code: one officer
    code = wallet.issue_activation_code(resident, officer)
    wallet.start_binding(resident.hkid, code)
    assert services.needs_second_officer(resident)


def test_officer_unbind_tells_the_resident(client, plus_resident):
    from tungban.wallet import services as wallet

    device = wallet.active_device(plus_resident)
    _client(client, "counter_officer")
    client.post(f"/staff/residents/{plus_resident.public_id}/unbind", {"reason": "lost"})
    device.refresh_from_db()
    assert device.status == "unbound"
    notices = wallet.notices(plus_resident)
    assert [n.kind for n in notices] == ["counter_unbind"]
    with translation.override("en"):
        assert "unbound" in wallet.notice_text(notices[0]) and "1823" in wallet.notice_text(notices[0])
    with translation.override("zh-hant"):
        assert "解除" in wallet.notice_text(notices[0])


def test_suspension_tells_the_resident(client, plus_resident):
    from tungban.wallet import services as wallet

    _client(client, "counter_officer")
    client.post(f"/staff/residents/{plus_resident.public_id}/suspend", {"reason": "fraud report"})
    assert [n.kind for n in wallet.notices(plus_resident)] == ["counter_suspend"]
    with translation.override("en"):
        assert "suspended" in wallet.notice_text(wallet.notices(plus_resident)[0])


# --- Security review of item 1: the code goes to the officer with the resident; requests expire --


def _requested(client, resident, requester=None):
    requester = requester or staff_user("counter_officer")
    login_staff(client, requester)
    client.post(f"/staff/residents/{resident.public_id}/rebind", REBIND)
    return requester, RebindRequest.objects.get(resident=resident, status="pending")


def test_the_approving_supervisor_never_sees_the_code(client, plus_resident):
    requester, request = _requested(client, plus_resident)
    supervisor = staff_user("counter_supervisor")
    login_staff(client, supervisor)
    resp = client.post(f"/staff/rebind-requests/{request.pk}/approve", HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert resp.status_code == 200 and b'id="activation-code"' not in resp.content
    assert _unused_codes(plus_resident) == 0
    request.refresh_from_db()
    assert request.status == "approved" and request.decided_by == supervisor
    # Neither the supervisor nor a third officer can take the code.
    issue = f"/staff/rebind-requests/{request.pk}/issue"
    assert client.post(issue).status_code == 403
    _client(client, "counter_supervisor")
    assert client.post(issue).status_code == 403
    assert _unused_codes(plus_resident) == 0


def test_the_requesting_officer_issues_the_approved_code_once(client, plus_resident):
    from tungban.wallet import services as wallet

    requester, request = _requested(client, plus_resident)
    login_staff(client, staff_user("counter_supervisor"))
    client.post(f"/staff/rebind-requests/{request.pk}/approve")
    assert wallet.notices(plus_resident) == []  # told when the code is issued
    login_staff(client, requester)
    page = client.get(f"/staff/residents/{plus_resident.public_id}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'id="issue-rebind-code-{request.pk}"' in page and "issue the code now" in page
    resp = client.post(f"/staff/rebind-requests/{request.pk}/issue", HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert resp.status_code == 200 and b'id="activation-code"' in resp.content
    assert _unused_codes(plus_resident) == 1
    request.refresh_from_db()
    assert request.status == "issued" and request.code_issued_at
    assert [n.kind for n in wallet.notices(plus_resident)] == ["counter_rebind"]
    # Once only.
    again = client.post(f"/staff/rebind-requests/{request.pk}/issue", HTTP_ACCEPT_LANGUAGE="en")
    assert b'id="activation-code"' not in again.content and _unused_codes(plus_resident) == 1
    page = client.get(f"/staff/residents/{plus_resident.public_id}").content.decode()
    assert f'id="issue-rebind-code-{request.pk}"' not in page


def test_a_pending_request_cannot_be_issued(client, plus_resident):
    requester, request = _requested(client, plus_resident)
    client.post(f"/staff/rebind-requests/{request.pk}/issue")
    assert _unused_codes(plus_resident) == 0


def test_rebind_requests_expire(client, plus_resident, settings):
    import datetime as dt

    from django.utils import timezone

    assert settings.TUNGBAN_REBIND_REQUEST_TTL == 30 * 60
    requester, request = _requested(client, plus_resident)
    RebindRequest.objects.filter(pk=request.pk).update(requested_at=timezone.now() - dt.timedelta(minutes=31))
    supervisor = staff_user("counter_supervisor")
    login_staff(client, supervisor)
    home = client.get("/staff/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="pending-rebinds"' not in home
    page = client.get(f"/staff/residents/{plus_resident.public_id}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'id="approve-rebind-{request.pk}"' not in page and "Expired" in page
    client.post(f"/staff/rebind-requests/{request.pk}/approve")
    request.refresh_from_db()
    assert request.status != "approved" and request.decided_by is None
    # A new request can be made; a shorter setting applies at once.
    login_staff(client, requester)
    client.post(f"/staff/residents/{plus_resident.public_id}/rebind", REBIND)
    fresh = RebindRequest.objects.get(resident=plus_resident, status="pending")
    request.refresh_from_db()
    assert request.status == "expired"
    settings.TUNGBAN_REBIND_REQUEST_TTL = 0
    login_staff(client, supervisor)
    client.post(f"/staff/rebind-requests/{fresh.pk}/approve")
    fresh.refresh_from_db()
    assert fresh.status != "approved"


def test_an_approval_not_issued_in_time_expires(client, plus_resident, settings):
    import datetime as dt

    from django.utils import timezone

    requester, request = _requested(client, plus_resident)
    login_staff(client, staff_user("counter_supervisor"))
    client.post(f"/staff/rebind-requests/{request.pk}/approve")
    RebindRequest.objects.filter(pk=request.pk).update(decided_at=timezone.now() - dt.timedelta(minutes=31))
    login_staff(client, requester)
    client.post(f"/staff/rebind-requests/{request.pk}/issue")
    assert _unused_codes(plus_resident) == 0
