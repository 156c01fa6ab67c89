"""The Water Supplies Department's water-bill balance (``wsd.water-bill.v1``, issue 16: the
personal assistant panel's first card).

Fictitious and deterministic: every HKID has a made-up account and bill (from a SHA-256
hash of the HKID), except the demo population's child ``P8765433`` (no water account: 404
``no_record``), so demo residents and residents registered during a demo all have one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

PRODUCT = "wsd.water-bill.v1"
#: Demo people without a water account.
NO_ACCOUNT = frozenset({"P8765433"})
#: Hong Kong's day: a bill is dated 0–19 days before today, so it is due 11–30 days from today
#: (a demo bill is never overdue on the day it is shown; the same on every call of a day).
HONG_KONG = ZoneInfo("Asia/Hong_Kong")


def record(hkid: str, *, today: dt.date | None = None) -> dict | None:
    """The water bill of ``hkid`` (canonical HKID) as of ``today`` (default: Hong Kong's date),
    valid against the product's schema, or None."""
    if hkid in NO_ACCOUNT:
        return None
    h = hashlib.sha256(f"{PRODUCT}|{hkid}".encode()).digest()
    number = "".join(str(b % 10) for b in h[:10])
    cents = int.from_bytes(h[10:13], "big") % 60000  # HK$0.00 … HK$599.99
    today = today or dt.datetime.now(HONG_KONG).date()
    bill_date = today - dt.timedelta(days=h[13] % 20)
    return {
        "account_number": number,
        "balance_hkd": f"{cents // 100}.{cents % 100:02d}",
        "bill_date": bill_date.isoformat(),
        "due_date": (bill_date + dt.timedelta(days=30)).isoformat(),
    }
