"""Issue 18 acceptance 2, the independent check: the FPS QR code images the platform draws
(segno) are read back with a QR decoder the platform does not use (zxing-cpp), and every data
object of the payload read is checked — the TLV structure walked here, the CRC recomputed with
the standard library's ``binascii.crc_hqx`` (CRC-CCITT, polynomial 0x1021, initial value 0xFFFF
= CRC-16/CCITT-FALSE), not with the platform's ``crc`` library — then against the order."""

from __future__ import annotations

import binascii
import io

import pytest
import zxingcpp  # a test dependency (pyproject's [test] extra), never imported by the platform
from PIL import Image

from tungban.payments import fps, purposes, services

pytestmark = pytest.mark.django_db


def _read(png: bytes) -> str:
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(found) == 1 and found[0].format == zxingcpp.BarcodeFormat.QRCode
    return found[0].text


def _walk(text: str) -> dict[str, str]:
    """The data objects of ``text`` (ID: two digits, length: two digits, value), every
    character accounted for."""
    out, i = {}, 0
    while i < len(text):
        tag, length = text[i : i + 2], int(text[i + 2 : i + 4])
        assert tag.isdigit() and tag not in out
        out[tag] = text[i + 4 : i + 4 + length]
        assert len(out[tag]) == length
        i += 4 + length
    assert i == len(text)
    return out


@pytest.fixture
def order():
    purposes.register("tests.image", on_paid=lambda order: None, app="tests")
    return services.create_order(
        department="FEHD",
        purpose="tests.image",
        purpose_ref="IMG-1",
        lines=[services.Line("licence", "Licence", "牌照", 35000)],
        description_en="Licence",
        description_zh="牌照",
        created_by="tests",
        idempotency_key="image-1",
    )


def test_the_dynamic_code_read_by_another_decoder_is_the_order(order, settings):
    payload = services.fps_payload(order)
    text = _read(fps.png_bytes(payload))
    assert text == payload
    top = _walk(text)
    assert list(top) == ["00", "01", "26", "52", "53", "54", "58", "59", "60", "62", "63"]
    assert text.index("6304") == len(text) - 8  # the CRC last, over everything before it and "6304"
    assert top["63"] == f"{binascii.crc_hqx(text[:-4].encode('ascii'), 0xFFFF):04X}"
    assert (top["00"], top["01"], top["52"], top["53"], top["58"]) == ("01", "12", "0000", "344", "HK")
    assert top["54"] == "350.00"
    assert (top["59"], top["60"]) == (settings.TUNGBAN_PAYMENTS_MERCHANT_NAME, settings.TUNGBAN_PAYMENTS_MERCHANT_CITY)
    assert _walk(top["26"]) == {"00": "hk.com.hkicl", "04": settings.TUNGBAN_PAYMENTS_FPS_PROXY}
    assert _walk(top["62"]) == {"01": order.reference, "05": order.reference}
    assert fps.validate(text) == []


def test_the_static_code_read_by_another_decoder_asks_for_the_reference():
    text = _read(fps.png_bytes(services.static_payload()))
    top = _walk(text)
    assert top["01"] == "11" and "54" not in top and _walk(top["62"]) == {"01": "***"}
    assert top["63"] == f"{binascii.crc_hqx(text[:-4].encode('ascii'), 0xFFFF):04X}"
