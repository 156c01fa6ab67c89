"""The demo bank's statements to its customer, the government's collection account (issue 18,
reconciliation): ISO 20022 files made from the ledger's ``transfers`` table by :mod:`.camt`.

- ``GET /statements/camt053?date=YYYY-MM-DD`` → the ``camt.053.001.08`` of that day (value
  date, Hong Kong): ``PRCD`` = every earlier day's credits, one ``BOOK`` entry per transfer in
  booking order, ``CLBD``. A day not over yet gets the entries booked so far (the demo bank
  "closes" on request, so that a test need not wait for midnight); a future day is ``404
  statement_not_ready``. The same day asked again gives the same bytes while nothing new was
  booked (its message id and creation time derive from the day and the entries).
- ``GET /notifications/camt054/<end_to_end_id>`` → the ``camt.054.001.08`` of one transfer.

Both are for the account holder only: the request carries ``Tungban-Signature: t=<unix
seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + "GET <path?query>")>`` under the platform's
request key (``DEMO_BANK_REQUEST_SECRET``, the platform's ``TUNGBAN_PAYMENTS_BANK_REQUEST_SECRET``:
not the notifications' key, one key per direction), within :data:`SKEW` seconds; otherwise ``401``.
They name the payer and the payer's account in full, as the notifications do (ISO 20022
``RltdPties/Dbtr`` and ``DbtrAcct``): the account holder needs them to send a refund back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import time

from flask import Flask, Response, jsonify, request

from . import camt
from .ledger import HKT

HEADER = "Tungban-Signature"
SKEW = 300
_SIGNATURE = re.compile(r"^t=(?P<t>[0-9]{1,12}),v1=(?P<v1>[0-9a-f]{64})$")
BIC = "DEMOHKHHXXX"
#: The collection account as the statements name it (the platform's TUNGBAN_PAYMENTS_COLLECTION_ACCOUNT default).
COLLECTION_ACCOUNT = "888-100200-001"


def _signed(secret: str) -> bool:
    found = _SIGNATURE.match((request.headers.get(HEADER) or "").strip())
    if found is None or abs(time.time() - int(found["t"])) > SKEW:
        return False
    path = request.full_path.rstrip("?")
    mac = hmac.new(secret.encode(), f"{found['t']}.GET {path}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, found["v1"])


def _transfer(row: dict) -> dict:
    return {
        "end_to_end_id": row["end_to_end_id"],
        "account_servicer_ref": f"DEMO-{row['id']:010d}",
        "message_id": row["message_id"],
        "amount_cents": row["amount_cents"],
        "credit": True,
        "booked_at": dt.datetime.fromisoformat(row["booked_at"]),
        "value_date": dt.date.fromisoformat(row["value_date"]),
        "reference": " ".join(x for x in (row["reference"], row.get("remittance_info", "")) if x)[:140],
        "debtor_name": row["debtor_name"],
        "debtor_account": row["debtor_account"],
    }


def register(app: Flask, *, ledger, secret: str, account: str, name: str = "HKSAR GOVERNMENT COLLECTION") -> None:
    """Add the statement endpoints to the bank ``app`` for ``account`` (its number as the
    statements name it), reading ``ledger``'s transfers."""
    holder = {"number": account, "name": name, "bic": BIC}

    @app.get("/statements/camt053")
    def statement_053():
        if not _signed(secret):
            return jsonify(error="invalid_signature"), 401
        try:
            day = dt.date.fromisoformat(request.args.get("date", ""))
        except ValueError:
            return jsonify(error="date_invalid"), 400
        if day > dt.datetime.now(HKT).date():
            return jsonify(error="statement_not_ready"), 404
        rows = [r for r in ledger.transfers() if r["currency"] == "HKD"]
        opening = sum(r["amount_cents"] for r in rows if r["value_date"] < day.isoformat())
        today = [_transfer(r) for r in rows if r["value_date"] == day.isoformat()]
        digest = hashlib.sha256("|".join(t["end_to_end_id"] for t in today).encode()).hexdigest()[:8].upper()
        created = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 30), HKT)
        body = camt.statement(
            holder,
            day,
            today,
            opening_cents=opening,
            message_id=f"STMT{day:%Y%m%d}-{len(today)}-{digest}",
            created_at=created,
        )
        return Response(body, mimetype="application/xml")

    @app.get("/notifications/camt054/<end_to_end_id>")
    def notification_054(end_to_end_id: str):
        if not _signed(secret):
            return jsonify(error="invalid_signature"), 401
        row = ledger.transfer(end_to_end_id)
        if row is None:
            return jsonify(error="no_transfer"), 404
        t = _transfer(row)
        body = camt.notification(holder, t, message_id=f"NTF-{row['id']:010d}", created_at=t["booked_at"])
        return Response(body, mimetype="application/xml")
