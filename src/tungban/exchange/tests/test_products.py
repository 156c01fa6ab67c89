"""A data product shows residents exactly what its schema can deliver (issue 13 item 19: a
product's consent screen listed two fields and the provider delivered a third), and a
provider's data never reaches the logs through schema error messages (item 12)."""

from __future__ import annotations

import json
import logging
import uuid
from types import SimpleNamespace

import pytest

from tungban.core.errors import DomainError
from tungban.exchange import adapter, catalogue
from tungban.exchange import services as exchange
from tungban.exchange.models import DataProduct

WSD = "wsd.registered-address.v1"
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["address"],
    "properties": {"address": {"type": "string"}, "since": {"type": "string", "format": "date"}},
}
FIELDS = [
    {"name": "address", "label_en": "Address", "label_zh": "地址"},
    {"name": "since", "label_en": "Since", "label_zh": "日期"},
]


@pytest.fixture(autouse=True)
def english():
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def provider(db):
    return exchange.register_organisation(id="wsd", name_en="WSD", name_zh="水務署", endpoint_url="http://127.0.0.1:9")


@pytest.mark.parametrize("product", catalogue.PRODUCTS, ids=[p["id"] for p in catalogue.PRODUCTS])
def test_bundled_products_show_exactly_their_schema(product):
    schema = exchange.bundled_schema(product["id"])
    assert {f["name"] for f in product["fields"]} == set(schema["properties"])
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("fields", "schema", "says"),
    [
        (FIELDS[:1], SCHEMA, "not shown to residents: since"),
        ([*FIELDS, {"name": "phone", "label_en": "Phone", "label_zh": "電話"}], SCHEMA, "not in the schema: phone"),
        (FIELDS, {**SCHEMA, "additionalProperties": True}, "additionalProperties"),
        (FIELDS, {k: v for k, v in SCHEMA.items() if k != "additionalProperties"}, "additionalProperties"),
        (FIELDS, {"type": "array"}, "object"),
    ],
)
def test_a_product_whose_fields_differ_from_its_schema_is_refused(provider, fields, schema, says):
    with pytest.raises(DomainError) as exc:
        exchange.register_product(
            id="wsd.test.v1", provider=provider, name_en="Test", name_zh="測試", fields=fields, schema=schema
        )
    assert exc.value.code == "invalid_product" and says in str(exc.value.message)
    assert not DataProduct.objects.filter(id="wsd.test.v1").exists()
    exchange.register_product(
        id="wsd.test.v1", provider=provider, name_en="Test", name_zh="測試", fields=FIELDS, schema=SCHEMA
    )


def _consent(product: DataProduct):
    return SimpleNamespace(product=product, product_id=product.id, id=uuid.uuid4(), consumer_id="td")


def _answer(monkeypatch, data: dict) -> None:
    """The provider (no network) answers 200 ``{"data": data}``."""
    body = json.dumps({"data": data}).encode()

    monkeypatch.setattr(adapter, "_post", lambda url, token, timeout, limit: (200, body))
    monkeypatch.setattr(adapter, "_provider_token", lambda consent, attempt: "token")


class Attempt:
    id = uuid.uuid4()
    provider_status = None

    def refuse(self, error):
        return error


def test_delivery_carries_only_the_fields_shown(provider, monkeypatch):
    """A product stored before the check (or edited around it) whose schema allows more than
    its consent screen shows: what was not shown is not delivered."""
    drifted = {**SCHEMA, "additionalProperties": True}
    product = DataProduct.objects.create(
        id="wsd.legacy.v1", provider=provider, name_en="L", name_zh="L", fields=FIELDS[:1], schema=drifted
    )
    _answer(monkeypatch, {"address": "8 Nathan Road", "since": "2010-04-01", "phone": "91234567"})
    assert adapter.ask_provider(_consent(product), Attempt()) == {"address": "8 Nathan Road"}


def test_schema_errors_are_logged_without_the_values(provider, monkeypatch, caplog):
    product = exchange.register_product(
        id="wsd.test.v1", provider=provider, name_en="Test", name_zh="測試", fields=FIELDS, schema=SCHEMA
    )
    _answer(monkeypatch, {"address": "Flat 12A SECRET-ADDRESS", "since": "SECRET-NOT-A-DATE"})
    with caplog.at_level(logging.DEBUG), pytest.raises(DomainError) as exc:
        adapter.ask_provider(_consent(product), Attempt())
    assert exc.value.code == "provider_bad_data"
    assert "SECRET" not in caplog.text and "Flat 12A" not in caplog.text
    assert "$.since" in caplog.text and "format" in caplog.text
    caplog.clear()
    _answer(monkeypatch, {"address": ["SECRET-LIST"]})
    with caplog.at_level(logging.DEBUG), pytest.raises(DomainError):
        adapter.ask_provider(_consent(product), Attempt())
    assert "SECRET" not in caplog.text and "$.address" in caplog.text and "type" in caplog.text
