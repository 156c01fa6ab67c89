"""The payment app's vocabularies (issue 18): an order's states, methods, who acted, where a
credit transfer was learnt from and how it matched."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderState(models.TextChoices):
    """A payment order's states (GOV.UK Pay's, anchor study §3.3, plus ``awaiting_transfer``
    for FPS, ``expired``, and ``partially_paid`` / ``overpaid`` set when the money received
    differs from the amount due)."""

    CREATED = "created", _("Created")
    AWAITING_TRANSFER = "awaiting_transfer", _("Awaiting transfer")
    STARTED = "started", _("Started")
    SUCCESS = "success", _("Paid")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")
    PARTIALLY_PAID = "partially_paid", _("Partially paid")
    OVERPAID = "overpaid", _("Overpaid")


#: States that take a payment: the QR code or the card page is live.
OPEN_STATES = (OrderState.CREATED, OrderState.AWAITING_TRANSFER, OrderState.STARTED)
#: States in which the order can still be paid until ``expires_at``: the open ones, and
#: ``partially_paid`` (its QR code and card page ask for the balance; review finding 5).
PAYABLE_STATES = (*OPEN_STATES, OrderState.PARTIALLY_PAID)
#: GOV.UK Pay's ``finished``: nothing more happens to the order by itself. ``partially_paid``
#: is not finished (the rest may still come, or reconciliation decides).
FINISHED_STATES = (
    OrderState.SUCCESS,
    OrderState.FAILED,
    OrderState.CANCELLED,
    OrderState.EXPIRED,
    OrderState.OVERPAID,
)
#: States in which the amount due was received in full (or more).
PAID_STATES = (OrderState.SUCCESS, OrderState.OVERPAID)


class Method(models.TextChoices):
    FPS = "fps", _("FPS (Faster Payment System)")
    CARD = "card", _("Card")
    WALLET = "wallet", _("e-Wallet")
    COUNTER = "counter", _("At a counter")


class ActorKind(models.TextChoices):
    SYSTEM = "system", _("System")
    RESIDENT = "resident", _("Resident")
    OFFICER = "officer", _("Officer")
    API = "api", _("Department system")
    BANK = "bank", _("Bank")


class CreditSource(models.TextChoices):
    """Where the platform learnt of a credit to its account (one transfer, whatever the number of
    sources: the end-to-end id is the key)."""

    NOTIFICATION = "notification", _("Bank's payment notification")
    CAMT054 = "camt054", _("camt.054 debit/credit notification")
    CAMT053 = "camt053", _("camt.053 statement")
    PSP = "psp", _("Card or wallet provider")
    COUNTER = "counter", _("Counter")


class MatchStatus(models.TextChoices):
    """How a credit transfer matched a payment order (the reconciliation's exception kinds are
    every status but ``matched``)."""

    MATCHED = "matched", _("Matched")
    WRONG_AMOUNT = "wrong_amount", _("Wrong amount")
    LATE = "late", _("Late (after the order expired)")
    DUPLICATE_PAYMENT = "duplicate_payment", _("Order already paid")
    ORDER_CLOSED = "order_closed", _("Order cancelled or failed")
    UNMATCHED = "unmatched", _("No order with this reference")
    CONFLICT = "conflict", _("Same end-to-end id as another transfer, different details")


#: Sources that report a credit before the day's statement: provisional until a ``camt.053``
#: line shows it (``CreditTransfer.settled_date``).
PROVISIONAL_SOURCES = (CreditSource.NOTIFICATION, CreditSource.CAMT054)

CURRENCY = "HKD"
#: ISO 4217 numeric code of the Hong Kong dollar (EMVCo data object 53).
CURRENCY_NUMERIC = "344"
