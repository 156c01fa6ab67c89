"""Payers' personal data (review findings 10 and 6): the name and account a bank reports for a
transfer are stored encrypted, copied encrypted into refunds, and shown masked on staff pages;
the refund file names the payer and the account the money came from, validated against the
ISO 20022 schema, and is itself encrypted at rest (so are e-receipts, which name the payer); a
bill's account number is masked in the descriptions shown without a login (kiosk, ``/pay/``);
and the migration encrypts rows written before it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone, translation
from lxml import etree

from tungban.core.fields import decrypt, decrypt_bytes
from tungban.payments import masking, pain001, refunds
from tungban.payments.models import Bill, CreditTransfer
from tungban.payments.models_refunds import Receipt
from tungban.payments.services import bills, credits
from tungban.testing.factories import login_staff, make_resident

from .recon_support import import_file, statement, transfer
from .refund_helpers import department_user, make_order

NS = {"p": pain001.NS}
NAME, ACCOUNT = "CHAN TAI MAN", "004-123456-001"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _raw(table: str, column: str, pk) -> object:
    """A column as the database holds it (no field conversion)."""
    key = pk.hex if hasattr(pk, "hex") else pk  # a UUID as SQLite's char(32) and PostgreSQL's uuid both read it
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [key])  # noqa: S608 (names are ours)
        value = cursor.fetchone()[0]
    return bytes(value) if isinstance(value, memoryview) else value


def _notify(order, *, name=NAME, account=ACCOUNT) -> CreditTransfer:
    """The bank's signed notification of a transfer paying ``order``, naming the payer in full."""
    now = timezone.now()
    e2e = "E2E" + secrets.token_hex(8).upper()
    body = json.dumps(
        {
            "message_id": "MSG-" + e2e,
            "created_at": now.isoformat(),
            "transfers": [
                {
                    "end_to_end_id": e2e,
                    "amount": f"{order.amount_cents // 100}.{order.amount_cents % 100:02d}",
                    "currency": "HKD",
                    "value_date": timezone.localdate().isoformat(),
                    "booked_at": (now - dt.timedelta(seconds=5)).isoformat(),
                    "reference": order.reference,
                    "debtor_name": name,
                    "debtor_account": account,
                }
            ],
        }
    ).encode()
    credits.receive_notification(body, credits.sign(body))
    return CreditTransfer.objects.get(end_to_end_id=e2e)


def test_the_payers_name_and_account_are_encrypted_at_rest_and_masked_on_staff_pages(client, db):
    clerk = department_user("fehd-clerk", "FEHD")
    order = make_order(35_000)
    credit = _notify(order)
    assert (credit.debtor_name, credit.debtor_account) == (NAME, ACCOUNT)  # the model reads them in full
    for column, value in (("debtor_name", NAME), ("debtor_account", ACCOUNT)):
        stored = _raw("payments_credittransfer", column, credit.pk)
        assert value not in stored and stored.startswith("a1:") and decrypt(stored) == value

    login_staff(client, clerk)
    page = client.get(f"/staff/payments/orders/{order.reference}", **EN).content.decode()
    assert credit.end_to_end_id in page and "C*** T** M**" in page  # masked: the officer needs no more
    assert NAME not in page and ACCOUNT not in page


def test_the_refund_file_names_the_payers_account_and_full_name_and_is_encrypted(db):
    requester, approver = department_user("fehd-clerk", "FEHD"), department_user("fehd-checker", "FEHD")
    order = make_order(50_000)
    _notify(order)
    order.refresh_from_db()
    refund = refunds.request_refund(
        order, requester, amount_cents=20_000, amount_available=50_000, reason_en="Withdrawn", reason_zh="撤回"
    )
    assert (refund.creditor_name, refund.creditor_account) == (NAME, ACCOUNT)
    for column, value in (("creditor_name", NAME), ("creditor_account", ACCOUNT)):
        stored = _raw("payments_refund", column, refund.pk)
        assert value not in stored and decrypt(stored) == value
    refunds.approve(refund, approver)

    batch = refunds.export_batch("FEHD", approver)
    xml = bytes(batch.xml)
    pain001.validate(xml)  # sepaxml's copy of the ISO 20022 pain.001.001.03 schema
    assert hashlib.sha256(xml).hexdigest() == batch.sha256  # the file as the bank receives it
    tx = etree.fromstring(xml).xpath("//p:CdtTrfTxInf", namespaces=NS)[0]
    assert tx.findtext("p:Cdtr/p:Nm", namespaces=NS) == NAME  # not a masked name
    assert tx.findtext("p:CdtrAcct/p:Id/p:Othr/p:Id", namespaces=NS) == ACCOUNT  # where the money came from

    stored = _raw("payments_refundbatch", "xml", batch.pk)
    assert NAME.encode() not in stored and ACCOUNT.encode() not in stored
    assert stored.startswith(b"a1:") and decrypt_bytes(stored) == xml


def test_a_statement_line_brings_the_payers_account(db):
    order = make_order(12_300)
    line = transfer(order, 12_300, debtor="WONG SIU LING") | {"debtor_account": "004-123456-002"}
    assert import_file(statement([line])).state == "done"
    credit = CreditTransfer.objects.get(end_to_end_id=line["end_to_end_id"])
    assert (credit.debtor_name, credit.debtor_account) == ("WONG SIU LING", "004-123456-002")
    assert credit.order_id == order.pk and credit.debtor_name_masked == "W*** S** L***"


def test_a_receipt_pdf_is_encrypted_at_rest(db):
    order = make_order(100)
    receipt = Receipt.objects.create(number=f"R-{order.reference}", order=order, pdf=b"%PDF-1.7 CHAN TAI MAN")
    stored = _raw("payments_receipt", "pdf", receipt.pk)
    assert b"CHAN" not in stored and decrypt_bytes(stored) == b"%PDF-1.7 CHAN TAI MAN"
    assert bytes(Receipt.objects.get(pk=receipt.pk).pdf) == b"%PDF-1.7 CHAN TAI MAN"


def test_a_bills_account_number_is_masked_where_no_login_is_needed(officer):
    department_user("wsd-clerk", "FEHD")  # the departments' names
    resident = make_resident(officer)
    data = {
        "account_number": "1234567890",
        "balance_hkd": "321.50",
        "bill_date": "2026-11-05",
        "due_date": "2026-12-05",
    }
    with translation.override("en"):
        bills.water_bill_item(resident, data)
    bill = Bill.objects.get()
    order = bill.order
    assert bill.account == "1234567890"  # the bill keeps it, for its payer in the app
    texts = [order.description_en, order.description_zh, *(str(line) for line in order.lines)]
    assert all("1234567890" not in t for t in texts) and "****7890" in order.description_en

    browser = Client()
    for path in (f"/pay/{order.pk}/", f"/pay/kiosk/{order.reference}"):
        page = browser.get(path, **EN).content.decode()
        assert page and "1234567890" not in page and "****7890" in page, path


def test_masks():
    assert masking.mask_account("012-345678-901") == "****8901"
    assert masking.mask_account("1234") == "****" and masking.mask_account("") == ""
    assert masking.mask_name("CHAN Tai Man") == "C*** T** M**" and masking.mask_name("陳大文") == "陳*文"
    assert bills.public_text("Rates, account 1-234-56789", "1-234-56789") == "Rates, account ****6789"
    assert bills.public_text("Rates", "") == "Rates"


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_rows_written_before_it():
    """Rows of the schema before ``0005`` (plain name, plain file) are encrypted by it, and a
    bill's order loses the account number from its description."""
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("payments", "0006_statement_truth")], [("payments", "0007_encrypted_payer")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    Order = old.get_model("payments", "PaymentOrder")
    order = Order.objects.create(
        reference="TB0000000000000097",
        amount_cents=100,
        department="WSD",
        description_en="Water bill, account 1234567890",
        description_zh="水費單（帳戶 1234567890）",
        lines=[
            {"code": "bill", "label_en": "Water bill, account 1234567890", "label_zh": "水費單", "total_cents": 100}
        ],
        purpose="payments.bill",
        purpose_ref="x",
        expires_at=timezone.now(),
        idempotency_key="migration-test",
        created_by="tests",
    )
    old.get_model("payments", "Bill").objects.create(
        department="WSD",
        department_name_en="Water Supplies Department",
        department_name_zh="水務署",
        bill_number="1234567890-2026-11-05",
        account="1234567890",
        payer_hkid_hash="0" * 32,
        description_en="Water bill, account 1234567890",
        description_zh="水費單",
        amount_cents=100,
        issued_on=dt.date(2026, 11, 5),
        due_on=dt.date(2026, 12, 5),
        source="exchange",
        created_by="tests",
        order=order,
    )
    credit = old.get_model("payments", "CreditTransfer").objects.create(
        end_to_end_id="E2EMIGRATION1",
        message_id="M1",
        amount_cents=100,
        value_date=dt.date(2026, 12, 5),
        booked_at=timezone.now(),
        debtor_name=NAME,
        source="notification",
        match_status="matched",
        order=order,
    )
    batch = old.get_model("payments", "RefundBatch").objects.create(
        department="WSD",
        business_date=dt.date(2026, 12, 5),
        message_id="TBRF-WSD-20261205",
        xml=b"<Document>CHAN TAI MAN</Document>",
        sha256="x",
        count=1,
        total_cents=100,
        created_by="tests",
    )
    assert _raw("payments_credittransfer", "debtor_name", credit.pk) == NAME  # in clear before

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    stored = _raw("payments_credittransfer", "debtor_name", credit.pk)
    assert NAME not in stored and decrypt(stored) == NAME
    assert decrypt_bytes(_raw("payments_refundbatch", "xml", batch.pk)) == b"<Document>CHAN TAI MAN</Document>"
    migrated = new.get_model("payments", "PaymentOrder").objects.get(pk=order.pk)
    assert "1234567890" not in migrated.description_en + migrated.description_zh + json.dumps(migrated.lines)
    assert "****7890" in migrated.description_en

    executor = MigrationExecutor(connection)  # and back: the rows decrypted again
    executor.migrate(before)
    assert _raw("payments_credittransfer", "debtor_name", credit.pk) == NAME
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # the database as the other tests expect it
