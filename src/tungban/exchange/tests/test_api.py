"""Public parts of the exchange API and registration rules (no providers needed)."""

from __future__ import annotations

import pytest
from joserfc.jwk import ECKey

from tungban.core.errors import DomainError
from tungban.exchange import catalogue
from tungban.exchange import services as exchange
from tungban.oidc import services as oidc
from tungban.testing.factories import make_client

pytestmark = pytest.mark.django_db


def test_catalogue_lists_products_with_schemas(client):
    catalogue.register_bundled({"wsd": "http://127.0.0.1:8201"})
    products = {p["id"]: p for p in client.get("/api/v1/exchange/products").json()}
    assert set(products) == {
        "wsd.registered-address.v1",
        "wsd.water-bill.v1",  # issue 16: the personal assistant panel's water bill
        "ird.tax-return-status.v1",
        "cr.company-particulars.v1",
        "ird.business-tax-status.v1",  # issue 19: a company's (HKMA CDI, business e-services)
    }
    # Issue 19: what a product answers for a company is its "organisation" form.
    cr, tax = products["cr.company-particulars.v1"], products["ird.business-tax-status.v1"]
    assert cr["for_residents"] and "directors" in cr["forms"]["organisation"]["schema"]["properties"]
    assert [f["name"] for f in cr["forms"]["organisation"]["fields"]][-1] == "directors"
    assert not tax["for_residents"] and set(tax["forms"]) == {"organisation"}
    assert not products["wsd.registered-address.v1"]["forms"]
    bill = products["wsd.water-bill.v1"]
    assert [f["name"] for f in bill["fields"]] == ["account_number", "balance_hkd", "bill_date", "due_date"]
    wsd = products["wsd.registered-address.v1"]
    assert wsd["provider"] == {"id": "wsd", "name_en": "Water Supplies Department", "name_zh": "水務署"}
    assert wsd["schema"]["$schema"].endswith("2020-12/schema") and "address" in wsd["schema"]["required"]
    assert [f["label_zh"] for f in wsd["fields"]] == ["住址", "中文住址", "登記日期"]


def test_log_head_is_public_and_openapi_documents_the_gateway(client):
    head = client.get("/api/v1/exchange/log/head").json()
    assert head["size"] == 0 and len(head["head_hash"]) == 64 and head["signature"].count(".") == 2
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/exchange/consents", "/api/v1/exchange/requests", "/api/v1/exchange/app/consents"} <= set(paths)


def test_data_user_needs_public_keys_and_a_valid_id():
    plain, _ = make_client("no-keys")
    with pytest.raises(DomainError) as info:
        exchange.register_organisation(id="no-keys", name_en="No keys", name_zh="無金鑰", client=plain)
    assert info.value.code == "invalid_client_metadata"
    key = ECKey.generate_key("P-256", auto_kid=True)
    keyed, _ = make_client("keyed", jwks={"keys": [key.as_dict(private=False)]})
    with pytest.raises(DomainError) as info:
        exchange.register_organisation(id="Bad Id!", name_en="x", name_zh="x", client=keyed)
    assert info.value.code == "invalid_organisation"
    org = exchange.register_organisation(id="keyed", name_en="Keyed", name_zh="有金鑰", client=keyed)
    keyed.refresh_from_db()
    assert "cdeg" in keyed.allowed_scopes and org.client == keyed


def test_private_keys_are_never_stored_as_client_keys():
    key = ECKey.generate_key("P-256", auto_kid=True)
    stored = oidc.public_jwks_only({"keys": [key.as_dict(private=True)]})
    assert "d" not in stored["keys"][0] and stored["keys"][0]["kid"] == key.kid
    with pytest.raises(DomainError):
        oidc.public_jwks_only({"keys": [{"kty": "oct", "k": "c2VjcmV0LWtleS1vZi0zMi1ieXRlcy0xMjM0NTY3OA"}]})


def test_product_schema_must_be_valid():
    provider = exchange.register_organisation(id="wsd", name_en="Water Supplies Department", name_zh="水務署")
    with pytest.raises(DomainError) as info:
        exchange.register_product(
            id="wsd.broken.v1", provider=provider, name_en="x", name_zh="x", fields=[], schema={"type": 12}
        )
    assert info.value.code == "invalid_schema"
    with pytest.raises(DomainError) as info:
        exchange.register_product(
            id="not-versioned", provider=provider, name_en="x", name_zh="x", fields=[], schema={"type": "object"}
        )
    assert info.value.code == "invalid_product"
