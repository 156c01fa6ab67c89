"""The payment counter, its QR validator and the kiosk (issue 18, pay-refund; MISSION §5:
FPS at counters and self-service kiosks). Bad input: every validator refusal is named by its
data object and given in both languages; the kiosk checks the reference's check digits first;
staff of another department see nothing of a payment."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from tungban.payments import counter, fps, refunds, services
from tungban.payments.models import PaymentOrder
from tungban.testing.factories import login_staff, staff_user

from .refund_helpers import department_user, make_order, paid_order, pay

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def clerk(db):
    return department_user("fehd-clerk", "FEHD")


@pytest.fixture
def staff(client, clerk):
    return login_staff(client, clerk)


def rules(result) -> list[tuple[str, str]]:
    return [(p.rule, p.field) for p in result.problems]


def test_the_validator_accepts_an_orders_own_code_and_the_counters_static_code(clerk):
    order = make_order(20_000)
    result = counter.check_payload(services.fps_payload(order))
    assert result.ok and result.order == order
    assert ("54", "200.00") in [(tag, value) for _label, tag, value in result.fields]
    static = counter.check_payload(services.static_payload())
    assert static.ok and static.order is None


def test_the_validator_names_the_data_object_at_fault_in_both_languages(clerk):
    order = make_order(20_000)
    good = services.fps_payload(order)
    result = counter.check_payload(good[:-4] + ("0000" if not good.endswith("0000") else "1111"))
    assert rules(result) == [("crc_mismatch", "63")]
    (problem,) = result.problems
    assert "CRC" in problem.message["en"] and "CRC" in problem.message["zh"]
    assert problem.message["en"] != problem.message["zh"]

    assert rules(counter.check_payload("")) == [("payload_invalid", "")]
    assert rules(counter.check_payload("hello"))[0][0] in ("tlv_malformed", "payload_invalid")

    # A valid code for someone else's account.
    other = fps.encode(
        fps.FpsQr(proxy_type="fps_id", proxy="1234567", merchant_name="SHOP", merchant_city="HK", dynamic=False)
    )
    assert rules(counter.check_payload(other)) == [("not_our_account", "26")]

    def with_bill(bill: str, amount=None) -> str:
        return fps.encode(
            fps.FpsQr(
                **services.payee(),
                dynamic=True,
                amount=amount if amount is not None else Decimal(order.amount_cents) / 100,
                bill_number=bill,
                reference_label=bill,
            )
        )

    typo = order.reference[:-1] + str((int(order.reference[-1]) + 1) % 10)
    assert rules(counter.check_payload(with_bill(typo))) == [("reference_check_digits", "62.01")]
    from tungban.payments.reference import new_reference

    assert rules(counter.check_payload(with_bill(new_reference()))) == [("reference_unknown", "62.01")]
    assert rules(counter.check_payload(with_bill(order.reference, Decimal("199.99")))) == [("amount_differs", "54")]
    pay(order)
    assert rules(counter.check_payload(with_bill(order.reference))) == [("order_not_open", "62.01")]


def test_the_check_page_shows_problems_bilingually(staff, clerk):
    order = make_order(20_000)
    bad = services.fps_payload(order)[:-4] + "ABCD"
    page = staff.post("/staff/payments/counter/check", {"payload": bad}, **EN)
    assert page.status_code == 422
    html = page.content.decode()
    assert 'data-rule="crc_mismatch"' in html and 'data-field="63"' in html
    assert "The check value (CRC) does not match" in html
    assert counter.both(counter.RULES["crc_mismatch"])["zh"] in html
    ok = staff.post("/staff/payments/counter/check", {"payload": services.fps_payload(order)}, **EN)
    assert ok.status_code == 200 and 'id="check-ok"' in ok.content.decode()


def test_a_walk_in_order_from_fee_items_once_per_form(staff, clerk):
    services.load_fees()
    page = staff.get("/staff/payments/counter/?department=FEHD&service=temporary-hawker-licence", **EN)
    assert page.status_code == 200 and 'id="qty-licence"' in page.content.decode()
    form = {
        "action": "create",
        "department": "FEHD",
        "service": "temporary-hawker-licence",
        "key": "form-key-1",
        "qty-licence": "2",
    }
    made = staff.post("/staff/payments/counter/", form)
    assert made.status_code == 302
    order = PaymentOrder.objects.get()
    assert made["Location"] == f"/staff/payments/counter/orders/{order.reference}"
    assert order.amount_cents == 2 * order.lines[0]["unit_cents"] and order.purpose == counter.PURPOSE
    assert order.created_by == f"officer:{clerk.username}" and order.state == "awaiting_transfer"
    again = staff.post("/staff/payments/counter/", form)  # the form sent twice
    assert again["Location"] == made["Location"] and PaymentOrder.objects.count() == 1
    shown = staff.get(made["Location"], **EN).content.decode()
    assert 'id="pay-qr"' in shown and services.hkd(order.amount_cents) in shown
    # what it is for, on the counter's and the kiosk's screens while it still awaits the
    # transfer: it must not say "Paid" before anything is paid (demo walk, pay-walk)
    assert order.description_en.startswith("Payment at a counter: Temporary hawker licence")
    assert order.description_zh.startswith("櫃位繳費：") and "Paid at" not in shown

    nothing = staff.post("/staff/payments/counter/", {**form, "key": "form-key-2", "qty-licence": "0"}, **EN)
    assert nothing.status_code == 422 and PaymentOrder.objects.count() == 1
    silly = staff.post("/staff/payments/counter/", {**form, "key": "form-key-3", "qty-licence": "-1"}, **EN)
    assert silly.status_code == 422 and "whole number" in silly.content.decode()


def test_staff_of_other_departments_and_without_one_see_nothing(client, db):
    order = make_order(20_000)
    swd = department_user("swd-clerk", "SWD")
    login_staff(client, swd)
    assert client.get(f"/staff/payments/counter/orders/{order.reference}").status_code == 404
    assert client.get(f"/staff/payments/orders/{order.reference}").status_code == 404
    assert client.get(f"/staff/payments/counter/orders/{order.reference}/status").status_code == 404
    nobody = Client()
    login_staff(nobody, staff_user("counter_officer"))
    assert nobody.get("/staff/payments/", **EN).status_code == 403
    assert Client().get("/staff/payments/counter/").status_code == 302  # to the staff login


def test_the_kiosk_checks_the_reference_first(db):
    department_user("fehd-clerk", "FEHD")
    order = make_order(20_000)
    browser = Client()
    assert browser.get("/pay/kiosk/", **EN).status_code == 200
    typo = order.reference[:-1] + str((int(order.reference[-1]) + 1) % 10)
    refused = browser.post("/pay/kiosk/", {"reference": typo}, **EN)
    assert refused.status_code == 422 and "check what you typed" in refused.content.decode()
    from tungban.payments.reference import new_reference

    unknown = browser.post("/pay/kiosk/", {"reference": new_reference()}, **EN)
    assert unknown.status_code == 404
    found = browser.post("/pay/kiosk/", {"reference": order.reference.lower()}, **EN)
    assert found.status_code == 302 and found["Location"] == f"/pay/kiosk/{order.reference}"
    page = browser.get(found["Location"], **EN).content.decode()
    assert 'id="pay-qr"' in page and "HK$200" in page and "Food and Environmental Hygiene Department" in page
    status = browser.get(f"/pay/kiosk/{order.reference}/status").json()
    assert status == {"state": "awaiting_transfer", "finished": False, "paid": False}
    pay(order)
    assert browser.get(f"/pay/kiosk/{order.reference}/status").json()["paid"] is True
    assert browser.get(f"/pay/kiosk/{typo}").status_code == 404


def test_the_refund_page_answers_412_to_a_stale_figure(client, db, settings):
    settings.TUNGBAN_REFUND_SECOND_APPROVAL_CENTS = 1_000_000
    clerk, other = department_user("fehd-clerk", "FEHD"), department_user("fehd-other", "FEHD")
    order = paid_order(50_000)
    login_staff(client, clerk)
    form = {"amount": "100", "reason_en": "Withdrawn", "reason_zh": "撤回", "amount_available": "50000"}
    refunds.request_refund(order, other, amount_cents=5_000, amount_available=50_000, reason_en="x", reason_zh="x")
    page = client.post(f"/staff/payments/orders/{order.reference}/refunds", form, **EN)
    assert page.status_code == 412
    html = page.content.decode()
    assert "HK$450.00, not HK$500.00" in html and 'value="45000"' in html  # the new figure, to check
    ok = client.post(f"/staff/payments/orders/{order.reference}/refunds", {**form, "amount_available": "45000"})
    assert ok.status_code == 302 and order.refunds.count() == 2
    too_much = client.post(
        f"/staff/payments/orders/{order.reference}/refunds",
        {**form, "amount": "9999", "amount_available": "35000"},
        **EN,
    )
    assert too_much.status_code == 422 and 'id="id_amount_error"' in too_much.content.decode()


def test_guessing_references_at_the_kiosk_is_slowed(db, settings):
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "payments_kiosk": "3/h"}
    order = make_order(20_000)
    guesser = Client(REMOTE_ADDR="203.0.113.9", HTTP_ACCEPT_LANGUAGE="en")
    from tungban.payments.reference import new_reference

    for _ in range(3):
        assert guesser.post("/pay/kiosk/", {"reference": new_reference()}).status_code == 404
    assert guesser.post("/pay/kiosk/", {"reference": order.reference}).status_code == 429
    assert guesser.get(f"/pay/kiosk/{order.reference}").status_code == 429
    # Another kiosk (address) is not held up.
    other = Client(REMOTE_ADDR="198.51.100.30")
    assert other.post("/pay/kiosk/", {"reference": order.reference}).status_code == 302


def test_the_counter_names_services_as_the_catalogue_does(db, settings, tmp_path):
    from django.utils import translation

    from tungban.credentials import catalogue as credential_catalogue
    from tungban.eservices import services as eservices
    from tungban.eservices.models import Service

    settings.TUNGBAN_ESERVICES_FILES = tmp_path / "files"
    credential_catalogue.register_bundled()
    services.load_fees()
    eservices.load_catalogue()
    hawker = Service.objects.get(slug="temporary-hawker-licence")
    for lang, name in (("en", hawker.name_en), ("zh-hant", hawker.name_zh)):
        with translation.override(lang):
            rows = {r["slug"]: r["name"] for r in counter.services_of("FEHD")}
        assert rows["temporary-hawker-licence"] == name
    with translation.override("en"):
        assert counter.services_of("NOPE") == []
