"""The demo bank's ledger: a SQLite file with its customers' accounts and every transfer they
booked (what its statements are made from), and each transfer's notification to the payee.

Tables (the contract the statements' endpoints read)::

    accounts(id TEXT PRIMARY KEY, name TEXT, balance_cents INTEGER)
    transfers(id INTEGER PRIMARY KEY, end_to_end_id TEXT UNIQUE, message_id TEXT,
              debtor_account TEXT, debtor_name TEXT, creditor_proxy TEXT,
              amount_cents INTEGER, currency TEXT, reference TEXT, remittance_info TEXT,
              value_date TEXT, booked_at TEXT,
              notify_status TEXT,      -- pending | delivered | refused
              notify_attempts INTEGER, next_attempt_at TEXT, last_error TEXT)

Times are ISO 8601 in UTC; value dates are Hong Kong dates (UTC+8).
"""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3
import threading
from pathlib import Path

HKT = dt.timezone(dt.timedelta(hours=8))

#: The demo customers (made on first start): account, name, opening balance in HK$ cents.
CUSTOMERS = [
    ("004-123456-001", "CHAN TAI MAN", 5_000_000),
    ("004-123456-002", "WONG SIU LING", 5_000_000),
    ("004-123456-003", "LEE KA YAN", 100),
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, name TEXT NOT NULL, balance_cents INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS transfers (
    id INTEGER PRIMARY KEY,
    end_to_end_id TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL,
    debtor_account TEXT NOT NULL,
    debtor_name TEXT NOT NULL,
    creditor_proxy TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    reference TEXT NOT NULL,
    remittance_info TEXT NOT NULL DEFAULT '',
    value_date TEXT NOT NULL,
    booked_at TEXT NOT NULL,
    notify_status TEXT NOT NULL DEFAULT 'pending',
    notify_attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS transfers_pending ON transfers (notify_status, next_attempt_at);
CREATE INDEX IF NOT EXISTS transfers_value_date ON transfers (value_date);
"""


class Refused(ValueError):
    """The bank refuses the transfer (unknown account, not enough money)."""


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def mask(name: str) -> str:
    """``CHAN TAI MAN`` → ``CHAN T** M**``: the payee sees the surname and initials only."""
    words = name.split()
    return " ".join(words[:1] + [w[0] + "*" * (len(w) - 1) for w in words[1:]])


class Ledger:
    """The ledger in ``path`` (created with the demo customers when new). One connection per
    call; a lock serialises the bank's own writes (SQLite takes one writer at a time anyway)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.executescript(SCHEMA)
            db.executemany("INSERT OR IGNORE INTO accounts VALUES (?, ?, ?)", CUSTOMERS)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        return db

    def accounts(self) -> list[dict]:
        with self._connect() as db:
            return [dict(r) for r in db.execute("SELECT * FROM accounts ORDER BY id")]

    def book(
        self,
        *,
        account: str,
        proxy: str,
        amount_cents: int,
        currency: str,
        reference: str,
        remittance_info: str = "",
    ) -> dict:
        """Debit ``account`` and book a transfer to ``proxy``; returns the transfer (its
        notification pending). :raises Refused: unknown account, not enough money."""
        booked = now()
        e2e = f"DEMO{booked.astimezone(HKT):%Y%m%d}{secrets.token_hex(6).upper()}"
        with self._lock, self._connect() as db:
            row = db.execute("SELECT * FROM accounts WHERE id = ?", (account,)).fetchone()
            if row is None:
                raise Refused("unknown account")
            if row["balance_cents"] < amount_cents:
                raise Refused("not enough money in the account")
            db.execute("UPDATE accounts SET balance_cents = balance_cents - ? WHERE id = ?", (amount_cents, account))
            db.execute(
                "INSERT INTO transfers (end_to_end_id, message_id, debtor_account, debtor_name, creditor_proxy, "
                "amount_cents, currency, reference, remittance_info, value_date, booked_at, next_attempt_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    e2e,
                    f"MSG-{e2e}",
                    account,
                    row["name"],
                    proxy,
                    amount_cents,
                    currency,
                    reference,
                    remittance_info,
                    booked.astimezone(HKT).date().isoformat(),
                    booked.isoformat(),
                    booked.isoformat(),
                ),
            )
        return self.transfer(e2e)

    def transfer(self, end_to_end_id: str) -> dict | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM transfers WHERE end_to_end_id = ?", (end_to_end_id,)).fetchone()
            return dict(row) if row else None

    def transfers(self, *, value_date: str | None = None) -> list[dict]:
        with self._connect() as db:
            if value_date:
                rows = db.execute("SELECT * FROM transfers WHERE value_date = ? ORDER BY id", (value_date,))
            else:
                rows = db.execute("SELECT * FROM transfers ORDER BY id")
            return [dict(r) for r in rows]

    def due(self) -> list[dict]:
        """Transfers whose notification is pending and due now."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM transfers WHERE notify_status = 'pending' AND next_attempt_at <= ? ORDER BY id",
                (now().isoformat(),),
            )
            return [dict(r) for r in rows]

    def notified(self, end_to_end_id: str, status: str, error: str = "", retry_in: float | None = None) -> None:
        """Record a delivery attempt: ``delivered``/``refused``, or still ``pending`` with the
        next attempt ``retry_in`` seconds from now."""
        with self._lock, self._connect() as db:
            db.execute(
                "UPDATE transfers SET notify_status = ?, notify_attempts = notify_attempts + 1, last_error = ?, "
                "next_attempt_at = ? WHERE end_to_end_id = ?",
                (
                    status,
                    error[:300],
                    (now() + dt.timedelta(seconds=retry_in or 0)).isoformat(),
                    end_to_end_id,
                ),
            )
