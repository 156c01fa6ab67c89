"""The FPS payee-presented QR code (轉數快二維碼): encoder, decoder and validator, and its images.

Sources, and what was verified against them:

- *Payee-presented QR Code Specification for Faster Payment System (FPS)*, v1.2, HKMA and
  HKICL, February 2019, "prepared based on the EMV QR Code Specification for Payment Systems
  (EMV QRCPS) – Merchant-Presented Mode … and the Common QR Code Specification for Retail
  Payments in Hong Kong". Only its opening pages could be read while this was written (a public
  mirror); its field tables could not, so every ID below was checked against the other sources.
- *Common QR Code Specification for Retail Payments in Hong Kong – Merchant-Presented Mode*,
  v1.0, December 2017, §4.2 (merchant account information IDs: ``26`` is the Faster Payment
  System's; ``27``–``31`` the working group's; ``32``–``51`` payment operators').
- *EMV QRCPS – Merchant-Presented Mode* v1.1 (EMVCo, November 2020): the data object format
  (ID: two digits, length: two digits, the value's number of characters, then the value), the
  Payload Format Indicator (ID ``00``, value ``01``) first, the CRC (ID ``63``, four upper-case
  hexadecimal characters) last, computed over the whole payload *including* the CRC's own ID
  and length ``6304`` with the polynomial ``1021`` and initial value ``FFFF`` (CRC-16/CCITT-FALSE,
  also catalogued as CRC-16/IBM-3740), and the Additional Data Field template (``62``) with its
  sub-IDs: ``01`` bill number, ``02`` mobile number, ``03`` store label, ``04`` loyalty number,
  ``05`` reference label, ``06`` customer label, ``07`` terminal label, ``08`` purpose of
  transaction, ``09`` additional consumer data request; a value ``***`` asks the payer's app to
  prompt for it. (Section numbers of the EMVCo text are not cited: they were not seen.)
- Public implementations that agree on the FPS template ``26`` (read, not copied): the
  Globally Unique Identifier ``hk.com.hkicl`` in sub-ID ``00``; the proxy in exactly one of
  ``02`` (FPS ID, digits), ``03`` (mobile number, ``+852-XXXXXXXX``) or ``04`` (e-mail
  address); ``01`` the receiving participant's 3-digit clearing code (given with a mobile or
  e-mail proxy); ``52`` merchant category ``0000``; ``53`` ``344`` (HKD; FPS also carries
  ``156``, CNY); ``58`` ``HK``; ``59`` name (≤ 25) and ``60`` city (≤ 15).

**Not confirmed** (the anchor study's open questions, ``eservices-payments-opendata-1823.md``
§10): template ``26`` sub-ID ``05`` (a "timeout"; seen in one implementation, its format
unknown) — the encoder never writes it, the decoder keeps it as given; and whether banking
apps show ``62``-``01`` (bill number) or ``62``-``05`` (reference label) as "the reference" — the
encoder writes the order's reference in both. A dynamic code's expiry is therefore the
order's (``PaymentOrder.expires_at``, enforced by the platform: money that arrives later is
recorded as a late payment), not a field of the code.

The CRC is computed with the ``crc`` library (a configuration of width 16, polynomial
``0x1021``, initial value ``0xFFFF``, no reflection, no final XOR); QR images are drawn by
``segno``.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import segno
from crc import Calculator, Configuration

#: The FPS template's Globally Unique Identifier (data object ``26``, sub-ID ``00``).
GUI = "hk.com.hkicl"
#: Top-level data objects.
PAYLOAD_FORMAT, INITIATION, FPS_ACCOUNT, MCC, CURRENCY, AMOUNT = "00", "01", "26", "52", "53", "54"
COUNTRY, NAME, CITY, POSTAL_CODE, ADDITIONAL, CRC_ID = "58", "59", "60", "61", "62", "63"
#: Point of initiation method (ID ``01``): one code for many payments, or one per payment.
STATIC, DYNAMIC = "11", "12"
#: Template ``26`` sub-IDs.
SUB_GUI, SUB_CLEARING_CODE, SUB_FPS_ID, SUB_MOBILE, SUB_EMAIL, SUB_TIMEOUT = "00", "01", "02", "03", "04", "05"
PROXY_SUB_IDS = {"fps_id": SUB_FPS_ID, "mobile": SUB_MOBILE, "email": SUB_EMAIL}
#: Template ``62`` sub-IDs used here.
SUB_BILL_NUMBER, SUB_REFERENCE_LABEL = "01", "05"
#: The EMVCo value that asks the payer's app to prompt for the field (a static code's bill number).
PROMPT = "***"
#: Currencies FPS carries (ISO 4217 numeric): HKD and CNY.
CURRENCIES = {"344": "HKD", "156": "CNY"}
#: The data objects the encoder writes itself: ``FpsQr.extra`` may not name them.
OWNED = frozenset(
    {PAYLOAD_FORMAT, INITIATION, FPS_ACCOUNT, MCC, CURRENCY, AMOUNT, COUNTRY, NAME, CITY, ADDITIONAL, CRC_ID}
)
#: EMVCo's largest payload (characters).
MAX_PAYLOAD = 512

_CRC16_CCITT_FALSE = Configuration(
    width=16, polynomial=0x1021, init_value=0xFFFF, final_xor_value=0x0000, reverse_input=False, reverse_output=False
)
_CALCULATOR = Calculator(_CRC16_CCITT_FALSE, optimized=True)

_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")
_FPS_ID = re.compile(r"^[0-9]{7,10}$")
_MOBILE = re.compile(r"^\+[0-9]{1,3}-[0-9]{6,12}$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_CLEARING_CODE = re.compile(r"^[0-9]{3}$")
_AMOUNT = re.compile(r"^[0-9]{1,10}(\.[0-9]{1,2})?$")


class FpsQrError(ValueError):
    """A payload that is not a valid FPS QR code. ``field``: the data object at fault (``"63"``,
    ``"26.02"``; ``""`` for the payload as a whole); ``code``: the rule broken (stable, e.g.
    ``crc_mismatch``); the message says it in English."""

    def __init__(self, code: str, field: str, message: str):
        super().__init__(f"{field + ': ' if field else ''}{message}")
        self.code = code
        self.field = field
        self.message = message


@dataclass(frozen=True)
class FpsQr:
    """The content of an FPS QR code.

    ``proxy_type``: ``fps_id`` | ``mobile`` | ``email``; ``amount``: a :class:`~decimal.Decimal`
    in the currency's units (HK$, two decimals) or ``None`` (the payer types it); ``currency``:
    ISO 4217 alphabetic (``HKD``). ``bill_number`` / ``reference_label``: template ``62``
    sub-IDs ``01`` / ``05`` (``***``: the payer types it). ``extra``: other data objects as
    found (ID → value), ``account_extra`` other template ``26`` sub-IDs (e.g. ``05``).
    """

    proxy_type: str
    proxy: str
    merchant_name: str
    merchant_city: str
    dynamic: bool = True
    amount: Decimal | None = None
    currency: str = "HKD"
    bill_number: str = ""
    reference_label: str = ""
    clearing_code: str = ""
    merchant_category: str = "0000"
    country: str = "HK"
    extra: dict[str, str] = field(default_factory=dict)
    account_extra: dict[str, str] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        """What the payer is asked to quote: the bill number, else the reference label."""
        return self.bill_number if self.bill_number and self.bill_number != PROMPT else self.reference_label

    @property
    def amount_cents(self) -> int | None:
        return None if self.amount is None else int(self.amount * 100)


# --- CRC and TLV ---
def crc16(data: str) -> str:
    """CRC-16/CCITT-FALSE of ``data`` (its ASCII bytes) as four upper-case hexadecimal
    characters (EMV QRCPS MPM, the CRC data object ``63``)."""
    return f"{_CALCULATOR.checksum(data.encode('ascii')):04X}"


def encodable(text: str) -> bool:
    """Whether ``text`` can be a data object's value: printable ASCII only (EMVCo MPM's
    "ans" format; the payload is ASCII)."""
    return bool(_PRINTABLE.match(text))


def _tlv(tag: str, value: str) -> str:
    if not encodable(value):
        raise FpsQrError("characters", tag, "only printable ASCII characters can be encoded")
    if len(value) > 99:
        raise FpsQrError("too_long", tag, "a data object holds at most 99 characters")
    return f"{tag}{len(value):02d}{value}"


def parse_tlv(text: str, where: str = "") -> list[tuple[str, str]]:
    """``[(ID, value)]`` of a run of data objects (ID: two digits, length: two digits).

    :raises FpsQrError: ``tlv_malformed`` (a truncated object or a non-numeric ID or length),
        ``duplicate_field`` (an ID twice).
    """
    out, seen, i = [], set(), 0
    while i < len(text):
        tag, length = text[i : i + 2], text[i + 2 : i + 4]
        name = f"{where}.{tag}" if where else tag
        if not (len(tag) == 2 and tag.isdigit() and len(length) == 2 and length.isdigit()):
            raise FpsQrError(
                "tlv_malformed", name if len(tag) == 2 and tag.isdigit() else where, f"no ID and length at position {i}"
            )
        end = i + 4 + int(length)
        if end > len(text):
            raise FpsQrError("tlv_malformed", name, f"its value is shorter than its length {int(length)}")
        if tag in seen:
            raise FpsQrError("duplicate_field", name, "the data object appears twice")
        seen.add(tag)
        out.append((tag, text[i + 4 : end]))
        i = end
    return out


# --- encoding ---
def _amount_text(amount: Decimal) -> str:
    if amount <= 0:
        raise FpsQrError("amount", AMOUNT, "the amount must be more than zero")
    text = f"{amount.quantize(Decimal('0.01')):f}"
    if len(text) > 13:
        raise FpsQrError("amount", AMOUNT, "the amount has more than 13 characters")
    return text


def encode(qr: FpsQr) -> str:
    """The payload of ``qr``: data objects in ascending ID order, the CRC last.

    A dynamic code (``dynamic=True``, point of initiation ``12``) carries the amount; a static
    one (``11``) may leave it to the payer, and a static code without a bill number asks the
    payer's app to prompt for it (``62``-``01`` = ``***``).

    :raises FpsQrError: a value that cannot be encoded (see :func:`validate` for the rules);
        ``extra_owned`` when ``qr.extra`` names a data object the encoder writes (:data:`OWNED`:
        ``00``, ``01``, ``26``, ``52``, ``53``, ``54``, ``58``, ``59``, ``60``, ``62``, ``63``).
    """
    owned = sorted(OWNED & set(qr.extra))
    if owned:
        raise FpsQrError(
            "extra_owned", owned[0], "this data object is written by the encoder and cannot be given in extra"
        )
    if qr.proxy_type not in PROXY_SUB_IDS:
        raise FpsQrError("fps_proxy", FPS_ACCOUNT, "the proxy type must be fps_id, mobile or email")
    if qr.dynamic and qr.amount is None:
        raise FpsQrError("amount_missing", AMOUNT, "a dynamic code carries the amount")
    account = _tlv(SUB_GUI, GUI)
    if qr.clearing_code:
        account += _tlv(SUB_CLEARING_CODE, qr.clearing_code)
    account += _tlv(PROXY_SUB_IDS[qr.proxy_type], qr.proxy)
    for sub, value in sorted(qr.account_extra.items()):
        account += _tlv(sub, value)
    numeric = next((n for n, a in CURRENCIES.items() if a == qr.currency), None)
    if numeric is None:
        raise FpsQrError("currency", CURRENCY, "FPS carries HKD or CNY only")
    additional = ""
    bill = qr.bill_number or ("" if qr.dynamic else PROMPT)
    if bill:
        additional += _tlv(SUB_BILL_NUMBER, bill)
    if qr.reference_label:
        additional += _tlv(SUB_REFERENCE_LABEL, qr.reference_label)
    objects = {
        PAYLOAD_FORMAT: "01",
        INITIATION: DYNAMIC if qr.dynamic else STATIC,
        FPS_ACCOUNT: account,
        MCC: qr.merchant_category,
        CURRENCY: numeric,
        COUNTRY: qr.country,
        NAME: qr.merchant_name,
        CITY: qr.merchant_city,
        **qr.extra,
    }
    if qr.amount is not None:
        objects[AMOUNT] = _amount_text(qr.amount)
    if additional:
        objects[ADDITIONAL] = additional
    body = "".join(_tlv(tag, objects[tag]) for tag in sorted(objects)) + CRC_ID + "04"
    payload = body + crc16(body)
    decode(payload, strict=True)  # what is written is what the validator accepts
    return payload


# --- decoding and validation ---
def _check(condition: bool, code: str, field: str, message: str) -> None:
    if not condition:
        raise FpsQrError(code, field, message)


def decode(payload: str, *, strict: bool = False) -> FpsQr:
    """Parse and validate an FPS QR payload.

    Rules (each refusal names its data object): printable ASCII, at most 512 characters;
    well-formed data objects, no ID twice; ``00`` = ``01`` first and ``63`` last, its CRC
    matching; ``01`` = ``11`` or ``12``; template ``26`` with ``00`` exactly ``hk.com.hkicl``
    (compared as given, case included: EMVCo MPM's merchant account templates identify their
    payment system by this value, a string to match, not a domain name to resolve, and the FPS
    specifications and every implementation read here write it in lower case — a code that spells it
    otherwise was not made for FPS; review finding 14), exactly one proxy (``02`` FPS ID: 7–10 digits; ``03`` mobile:
    ``+CCC-NNNNNN…``; ``04`` e-mail), ``01`` (if any) three digits; ``52`` four digits; ``53``
    ``344`` or ``156``; ``54`` (if any) a positive amount of at most 13 characters with at most
    two decimals, required when dynamic; ``58`` = ``HK``; ``59`` 1–25 and ``60`` 1–15
    characters; template ``62`` (if any) well-formed, each value at most 25 characters.

    ``strict=False`` (the counter's reading of a code a payer shows) accepts a CRC in lower-case
    hexadecimal if its value matches; ``strict=True`` (:func:`validate`, the encoder's self-check)
    refuses it: EMVCo MPM's CRC is four *upper-case* hexadecimal characters (``crc_case``).

    :raises FpsQrError: the first rule broken.
    """
    if not isinstance(payload, str) or not payload:
        raise FpsQrError("payload_invalid", "", "the payload is empty")
    payload = payload.strip()
    _check(bool(_PRINTABLE.match(payload)), "payload_invalid", "", "the payload has characters other than ASCII")
    _check(len(payload) <= MAX_PAYLOAD, "payload_invalid", "", f"the payload is longer than {MAX_PAYLOAD} characters")
    objects = parse_tlv(payload)
    ids = [tag for tag, _ in objects]
    values = dict(objects)
    _check(ids[0] == PAYLOAD_FORMAT, "format_indicator", PAYLOAD_FORMAT, "the payload must start with data object 00")
    _check(
        values[PAYLOAD_FORMAT] == "01", "format_indicator", PAYLOAD_FORMAT, "the payload format indicator must be 01"
    )
    _check(ids[-1] == CRC_ID, "crc_missing", CRC_ID, "the payload must end with the CRC (data object 63)")
    _check(len(values[CRC_ID]) == 4, "crc_missing", CRC_ID, "the CRC has four hexadecimal characters")
    expected = crc16(payload[:-4])
    _check(values[CRC_ID].upper() == expected, "crc_mismatch", CRC_ID, f"the CRC is {values[CRC_ID]}, not {expected}")
    _check(
        not strict or values[CRC_ID] == expected,
        "crc_case",
        CRC_ID,
        f"the CRC must be four upper-case hexadecimal characters ({expected}), not {values[CRC_ID]}",
    )
    _check(
        values.get(INITIATION) in (STATIC, DYNAMIC),
        "initiation_method",
        INITIATION,
        "the point of initiation must be 11 (static) or 12 (dynamic)",
    )
    dynamic = values[INITIATION] == DYNAMIC
    _check(FPS_ACCOUNT in values, "fps_account", FPS_ACCOUNT, "there is no FPS account (data object 26)")
    account = dict(parse_tlv(values[FPS_ACCOUNT], FPS_ACCOUNT))
    _check(
        account.get(SUB_GUI, "") == GUI,
        "fps_gui",
        f"{FPS_ACCOUNT}.{SUB_GUI}",
        f"the FPS account's identifier must be {GUI}",
    )
    proxies = [(kind, sub) for kind, sub in PROXY_SUB_IDS.items() if sub in account]
    _check(len(proxies) == 1, "fps_proxy", FPS_ACCOUNT, "the FPS account names exactly one FPS ID, mobile or e-mail")
    proxy_type, sub = proxies[0]
    proxy = account[sub]
    rule = {"fps_id": _FPS_ID, "mobile": _MOBILE, "email": _EMAIL}[proxy_type]
    _check(bool(rule.match(proxy)), "fps_proxy", f"{FPS_ACCOUNT}.{sub}", f"this is not a valid {proxy_type}")
    clearing = account.get(SUB_CLEARING_CODE, "")
    _check(
        not clearing or bool(_CLEARING_CODE.match(clearing)),
        "clearing_code",
        f"{FPS_ACCOUNT}.{SUB_CLEARING_CODE}",
        "the clearing code has three digits",
    )
    mcc = values.get(MCC, "")
    _check(len(mcc) == 4 and mcc.isdigit(), "merchant_category", MCC, "the merchant category code has four digits")
    _check(values.get(CURRENCY) in CURRENCIES, "currency", CURRENCY, "the currency must be 344 (HKD) or 156 (CNY)")
    amount = None
    if AMOUNT in values:
        text = values[AMOUNT]
        _check(len(text) <= 13 and bool(_AMOUNT.match(text)), "amount", AMOUNT, "the amount is not a decimal number")
        try:
            amount = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern above admits only decimals
            raise FpsQrError("amount", AMOUNT, "the amount is not a decimal number") from None
        _check(amount > 0, "amount", AMOUNT, "the amount must be more than zero")
    _check(not dynamic or amount is not None, "amount_missing", AMOUNT, "a dynamic code carries the amount")
    _check(values.get(COUNTRY) == "HK", "country", COUNTRY, "the country code must be HK")
    name, city = values.get(NAME, ""), values.get(CITY, "")
    _check(1 <= len(name) <= 25, "merchant_name", NAME, "the payee's name has 1 to 25 characters")
    _check(1 <= len(city) <= 15, "merchant_city", CITY, "the payee's city has 1 to 15 characters")
    additional = dict(parse_tlv(values.get(ADDITIONAL, ""), ADDITIONAL))
    for sub_id, value in additional.items():
        _check(
            len(value) <= 25, "too_long", f"{ADDITIONAL}.{sub_id}", "an additional data value has at most 25 characters"
        )
    return FpsQr(
        proxy_type=proxy_type,
        proxy=proxy,
        merchant_name=name,
        merchant_city=city,
        dynamic=dynamic,
        amount=amount,
        currency=CURRENCIES[values[CURRENCY]],
        bill_number=additional.get(SUB_BILL_NUMBER, ""),
        reference_label=additional.get(SUB_REFERENCE_LABEL, ""),
        clearing_code=clearing,
        merchant_category=mcc,
        country=values[COUNTRY],
        extra={k: v for k, v in values.items() if k not in OWNED},
        account_extra={k: v for k, v in account.items() if k not in {SUB_GUI, SUB_CLEARING_CODE, sub}},
    )


def validate(payload: str) -> list[FpsQrError]:
    """The problems of ``payload`` (``[]``: a valid FPS QR code), by the strict rules
    (:func:`decode` with ``strict=True``: an upper-case CRC). The decoder stops at the first
    problem, so the list has at most one."""
    try:
        decode(payload, strict=True)
    except FpsQrError as exc:
        return [exc]
    return []


# --- images (segno) ---
def _qr(payload: str):
    return segno.make(payload, error="m", micro=False)


def svg_data_uri(payload: str, *, scale: int = 4) -> str:
    """The QR code as an SVG ``data:`` URI (for ``<img src>``: the strict CSP allows
    ``data:`` images, and an image needs no inline style)."""
    return _qr(payload).svg_data_uri(scale=scale, border=4)


def png_bytes(payload: str, *, scale: int = 8) -> bytes:
    """The QR code as a PNG image (printed bills, counters' screens)."""
    import io

    buffer = io.BytesIO()
    _qr(payload).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def png_data_uri(payload: str, *, scale: int = 8) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(payload, scale=scale)).decode()
