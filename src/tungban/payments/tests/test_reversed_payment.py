"""A payment the bank reverses (pay-left item 1): the order's e-receipt is void — the lists in
the app and on the payment page, and the signature verification page, say "voided — payment
reversed" in both languages while the sealed PDF stays byte for byte what it was — the order
paid again gets a new receipt, and the department's systems hear ``payment.reversed`` in the
reversal's own transaction (the outbox)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.utils import translation

from tungban.payments import cards
from tungban.payments.constants import OrderState
from tungban.payments.models import PaymentWebhookDelivery
from tungban.payments.models_refunds import Receipt, ReceiptState
from tungban.payments.services import webhooks

from .refund_helpers import bank_reverses, paid_order, pay
from .test_receipts import _logged_in

VOID_EN = "Voided — payment reversed"
VOID_ZH = "已作廢 — 付款已被撤回"


def _verify(pdf: bytes, language: str) -> str:
    page = Client().post(
        "/signing/verify", {"file": SimpleUploadedFile("receipt.pdf", pdf)}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert page.status_code == 200
    return page.content.decode()


def test_a_reversed_payments_receipt_is_void_everywhere_and_its_pdf_unchanged(resident, run_tasks, settings):
    settings.TUNGBAN_VERIFY_MAX_SECONDS = 120  # the verifier process starts cold: a loaded machine is slow
    order = paid_order(20_000, payer=resident)
    run_tasks()
    receipt = Receipt.objects.get(order=order)
    assert receipt.state == ReceiptState.DONE
    pdf = bytes(receipt.pdf)
    before = _verify(pdf, "en")
    assert 'id="document-void"' not in before and VOID_EN not in before  # a receipt that stands

    order = bank_reverses(order)
    assert order.state == OrderState.AWAITING_TRANSFER and order.receipt_id is None
    receipt.refresh_from_db()
    assert receipt.voided_at is not None and receipt.void_reason == "payment_reversed"
    assert bytes(receipt.pdf) == pdf  # a signed document is never altered

    # The verification page: the seal still verifies, and the receipt is said to be void.
    en, zh = _verify(pdf, "en"), _verify(pdf, "zh-hant")
    assert 'id="document-void"' in en and VOID_EN in en and receipt.number in en
    assert "Result: the signature is valid." in en
    assert 'id="document-void"' in zh and VOID_ZH in zh
    assert resident.name_en not in en and resident.name_zh not in zh  # a public page names nobody

    # The app's card and the payer's payment page.
    with translation.override("en"):
        (item,) = cards.receipts_card(resident)["items"]
    assert receipt.number in item["label"] and item["value"].endswith(VOID_EN)
    with translation.override("zh-hant"):
        assert cards.receipts_card(resident)["items"][0]["value"].endswith(VOID_ZH)
    page = _logged_in(resident).get(f"/pay/{order.pk}/").content.decode()
    assert f'data-receipt="{receipt.number}" data-kind="receipt" data-void="true"' in page and VOID_EN in page

    # Paid again: a new receipt; the void one stays void.
    order = pay(order)
    run_tasks()
    again = Receipt.objects.get(order=order, voided_at__isnull=True)
    assert again.number == f"{receipt.number}-2" and again.state == ReceiptState.DONE
    order.refresh_from_db()
    assert order.receipt_id == str(again.pk)
    assert VOID_EN not in _verify(bytes(again.pdf), "en") and VOID_EN in _verify(pdf, "en")


def test_a_receipt_voided_before_it_was_drawn_is_never_drawn(resident, run_tasks):
    order = bank_reverses(paid_order(20_000, payer=resident))
    receipt = Receipt.objects.get(order=order)
    run_tasks()
    receipt.refresh_from_db()
    assert receipt.voided_at is not None and receipt.pdf is None and receipt.state == ReceiptState.QUEUED
    page = _logged_in(resident).get(f"/pay/{order.pk}/").content.decode()
    assert VOID_EN in page and "being prepared" not in page


@pytest.mark.django_db(transaction=True)
def test_the_departments_hear_payment_reversed_in_the_reversals_transaction():
    endpoint, _secret = webhooks.register_endpoint("FEHD", "https://93.184.215.14/hook", created_by="tests")
    assert "payment.reversed" in endpoint.events  # the default: every event
    order = paid_order(20_000)

    class Crash(Exception):
        pass

    with pytest.raises(Crash), transaction.atomic():
        bank_reverses(order)
        (written,) = PaymentWebhookDelivery.objects.filter(event_type="payment.reversed")
        assert written.order_id == order.pk
        raise Crash  # the reversal rolls back: its delivery with it
    assert not PaymentWebhookDelivery.objects.filter(event_type="payment.reversed").exists()

    order = bank_reverses(order)
    (delivery,) = PaymentWebhookDelivery.objects.filter(event_type="payment.reversed")
    credit = order.credits.get()
    assert f"reversal:{credit.end_to_end_id} 20000" in delivery.body
    assert '"status":"awaiting_transfer"' in delivery.body and '"from_state":"success"' in delivery.body
    # Not also "payment.started": the reversal's event is named once, as a reversal.
    assert PaymentWebhookDelivery.objects.filter(event=delivery.event).count() == 1
