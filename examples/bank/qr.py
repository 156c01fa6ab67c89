"""The bank's own reading of an FPS QR code (EMV QRCPS Merchant-Presented Mode, the FPS
template ``26`` with GUI ``hk.com.hkicl``): what a banking app's scanner does before it shows
the payee. Independent of the platform's encoder (``tungban.payments.fps``); the CRC is
CRC-16/CCITT-FALSE from the ``crc`` library."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from crc import Calculator, Configuration

_CRC = Calculator(
    Configuration(
        width=16, polynomial=0x1021, init_value=0xFFFF, final_xor_value=0, reverse_input=False, reverse_output=False
    )
)
PROXIES = {"02": "FPS ID", "03": "mobile", "04": "e-mail"}


class Unreadable(ValueError):
    """The payload is not an FPS QR code this bank can pay; ``field`` names the data object."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


@dataclass(frozen=True)
class Payment:
    payee_name: str
    payee_city: str
    proxy_kind: str
    proxy: str
    amount: Decimal | None
    currency: str
    bill_number: str
    reference_label: str

    @property
    def reference(self) -> str:
        return self.bill_number if self.bill_number not in ("", "***") else self.reference_label


def _objects(text: str, where: str = "") -> dict[str, str]:
    out, i = {}, 0
    while i < len(text):
        tag, size = text[i : i + 2], text[i + 2 : i + 4]
        if not (tag.isdigit() and size.isdigit() and len(tag) == len(size) == 2):
            raise Unreadable(where, f"malformed data object at {i}")
        value = text[i + 4 : i + 4 + int(size)]
        if len(value) != int(size):
            raise Unreadable(f"{where}.{tag}" if where else tag, "truncated")
        out[tag] = value
        i += 4 + int(size)
    return out


def read(payload: str) -> Payment:
    """The payment an FPS QR payload asks for. :raises Unreadable: naming the data object."""
    payload = (payload or "").strip()
    if not payload.startswith("000201") or len(payload) < 12:
        raise Unreadable("00", "not an EMV QR code payload")
    top = _objects(payload)
    if list(top)[-1] != "63" or len(top["63"]) != 4:
        raise Unreadable("63", "no CRC at the end")
    if f"{_CRC.checksum(payload[:-4].encode('ascii')):04X}" != top["63"].upper():
        raise Unreadable("63", "the CRC does not match: the code is damaged")
    account = _objects(top.get("26", ""), "26")
    if account.get("00", "").lower() != "hk.com.hkicl":
        raise Unreadable("26", "not an FPS payee")
    proxies = [k for k in PROXIES if k in account]
    if len(proxies) != 1:
        raise Unreadable("26", "no single FPS proxy")
    amount = None
    if "54" in top:
        try:
            amount = Decimal(top["54"])
        except InvalidOperation:
            raise Unreadable("54", "the amount is not a number") from None
    extra = _objects(top.get("62", ""), "62")
    return Payment(
        payee_name=top.get("59", ""),
        payee_city=top.get("60", ""),
        proxy_kind=PROXIES[proxies[0]],
        proxy=account[proxies[0]],
        amount=amount,
        currency={"344": "HKD", "156": "CNY"}.get(top.get("53", ""), top.get("53", "")),
        bill_number=extra.get("01", ""),
        reference_label=extra.get("05", ""),
    )
