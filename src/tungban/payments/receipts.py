"""Signed bilingual e-receipts and credit notes (issue 18: "Receipts: a bilingual e-receipt PDF
signed by the platform (PAdES, the existing signing stack), shown in the app").

When an order is paid (``success`` or ``overpaid``), :func:`queue_receipt` — called in the
transaction that records the payment — adds a :class:`~.models.Receipt` row and its task;
the task (:func:`make_receipt`, ``tungban worker``) draws the PDF (:mod:`.receipt_pdf`),
seals it with the platform's seal ``payments.receipts`` (:func:`tungban.signing.services.seal_pdf`:
PAdES B-T, a certificate from the tungban signing CA, the key in the PKCS#11 token) and stores
it once; the order then names it (``receipt_id``). A completed refund gets a credit note the
same way (:func:`queue_credit_note`). A failure is retried with backoff
(``TUNGBAN_TASK_MAX_ATTEMPTS``); the payment itself is never undone by it.

What a receipt shows (both languages): receipt number, the payer (masked: ``CHAN T** M**`` /
``陳*文``), department, fee lines, amount, method, the bank's reference (the transfer's
end-to-end id), paid time (HKT), the order's bill reference.
"""

from __future__ import annotations

import hashlib
import logging
import uuid

from django.conf import settings
from django.core import signing as django_signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.tasks import task
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from tungban.core import jobs
from tungban.core.errors import DomainError
from tungban.signing import services as signing

from . import errors, officers, receipt_pdf
from .constants import Method
from .masking import mask_name
from .models import PaymentOrder
from .models_refunds import Receipt, ReceiptKind, ReceiptState, Refund, VoidReason

log = logging.getLogger(__name__)

SEAL_PURPOSE = "payments.receipts"
SEAL_NAME = "tungban e-Receipts 通辦電子收據"
PAID_STATES = ("success", "overpaid")


# --- queueing (in the caller's transaction) -------------------------------------------------


def queue_receipt(order: PaymentOrder) -> Receipt | None:
    """Queue the e-receipt of a paid ``order`` (in the caller's transaction: the row and its
    task commit with the payment). Idempotent: an order has one receipt; a second call returns
    it. ``None`` for an order that is not paid."""
    if order.state not in PAID_STATES:
        return None
    mine = Receipt.objects.filter(order=order, kind=ReceiptKind.RECEIPT)
    existing = mine.filter(voided_at__isnull=True).first()
    if existing is not None:
        return existing
    voided = mine.count()  # paid again after a reversal: R-<reference>-2, -3, …
    number = f"R-{order.reference}" + (f"-{voided + 1}" if voided else "")
    receipt_id = uuid.uuid4()  # known before the row, so the row is written once with its task
    try:
        with transaction.atomic():
            task_id = jobs.enqueue(make_receipt_task, str(receipt_id))
            return Receipt.objects.create(
                id=receipt_id, order=order, kind=ReceiptKind.RECEIPT, number=number, task_id=task_id
            )
    except IntegrityError:  # a concurrent call made it (its task and ours: ours is rolled back)
        return Receipt.objects.get(order=order, kind=ReceiptKind.RECEIPT, voided_at__isnull=True)


def void_receipts(order: PaymentOrder, reason: str = VoidReason.PAYMENT_REVERSED) -> int:
    """Mark the e-receipt of ``order`` void (in the caller's transaction: the reversal's), and
    forget it on the order (``receipt_id``); returns how many were voided (0 or 1). Its PDF is
    never altered — a signed document cannot be recalled — so the receipt lists
    (:func:`void_label`) and the signature verification page (:func:`document_status`) say it
    is void. A receipt still being drawn is drawn no more (:func:`make_receipt` skips it).
    Credit notes are not voided: the refund they record was paid."""
    done = Receipt.objects.filter(order=order, kind=ReceiptKind.RECEIPT, voided_at__isnull=True).update(
        voided_at=timezone.now(), void_reason=reason
    )
    if done:
        PaymentOrder.objects.filter(pk=order.pk).update(receipt_id=None)
        order.receipt_id = None
    return done


def void_label(receipt: Receipt) -> str:
    """ "Voided — payment reversed" in the active language, or "" for a receipt that stands."""
    if receipt.voided_at is None:
        return ""
    return str(VOID_LABELS.get(receipt.void_reason, VOID_LABELS[VoidReason.PAYMENT_REVERSED]))


#: What the lists and the verification page say of a void receipt, by ``void_reason``.
VOID_LABELS = {VoidReason.PAYMENT_REVERSED: _("Voided — payment reversed")}


def document_status(sha256: str) -> list[dict]:
    """The signing app's verification page asks whether a document it checked is a void
    e-receipt (:mod:`tungban.signing.document_status`, registered in ``PaymentsConfig.ready``):
    ``[{"state": "void", "title": "Voided — payment reversed", "detail": …, "at": datetime}]``
    for the sealed PDF whose SHA-256 (hex) is ``sha256``, else ``[]``. The page is public, so
    it names the receipt number and when it was voided, never the payer."""
    receipt = Receipt.objects.filter(sha256=sha256.lower(), voided_at__isnull=False).first()
    if receipt is None:
        return []
    return [
        {
            "state": "void",
            "title": void_label(receipt),
            "detail": _(
                "Receipt %(number)s no longer stands: the bank reversed the payment it records. "
                "The signature is still the platform's, but the payment did not stay paid."
            )
            % {"number": receipt.number},
            "at": receipt.voided_at,
        }
    ]


def queue_credit_note(refund: Refund) -> Receipt:
    """Queue the credit note of a completed ``refund`` (in the caller's transaction)."""
    existing = Receipt.objects.filter(refund=refund).first()
    if existing is not None:
        return existing
    receipt_id = uuid.uuid4()
    return Receipt.objects.create(
        id=receipt_id,
        order=refund.order,
        refund=refund,
        kind=ReceiptKind.CREDIT_NOTE,
        number=f"CN-{refund.reference}",
        task_id=jobs.enqueue(make_receipt_task, str(receipt_id)),
    )


# --- the job --------------------------------------------------------------------------------


@task(takes_context=True)
def make_receipt_task(context, receipt_id: str) -> str:
    """One attempt at drawing and sealing a receipt (:func:`make_receipt`), retried with backoff."""
    try:
        return make_receipt(receipt_id, context.task_result.id)
    except Exception as exc:
        _retry_or_fail(receipt_id, context.task_result.id, exc)
        raise


def make_receipt(receipt_id: str, task_id: str) -> str:
    """Draw and seal the receipt, store it once (a conditional update: a rerun after a crash,
    or a second worker, never replaces a stored PDF), and point the order at it.

    :returns: ``done`` or ``skipped`` (already done, or ``task_id`` is not its current task).
    """
    receipt = Receipt.objects.select_related("order", "refund").get(pk=receipt_id)
    if receipt.state not in (ReceiptState.QUEUED, ReceiptState.RUNNING) or receipt.task_id != str(task_id):
        return "skipped"
    if receipt.voided_at is not None:  # the payment was reversed before the receipt was drawn
        return "skipped"
    Receipt.objects.filter(pk=receipt.pk, task_id=str(task_id)).update(state=ReceiptState.RUNNING)
    document = credit_note_document(receipt) if receipt.refund_id else receipt_document(receipt)
    sealed = signing.seal_pdf(
        receipt_pdf.render(document),
        purpose=SEAL_PURPOSE,
        name=SEAL_NAME,
        reason=f"{document.title_en} {receipt.number}",
    )
    with transaction.atomic():
        updated = Receipt.objects.filter(
            pk=receipt.pk, task_id=str(task_id), state=ReceiptState.RUNNING, pdf__isnull=True
        ).update(
            pdf=sealed,
            sha256=hashlib.sha256(sealed).hexdigest(),
            state=ReceiptState.DONE,
            signed_at=timezone.now(),
            error="",
        )
        if not updated:
            return "skipped"
        voided = Receipt.objects.filter(pk=receipt.pk, voided_at__isnull=False).exists()
        if receipt.kind == ReceiptKind.RECEIPT and not voided:
            PaymentOrder.objects.filter(pk=receipt.order_id).update(receipt_id=str(receipt.pk))
    return "done"


def _retry_or_fail(receipt_id: str, task_id: str, exc: Exception) -> None:
    with transaction.atomic():
        receipt = Receipt.objects.select_for_update().get(pk=receipt_id)
        if receipt.state not in (ReceiptState.QUEUED, ReceiptState.RUNNING) or receipt.task_id != str(task_id):
            return
        receipt.attempts += 1
        receipt.error = (exc.code if isinstance(exc, DomainError) else type(exc).__name__)[:200]
        if jobs.can_retry(receipt.attempts):
            receipt.state = ReceiptState.QUEUED
            receipt.task_id = jobs.enqueue(make_receipt_task, str(receipt.pk), delay=jobs.retry_delay(receipt.attempts))
            log.warning("Receipt %s failed (attempt %d), will retry: %r", receipt.number, receipt.attempts, exc)
        else:
            receipt.state = ReceiptState.FAILED
            log.error("Receipt %s failed for good: %r", receipt.number, exc)
        receipt.save(update_fields=["attempts", "error", "state", "task_id"])


def receipt_task_lost(receipt_id: str, task_id: str) -> None:
    """The receipt's task ended without its handler running (its worker died): a failed attempt."""
    _retry_or_fail(receipt_id, task_id, jobs.WorkerLost("the worker died"))


# --- what the PDF says ----------------------------------------------------------------------


def _money(cents: int) -> str:
    return receipt_pdf.money(cents)


def _hkt(when) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%d %H:%M:%S HKT") if when else "—"


def payer_text(order: PaymentOrder) -> str:
    """The masked payer: the resident's names when known, else the name the bank gave for the
    transfer, masked (:func:`.masking.mask_name`)."""
    if order.payer is not None:
        parts = [mask_name(order.payer.name_en), mask_name(order.payer.name_zh)]
        return " ".join(p for p in parts if p)
    credit = order.credits.order_by("received_at").first()
    return mask_name(credit.debtor_name if credit else "") or "—"


def _method(order: PaymentOrder) -> str:
    with override("zh-hant"):
        zh = str(Method(order.method).label)
    with override("en"):
        en = str(Method(order.method).label)
    return f"{zh} / {en}" if zh != en else en


def _department(order: PaymentOrder) -> str:
    en, zh = officers.department_names(order.department)
    return f"{zh}\n{en}" if zh != en else en


def _lines(order: PaymentOrder) -> list[receipt_pdf.Line]:
    out = []
    for line in order.lines or []:
        concession = line.get("concession") or ""
        if isinstance(concession, dict):
            concession = f"{concession.get('label_zh', '')} {concession.get('label_en', '')}".strip()
        out.append(
            receipt_pdf.Line(
                label_zh=line.get("label_zh", ""),
                label_en=line.get("label_en", "") or line.get("code", ""),
                quantity=int(line.get("quantity", 1) or 1),
                unit=_money(int(line.get("unit_cents", 0) or 0)),
                total=_money(int(line.get("total_cents", 0) or 0)),
                note=f"優惠 Concession: {concession}" if concession else "",
            )
        )
    return out


FOOTER_ZH = "本文件由通辦平台以電子印章簽署，可於 %(url)s 核實簽署。"
FOOTER_EN = "This document is sealed by the tungban platform. Check its signature at %(url)s."


def receipt_document(receipt: Receipt) -> receipt_pdf.Document:
    order = receipt.order
    credit = order.credits.order_by("received_at").first()
    url = f"{settings.TUNGBAN_ISSUER}/signing/verify"
    rows = [
        receipt_pdf.Row("收據編號", "Receipt number", receipt.number),
        receipt_pdf.Row("付款單編號", "Bill reference", order.reference),
        receipt_pdf.Row("部門", "Department", _department(order)),
        receipt_pdf.Row("服務", "For", f"{order.description_zh}\n{order.description_en}"),
        receipt_pdf.Row("付款人", "Payer", payer_text(order)),
        receipt_pdf.Row("付款方式", "Method", _method(order)),
        receipt_pdf.Row("銀行參考編號", "Bank reference", credit.end_to_end_id if credit else "—"),
        receipt_pdf.Row("付款時間", "Paid at", _hkt(order.paid_at)),
    ]
    if order.amount_received_cents != order.amount_cents:
        rows.append(receipt_pdf.Row("應繳金額", "Amount due", _money(order.amount_cents)))
    return receipt_pdf.Document(
        title_zh="電子收據",
        title_en="e-Receipt",
        rows=rows,
        lines=_lines(order),
        total=receipt_pdf.Row("已收金額", "Amount received", _money(order.amount_received_cents)),
        footer_zh=FOOTER_ZH % {"url": url},
        footer_en=FOOTER_EN % {"url": url},
    )


def credit_note_document(receipt: Receipt) -> receipt_pdf.Document:
    refund = receipt.refund
    order = refund.order
    url = f"{settings.TUNGBAN_ISSUER}/signing/verify"
    original = Receipt.objects.filter(order=order, kind=ReceiptKind.RECEIPT).values_list("number", flat=True).first()
    rows = [
        receipt_pdf.Row("退款單編號", "Credit note number", receipt.number),
        receipt_pdf.Row("原收據編號", "Original receipt", original or "—"),
        receipt_pdf.Row("付款單編號", "Bill reference", order.reference),
        receipt_pdf.Row("部門", "Department", _department(order)),
        receipt_pdf.Row("付款人", "Payer", payer_text(order)),
        receipt_pdf.Row("退款原因", "Reason", f"{refund.reason_zh}\n{refund.reason_en}"),
        receipt_pdf.Row("退款參考編號", "Refund reference", refund.end_to_end_id),
        receipt_pdf.Row("退款時間", "Refunded at", _hkt(refund.completed_at)),
    ]
    return receipt_pdf.Document(
        title_zh="退款通知書",
        title_en="Credit note",
        rows=rows,
        total=receipt_pdf.Row("退款金額", "Amount refunded", _money(refund.amount_cents)),
        footer_zh=FOOTER_ZH % {"url": url},
        footer_en=FOOTER_EN % {"url": url},
    )


# --- reading --------------------------------------------------------------------------------


def receipts_of_order(order: PaymentOrder) -> list[Receipt]:
    return list(Receipt.objects.filter(order=order).select_related("refund").order_by("created_at"))


def receipts_of_resident(resident, limit: int = 50) -> list[Receipt]:
    """The resident's signed receipts and credit notes, newest first."""
    return list(
        Receipt.objects.filter(order__payer=resident, state=ReceiptState.DONE)
        .select_related("order", "refund")
        .order_by("-signed_at")[:limit]
    )


def get_receipt(receipt_id) -> Receipt:
    """:raises NotFound: ``receipt_unknown``."""
    try:
        return Receipt.objects.select_related("order", "refund").get(pk=receipt_id)
    except (Receipt.DoesNotExist, ValueError, TypeError, ValidationError):
        raise errors.ReceiptUnknown() from None


def pdf_of(receipt: Receipt) -> tuple[bytes, str]:
    """``(signed PDF, file name)``.

    :raises DomainError: ``receipt_not_ready`` (409) while the job runs or after it failed.
    """
    if receipt.state != ReceiptState.DONE or receipt.pdf is None:
        raise errors.ReceiptNotReady()
    return bytes(receipt.pdf), f"{receipt.number}.pdf"


LINK_SALT = "tungban.payments.receipt-link"


def receipt_link(receipt: Receipt) -> str:
    """The path of ``receipt``'s download link, valid ``TUNGBAN_RECEIPT_LINK_SECONDS`` (a
    salted, time-stamped signature of its id, :mod:`django.core.signing`; checked by
    :func:`.views_receipts.download`). Give it only to the receipt's payer."""
    token = django_signing.dumps(str(receipt.pk), salt=LINK_SALT)
    return reverse("payments-kiosk:receipt", args=[receipt.pk, token])


def label(receipt: Receipt) -> str:
    return str(_("Credit note") if receipt.kind == ReceiptKind.CREDIT_NOTE else _("e-Receipt"))
