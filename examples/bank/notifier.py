"""The bank's payment notifications to the payee's platform: a ``camt.054`` entry's members in
JSON, signed with HMAC-SHA256 under the secret shared with the platform (header
``Tungban-Signature: t=<unix seconds>,v1=<hex of HMAC(secret, "<t>." + body)>``), and delivered
until the platform answers: ``200`` (recorded) or ``409 notification_replayed`` (recorded
before: an earlier answer was lost) end it; another ``4xx`` is logged and not retried (the
platform refused the message) — among them ``409 message_id_reused`` (the message id was
already used for a different body): the transfers were *not* recorded, and resending the same
bytes would be refused for ever, so the transfer is marked ``refused`` with that reason for
the bank's operations to resend under a new message id (a bank does not mint new ids on its
own for a message it has already sent: that is a reconciliation decision); no answer or ``5xx`` is retried with exponential backoff
(1, 2, 4 … seconds, at most :data:`MAX_BACKOFF`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time

import requests

from .ledger import Ledger

log = logging.getLogger("demo-bank")

HEADER = "Tungban-Signature"
MAX_BACKOFF = 300.0
TIMEOUT = 5.0


def body_of(transfer: dict) -> bytes:
    """The notification of one booked transfer: the same bytes every time it is sent (its
    message id and time are the transfer's), so a resend is the same message."""
    amount = transfer["amount_cents"]
    message = {
        "message_id": transfer["message_id"],
        "created_at": transfer["booked_at"],
        "transfers": [
            {
                "end_to_end_id": transfer["end_to_end_id"],
                "amount": f"{amount // 100}.{amount % 100:02d}",
                "currency": transfer["currency"],
                "value_date": transfer["value_date"],
                "booked_at": transfer["booked_at"],
                "reference": transfer["reference"],
                "remittance_info": transfer["remittance_info"],
                "debtor_name": transfer["debtor_name"],
                "debtor_account": transfer["debtor_account"],
            }
        ],
    }
    return json.dumps(message, separators=(",", ":")).encode()


def signature(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class Notifier:
    """Delivers the ledger's pending notifications to ``url``; :meth:`deliver` tries one now,
    :meth:`start` runs the retry loop in a daemon thread."""

    def __init__(self, ledger: Ledger, url: str, secret: str, *, interval: float = 0.5, max_attempts: int = 0):
        self.ledger, self.url, self.secret, self.interval = ledger, url, secret, interval
        self.max_attempts = max_attempts  # 0: retry for ever; else "abandoned" after that many failures
        self._session = requests.Session()
        self._session.trust_env = False  # loopback: never through a proxy of the environment
        self._stop = threading.Event()

    def deliver(self, transfer: dict) -> str:
        """One attempt; returns the transfer's notification status afterwards."""
        body = body_of(transfer)
        headers = {"Content-Type": "application/json", HEADER: signature(self.secret, body)}
        attempts = transfer["notify_attempts"]
        try:
            answer = self._session.post(self.url, data=body, headers=headers, timeout=TIMEOUT)
        except requests.RequestException as exc:
            status, error = "pending", f"{type(exc).__name__}"
        else:
            code = ""
            try:
                code = answer.json().get("error", "")
            except ValueError:
                pass
            # Only the platform's "recorded" answers end delivery; 409 message_id_reused is a
            # refusal (nothing recorded) and falls to the 4xx branch below.
            if answer.status_code == 200 or (answer.status_code == 409 and code == "notification_replayed"):
                status, error = "delivered", ""
            elif 400 <= answer.status_code < 500:
                status, error = "refused", f"{answer.status_code} {code}"
                log.warning("the platform refused %s: %s", transfer["end_to_end_id"], error)
            else:
                status, error = "pending", f"{answer.status_code} {code}"
        if status == "pending" and self.max_attempts and attempts + 1 >= self.max_attempts:
            status = "abandoned"  # the bank gives up: the payee learns of it from the statement
            log.warning("gave up notifying %s after %s attempts", transfer["end_to_end_id"], attempts + 1)
        retry_in = min(2.0**attempts, MAX_BACKOFF) if status == "pending" else None
        self.ledger.notified(transfer["end_to_end_id"], status, error, retry_in)
        return status

    def run_once(self) -> int:
        due = self.ledger.due()
        for transfer in due:
            self.deliver(transfer)
        return len(due)

    def start(self) -> threading.Thread:
        def loop():
            while not self._stop.wait(self.interval):
                try:
                    self.run_once()
                except Exception:  # keep retrying: the ledger or the network may come back
                    log.exception("notification loop")

        thread = threading.Thread(target=loop, name="demo-bank-notifier", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
