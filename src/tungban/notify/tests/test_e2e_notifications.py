"""Notifications end to end in headless Chromium (issue 16, acceptance 2): a department sends a
notification through the API; it appears in the app's inbox with its verified sender and as a
Web Push message, which the test decrypts with the subscription's keys.

How push is tested headless: headless Chromium refuses ``PushManager.subscribe`` (``AbortError:
Registration failed - permission denied``, the permission granted), and Chromium subscribes
only with its vendor's push service (Firebase Cloud Messaging) anyway, so the page gets a
``subscribe`` that returns a subscription to the local test push service with keys the test
made (:mod:`tungban.testing.pushservice`). Everything else is the real thing: the permission
prompt (granted by the test), the app's service worker, the app's subscribe call to the
platform, the platform's encryption (RFC 8291) and VAPID (RFC 8292) through pywebpush, the
background task. The decrypted payload is then handed to the app's service worker with the
DevTools protocol (``ServiceWorker.deliverPushMessage``), which shows it as a notification.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests

from tungban.notify import services
from tungban.notify.models import Notification, PushSubscription
from tungban.oidc import services as oidc
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, bind_web_app
from tungban.testing.factories import make_client, make_resident
from tungban.testing.pushservice import decrypt, fake_subscribe_script, running_push_service, subscription_keys
from tungban.testing.tasks import run_queued_tasks
from tungban.wallet import services as wallet

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _shots(tmp_path) -> Path:
    shots = Path(os.environ.get("TUNGBAN_E2E_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def _poll(page, script: str, until=bool, timeout: float = 60):
    """Evaluate ``script`` (may be async) until ``until(result)`` holds; the last result."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        result = page.evaluate(script)
        if until(result) or time.monotonic() > deadline:
            return result
        page.wait_for_timeout(50)


def test_department_notifies_resident_inbox_and_push(issuer, officer, e2e_browser, tmp_path):
    client, _ = make_client("td-e2e", "https://td.example/cb")
    sender = services.create_sender("td", "Transport Department", "運輸署", client.client_id)
    template = services.create_template(
        sender,
        "licence-expiry",
        subject_en="Vehicle licence renewal",
        subject_zh="車輛牌照續期",
        body_en="Your vehicle licence ((plate)) expires on ((date)).",
        body_zh="您的車輛牌照 ((plate)) 將於 ((date)) 到期。",
    )
    _, key = services.create_api_key(sender, "e2e", "live")
    resident = make_resident(officer)
    sub = oidc.pairwise_sub(resident, client)  # what the department received at login

    keys = subscription_keys()
    with running_push_service() as push:
        context = e2e_browser.new_context(locale="en-GB", viewport=PHONE)
        context.set_default_timeout(TIMEOUT)
        context.grant_permissions(["notifications"], origin=issuer)
        context.add_init_script(fake_subscribe_script(push.endpoint("phone"), keys))
        phone = context.new_page()
        page_errors = []
        phone.on("pageerror", lambda exc: page_errors.append(str(exc)))
        add_virtual_authenticator(context, phone)
        bind_web_app(phone, issuer, resident.hkid, wallet.issue_activation_code(resident, officer))

        # The resident turns notifications on for this phone.
        phone.click("#inbox-link")
        phone.wait_for_selector("#screen-inbox:not([hidden])")
        phone.wait_for_selector("#inbox-empty:not([hidden])")
        phone.wait_for_selector("#push-state:not(:empty)", timeout=60_000)  # once the service worker is active
        assert "Notifications are off" in phone.text_content("#push-state")
        phone.click("#push-on")
        phone.wait_for_selector("#push-off:not([hidden])")
        assert "Notifications are on" in phone.text_content("#push-state")
        [subscription] = PushSubscription.objects.all()
        assert subscription.endpoint == push.endpoint("phone") and subscription.lang == "en"

        # The department sends, by pairwise sub, through the API.
        sent = requests.post(
            f"{issuer}/api/v1/notify/notifications",
            json={
                "template_id": str(template.id),
                "sub": sub,
                "personalisation": {"plate": "AB 1234", "date": "1 March 2027"},
            },
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": '"e2e-notify-0001"'},
            timeout=30,
        )
        assert sent.status_code == 201, sent.text
        notification_id = sent.json()["id"]
        assert run_queued_tasks() == 1

        # The push message, as the push service received it: encrypted; the test decrypts it.
        message = push.wait_for("phone", timeout=60)
        assert message.headers["content-encoding"] == "aes128gcm"
        payload = json.loads(decrypt(message.body, keys))
        assert payload == {
            "id": notification_id,
            "title": "Transport Department: Vehicle licence renewal",
            "body": "Your vehicle licence AB 1234 expires on 1 March 2027.",
            "url": f"/app/#inbox/{notification_id}",
        }
        assert Notification.objects.get(pk=notification_id).status == "delivered"

        # The service worker shows it (the browser's push service would deliver the decrypted data).
        cdp = context.new_cdp_session(phone)
        registrations = []
        cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
        cdp.send("ServiceWorker.enable")
        assert phone.evaluate("async () => (await navigator.serviceWorker.ready).active !== null")
        _poll(phone, "() => true", until=lambda _: registrations)
        shown_script = """async () => { const r = await navigator.serviceWorker.ready;
                 const n = await r.getNotifications(); return n.map((x) => [x.title, x.body, x.tag]); }"""
        shown: list = []
        for _attempt in range(6):  # a push to a registration still settling can be lost on a loaded machine
            live = [r["registrationId"] for r in registrations if not r.get("isDeleted")]
            cdp.send(
                "ServiceWorker.deliverPushMessage",
                {"origin": issuer, "registrationId": live[-1], "data": json.dumps(payload)},
            )
            shown = _poll(phone, shown_script, timeout=10)
            if shown:
                break
        # the notification's tag is its id: delivering it again replaces it, never adds one
        assert shown == [[payload["title"], payload["body"], notification_id]]

        # The inbox lists it, unread, with the verified sender; opening it shows and reads it.
        phone.goto(f"{issuer}/app/")  # a fresh start of the app: the home screen counts unread messages
        phone.wait_for_selector("#inbox-unread:not([hidden])")
        assert phone.text_content("#inbox-unread") == "1 unread"
        phone.click("#inbox-link")
        item = phone.wait_for_selector(f"li[data-message-id='{notification_id}']")
        assert item.get_attribute("data-read") == "false"
        assert phone.text_content(f"li[data-message-id='{notification_id}'] .badge.unread").strip() == "Unread"
        assert "Verified sender: Transport Department" in item.text_content()
        phone.screenshot(path=str(_shots(tmp_path) / "inbox-en.png"), full_page=True)
        phone.click(f"li[data-message-id='{notification_id}'] a")
        phone.wait_for_selector("#screen-message:not([hidden])")
        phone.wait_for_function("() => document.getElementById('message-body').textContent.length > 0")
        assert phone.text_content("#message-title") == "Vehicle licence renewal"
        assert phone.text_content("#message-body") == "Your vehicle licence AB 1234 expires on 1 March 2027."
        assert phone.text_content("#message-sender").strip() == "Verified sender: Transport Department"
        phone.screenshot(path=str(_shots(tmp_path) / "message-en.png"), full_page=True)
        phone.wait_for_function("() => !document.getElementById('app').hasAttribute('aria-busy')")
        assert Notification.objects.get(pk=notification_id).read_at is not None

        # A message altered on the way (phishing) is not shown as verified.
        def tamper(route):
            original = route.fetch()
            body = original.json()
            body["body_en"] = "Pay the fine at http://phish.example now."
            route.fulfill(response=original, body=json.dumps(body))

        phone.route(f"**/api/v1/notify/app/inbox/{notification_id}", tamper)
        phone.click("#message-back")
        phone.wait_for_selector(f"li[data-message-id='{notification_id}'][data-read='true']")
        phone.click(f"li[data-message-id='{notification_id}'] a")
        phone.wait_for_function("() => document.getElementById('message-body').textContent.includes('phish')")
        assert phone.get_attribute("#message-sender", "data-verified") == "false"
        assert phone.text_content("#message-sender").strip().startswith("Not verified")
        phone.unroute(f"**/api/v1/notify/app/inbox/{notification_id}")

        # Turning notifications off removes this phone's subscription.
        phone.click("#message-back")
        phone.wait_for_selector("#push-off:not([hidden])")
        phone.click("#push-off")
        phone.wait_for_selector("#push-on:not([hidden])")
        assert not PushSubscription.objects.exists()
        context.close()
    assert not page_errors, page_errors
