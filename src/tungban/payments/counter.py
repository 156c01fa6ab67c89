"""Paying at a service counter or a self-service kiosk (MISSION §5: FPS 「線上及線下（包括服務櫃位
及自助服務機）」; issue 18, "static QR with a typed reference for counters and printed bills").

- An officer makes an order for a walk-in resident from the fee items of one of their
  department's services (:func:`create_counter_order`, purpose ``payments.counter``: nothing
  to fulfil once paid; idempotent on the form's key, so a double submission makes one order)
  and shows its **dynamic** FPS QR code on the counter's screen.
- The counter's **static** QR code names only the collection account: the payer's banking app
  asks for the bill reference, which the payer types from the bill or the screen.
- :func:`check_payload` is the counter's validator: the decoder of :mod:`.fps` (each problem
  named by its data object), then what only the platform knows — whether the code pays the
  government's collection account, whether its bill reference has valid check digits and
  names an order, and whether the amount is that order's.
- The kiosk finds an order by its bill reference (check digits first, :mod:`.reference`).

Every message exists in both languages (:func:`both`), because a counter serves residents in
either: the counter page shows both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from . import errors, fps, officers, reference, services
from .constants import PAYABLE_STATES, Method
from .models import FeeItem, PaymentOrder

PURPOSE = "payments.counter"

#: The decoder's rule codes (:class:`.fps.FpsQrError`) in words, both languages.
RULES = {
    "payload_invalid": _("The content is not an FPS QR code (empty, too long or not plain text)."),
    "characters": _("Only plain letters, digits and symbols can be in an FPS QR code."),
    "tlv_malformed": _("The data objects are cut short or malformed: scan the code again."),
    "duplicate_field": _("A data object appears twice."),
    "format_indicator": _("An FPS QR code starts with data object 00 = 01."),
    "crc_missing": _("The check value (data object 63) is missing at the end."),
    "crc_mismatch": _("The check value (CRC) does not match: the code was misread or altered."),
    "initiation_method": _("The code must say whether it is static (11) or dynamic (12)."),
    "fps_account": _("There is no FPS account in the code (data object 26)."),
    "fps_gui": _("The account is not an FPS account (its identifier is not hk.com.hkicl)."),
    "fps_proxy": _("The FPS account must name exactly one valid FPS ID, mobile number or e-mail address."),
    "clearing_code": _("The bank's clearing code must have three digits."),
    "merchant_category": _("The merchant category code must have four digits."),
    "currency": _("The currency must be Hong Kong dollars (344) or renminbi (156)."),
    "amount": _("The amount is not a valid positive amount."),
    "amount_missing": _("A dynamic code must carry the amount."),
    "country": _("The country code must be HK."),
    "merchant_name": _("The payee's name must have 1 to 25 characters."),
    "merchant_city": _("The payee's city must have 1 to 15 characters."),
    "too_long": _("A value is longer than the specification allows."),
    # What the platform checks after the decoder.
    "not_our_account": _("The code does not pay the government's collection account: do not accept it."),
    "reference_check_digits": _("The bill reference's check digits do not match: it was mistyped or altered."),
    "reference_unknown": _("No payment has this bill reference."),
    "amount_differs": _("The amount in the code is not the amount of the payment with this reference."),
    "order_not_open": _("The payment with this reference can no longer be paid (it is %(state)s)."),
}


def both(message, **params) -> dict[str, str]:
    """``{"en": …, "zh": …}`` of a translatable ``message``."""
    out = {}
    for lang, code in (("en", "en"), ("zh", "zh-hant")):
        with override(code):
            text = str(message)
            out[lang] = text % params if params else text
    return out


@dataclass
class Problem:
    rule: str
    field: str  # the data object, e.g. "63" or "26.02"; "" for the whole payload
    message: dict[str, str]
    detail: str = ""  # the decoder's own words (English, technical)


@dataclass
class Check:
    """The counter validator's answer: the decoded fields (label, data object, value) and the
    problems (none: the code can be accepted)."""

    problems: list[Problem] = field(default_factory=list)
    fields: list[tuple[str, str, str]] = field(default_factory=list)
    order: PaymentOrder | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _problem(rule: str, field_id: str, detail: str = "", **params) -> Problem:
    return Problem(rule, field_id, both(RULES[rule], **params), detail)


def check_payload(payload: str) -> Check:
    """Decode and check ``payload`` as the counter would accept it (see the module)."""
    result = Check()
    try:
        qr = fps.decode((payload or "").strip())
    except fps.FpsQrError as exc:
        result.problems.append(_problem(exc.code if exc.code in RULES else "payload_invalid", exc.field, exc.message))
        return result
    result.fields = [
        (_("Kind"), "01", _("dynamic (one payment)") if qr.dynamic else _("static (the payer types the amount)")),
        (_("FPS proxy"), "26", f"{qr.proxy_type}: {qr.proxy}"),
        (_("Payee"), "59", qr.merchant_name),
        (_("City"), "60", qr.merchant_city),
        (_("Currency"), "53", qr.currency),
        (_("Amount"), "54", "—" if qr.amount is None else f"{qr.amount:.2f}"),
        (_("Bill number"), "62.01", qr.bill_number or "—"),
        (_("Reference label"), "62.05", qr.reference_label or "—"),
    ]
    payee = services.payee()
    if (qr.proxy_type, qr.proxy) != (payee["proxy_type"], payee["proxy"]):
        result.problems.append(_problem("not_our_account", "26"))
        return result
    ref = qr.reference
    if not ref or ref == fps.PROMPT:
        return result  # a static code: the payer types the reference
    if not reference.is_valid(ref):
        result.problems.append(_problem("reference_check_digits", "62.01"))
        return result
    order = services.find_by_reference(ref)
    if order is None:
        result.problems.append(_problem("reference_unknown", "62.01"))
        return result
    result.order = order
    if qr.amount_cents is not None and qr.amount_cents not in (order.amount_cents, order.balance_cents):
        result.problems.append(_problem("amount_differs", "54"))  # a part-paid order's code asks for the balance
    if order.state not in PAYABLE_STATES:
        from .constants import OrderState

        result.problems.append(_problem("order_not_open", "62.01", state=OrderState(order.state).label))
    return result


# --- orders at the counter ------------------------------------------------------------------


def services_of(department: str) -> list[dict]:
    """The department's services that have fee items: ``[{"slug", "name", "items"}]`` (the
    name in the request's language, from e-services' catalogue through :mod:`.officers`)."""
    rows = FeeItem.objects.filter(department=department).values("service").annotate(n=Count("id")).order_by("service")
    return [
        {"slug": r["service"], "name": officers.service_name(department, r["service"]), "items": r["n"]} for r in rows
    ]


def fee_choices(department: str, service: str) -> list:
    """The fee versions in force today for ``service`` (:func:`services.fees_for_service`)."""
    return services.fees_for_service(department, service)


def create_counter_order(
    user, *, department: str, service: str, quantities: dict[str, int], concessions: dict[str, str], key: str
) -> PaymentOrder:
    """An order for a walk-in payer at the counter: the fee items of ``service`` with a
    quantity above zero (``quantities``: fee code → quantity; ``concessions``: fee code →
    concession code or ""). ``key``: the form's one-time key (a second submission of the
    same form gives back the same order).

    :raises Forbidden: ``not_payments_officer``.
    :raises DomainError: ``amount_invalid`` (nothing chosen), ``fee_unknown``,
        ``fee_not_in_force``, ``concession_unknown``.
    """
    officers.require(user, department)
    lines = [
        services.fee_line(department, service, code, quantity=qty, concession=concessions.get(code, ""))
        for code, qty in sorted(quantities.items())
        if qty > 0
    ]
    if not lines:
        raise errors.AmountInvalid()
    labels_en = ", ".join(line.label_en for line in lines)
    labels_zh = "、".join(line.label_zh for line in lines)
    actor = user.get_username()
    return services.create_order(
        department=department,
        purpose=PURPOSE,
        purpose_ref=f"counter:{key}"[:100],
        lines=lines,
        description_en=f"Payment at a counter: {labels_en}",  # shown before it is paid too (櫃位繳費)
        description_zh=f"櫃位繳費：{labels_zh}",
        created_by=f"officer:{actor}"[:150],
        idempotency_key=key,
        method=Method.FPS,
    )


def on_paid(order: PaymentOrder) -> None:
    """A counter order has nothing to fulfil: the officer sees it paid on the screen."""


def describe(order: PaymentOrder) -> dict:
    return {"title_en": order.description_en, "title_zh": order.description_zh, "url": ""}


def find_for_kiosk(text: str) -> PaymentOrder:
    """The order whose bill reference is ``text`` (as typed: spaces and case ignored).

    :raises DomainError: ``reference_invalid`` (422, check digits or shape), ``order_unknown`` (404).
    """
    ref = reference.normalise(text)
    if not reference.is_valid(ref):
        raise errors.ReferenceInvalid(field="reference")
    order = services.find_by_reference(ref)
    if order is None:
        raise errors.OrderUnknown(field="reference")
    return order
