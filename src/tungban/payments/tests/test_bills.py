"""Bills in the app (issue 18, "Bills in the app"): a department posts a bill for a resident it
names by HKID number (checked, kept only as a keyed hash — never in clear in the database, the
logs or the answer — and no oracle: an HKID with no account is accepted the same way), with an
``Idempotency-Key``; the app lists the resident's bills with balance, due date and state and pays
one by FPS (the order's dynamic QR code, the bank-app link); a bill paid from the paper bill
(matched on the bank statement) or declared paid elsewhere by the department shows paid; an
expired order is renewed; the Water Supplies Department's water bill arrives through the exchange
gateway as a bill, and the assistant's card gets a "Pay" item."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone, translation

from tungban.identity import hkid as hkid_rules
from tungban.payments import fps
from tungban.payments.constants import CreditSource, OrderState
from tungban.payments.models import Bill, BillState, PaymentOrder
from tungban.payments.services import bills
from tungban.payments.tests.departments import call, pay, payment_system
from tungban.payments.tests.refund_helpers import bank_reverses
from tungban.testing.factories import PIN, bind_cli, make_resident, valid_hkid
from tungban.wallet.client import AppError

APP = "/api/v1/payments/app/bills"


@pytest.fixture
def wsd(issuer, db):
    return payment_system(issuer, "WSD", name_en="Water Supplies Department", name_zh="水務署")


@pytest.fixture
def rvd(issuer, db):
    return payment_system(issuer, "RVD", name_en="Rating and Valuation Department", name_zh="差餉物業估價署")


def _bill(hkid: str, number: str = "RV-2026-0001", amount: int = 123456, **extra) -> dict:
    today = timezone.localdate()
    return {
        "bill_number": number,
        "payer": {"hkid": hkid},
        "account": "1-234-56789",
        "description": {"en": "Rates, quarter ending March 2027", "zh": "差餉（2027年3月止季度）"},
        "amount": amount,
        "bill_date": str(today),
        "due_date": str(today + dt.timedelta(days=30)),
        **extra,
    }


def test_posting_a_bill_keeps_no_hkid_in_clear(rvd, officer, caplog):
    resident = make_resident(officer)
    spelled = hkid_rules.display(resident.hkid)  # "A123456(3)"
    caplog.set_level(logging.DEBUG)
    made = call(rvd, "POST", "/bills", _bill(spelled), key="bill-00000001")
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["state"] == "open" and body["balance"] == body["amount"] == 123456
    assert body["department"] == "RVD" and body["bill_reference"].startswith("TB")
    decoded = fps.decode(body["fps_payload"])  # the QR code to print on the paper bill
    assert decoded.amount == Decimal("1234.56") and decoded.bill_number == body["bill_reference"]
    bill = Bill.objects.get(pk=body["bill_id"])
    assert bill.resident == resident and bill.payer_hkid_hash == resident.hkid_hash
    # The number appears nowhere: not in the answer, not in any log line, not in the bill's table.
    assert resident.hkid not in made.text and spelled not in made.text
    assert resident.hkid not in caplog.text and spelled not in caplog.text
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Bill._meta.db_table}")
        rows = repr(cursor.fetchall())
    assert resident.hkid not in rows and resident.hkid[:-1] not in rows

    again = call(rvd, "POST", "/bills", _bill(spelled), key="bill-00000001")
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json()["bill_id"] == body["bill_id"]
    taken = call(rvd, "POST", "/bills", _bill(spelled), key="bill-00000002")
    assert taken.status_code == 409 and taken.json()["error"] == "bill_exists"
    assert Bill.objects.count() == 1


@pytest.mark.parametrize(
    "change, status, code, field",
    [
        ({"payer": {"hkid": "A1234567"}}, 400, "hkid_check_digit", "payer.hkid"),
        ({"payer": {"hkid": "12345678"}}, 400, "hkid_format", "payer.hkid"),
        ({"due_date": "2020-01-01"}, 422, "due_date_invalid", "due_date"),
        ({"amount": 0}, 422, "invalid_request", "amount"),
        ({"bill_number": "no spaces allowed"}, 422, "invalid_request", "bill_number"),
    ],
)
def test_bad_bills_are_refused_and_nothing_stored(rvd, change, status, code, field):
    resp = call(rvd, "POST", "/bills", {**_bill(valid_hkid()), **change}, key="bill-bad-0001")
    assert resp.status_code == status, resp.text
    assert resp.json()["error"] == code and resp.json()["field"] == field
    assert not Bill.objects.exists() and not PaymentOrder.objects.exists()


def test_a_bill_for_someone_without_an_account_reaches_them_when_they_register(rvd, officer, issuer, tmp_path):
    hkid = valid_hkid()
    posted = call(rvd, "POST", "/bills", _bill(hkid), key="bill-00000003")
    assert posted.status_code == 201  # the same answer as for an account holder: no oracle
    assert Bill.objects.get().resident is None
    resident = make_resident(officer, hkid=hkid)
    app = bind_cli(issuer, resident, tmp_path / "phone")
    (mine,) = app._call("GET", APP, device_key=app.load_key(PIN))
    assert mine["bill_id"] == posted.json()["bill_id"] and Bill.objects.get().resident == resident


def test_the_app_lists_and_pays_a_bill_by_fps(
    rvd, wsd, officer, issuer, tmp_path, run_tasks, django_capture_on_commit_callbacks
):
    resident = make_resident(officer)
    other = make_resident(officer)
    key_rates = call(rvd, "POST", "/bills", _bill(resident.hkid), key="bill-00000004").json()
    call(rvd, "POST", "/bills", _bill(other.hkid, number="RV-OTHER"), key="bill-00000005")
    app = bind_cli(issuer, resident, tmp_path / "phone")
    key = app.load_key(PIN)
    listed = app._call("GET", APP, device_key=key)
    assert [b["bill_id"] for b in listed] == [key_rates["bill_id"]]  # nobody else's
    (b,) = listed
    assert b["state"] == "open" and b["balance"] == 123456 and b["balance_text"] == "HK$1,234.56"
    assert b["due_date"] == key_rates["due_date"] and b["overdue"] is False and b["account"] == "1-234-56789"

    paying = app._call("POST", f"{APP}/{b['bill_id']}/pay", device_key=key)
    qr = fps.decode(paying["fps"]["payload"])
    assert qr.amount == Decimal("1234.56") and qr.bill_number == b["bill_reference"] == paying["fps"]["reference"]
    assert paying["fps"]["qr"].startswith("data:image/svg+xml") and "qr=" in paying["fps"]["bank_link"]

    order = PaymentOrder.objects.get(reference=b["bill_reference"])
    with django_capture_on_commit_callbacks(execute=True):
        pay(order)  # the bank's notification
    assert app._call("GET", f"{APP}/{b['bill_id']}", device_key=key)["state"] == "paid"  # before the task ran
    run_tasks()
    bill = Bill.objects.get(pk=b["bill_id"])
    assert bill.state == BillState.PAID and bill.settled_at is not None
    with pytest.raises(AppError) as refused:
        app._call("POST", f"{APP}/{b['bill_id']}/pay", device_key=key)
    assert refused.value.status == 409 and refused.value.code == "bill_not_open"
    with pytest.raises(AppError) as foreign:
        app._call("GET", f"{APP}/{Bill.objects.get(bill_number='RV-OTHER').pk}", device_key=key)
    assert foreign.value.status == 404 and foreign.value.code == "bill_unknown"
    with pytest.raises(AppError) as anonymous:
        app._call("GET", APP)
    assert anonymous.value.status == 401
    read = call(rvd, "GET", f"/bills/{b['bill_id']}").json()
    assert read["state"] == "paid" and read["balance"] == 0


def test_a_bill_paid_from_the_paper_bill_shows_paid_from_the_statement(rvd, officer, run_tasks):
    resident = make_resident(officer)
    posted = call(rvd, "POST", "/bills", _bill(resident.hkid), key="bill-00000006").json()
    order = PaymentOrder.objects.get(reference=posted["bill_reference"])
    pay(order, source=CreditSource.CAMT053)  # the payer typed the reference in their bank; the statement tells us
    run_tasks()
    bill = Bill.objects.get(pk=posted["bill_id"])
    assert bills.state_of(bill) == bill.state == BillState.PAID


def test_a_bill_whose_payment_the_bank_reversed_is_open_again(rvd, officer, run_tasks):
    resident = make_resident(officer)
    posted = call(rvd, "POST", "/bills", _bill(resident.hkid, "RV-2026-0077"), key="bill-00000077").json()
    order = PaymentOrder.objects.get(reference=posted["bill_reference"])
    pay(order)
    run_tasks()
    bank_reverses(order)
    run_tasks()
    bill = Bill.objects.get(pk=posted["bill_id"])
    assert bills.state_of(bill) == bill.state == BillState.OPEN and bill.settled_at is None
    assert bills.balance_cents(bill) == 123456
    read = call(rvd, "GET", f"/bills/{posted['bill_id']}").json()
    assert (read["state"], read["balance"]) == ("open", 123456)


def test_the_department_says_paid_elsewhere_or_withdraws(rvd, wsd, officer):
    resident = make_resident(officer)
    a = call(rvd, "POST", "/bills", _bill(resident.hkid, number="A-1"), key="bill-00000007").json()
    b = call(rvd, "POST", "/bills", _bill(resident.hkid, number="A-2"), key="bill-00000008").json()
    assert call(wsd, "POST", f"/bills/{a['bill_id']}/paid-elsewhere").status_code == 404
    done = call(rvd, "POST", f"/bills/{a['bill_id']}/paid-elsewhere")
    assert done.status_code == 200 and done.json()["state"] == "paid_elsewhere" and done.json()["balance"] == 0
    assert PaymentOrder.objects.get(reference=a["bill_reference"]).state == OrderState.CANCELLED  # takes no money
    twice = call(rvd, "POST", f"/bills/{a['bill_id']}/withdraw")
    assert twice.status_code == 409 and twice.json()["error"] == "bill_not_open"
    assert call(rvd, "POST", f"/bills/{b['bill_id']}/withdraw").json()["state"] == "cancelled"
    assert [x["bill_number"] for x in call(rvd, "GET", "/bills", state="open").json()] == []


def test_an_expired_order_is_renewed_and_a_late_payment_still_pays(rvd, officer, issuer, tmp_path, run_tasks):
    resident = make_resident(officer)
    posted = call(rvd, "POST", "/bills", _bill(resident.hkid), key="bill-00000009").json()
    first = PaymentOrder.objects.get(reference=posted["bill_reference"])
    PaymentOrder.objects.filter(pk=first.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    from tungban.payments import services

    services.expire_orders()
    app = bind_cli(issuer, resident, tmp_path / "phone")
    renewed = app._call("POST", f"{APP}/{posted['bill_id']}/pay", device_key=app.load_key(PIN))
    assert renewed["fps"]["reference"] != first.reference
    second = PaymentOrder.objects.get(reference=renewed["fps"]["reference"])
    pay(PaymentOrder.objects.get(pk=first.pk))  # the first QR code, paid late after all
    run_tasks()
    second.refresh_from_db()
    assert second.state == OrderState.CANCELLED  # no second payment taken
    bill = Bill.objects.get(pk=posted["bill_id"])
    assert bill.state == BillState.PAID and bill.order_id == first.pk


# --- the water bill from the exchange gateway ---
def _water(account="1234567890", balance="321.50", bill_date="2026-11-05", due="2026-12-05") -> dict:
    return {"account_number": account, "balance_hkd": balance, "bill_date": bill_date, "due_date": due}


def test_the_water_bill_is_kept_as_a_bill_with_a_pay_item(officer):
    resident = make_resident(officer)
    with translation.override("en"):
        item = bills.water_bill_item(resident, _water())
    bill = Bill.objects.get()
    assert item == {"label": "Pay", "value": "Pay HK$321.50 by FPS", "href": f"/app/#bills/{bill.id}"}
    assert bill.department == "WSD" and bill.amount_cents == 32150 and bill.account == "1234567890"
    assert bill.resident == resident and bill.source == "exchange"
    with translation.override("zh-hant"):
        assert bills.water_bill_item(resident, _water())["label"] == "繳費"
    assert Bill.objects.count() == 1  # the same bill on every panel load

    # Paid through tungban: the card says so before WSD's next bill does.
    pay(bill.order)
    with translation.override("en"):
        assert bills.water_bill_item(resident, _water())["label"] == "Paid"


def test_wsds_statement_settles_the_bill_and_a_new_bill_replaces_it(officer):
    resident = make_resident(officer)
    bills.water_bill_item(resident, _water())
    old = Bill.objects.get()
    assert bills.water_bill_item(resident, _water(balance="0.00")) is None
    old.refresh_from_db()
    assert old.state == BillState.PAID_ELSEWHERE  # paid at WSD's own counter: its statement shows nothing due
    assert PaymentOrder.objects.get(pk=old.order_id).state == OrderState.CANCELLED

    bills.water_bill_item(resident, _water(bill_date="2026-12-05", due="2027-01-04", balance="99.00"))
    newer = Bill.objects.get(bill_number="1234567890-2026-12-05")
    bills.water_bill_item(resident, _water(bill_date="2027-01-05", due="2027-02-04", balance="150.00"))
    newer.refresh_from_db()
    assert newer.state == BillState.CANCELLED  # its balance is carried in the newer bill
    assert Bill.objects.filter(state=BillState.OPEN).count() == 1


@pytest.mark.live_http
@pytest.mark.django_db(transaction=True)
def test_the_assistants_water_bill_card_shows_pay(issuer, officer, tmp_path):
    """Through the gateway, from the WSD demo provider (another process), under the resident's
    consent: the assistant's water-bill card ends with "Pay", linking to the bill in the app."""
    from examples.providers import water_bill
    from examples.providers.launch import start_provider, stop_provider
    from tungban.exchange import cards
    from tungban.exchange import catalogue as exchange_catalogue

    proc, url = start_provider("wsd", issuer)
    try:
        exchange_catalogue.register_bundled({"wsd": url})
        resident = make_resident(officer)
        app = bind_cli(issuer, resident, tmp_path / "phone")
        app.decide(cards.ask_water_bill_consent(resident)["approval_id"], PIN, "approve")
        with translation.override("en"):
            card = cards.water_bill_card(resident)
        assert card["state"] == "ok", card
        record = water_bill.record(resident.hkid)
        bill = Bill.objects.get(resident=resident)
        assert card["items"][-1] == {
            "label": "Pay",
            "value": f"Pay {bills.orders.hkd(bill.amount_cents)} by FPS",
            "href": f"/app/#bills/{bill.id}",
        }
        assert bill.amount_cents == int(Decimal(record["balance_hkd"]) * 100)
        assert bill.bill_number == f"{record['account_number']}-{record['bill_date']}"
        (listed,) = app._call("GET", APP, device_key=app.load_key(PIN))
        assert listed["source"] == "exchange" and listed["department"] == "Water Supplies Department"
    finally:
        stop_provider(proc)
