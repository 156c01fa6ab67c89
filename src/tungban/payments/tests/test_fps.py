"""The FPS QR code (issue 18, "FPS QR"): the CRC against published check values, golden
payloads from other implementations, round trips, and every rejection of the validator with the
data object it names."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tungban.payments import fps

#: CRC-16/CCITT-FALSE (CRC-16/IBM-3740): the CRC catalogue's check value of "123456789".
CHECK_VALUE = ("123456789", "29B1")
#: The EMVCo Merchant-Presented Mode example payload with CRC A0BA, as published in the test
#: suites of public EMVCo QR libraries (a KHQR/UnionPay payload: a CRC vector, not an FPS code).
EMVCO_EXAMPLE = (
    "00020101021252044131153137210116372101160123456789ABCDE6010Phnom Penh5913Merchant Shop"
    "5802KH540510.005303840622501081234567802090124444446304A0BA"
)
#: An FPS payload from Odoo's Hong Kong localisation tests (l10n_hk): mobile proxy, HK$100,
#: reference label INV/TEST/0001, CRC A154.
ODOO_FPS = (
    "00020101021226330012hk.com.hkicl0313+852-67891234520400005303344540310058"
    "02HK5914company_1_data6002HK62170513INV/TEST/00016304A154"
)


def _payload(**changes) -> str:
    """A valid dynamic payload with ``changes`` to the top-level objects, CRC recomputed."""
    objects = dict(fps.parse_tlv(fps.encode(_qr())))
    objects.pop("63")
    objects.update(changes)
    body = "".join(f"{k}{len(v):02d}{v}" for k, v in objects.items() if v is not None) + "6304"
    return body + fps.crc16(body)


def _qr(**kw) -> fps.FpsQr:
    base = {
        "proxy_type": "fps_id",
        "proxy": "1234567",
        "merchant_name": "TUNGBAN DEMO",
        "merchant_city": "HONG KONG",
        "dynamic": True,
        "amount": Decimal("350.00"),
        "bill_number": "TB12345678901234",
        "reference_label": "TB12345678901234",
    }
    return fps.FpsQr(**{**base, **kw})


def test_the_crc_is_ccitt_false_over_the_payload_with_its_own_id():
    assert fps.crc16(CHECK_VALUE[0]) == CHECK_VALUE[1]
    assert fps.crc16(EMVCO_EXAMPLE[:-4]) == "A0BA"
    assert fps.validate(EMVCO_EXAMPLE) != []  # a valid EMVCo payload, but not an FPS code


def test_a_published_fps_payload_decodes():
    qr = fps.decode(ODOO_FPS)
    assert (qr.proxy_type, qr.proxy) == ("mobile", "+852-67891234")
    assert qr.amount == Decimal("100") and qr.currency == "HKD" and qr.dynamic
    assert (qr.merchant_name, qr.merchant_city, qr.reference_label) == ("company_1_data", "HK", "INV/TEST/0001")
    assert qr.reference == "INV/TEST/0001"  # no bill number: the reference label


def test_dynamic_round_trip_and_field_order():
    payload = fps.encode(_qr(clearing_code="004"))
    ids = [tag for tag, _ in fps.parse_tlv(payload)]
    assert ids == ["00", "01", "26", "52", "53", "54", "58", "59", "60", "62", "63"]
    assert payload.startswith("000201010212") and payload[-8:-4] == "6304"
    account = dict(fps.parse_tlv(dict(fps.parse_tlv(payload))["26"]))
    assert account == {"00": "hk.com.hkicl", "01": "004", "02": "1234567"}
    qr = fps.decode(payload)
    assert qr == _qr(clearing_code="004")
    assert qr.amount_cents == 35000 and qr.reference == "TB12345678901234"
    assert "5406350.00" in payload and "0116TB12345678901234" in payload and "0516TB12345678901234" in payload


@pytest.mark.parametrize(
    ("proxy_type", "proxy", "sub"),
    [("fps_id", "123456789", "02"), ("mobile", "+852-91234567", "03"), ("email", "collect@tungban.invalid", "04")],
)
def test_each_proxy_round_trips(proxy_type, proxy, sub):
    payload = fps.encode(_qr(proxy_type=proxy_type, proxy=proxy))
    assert dict(fps.parse_tlv(dict(fps.parse_tlv(payload))["26"]))[sub] == proxy
    assert fps.decode(payload).proxy == proxy


def test_a_static_code_asks_the_payer_for_the_amount_and_the_reference():
    payload = fps.encode(_qr(dynamic=False, amount=None, bill_number="", reference_label=""))
    objects = dict(fps.parse_tlv(payload))
    assert objects["01"] == "11" and "54" not in objects
    assert dict(fps.parse_tlv(objects["62"])) == {"01": "***"}  # EMVCo: the app prompts for it
    qr = fps.decode(payload)
    assert not qr.dynamic and qr.amount is None and qr.reference == ""


def test_unknown_objects_are_kept():
    payload = _payload(**{"80": "0012hk.gov.test0102ab"})
    assert fps.decode(payload).extra == {"80": "0012hk.gov.test0102ab"}


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ("", "payload_invalid", ""),
        ("0002010102126304ABCD" + "中", "payload_invalid", ""),
        ("00020101021" + "x" * 600, "payload_invalid", ""),
        ("000201010", "tlv_malformed", "01"),
        ("00020101021263", "tlv_malformed", "63"),
        ("0002010002016304ABCD", "duplicate_field", "00"),
        ("0102120002016304ABCD", "format_indicator", "00"),
        ("0002020102126304ABCD", "format_indicator", "00"),
        ("000201010212", "crc_missing", "63"),
        ("0002010102126303ABC", "crc_missing", "63"),
    ],
)
def test_structural_rejections(payload, code, field):
    with pytest.raises(fps.FpsQrError) as caught:
        fps.decode(payload)
    assert (caught.value.code, caught.value.field) == (code, field)


def test_a_changed_character_breaks_the_crc():
    payload = fps.encode(_qr())
    tampered = payload.replace("350.00", "150.00")
    with pytest.raises(fps.FpsQrError) as caught:
        fps.decode(tampered)
    assert (caught.value.code, caught.value.field) == ("crc_mismatch", "63")
    assert fps.validate(tampered)[0].code == "crc_mismatch" and fps.validate(payload) == []


def _account(*subs: tuple[str, str]) -> str:
    return "".join(f"{k}{len(v):02d}{v}" for k, v in subs)


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"01": "13"}, "initiation_method", "01"),
        ({"26": None}, "fps_account", "26"),
        ({"26": _account(("00", "sg.paynow"), ("02", "1234567"))}, "fps_gui", "26.00"),
        # the GUI is matched as given: another spelling is not FPS's identifier (review finding 14)
        ({"26": _account(("00", "HK.COM.HKICL"), ("02", "1234567"))}, "fps_gui", "26.00"),
        ({"26": _account(("00", "hk.com.HKICL"), ("02", "1234567"))}, "fps_gui", "26.00"),
        ({"26": _account(("00", "hk.com.hkicl"))}, "fps_proxy", "26"),
        ({"26": _account(("00", "hk.com.hkicl"), ("02", "1234567"), ("04", "a@b.hk"))}, "fps_proxy", "26"),
        ({"26": _account(("00", "hk.com.hkicl"), ("02", "12AB567"))}, "fps_proxy", "26.02"),
        ({"26": _account(("00", "hk.com.hkicl"), ("03", "91234567"))}, "fps_proxy", "26.03"),
        ({"26": _account(("00", "hk.com.hkicl"), ("04", "not-an-email"))}, "fps_proxy", "26.04"),
        ({"26": _account(("00", "hk.com.hkicl"), ("01", "4"), ("02", "1234567"))}, "clearing_code", "26.01"),
        ({"26": "0012hk.com.hkicl02"}, "tlv_malformed", "26.02"),
        ({"52": "00A0"}, "merchant_category", "52"),
        ({"53": "840"}, "currency", "53"),
        ({"54": "35,00"}, "amount", "54"),
        ({"54": "0.00"}, "amount", "54"),
        ({"54": "1.234"}, "amount", "54"),
        ({"54": None}, "amount_missing", "54"),
        ({"58": "CN"}, "country", "58"),
        ({"59": None}, "merchant_name", "59"),
        ({"59": "N" * 26}, "merchant_name", "59"),
        ({"60": "C" * 16}, "merchant_city", "60"),
        ({"62": "0126" + "R" * 26}, "too_long", "62.01"),
        ({"62": "0"}, "tlv_malformed", "62"),
    ],
)
def test_field_rejections_name_the_data_object(changes, code, field):
    payload = _payload(**changes)
    with pytest.raises(fps.FpsQrError) as caught:
        fps.decode(payload)
    assert (caught.value.code, caught.value.field) == (code, field), caught.value


@pytest.mark.parametrize(
    ("qr", "code"),
    [
        (_qr(proxy_type="wechat"), "fps_proxy"),
        (_qr(amount=None), "amount_missing"),
        (_qr(amount=Decimal("0")), "amount"),
        (_qr(amount=Decimal("12345678901.00")), "amount"),
        (_qr(currency="USD"), "currency"),
        (_qr(merchant_name="陳大文"), "characters"),
        (_qr(merchant_name="N" * 26), "merchant_name"),
    ],
)
def test_the_encoder_refuses_what_it_cannot_write(qr, code):
    with pytest.raises(fps.FpsQrError) as caught:
        fps.encode(qr)
    assert caught.value.code == code


def test_images_are_svg_and_png():
    payload = fps.encode(_qr())
    assert fps.svg_data_uri(payload).startswith("data:image/svg+xml")
    png = fps.png_bytes(payload)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("owned", ["00", "01", "26", "53", "54", "59", "62", "63"])
def test_extra_objects_cannot_overwrite_what_the_encoder_writes(owned):
    """Review finding 21: ``extra`` would silently replace a mandatory data object."""
    with pytest.raises(fps.FpsQrError) as caught:
        fps.encode(_qr(extra={owned: "0000"}))
    assert (caught.value.code, caught.value.field) == ("extra_owned", owned)
    assert fps.decode(fps.encode(_qr(extra={"80": "0004test"}))).extra == {"80": "0004test"}


def test_validate_refuses_a_lower_case_crc_the_reader_accepts():
    """EMVCo MPM: the CRC is four upper-case hexadecimal characters. ``validate`` is strict;
    ``decode`` (the counter's reading of a payer's code) still reads it."""
    payload = fps.encode(_qr(amount=Decimal("350.01")))
    lower = payload[:-4] + payload[-4:].lower()
    assert lower != payload, "this payload's CRC has no letter: pick another amount"
    assert [(p.code, p.field) for p in fps.validate(lower)] == [("crc_case", "63")]
    assert fps.decode(lower).amount == Decimal("350.01")
    assert fps.validate(payload) == []


@pytest.mark.parametrize(
    ("setting", "code"),
    [("TUNGBAN_PAYMENTS_MERCHANT_NAME", "payments.E001"), ("TUNGBAN_PAYMENTS_MERCHANT_CITY", "payments.E002")],
)
def test_a_non_ascii_payee_name_or_city_is_refused_at_start_up(db, settings, setting, code):
    from django.core import checks

    assert not [m for m in checks.run_checks() if m.id.startswith("payments.")]
    setattr(settings, setting, "香港特區政府")
    found = [m for m in checks.run_checks() if m.id == code]
    assert len(found) == 1 and found[0].is_serious() and setting in found[0].msg
