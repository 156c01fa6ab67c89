"""The bundled participants and data products (issue #4): the Water Supplies Department's
registered address (the "填表通" address auto-fill) and water bill balance (the personal
assistant panel, issue 16), Inland Revenue's tax-return status and
business tax status (a company's), and the Companies Registry's company particulars (a
person's directorships, or — issue 19 — a company's own, its ``organisation`` form). Schemas are in ``products/*.json``; each
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

BUSINESS_TAX_FIELDS = [
    {"name": "br_number", "label_en": "Business Registration number", "label_zh": "商業登記號碼"},
    {
        "name": "business_registration_valid_until",
        "label_en": "Business registration valid until",
        "label_zh": "商業登記有效期至",
    },
    {"name": "last_year_of_assessment", "label_en": "Last year of assessment", "label_zh": "最近課稅年度"},
    {
        "name": "profits_tax_return_filed",
        "label_en": "Profits tax return filed for that year",
        "label_zh": "該年度的利得稅報稅表已提交",
    },
    {"name": "no_outstanding_tax", "label_en": "No tax outstanding", "label_zh": "沒有未繳稅款"},
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
        # Issue 19: for the company itself, consented by a person holding a CorpID mandate.
        "forms": {
            "organisation": {
                "fields": [
                    {"name": "company_number", "label_en": "Company number", "label_zh": "公司編號"},
                    {"name": "br_number", "label_en": "Business Registration number", "label_zh": "商業登記號碼"},
                    {"name": "name_en", "label_en": "Company name in English", "label_zh": "公司英文名稱"},
                    {"name": "name_zh", "label_en": "Company name in Chinese", "label_zh": "公司中文名稱"},
                    {"name": "company_type", "label_en": "Company type", "label_zh": "公司類別"},
                    {"name": "status", "label_en": "Status on the register", "label_zh": "登記冊上的狀況"},
                    {"name": "incorporated_on", "label_en": "Incorporation date", "label_zh": "成立日期"},
                    {"name": "registered_office", "label_en": "Registered office", "label_zh": "註冊辦事處"},
                    {"name": "directors", "label_en": "Directors' names", "label_zh": "董事姓名"},
                ]
            }
        },
    },
    {
        # Issue 19 (HKMA CDI, business e-services): a company's tax status; no resident form.
        "id": "ird.business-tax-status.v1",
        "provider": "ird",
        "name_en": "Business tax status",
        "name_zh": "商業稅務狀況",
        "for_residents": False,
        "fields": BUSINESS_TAX_FIELDS,
        "forms": {"organisation": {"fields": BUSINESS_TAX_FIELDS}},
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
