"""Officers' view of a resident's signing certificates (tungban+) and revoking one."""

import pytest
from cryptography import x509
from django.db import transaction
from django.utils import timezone
from joserfc.jwk import ECKey

from tungban.core.errors import Forbidden
from tungban.identity.models import AuditEvent
from tungban.signing import ca
from tungban.signing import services as signing
from tungban.testing.factories import login_staff, make_resident, staff_user
from tungban.wallet.models import Device


@pytest.fixture
def staff_client(client, officer):
    login_staff(client, officer)
    return client


def bind_device(resident) -> Device:
    """A bound device row, as binding stores it (only the public key)."""
    key = ECKey.generate_key("P-256")
    return Device.objects.create(
        resident=resident, platform="cli", public_jwk=key.as_dict(private=False), jwk_thumbprint=key.thumbprint()
    )


def issue_credential(resident):
    with transaction.atomic():
        return signing.ensure_credential(resident, bind_device(resident))


@pytest.fixture
def certified(resident):
    """A plus-tier resident with a valid signing certificate."""
    return resident, issue_credential(resident)


def page(client, resident) -> str:
    resp = client.get(f"/staff/residents/{resident.public_id}", HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 200
    return resp.content.decode()


def revoke_url(resident, serial) -> str:
    return f"/staff/residents/{resident.public_id}/signing-certificates/{serial}/revoke"


def crl_entry(serial: str):
    crl = x509.load_der_x509_crl(ca.current_crl("signing"))
    assert crl.is_signature_valid(ca.certificate("signing").public_key())
    return crl.get_revoked_certificate_by_serial_number(int(serial, 16))


def test_page_says_when_there_is_no_certificate(staff_client, resident):
    html = page(staff_client, resident)
    assert "Signing certificates (tungban+)" in html
    assert "No signing certificate yet" in html
    assert "/signing-certificates/" not in html


def test_page_lists_certificates_and_offers_revocation_only_for_a_valid_one(staff_client, resident):
    old = issue_credential(resident)
    signing.revoke(old, reason="key_compromise")
    Device.objects.filter(pk=old.device_id).update(status="unbound")
    new = issue_credential(resident)
    html = page(staff_client, resident)
    for credential in (old, new):
        assert credential.serial in html
        assert f'id="certificate-{credential.serial}"' in html
    assert timezone.localtime(new.not_after).strftime("%Y-%m-%d") in html
    assert "Valid" in html and "Revoked" in html
    assert "Key compromise" in html  # the old one's reason
    assert "PKCS#11" in html or "Software (encrypted at rest)" in html
    # One revocation form, for the valid certificate, with labelled fields.
    assert html.count("Revoke signing certificate</button>") == 1
    assert f'action="{revoke_url(resident, new.serial)}"' in html
    assert revoke_url(resident, old.serial) not in html
    assert (
        f'<label for="revoke-reason-{new.serial}">' in html
        and f'<select id="revoke-reason-{new.serial}" name="reason" required>' in html
    )
    assert (
        f'<label for="revoke-confirm-{new.serial}">' in html
        and f'id="revoke-confirm-{new.serial}" name="confirm"' in html
    )
    for value in ("key_compromise", "privilege_withdrawn", "unspecified"):
        assert f'<option value="{value}">' in html
    assert '<option value="superseded">' not in html


def test_officer_revokes_a_certificate_and_it_is_on_the_crl(staff_client, certified, officer):
    resident, credential = certified
    assert crl_entry(credential.serial) is None
    resp = staff_client.post(
        revoke_url(resident, credential.serial),
        {"reason": "key_compromise", "confirm": "yes"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert resp.status_code == 302 and resp["Location"] == f"/staff/residents/{resident.public_id}#signing-certificates"
    credential.refresh_from_db()
    assert credential.status == "revoked" and credential.revocation_reason == "key_compromise" and credential.revoked_at
    event = AuditEvent.objects.filter(resident=resident, action="signing_certificate_revoked").get()
    assert event.actor == officer
    entry = crl_entry(credential.serial)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
    html = page(staff_client, resident)
    assert f"Signing certificate {credential.serial} is revoked" in html
    assert revoke_url(resident, credential.serial) not in html  # no second revocation offered
    with pytest.raises(Forbidden) as refused:
        signing.check_can_sign(resident)
    assert refused.value.code == "certificate_revoked"


@pytest.mark.parametrize(
    "data",
    [
        {"reason": "key_compromise"},  # not confirmed
        {"reason": "", "confirm": "yes"},  # no reason
        {"reason": "superseded", "confirm": "yes"},  # not one an officer may choose
        {"reason": "made_up", "confirm": "yes"},
    ],
)
def test_revocation_needs_a_listed_reason_and_a_confirmation(staff_client, certified, data):
    resident, credential = certified
    resp = staff_client.post(revoke_url(resident, credential.serial), data, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "Nothing was revoked" in resp.content.decode()
    credential.refresh_from_db()
    assert credential.status == "active"
    assert crl_entry(credential.serial) is None


def test_revocation_is_staff_only_and_post_only(client, django_user_model, certified):
    resident, credential = certified
    url = revoke_url(resident, credential.serial)
    data = {"reason": "key_compromise", "confirm": "yes"}
    resp = client.post(url, data)
    assert resp.status_code == 302 and "/admin/login/" in resp["Location"]
    client.force_login(django_user_model.objects.create_user(username="not-staff", password="pw-for-tests-only"))
    resp = client.post(url, data)
    assert resp.status_code == 302 and "/admin/login/" in resp["Location"]
    login_staff(client, staff_user("counter_officer"))
    assert client.get(url).status_code == 405
    credential.refresh_from_db()
    assert credential.status == "active"


def test_another_residents_certificate_is_not_found(staff_client, certified, officer):
    resident, credential = certified
    other = make_resident(officer)
    resp = staff_client.post(revoke_url(other, credential.serial), {"reason": "key_compromise", "confirm": "yes"})
    assert resp.status_code == 404
    credential.refresh_from_db()
    assert credential.status == "active"


def test_revoking_twice_changes_nothing(staff_client, certified):
    resident, credential = certified
    signing.revoke(credential, reason="privilege_withdrawn")
    resp = staff_client.post(
        revoke_url(resident, credential.serial),
        {"reason": "key_compromise", "confirm": "yes"},
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    assert "already revoked" in resp.content.decode()
    credential.refresh_from_db()
    assert credential.revocation_reason == "privilege_withdrawn"
