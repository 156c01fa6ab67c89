"""The payer's pages (issue 18): the payment step of an order at ``/pay/<id>/`` (both languages),
its status for the page's poll, its QR code as PNG; an unknown or expired order is said so."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone

from tungban.payments import fps, purposes, services
from tungban.payments.models import PaymentOrder

pytestmark = pytest.mark.django_db


@pytest.fixture
def order():
    purposes.register("tests.page", on_paid=lambda order: None, app="tests")
    return services.create_order(
        department="FEHD",
        purpose="tests.page",
        purpose_ref="X-1",
        lines=[services.Line("licence", "Temporary hawker licence", "臨時小販牌照", 35000)],
        description_en="Temporary hawker licence",
        description_zh="臨時小販牌照",
        created_by="tests",
        idempotency_key="page-1",
        return_url="/services/my/",
    )


def test_the_payment_step_shows_the_qr_code_reference_and_expiry(client, order, settings):
    client.cookies["tungban_language"] = "en"
    html = client.get(f"/pay/{order.pk}/").content.decode()
    assert 'id="payment-amount">HK$350<' in html and "Temporary hawker licence" in html
    src = re.search(r'<img id="fps-qr" src="([^"]+)"', html).group(1)
    assert src.startswith("data:image/svg+xml")
    assert f'data-reference="{order.reference}"' in html
    link = re.search(r'id="pay-with-bank" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    query = parse_qs(urlparse(link).query)
    assert link.startswith(f"{settings.TUNGBAN_PAYMENTS_BANK_URL}/pay?")
    qr = fps.decode(query["qr"][0])
    assert qr.amount_cents == 35000 and qr.bill_number == order.reference
    assert query["return"][0].startswith("http://testserver/")
    assert "<script" not in html.replace('<script src="/static/payments/poll.js" defer></script>', "")
    client.cookies["tungban_language"] = "zh-hant"
    zh = client.get(f"/pay/{order.pk}/").content.decode()
    assert "轉數快" in zh and "臨時小販牌照" in zh


def test_the_status_answers_the_poll_and_the_png_is_an_image(client, order):
    body = client.get(f"/pay/{order.pk}/status").json()
    assert body == {"value": "awaiting_transfer", "state": "awaiting_transfer", "finished": False, "paid": False}
    png = client.get(f"/pay/{order.pk}/qr.png")
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    services.record_credit(
        services.CreditIn("E2E-P", "M", 35000, timezone.localdate(), timezone.now(), order.reference),
        source="notification",
    )
    assert client.get(f"/pay/{order.pk}/status").json()["paid"] is True
    html = client.get(f"/pay/{order.pk}/").content.decode()
    assert 'id="payment-received"' in html and 'id="fps-qr"' not in html
    assert client.get(f"/pay/{order.pk}/qr.png").status_code == 404


def test_an_expired_order_says_so_and_an_unknown_one_is_404(client, order):
    PaymentOrder.objects.filter(pk=order.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    html = client.get(f"/pay/{order.pk}/").content.decode()
    assert 'id="payment-expired"' in html and 'id="fps-qr"' not in html  # not yet swept: still not payable
    assert client.get("/pay/00000000-0000-0000-0000-000000000000/").status_code == 404
