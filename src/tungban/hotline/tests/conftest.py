"""Fixtures for the 1823 tests: a few departments, case types with Open311 attributes, routing
rules, case officers (staff with TOTP) and the coordinator; attachments under a temporary folder."""

from __future__ import annotations

import pytest

#: A one-pixel PNG and the smallest PDF puremagic recognises.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

DEPARTMENTS = {
    "FEHD": ("Food and Environmental Hygiene Department", "食物環境衞生署"),
    "HYD": ("Highways Department", "路政署"),
    "LCSD": ("Leisure and Cultural Services Department", "康樂及文化事務署"),
    "TD": ("Transport Department", "運輸署"),
}

LAMP_ATTRIBUTES = [
    {
        "code": "lamp_post",
        "datatype": "string",
        "required": True,
        "description_en": "Lamp post number",
        "description_zh": "燈柱編號",
        "order": 1,
    },
    {
        "code": "fault",
        "datatype": "singlevaluelist",
        "required": True,
        "description_en": "What is wrong",
        "description_zh": "問題",
        "order": 2,
        "values": [
            {"key": "out", "name_en": "Not lit", "name_zh": "不亮"},
            {"key": "flicker", "name_en": "Flickering", "name_zh": "閃爍"},
        ],
    },
    {
        "code": "seen_at",
        "datatype": "datetime",
        "required": False,
        "description_en": "When you saw it",
        "description_zh": "發現時間",
        "order": 3,
    },
    {
        "code": "count",
        "datatype": "number",
        "required": False,
        "description_en": "How many lamps",
        "description_zh": "燈數",
        "order": 4,
    },
    {
        "code": "also",
        "datatype": "multivaluelist",
        "required": False,
        "description_en": "Also",
        "description_zh": "其他",
        "order": 5,
        "values": [
            {"key": "noise", "name_en": "Buzzing", "name_zh": "嗡嗡聲"},
            {"key": "leaning", "name_en": "Leaning", "name_zh": "傾斜"},
        ],
    },
]


@pytest.fixture
def hotline(db, settings, tmp_path):
    """Departments FEHD, HYD, LCSD and TD; case types ``street-light-fault`` (HYD, location
    required, attributes), ``refuse-collection`` (FEHD, optional location) and
    ``tree-safety`` (LCSD; a rule sends Sha Tin's to HYD first); ``reopen`` after 30 days."""
    from tungban.eservices.models import Department
    from tungban.hotline.models import CaseType, RoutingRule

    settings.TUNGBAN_HOTLINE_FILES = tmp_path / "hotline"
    settings.TUNGBAN_HOTLINE_REOPEN_DAYS = 30
    for code, (en, zh) in DEPARTMENTS.items():
        Department.objects.update_or_create(code=code, defaults={"name_en": en, "name_zh": zh, "source_path": "t"})
    lamp = CaseType.objects.create(
        code="street-light-fault",
        name_en="Street light fault",
        name_zh="街燈故障",
        department_id="HYD",
        attributes=LAMP_ATTRIBUTES,
        location="required",
        reply_days=2,
        close_days=5,
        accept_hours=24,
    )
    refuse = CaseType.objects.create(
        code="refuse-collection",
        name_en="Refuse not collected",
        name_zh="垃圾未被收集",
        department_id="FEHD",
        location="optional",
    )
    tree = CaseType.objects.create(
        code="tree-safety",
        name_en="Tree safety",
        name_zh="樹木安全",
        department_id="LCSD",
        location="optional",
    )
    RoutingRule.objects.create(case_type=tree, district="sha-tin", department_id="HYD", priority=10)
    return {"lamp": lamp, "refuse": refuse, "tree": tree}


def officer_of(department: str | None, username: str):
    from tungban.hotline.constants import OfficerRole
    from tungban.hotline.models import CaseOfficer
    from tungban.testing.factories import staff_user

    user = staff_user("none", username=username)
    CaseOfficer.objects.create(
        user=user,
        role=OfficerRole.DEPARTMENT if department else OfficerRole.COORDINATOR,
        department_id=department,
    )
    return user


@pytest.fixture
def hyd_officer(hotline):
    return officer_of("HYD", "hyd-case-officer")


@pytest.fixture
def fehd_officer(hotline):
    return officer_of("FEHD", "fehd-case-officer")


@pytest.fixture
def lcsd_officer(hotline):
    return officer_of("LCSD", "lcsd-case-officer")


@pytest.fixture
def coordinator(hotline):
    return officer_of(None, "hotline-coordinator")


def lamp_case(**overrides):
    """Submit a valid street-light case (anonymous unless ``resident`` is given)."""
    from tungban.hotline.services import cases

    args = {
        "case_type": "street-light-fault",
        "kind": "complaint",
        "description": "The lamp outside 12 Hennessy Road has been dark for three nights.",
        "language": "en",
        "channel": "web",
        "address": "12 Hennessy Road, Wan Chai",
        "district": "wan-chai",
        "attribute_values": {"lamp_post": "E1234", "fault": "out"},
    }
    args.update(overrides)
    return cases.submit(**args)


@pytest.fixture
def faqs(db):
    """The e-services catalogue (departments, services, forms) and the shipped 1823 FAQ loaded
    and indexed for search."""
    from tungban.credentials import catalogue as credential_catalogue
    from tungban.eservices import services as eservices
    from tungban.hotline.services import faqs as faq_service
    from tungban.payments import services as payments

    credential_catalogue.register_bundled()
    payments.load_fees()
    eservices.load_catalogue()
    faq_service.load()
    return faq_service
