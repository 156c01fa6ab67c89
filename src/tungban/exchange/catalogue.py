"""The bundled participants and data products (issue #4): the Water Supplies Department's
registered address (the "填表通" address auto-fill) and water bill balance (the personal
assistant panel, issue 16), Inland Revenue's tax-return status and
the Companies Registry's company particulars. Schemas are in ``products/*.json``; each
product's ``fields`` (what residents are shown when they consent) are exactly its schema's
properties, checked when it is registered (``DataProduct.clean``, issue 13 item 19)."""

from __future__ import annotations

from django.db import transaction

from . import services
from .models import Organisation

PROVIDERS = [
    {"id": "wsd", "name_en": "Water Supplies Department", "name_zh": "水務署"},
    {"id": "ird", "name_en": "Inland Revenue Department", "name_zh": "稅務局"},
    {"id": "cr", "name_en": "Companies Registry", "name_zh": "公司註冊處"},
]

PRODUCTS = [
    {
        "id": "wsd.registered-address.v1",
        "provider": "wsd",
        "name_en": "Address registered with the Water Supplies Department",
        "name_zh": "於水務署登記的地址",
        "fields": [
            {"name": "address", "label_en": "Residential address", "label_zh": "住址"},
            {"name": "address_zh", "label_en": "Residential address in Chinese", "label_zh": "中文住址"},
            {"name": "registered_since", "label_en": "Registered since", "label_zh": "登記日期"},
        ],
    },
    {
        "id": "wsd.water-bill.v1",
        "provider": "wsd",
        "name_en": "Water bill balance",
        "name_zh": "水費單結餘",
        "fields": [
            {"name": "account_number", "label_en": "Water account number", "label_zh": "水費帳戶號碼"},
            {"name": "balance_hkd", "label_en": "Balance due (HK$)", "label_zh": "應繳結餘（港元）"},
            {"name": "bill_date", "label_en": "Bill date", "label_zh": "發單日期"},
            {"name": "due_date", "label_en": "Payment due date", "label_zh": "繳費限期"},
        ],
    },
    {
        "id": "ird.tax-return-status.v1",
        "provider": "ird",
        "name_en": "Status of your tax returns",
        "name_zh": "報稅表狀況",
        "fields": [
            {
                "name": "returns",
                "label_en": "Tax returns by year of assessment and their status",
                "label_zh": "各課稅年度的報稅表及其狀況",
            }
        ],
    },
    {
        "id": "cr.company-particulars.v1",
        "provider": "cr",
        "name_en": "Particulars of companies you are a director or secretary of",
        "name_zh": "你出任董事或秘書的公司的資料",
        "fields": [
            {
                "name": "companies",
                "label_en": "Company number, name, status, incorporation date, registered office, your role",
                "label_zh": "公司編號、名稱、狀況、成立日期、註冊辦事處、你的職位",
            }
        ],
    },
]


@transaction.atomic
def register_bundled(provider_urls: dict[str, str]) -> None:
    """Register the bundled providers (with their adapter URLs, e.g. ``{"wsd":
    "http://127.0.0.1:8201"}``; others keep their URL) and their products. Idempotent."""
    known = dict(Organisation.objects.filter(id__in=[p["id"] for p in PROVIDERS]).values_list("id", "endpoint_url"))
    orgs = {
        p["id"]: services.register_organisation(**p, endpoint_url=provider_urls.get(p["id"], known.get(p["id"], "")))
        for p in PROVIDERS
    }
    for product in PRODUCTS:
        services.register_product(**{**product, "provider": orgs[product["provider"]]})
