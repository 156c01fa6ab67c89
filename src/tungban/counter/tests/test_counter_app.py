"""The counter app's own seams: URL namespace, the suspend service, templates fit for a strict CSP."""

import re
from pathlib import Path

import pytest
from django.urls import reverse
from joserfc.jwk import ECKey

from tungban.core.errors import DomainError
from tungban.counter import services
from tungban.identity.models import AuditEvent
from tungban.testing.factories import login_staff
from tungban.wallet.models import Device, DeviceStatus

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "counter"


def test_counter_urls_keep_their_staff_paths():
    assert reverse("counter:staff-home") == "/staff/"
    assert reverse("counter:register") == "/staff/residents/new"


def test_no_inline_style_or_script_in_counter_templates():
    for template in TEMPLATES.glob("*.html"):
        source = template.read_text()
        assert not re.search(r"\sstyle=", source), template.name
        assert not re.search(r"<script(?![^>]*\ssrc=)", source), template.name


def test_resident_page_loads_the_counter_stylesheet(client, officer, resident):
    login_staff(client, officer)
    html = client.get(f"/staff/residents/{resident.public_id}").content.decode()
    assert "counter/counter.css" in html and " style=" not in html


def _bound_device(resident) -> Device:
    key = ECKey.generate_key("P-256")
    return Device.objects.create(
        resident=resident, platform="cli", public_jwk=key.as_dict(private=False), jwk_thumbprint=key.thumbprint()
    )


def test_suspend_account_suspends_and_unbinds_in_one_step(officer, resident):
    device = _bound_device(resident)
    services.suspend_account(resident, actor=officer, reason="card reported lost")
    resident.refresh_from_db()
    device.refresh_from_db()
    assert resident.status == "suspended" and resident.status_reason == "card reported lost"
    assert device.status != DeviceStatus.ACTIVE
    assert AuditEvent.objects.filter(resident=resident, action="status_suspended").exists()


def test_suspend_account_writes_nothing_when_unbinding_fails(officer, resident, monkeypatch):
    device = _bound_device(resident)

    def refuse(*args, **kwargs):
        raise DomainError("refused", "no")

    monkeypatch.setattr(services.wallet, "unbind_active", refuse)
    with pytest.raises(DomainError):
        services.suspend_account(resident, actor=officer, reason="x")
    resident.refresh_from_db()
    device.refresh_from_db()
    assert resident.status == "active" and device.status == DeviceStatus.ACTIVE  # rolled back together
