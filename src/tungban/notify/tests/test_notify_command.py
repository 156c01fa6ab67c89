"""``tungban notify`` and the demo's notification sender (issue 16): keys shown once, templates
versioned, a demo message reaches the resident's inbox; the demo writes its key to var/ only."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from tungban.notify import services
from tungban.notify.models import ApiKey, Notification, VapidKey
from tungban.setup.demo import seed_notifications
from tungban.testing.factories import make_client
from tungban.testing.tasks import run_queued_tasks

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("notify", *args, stdout=out)
    return out.getvalue()


def test_commands_sender_key_template_send_status(resident):
    client, _ = make_client("td-cmd", "https://td.example/cb")
    assert "Sender td" in _run(
        "sender", "td", "--name-en", "Transport Department", "--name-zh", "運輸署", "--client", client.client_id
    )
    shown = _run("key", "td", "--kind", "team", "--name", "licensing")
    key = shown.strip().splitlines()[-1]
    assert key.startswith("tbn_team_") and services.authenticate(key).name == "licensing"
    args = ["template", "td", "expiry", "--subject-en", "S", "--subject-zh", "主旨", "--body-en", "((plate)) expires"]
    assert "v1" in _run(*args, "--body-zh", "((plate)) 到期")
    assert "v2" in _run(*args, "--body-zh", "((plate)) 即將到期")
    sent = _run("send", "td", "expiry", "--hkid", resident.hkid, "--value", "plate=AB 1234")
    notification = Notification.objects.get()
    assert str(notification.id) in sent and notification.body_en == "AB 1234 expires"
    run_queued_tasks()
    assert "delivered" in _run("status", str(notification.id))
    assert _run("revoke-key", ApiKey.objects.get().key_id).startswith("Revoked")


def test_demo_sender_template_and_key_file(tmp_path):
    client, _ = make_client("vehicle-licence-demo", "http://127.0.0.1:8100/callback")
    first = seed_notifications(client.client_id, tmp_path)
    again = seed_notifications(client.client_id, tmp_path)  # idempotent: one template, one key
    assert first == again and ApiKey.objects.count() == 1
    saved = json.loads((tmp_path / "demo-notify.json").read_text())
    assert services.authenticate(saved["api_key"]).sender_id == "td"
    assert (tmp_path / "demo-notify.json").stat().st_mode & 0o077 == 0


def test_vapid_key_made_once_and_sealed():
    public = services.vapid_public_key()
    assert services.vapid_public_key() == public and VapidKey.objects.count() == 1
    assert b"ENCRYPTED PRIVATE KEY" in bytes(VapidKey.objects.get().private_pem)
