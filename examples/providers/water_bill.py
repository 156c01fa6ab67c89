"""The Water Supplies Department's water-bill balance (``wsd.water-bill.v1``, issue 16: the
personal assistant panel's first card).

Fictitious and deterministic: every HKID has a made-up account and bill (from a SHA-256
hash of the HKID), except the demo population's child ``P8765433`` (no water account: 404
``no_record``), so demo residents and residents registered during a demo all have one.
"""

from __future__ import annotations

import datetime as dt
import hashlib

PRODUCT = "wsd.water-bill.v1"
#: Demo people without a water account.
NO_ACCOUNT = frozenset({"P8765433"})
#: The bills are dated relative to this day (a fixed demo date, so records stay stable).
BILL_DAY = dt.date(2026, 11, 20)


def record(hkid: str) -> dict | None:
    """The water bill of ``hkid`` (canonical HKID), valid against the product's schema, or None."""
    if hkid in NO_ACCOUNT:
        return None
    h = hashlib.sha256(f"{PRODUCT}|{hkid}".encode()).digest()
    number = "".join(str(b % 10) for b in h[:10])
    cents = int.from_bytes(h[10:13], "big") % 60000  # HK$0.00 … HK$599.99
    bill_date = BILL_DAY - dt.timedelta(days=h[13] % 28)
    return {
        "account_number": number,
        "balance_hkd": f"{cents // 100}.{cents % 100:02d}",
        "bill_date": bill_date.isoformat(),
        "due_date": (bill_date + dt.timedelta(days=30)).isoformat(),
    }
