"""Card and e-wallet payments through the pluggable PSP adapter (issue 18), with the mock PSP in
process: the payment page offers "Card / Apple Pay / Google Pay" beside FPS only when a provider
is configured; the money is recorded once whichever tells the platform first — the browser's
return (a query) or the provider's signed webhook, before or after it, twice, or never — and the
order's ``method`` says card or wallet; a declined card and an abandoned 3-D Secure check take
nothing and leave the order payable; a forged webhook is refused."""

from __future__ import annotations

import json
import time

from tungban.notify import webhooks as signed
from tungban.payments.constants import CreditSource, Method, OrderState
from tungban.payments.models import CardPayment, CreditTransfer, MockPspPayment, PaymentOrder
from tungban.payments.psp import mock
from tungban.payments.services import card


def _start(browser, api_order):
    """The payer presses "Card / Apple Pay / Google Pay": the platform sends them to the mock's page."""
    page = browser.get(f"/pay/{api_order.pk}/")
    assert page.status_code == 200 and 'id="pay-card"' in page.content.decode()
    started = browser.post(f"/pay/card/{api_order.pk}")
    assert started.status_code == 302 and "/pay/psp-mock/" in started["Location"]
    return started["Location"].split("/pay/psp-mock/", 1)[1].rstrip("/")


def _pay_on_mock(browser, payment_id, **form):
    answer = browser.post(f"/pay/psp-mock/{payment_id}/", form)
    assert answer.status_code == 302, answer.content
    return answer["Location"]


def test_without_a_provider_the_page_offers_fps_only(client, api_order, settings):
    settings.TUNGBAN_PAYMENTS_PSP = ""
    page = client.get(f"/pay/{api_order.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="fps-qr"' in page and 'id="pay-with-bank"' in page and 'id="pay-card"' not in page
    refused = client.post(f"/pay/card/{api_order.pk}", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 409 and "pay by FPS" in refused.content.decode()
    assert not CardPayment.objects.exists()


def test_card_paid_the_return_records_it_and_the_late_webhook_changes_nothing(client, api_order, psp, run_tasks):
    payment_id = _start(client, api_order)
    back = _pay_on_mock(client, payment_id, pay="card", card_number="4242 4242 4242 4242")
    assert "/pay/card/return/" in back
    landed = client.get(back)  # the return queries the provider: the webhook is still queued
    assert landed.status_code == 302 and landed["Location"] == f"/pay/{api_order.pk}/"
    api_order.refresh_from_db()
    assert (
        api_order.state == OrderState.SUCCESS
        and api_order.method == Method.CARD
        and api_order.amount_received_cents == 35000
    )
    (credit,) = CreditTransfer.objects.all()
    assert credit.source == CreditSource.PSP and credit.order == api_order
    run_tasks()  # the mock's webhook now arrives: a repeat
    assert MockPspPayment.objects.get(pk=payment_id).webhooks_sent == 1
    assert (
        CreditTransfer.objects.count() == 1 and PaymentOrder.objects.get(pk=api_order.pk).amount_received_cents == 35000
    )
    page = client.get(f"/pay/{api_order.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="payment-received"' in page and 'href="https://fehd.example/done"' in page


def test_webhook_before_the_redirect_and_twice(client, api_order, psp):
    psp.TUNGBAN_PAYMENTS_MOCK_PSP_WEBHOOKS = "before_redirect"
    payment_id = _start(client, api_order)
    mock.finish(payment_id, "succeeded", instrument="google_pay")  # the provider's page, then its webhook
    assert MockPspPayment.objects.get(pk=payment_id).webhooks_sent == 1
    api_order.refresh_from_db()
    assert api_order.state == OrderState.SUCCESS and api_order.method == Method.WALLET  # before the browser came back
    attempt = CardPayment.objects.get(psp_payment_id=payment_id)
    assert card.returned(attempt.pk).status == "succeeded"  # the return finds it done
    assert mock.send_webhook(payment_id, "evt_again") == 200  # the provider repeats itself
    assert (
        CreditTransfer.objects.count() == 1 and PaymentOrder.objects.get(pk=api_order.pk).amount_received_cents == 35000
    )


def test_a_lost_webhook_is_made_good_by_the_query(client, api_order, psp, run_tasks):
    psp.TUNGBAN_PAYMENTS_MOCK_PSP_WEBHOOKS = "never"
    payment_id = _start(client, api_order)
    back = _pay_on_mock(client, payment_id, pay="apple_pay")
    run_tasks()
    assert PaymentOrder.objects.get(pk=api_order.pk).state != OrderState.SUCCESS  # nothing told the platform yet
    client.get(back)
    api_order.refresh_from_db()
    assert api_order.state == OrderState.SUCCESS and api_order.method == Method.WALLET


def test_a_declined_card_takes_nothing_and_the_order_stays_payable(client, api_order, psp, run_tasks):
    payment_id = _start(client, api_order)
    back = _pay_on_mock(client, payment_id, pay="card", card_number="4000000000000002")
    landed = client.get(back)
    assert landed["Location"] == f"/pay/{api_order.pk}/?card=declined"
    run_tasks()
    api_order.refresh_from_db()
    assert api_order.state == OrderState.AWAITING_TRANSFER and api_order.amount_received_cents == 0
    assert CardPayment.objects.get().failure_code == "card_declined" and not CreditTransfer.objects.exists()
    page = client.get(landed["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Your card was declined" in page and 'id="fps-qr"' in page and 'id="pay-card"' in page


def test_three_d_secure_abandoned_takes_nothing(client, api_order, psp):
    payment_id = _start(client, api_order)
    challenge = _pay_on_mock(client, payment_id, pay="card", card_number="4000 0027 6000 3184")
    assert challenge.endswith(f"/pay/psp-mock/{payment_id}/3ds")
    back = client.post(challenge, {"challenge": "cancel"})["Location"]
    landed = client.get(back)
    assert landed["Location"].endswith("?card=abandoned")
    assert CardPayment.objects.get().status == "abandoned"
    assert PaymentOrder.objects.get(pk=api_order.pk).state == OrderState.AWAITING_TRANSFER
    # Another try with 3-D Secure completed pays it.
    second = _start(client, api_order)
    challenge = _pay_on_mock(client, second, pay="card", card_number="4000002760003184")
    client.get(client.post(challenge, {"challenge": "complete"})["Location"])
    assert PaymentOrder.objects.get(pk=api_order.pk).state == OrderState.SUCCESS


def test_a_wrong_card_number_is_asked_again(client, api_order, psp):
    payment_id = _start(client, api_order)
    # the provider's page names the bill as the payment step does: in groups of four
    shown = client.get(f"/pay/psp-mock/{payment_id}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    grouped = " ".join(api_order.reference[i : i + 4] for i in range(0, len(api_order.reference), 4))
    assert f'id="psp-reference">{grouped}</dd>' in shown
    again = client.post(f"/pay/psp-mock/{payment_id}/", {"pay": "card", "card_number": "12"}, HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 422 and "12 to 19 digits" in again.content.decode()
    assert MockPspPayment.objects.get(pk=payment_id).status == "pending"


def test_forged_and_unknown_webhooks_are_refused(client, api_order, psp):
    payment_id = _start(client, api_order)
    MockPspPayment.objects.filter(pk=payment_id).update(status="succeeded", instrument="card")
    body = mock.webhook_body(MockPspPayment.objects.get(pk=payment_id), "evt_forged")
    forged = client.post(
        "/pay/psp/mock/webhook",
        body,
        content_type="application/json",
        HTTP_MOCK_PSP_SIGNATURE=signed.sign("not-the-secret", int(time.time()), body),
    )
    assert forged.status_code == 401 and forged.json()["error"] == "psp_signature_invalid"
    stale = client.post(
        "/pay/psp/mock/webhook",
        body,
        content_type="application/json",
        HTTP_MOCK_PSP_SIGNATURE=signed.sign(psp.TUNGBAN_PAYMENTS_PSP_SECRET, int(time.time()) - 3600, body),
    )
    assert stale.status_code == 401
    assert PaymentOrder.objects.get(pk=api_order.pk).state == OrderState.AWAITING_TRANSFER
    event = json.loads(body)
    event["payment"]["id"] = "mock_never_started_here"
    other = json.dumps(event).encode()
    unknown = client.post(
        "/pay/psp/mock/webhook",
        other,
        content_type="application/json",
        HTTP_MOCK_PSP_SIGNATURE=signed.sign(psp.TUNGBAN_PAYMENTS_PSP_SECRET, int(time.time()), other),
    )
    assert unknown.status_code == 400 and unknown.json()["error"] == "psp_webhook_invalid"
    wrong_provider = client.post("/pay/psp/stripe/webhook", body, content_type="application/json")
    assert wrong_provider.status_code == 404
    assert not CreditTransfer.objects.exists()


def test_an_expired_or_paid_order_opens_no_card_payment(client, api_order, psp):
    from django.utils import timezone

    PaymentOrder.objects.filter(pk=api_order.pk).update(expires_at=timezone.now())
    refused = client.post(f"/pay/card/{api_order.pk}", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 409 and not CardPayment.objects.exists()
