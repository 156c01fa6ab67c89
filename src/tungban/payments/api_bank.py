"""Messages from banks to the platform (issue 18), under ``/api/v1/payments/bank/``:
``POST notifications`` is the FPS participant bank's signed payment notification (the demo
bank, ``examples/bank``). No bearer token: the body's HMAC-SHA256 under the shared secret, with
the time signed, in the ``Tungban-Signature`` header (:func:`tungban.payments.services.sign`).

Errors have the platform's shape (:class:`tungban.core.api.ErrorOut`); the codes are declared
in :mod:`.errors` and listed in the OpenAPI document's ``payments (banks)`` tag.
"""

from __future__ import annotations

from ninja import Field, Router, Schema

from tungban.core.api import error_responses

from . import services

router = Router(tags=["payments (banks)"])


class TransferOut(Schema):
    end_to_end_id: str
    new: bool = Field(description="False: this transfer was already recorded (from another message); nothing changed")
    order: str | None = Field(description="The bill reference of the order it paid, or null (unmatched)")
    order_state: str | None = Field(description="That order's state after this transfer")
    match_status: str = Field(
        description="matched | wrong_amount | late | duplicate_payment | order_closed | unmatched"
    )


class NotificationReceiptOut(Schema):
    message_id: str
    received_at: str
    transfers: list[TransferOut]


@router.post(
    "/notifications",
    response={200: NotificationReceiptOut, **error_responses(400, 401, 409, 422)},
    auth=None,
    summary="(bank) A signed FPS payment notification: credits to the collection account",
)
def notification(request):
    """The body (JSON, a ``camt.054`` entry's members): ``{"message_id", "created_at",
    "transfers": [{"end_to_end_id", "amount": "350.00", "currency": "HKD", "value_date",
    "booked_at", "reference", "remittance_info", "debtor_name", "debtor_account"}]}``
    (the payer's name and account: kept encrypted, for a refund's way back). Header ``Tungban-Signature:
    t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>``. Each transfer is recorded once (its
    end-to-end id) and applied to the order its reference names, all in one transaction; a
    message id is taken once (a replay answers 409 ``notification_replayed``, which tells the
    bank its earlier delivery was recorded; the same message id with a *different* body answers
    409 ``message_id_reused``: nothing of it was recorded, the bank must not count it as
    delivered but resend its transfers under a new message id)."""
    return services.receive_notification(request.body, request.headers.get(services.SIGNATURE_HEADER))
