"""Signed bilingual e-receipts and credit notes (issue 18, pay-refund): made by a background task
when an order is paid, sealed by the platform through the signing stack, verified here with
poppler's ``pdfsig`` (NSS trusting only the tungban root; the platform does not use poppler for
this), read back with ``pdftotext``; shown in the app's panel with a link that downloads the
PDF; retried when sealing fails."""

from __future__ import annotations

from django.core import signing
from django.test import Client
from django.utils import timezone

from tungban.payments import cards, receipts, refunds
from tungban.payments.models_refunds import Receipt, ReceiptKind, ReceiptState

from .receipt_checks import pdf_text, pdfsig_against_root, require_poppler
from .refund_helpers import department_user, make_order, paid_order, pay


def text_of(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return pdf_text(path)


def test_a_paid_order_gets_a_sealed_bilingual_receipt_that_pdfsig_verifies(resident, run_tasks, tmp_path):
    require_poppler()
    department_user("fehd-clerk", "FEHD")  # the department's names come from e-services
    order = paid_order(41_500, payer=resident)
    receipt = Receipt.objects.get(order=order)
    assert receipt.state == ReceiptState.QUEUED and receipt.number == f"R-{order.reference}"
    assert order.receipt_id is None

    run_tasks()
    receipt.refresh_from_db()
    order.refresh_from_db()
    assert receipt.state == ReceiptState.DONE and order.receipt_id == str(receipt.pk)
    pdf = bytes(receipt.pdf)

    (tmp_path / "receipt.pdf").write_bytes(pdf)
    out = pdfsig_against_root(tmp_path / "receipt.pdf", tmp_path)
    assert "Signature is Valid" in out and "Certificate is Trusted" in out, out
    assert "tungban e-Receipts" in out and "Total document signed" in out, out

    text = text_of(pdf, tmp_path)
    credit = order.credits.get()
    for expected in (
        "電子收據",
        "e-Receipt",
        receipt.number,
        order.reference,
        "食物環境衞生署",
        "Food and Environmental Hygiene Department",
        "臨時小販牌照費",
        "Temporary hawker licence fee",
        "HK$415.00",
        credit.end_to_end_id,
        "FPS",
        timezone.localtime(order.paid_at).strftime("%Y-%m-%d %H:%M"),
    ):
        assert expected in text, (expected, text)
    # The payer, masked: neither full name is on the receipt.
    assert resident.name_en not in text and resident.name_zh not in text
    assert receipts.mask_name(resident.name_zh) in text


def test_one_changed_byte_breaks_the_receipts_seal(resident, run_tasks, tmp_path):
    require_poppler()
    order = paid_order(10_000, payer=resident)
    run_tasks()
    pdf = bytes(Receipt.objects.get(order=order).pdf)
    at = pdf.index(b"/Title") + 8
    (tmp_path / "changed.pdf").write_bytes(pdf[:at] + bytes([pdf[at] ^ 1]) + pdf[at + 1 :])
    out = pdfsig_against_root(tmp_path / "changed.pdf", tmp_path)
    assert "Signature is Valid" not in out, out


def test_masking():
    assert receipts.mask_name("CHAN Tai Man") == "C*** T** M**"
    assert receipts.mask_name("陳大文") == "陳*文"
    assert receipts.mask_name("李明") == "李*"
    assert receipts.mask_name("CHAN T** M**") == "CHAN T** M**"  # already masked by the bank


def test_one_receipt_per_order_and_none_before_payment(db, run_tasks):
    order = make_order(10_000)
    assert receipts.queue_receipt(order) is None and not Receipt.objects.exists()
    order = pay(order)
    first = Receipt.objects.get(order=order)
    assert receipts.queue_receipt(order).pk == first.pk
    pay(order, 5_000)  # a second transfer (overpaid): still one receipt
    assert Receipt.objects.filter(order=order, kind=ReceiptKind.RECEIPT).count() == 1


def test_a_failed_seal_is_retried_and_the_payment_stands(db, run_tasks, monkeypatch):
    from tungban.signing import services as signing_services

    calls = {"n": 0}
    real = signing_services.seal_pdf

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the HSM is busy")
        return real(*args, **kwargs)

    monkeypatch.setattr(signing_services, "seal_pdf", flaky)
    order = paid_order(10_000)
    run_tasks()
    receipt = Receipt.objects.get(order=order)
    assert receipt.state == ReceiptState.QUEUED and receipt.attempts == 1 and receipt.error == "RuntimeError"
    order.refresh_from_db()
    assert order.state == "success" and order.receipt_id is None
    run_tasks(include_deferred=True)
    receipt.refresh_from_db()
    assert receipt.state == ReceiptState.DONE and receipt.attempts == 1


def test_a_completed_refund_gets_a_credit_note(resident, run_tasks, tmp_path, settings):
    settings.TUNGBAN_REFUND_SECOND_APPROVAL_CENTS = 1_000_000
    clerk, checker = department_user("fehd-clerk", "FEHD"), department_user("fehd-checker", "FEHD")
    order = paid_order(50_000, payer=resident)
    refund = refunds.request_refund(
        order, clerk, amount_cents=12_000, amount_available=50_000, reason_en="Fee charged twice", reason_zh="重複收費"
    )
    refunds.approve(refund, checker)
    refunds.export_batch("FEHD", checker)
    refunds.complete(refund, actor_kind="officer", actor_id=checker.username, user=checker)
    run_tasks()
    note = Receipt.objects.get(refund=refund)
    assert note.kind == ReceiptKind.CREDIT_NOTE and note.state == ReceiptState.DONE
    require_poppler()
    text = text_of(bytes(note.pdf), tmp_path)
    for expected in (
        "退款通知書",
        "Credit note",
        note.number,
        f"R-{order.reference}",
        "HK$120.00",
        "重複收費",
        "Fee charged twice",
    ):
        assert expected in text, (expected, text)
    order.refresh_from_db()
    assert order.receipt_id == str(Receipt.objects.get(order=order, kind=ReceiptKind.RECEIPT).pk)


def test_the_app_card_lists_receipts_with_a_link_that_downloads_the_pdf(resident, run_tasks, settings):
    assert cards.receipts_card(resident)["state"] == "empty"
    order = paid_order(20_000, payer=resident)
    other = paid_order(30_000)  # someone else's payment
    run_tasks()
    card = cards.receipts_card(resident)
    assert card["state"] == "ok"
    (item,) = card["items"]
    receipt = Receipt.objects.get(order=order)
    assert receipt.number in item["label"] and "HK$200.00" in item["value"]
    assert item["href"].startswith(f"/pay/receipts/{receipt.pk}/")

    browser = Client()
    got = browser.get(item["href"])
    assert got.status_code == 200 and got["Content-Type"] == "application/pdf"
    assert got.content == bytes(receipt.pdf) and "no-store" in got["Cache-Control"]

    # The token is for this receipt only, and for a while only.
    other_receipt = Receipt.objects.get(order=other)
    token = item["href"].rsplit("/", 1)[1].removesuffix(".pdf")
    assert browser.get(f"/pay/receipts/{other_receipt.pk}/{token}.pdf").status_code == 404
    assert browser.get(f"/pay/receipts/{receipt.pk}/{token[:-2]}xx.pdf").status_code == 404
    old = signing.dumps(str(receipt.pk), salt=receipts.LINK_SALT)
    settings.TUNGBAN_RECEIPT_LINK_SECONDS = 0
    expired = browser.get(f"/pay/receipts/{receipt.pk}/{old}.pdf", HTTP_ACCEPT_LANGUAGE="en")
    assert expired.status_code in (404, 410)


def test_a_receipt_still_being_made_answers_409(resident, db):
    order = paid_order(20_000, payer=resident)
    receipt = Receipt.objects.get(order=order)
    href = receipts.receipt_link(receipt)
    page = Client().get(href, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 409 and b"still being prepared" in page.content


def _logged_in(resident) -> Client:
    """A browser logged in to the portal as ``resident`` (the e-services login's session)."""
    from tungban.eservices import login

    browser = Client()
    session = browser.session
    session[login.SESSION_KEY] = {"resident": str(resident.public_id), "sub": "test"}
    session.save()
    browser.cookies["tungban_language"] = "en"
    return browser


def test_the_payment_page_shows_the_receipt_and_the_refunds_to_the_payer(resident, run_tasks, settings):
    settings.TUNGBAN_REFUND_SECOND_APPROVAL_CENTS = 1_000_000
    clerk, checker = department_user("fehd-clerk", "FEHD"), department_user("fehd-checker", "FEHD")
    order = paid_order(30_000, payer=resident)
    client = _logged_in(resident)
    page = client.get(f"/pay/{order.pk}/").content.decode()
    assert f'data-receipt="R-{order.reference}"' in page and "being prepared" in page
    assert 'id="receipts-refresh"' in page  # while the worker seals it
    assert '<a href="/signing/verify">the signature verification page</a>' in page
    client.cookies["tungban_language"] = "zh-hant"
    assert '<a href="/signing/verify">簽署核實頁面</a>' in client.get(f"/pay/{order.pk}/").content.decode()
    client.cookies["tungban_language"] = "en"
    run_tasks()
    refund = refunds.request_refund(
        order, clerk, amount_cents=5_000, amount_available=30_000, reason_en="Overcharged", reason_zh="多收"
    )
    page = client.get(f"/pay/{order.pk}/").content.decode()
    receipt = Receipt.objects.get(order=order)
    link = f'href="/pay/receipts/{receipt.pk}/'
    assert link in page and 'id="receipts-refresh"' not in page
    assert f'data-refund="{refund.reference}" data-state="requested"' in page and "HK$50" in page
    refunds.approve(refund, checker)
    assert 'data-state="approved"' in client.get(f"/pay/{order.pk}/").content.decode()


def test_the_payment_page_keeps_receipts_and_refunds_from_anyone_but_the_payer(resident, officer, run_tasks):
    """Review finding 9: the order's link alone (held by the department, the bank, the browser's
    history) shows no receipt link and no refund; a short line says where the receipt is."""
    from tungban.testing.factories import make_resident

    order = paid_order(30_000, payer=resident)
    run_tasks()
    receipt = Receipt.objects.get(order=order, state=ReceiptState.DONE)
    clerk = department_user("fehd-clerk", "FEHD")
    refund = refunds.request_refund(
        order, clerk, amount_cents=5_000, amount_available=30_000, reason_en="Overcharged", reason_zh="多收"
    )
    stranger = Client(HTTP_ACCEPT_LANGUAGE="en")
    stranger.cookies["tungban_language"] = "en"
    someone_else = _logged_in(make_resident(officer))
    for browser in (stranger, someone_else):
        answer = browser.get(f"/pay/{order.pk}/")
        page = answer.content.decode()
        assert answer.status_code == 200
        assert f"/pay/receipts/{receipt.pk}/" not in page and receipt.number not in page
        assert refund.reference not in page and 'id="payment-receipts"' not in page
        assert 'id="receipt-elsewhere"' in page and "tungban app and their account" in page
    payer_page = _logged_in(resident).get(f"/pay/{order.pk}/").content.decode()
    assert f"/pay/receipts/{receipt.pk}/" in payer_page and refund.reference in payer_page
    assert 'id="receipt-elsewhere"' not in payer_page
