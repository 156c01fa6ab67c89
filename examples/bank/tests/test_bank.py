"""The demo FPS participant bank (issue 18): it reads FPS QR codes (refusing damaged ones),
books transfers in its ledger (refusing overdrafts), and delivers signed notifications until the
platform answers — retrying with backoff when it does not, stopping when it has recorded the
message (200, or 409 ``notification_replayed``) or refused it. The platform is played by a small
HTTP server in a thread. Nothing here imports Django or ``tungban``."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from examples.bank import qr  # noqa: E402
from examples.bank.app import create_app  # noqa: E402
from examples.bank.ledger import Ledger, Refused, mask  # noqa: E402
from examples.bank.notifier import Notifier  # noqa: E402

SECRET = "shared-secret-for-tests"
#: The platform's key for its requests to the bank: one key per direction (review finding 14).
REQUEST_SECRET = "platform-request-secret-for-tests"
#: An FPS payload from Odoo's Hong Kong localisation tests (mobile proxy, HK$100, reference label).
ODOO_FPS = (
    "00020101021226330012hk.com.hkicl0313+852-67891234520400005303344540310058"
    "02HK5914company_1_data6002HK62170513INV/TEST/00016304A154"
)


class Platform:
    """A stand-in for the platform's notification endpoint: answers each POST with the next
    status of ``answers`` (the last one repeats) and keeps what it received."""

    def __init__(self, answers: list[tuple[int, dict]]):
        self.answers, self.received = list(answers), []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers), body))
                status, payload = outer.answers.pop(0) if len(outer.answers) > 1 else outer.answers[0]
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/notifications"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def ledger(tmp_path):
    return Ledger(tmp_path / "ledger.sqlite3")


def _book(ledger, amount=35000):
    return ledger.book(
        account="004-123456-001", proxy="collect@tungban.invalid", amount_cents=amount, currency="HKD", reference="TB1"
    )


def test_the_bank_reads_an_fps_code_and_refuses_a_damaged_one():
    payment = qr.read(ODOO_FPS)
    assert (payment.payee_name, payment.proxy_kind, payment.proxy) == ("company_1_data", "mobile", "+852-67891234")
    assert payment.amount == Decimal("100") and payment.currency == "HKD" and payment.reference == "INV/TEST/0001"
    with pytest.raises(qr.Unreadable) as caught:
        qr.read(ODOO_FPS.replace("5403100", "5403900"))
    assert caught.value.field == "63"
    with pytest.raises(qr.Unreadable):
        qr.read("hello")


def test_the_ledger_books_and_refuses_overdrafts(ledger):
    transfer = _book(ledger)
    assert transfer["notify_status"] == "pending" and transfer["end_to_end_id"].startswith("DEMO")
    assert len(transfer["end_to_end_id"]) <= 35 and transfer["message_id"] == f"MSG-{transfer['end_to_end_id']}"
    balances = {a["id"]: a["balance_cents"] for a in ledger.accounts()}
    assert balances["004-123456-001"] == 5_000_000 - 35000
    with pytest.raises(Refused):
        ledger.book(account="004-123456-003", proxy="x", amount_cents=35000, currency="HKD", reference="TB1")
    with pytest.raises(Refused):
        ledger.book(account="nobody", proxy="x", amount_cents=1, currency="HKD", reference="TB1")
    assert len(ledger.transfers()) == 1 and mask("CHAN TAI MAN") == "CHAN T** M**"


def test_a_notification_is_signed_and_retried_until_recorded(ledger):
    platform = Platform([(503, {"error": "service_unavailable"}), (200, {"message_id": "x"})])
    try:
        notifier = Notifier(ledger, platform.url, SECRET)
        transfer = _book(ledger)
        assert notifier.deliver(transfer) == "pending"
        after = ledger.transfer(transfer["end_to_end_id"])
        assert after["notify_attempts"] == 1 and after["next_attempt_at"] > after["booked_at"]  # backoff
        assert notifier.run_once() == 0  # not due yet
        assert notifier.deliver(after) == "delivered"
        headers, body = platform.received[-1]
        t, v1 = (part.split("=", 1)[1] for part in headers["Tungban-Signature"].split(","))
        assert hmac.compare_digest(v1, hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest())
        sent = json.loads(body)
        assert sent["message_id"] == transfer["message_id"]
        assert sent["transfers"][0] | {"booked_at": None} == {
            "end_to_end_id": transfer["end_to_end_id"],
            "amount": "350.00",
            "currency": "HKD",
            "value_date": transfer["value_date"],
            "booked_at": None,
            "reference": "TB1",
            "remittance_info": "",
            "debtor_name": "CHAN TAI MAN",  # in full, with the account: a refund goes back to them
            "debtor_account": "004-123456-001",
        }
        assert platform.received[0][1] == body  # a resend is the same message
    finally:
        platform.close()


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ((409, {"error": "notification_replayed"}), "delivered"),  # recorded before: the answer was lost
        ((401, {"error": "bad_signature"}), "refused"),
        ((409, {"error": "something_else"}), "refused"),
        ((409, {"error": "message_id_reused"}), "refused"),  # nothing recorded: not delivered
    ],
)
def test_what_ends_delivery(ledger, answer, status):
    platform = Platform([answer])
    try:
        assert Notifier(ledger, platform.url, SECRET).deliver(_book(ledger)) == status
    finally:
        platform.close()


def test_a_platform_that_is_down_is_retried(ledger):
    notifier = Notifier(ledger, "http://127.0.0.1:9/notifications", SECRET)  # nothing listens there
    transfer = _book(ledger)
    assert notifier.deliver(transfer) == "pending"
    assert ledger.transfer(transfer["end_to_end_id"])["last_error"]


def test_the_pay_page_books_and_notifies(tmp_path):
    platform = Platform([(200, {"message_id": "x"})])
    try:
        app = create_app(
            ledger_path=str(tmp_path / "l.sqlite3"),
            notify_url=platform.url,
            secret=SECRET,
            request_secret=REQUEST_SECRET,
            payee_proxy="+852-67891234",
            start_notifier=False,
        )
        client = app.test_client()
        page = client.get("/pay", query_string={"qr": ODOO_FPS, "return": "http://localhost:8000/services/my/"})
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "company_1_data" in html and "HKD 100.00" in html
        done = client.post(
            "/pay", data={"qr": ODOO_FPS, "return": "http://localhost:8000/services/my/", "account": "004-123456-002"}
        )
        html = done.get_data(as_text=True)
        assert done.status_code == 200 and 'data-status="delivered"' in html
        assert 'href="http://localhost:8000/services/my/"' in html
        assert len(platform.received) == 1
        other = client.post("/pay", data={"qr": ODOO_FPS.replace("+852-67891234", "+852-67891235"), "account": "x"})
        assert other.status_code == 400  # a damaged code (the CRC no longer matches)
        evil = client.get("/pay", query_string={"qr": ODOO_FPS, "return": "javascript:alert(1)"})
        assert "javascript:" not in evil.get_data(as_text=True)
    finally:
        platform.close()


def _signed_get(client, path: str, key: str):
    t = str(int(time.time()))
    mac = hmac.new(key.encode(), f"{t}.GET {path}".encode(), hashlib.sha256).hexdigest()
    return client.get(path, headers={"Tungban-Signature": f"t={t},v1={mac}"})


def test_statements_take_the_platforms_request_key_not_the_notifications_key(tmp_path):
    """One HMAC key per direction: the bank signs notifications with one key and accepts the
    platform's statement requests only under the other, so a notification key that leaked
    (or the bank's own) cannot fetch the collection account's statements."""
    app = create_app(
        ledger_path=str(tmp_path / "l.sqlite3"),
        notify_url="http://127.0.0.1:9/notifications",
        secret=SECRET,
        request_secret=REQUEST_SECRET,
        start_notifier=False,
    )
    ledger = app.config["DEMO_BANK"]["ledger"]
    transfer = _book(ledger)
    client = app.test_client()
    day = transfer["value_date"]
    path = f"/statements/camt053?date={day}"
    assert _signed_get(client, path, SECRET).status_code == 401  # the notifications' key: refused
    answer = _signed_get(client, path, REQUEST_SECRET)
    assert answer.status_code == 200
    xml = answer.get_data(as_text=True)
    # the payer in full, with the account: the platform needs both to send a refund back
    assert "<Nm>CHAN TAI MAN</Nm>" in xml and "<Id>004-123456-001</Id>" in xml
    one = f"/notifications/camt054/{transfer['end_to_end_id']}"
    assert _signed_get(client, one, SECRET).status_code == 401
    assert _signed_get(client, one, REQUEST_SECRET).status_code == 200


def test_the_bank_refuses_one_key_for_both_directions(tmp_path):
    with pytest.raises(ValueError, match="two different keys"):
        create_app(
            ledger_path=str(tmp_path / "l.sqlite3"),
            notify_url="http://127.0.0.1:9/",
            secret=SECRET,
            request_secret=SECRET,
            start_notifier=False,
        )
