"""1823's demo data (issue 22): case types (Open311 services) in groups, routing rules, the
demo's case officers and the 1823 coordinator, and sample cases in every state. Idempotent:
case types and rules are upserted by code, sample cases are submitted with an idempotency key
(a second run finds them and changes nothing).

The case types follow what 1823 takes for the departments (1823's "Categories of enquiries and
complaints"; seed 002 ITIB176 annex II: enquiries, complaints, suggestions, compliments): the
departments are those of ``eservices/catalogue/departments.toml``.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import transaction
from django.utils import timezone

from tungban.eservices.models import Department

from .constants import CaseState, OfficerRole
from .models import Case, CaseEvent, CaseOfficer, CaseType, RoutingRule


def _attr(code, datatype, en, zh, *, required=False, order=1, values=()):
    out = {"code": code, "datatype": datatype, "required": required, "description_en": en, "description_zh": zh}
    out["order"] = order
    if values:
        out["values"] = [{"key": k, "name_en": ve, "name_zh": vz} for k, ve, vz in values]
    return out


_LAMP_POST = _attr(
    "lamp_post", "string", "Lamp post number (on the plate, e.g. E1234)", "燈柱編號（如 E1234）", required=True
)
_PLATE = _attr("vehicle_plate", "string", "Vehicle registration mark", "車輛登記號碼", required=True)
_WHEN = _attr("seen_at", "datetime", "When you saw it", "發現日期及時間", order=9)

#: Groups: (key, English, Chinese).
GROUPS = {
    "lighting": ("Street lighting", "街燈"),
    "roads": ("Roads and footpaths", "道路及行人路"),
    "hygiene": ("Hygiene and refuse", "環境衞生及垃圾"),
    "noise": ("Noise", "噪音"),
    "parking": ("Illegal parking", "違例泊車"),
    "water": ("Water supply", "供水"),
    "trees": ("Tree safety", "樹木安全"),
    "eservices": ("Enquiries about e-services", "電子服務查詢"),
    "transport": ("Public transport", "公共交通"),
    "staff": ("Government staff", "政府人員"),
    "general": ("General", "一般事項"),
}

#: ``(code, group, department, name_en, name_zh, description_en, description_zh, location,
#: attributes, service_slug, keywords, reply_days, close_days)``.
CASE_TYPES = [
    (
        "street-light-fault",
        "lighting",
        "HYD",
        "Street light not working",
        "街燈故障",
        "A street light is off, flickering or on in daytime.",
        "街燈不亮、閃爍或日間亮著。",
        "required",
        [
            _LAMP_POST,
            _attr(
                "fault",
                "singlevaluelist",
                "What is wrong",
                "問題",
                required=True,
                order=2,
                values=[
                    ("out", "Not lit", "不亮"),
                    ("flicker", "Flickering", "閃爍"),
                    ("day", "Lit in daytime", "日間亮著"),
                ],
            ),
            _WHEN,
        ],
        "",
        "lamp light dark 燈 街燈",
        3,
        10,
    ),
    (
        "street-light-damaged",
        "lighting",
        "HYD",
        "Lamp post damaged or leaning",
        "燈柱損壞或傾斜",
        "A lamp post was hit, is leaning, or has an open or missing cover.",
        "燈柱被撞、傾斜或檢修門打開或遺失。",
        "required",
        [_LAMP_POST, _WHEN],
        "",
        "lamp post leaning 燈柱",
        2,
        10,
    ),
    (
        "road-defect",
        "roads",
        "HYD",
        "Pothole or road surface defect",
        "路面坑洞或損壞",
        "A pothole, sunken or cracked road surface.",
        "路面出現坑洞、下陷或裂縫。",
        "required",
        [
            _attr(
                "size",
                "singlevaluelist",
                "Size",
                "大小",
                required=True,
                values=[
                    ("small", "Smaller than a hand", "小於手掌"),
                    ("medium", "Up to 1 metre", "1 米以內"),
                    ("large", "Larger than 1 metre", "大於 1 米"),
                ],
            ),
            _WHEN,
        ],
        "",
        "pothole road 坑 路面",
        2,
        10,
    ),
    (
        "footpath-damaged",
        "roads",
        "HYD",
        "Damaged footpath or paving",
        "行人路或地磚損壞",
        "Loose, broken or missing paving blocks on a footpath.",
        "行人路地磚鬆脫、破損或遺失。",
        "required",
        [_WHEN],
        "",
        "paving footpath 地磚 行人路",
        3,
        10,
    ),
    (
        "road-drain-blocked",
        "roads",
        "HYD",
        "Blocked road gully or flooding",
        "路旁溝渠淤塞或水浸",
        "A road gully is blocked or the road floods after rain.",
        "路旁溝渠淤塞或下雨後路面水浸。",
        "required",
        [_WHEN],
        "",
        "drain gully flooding 水浸 渠",
        2,
        10,
    ),
    (
        "refuse-not-collected",
        "hygiene",
        "FEHD",
        "Refuse not collected",
        "垃圾未被收集",
        "Refuse at a collection point or a litter bin was not collected.",
        "垃圾收集點或垃圾箱的垃圾未被收集。",
        "required",
        [_attr("bin", "string", "Litter bin or collection point number, if any", "垃圾箱或收集點編號（如有）")],
        "",
        "refuse rubbish bin 垃圾",
        2,
        7,
    ),
    (
        "street-cleanliness",
        "hygiene",
        "FEHD",
        "Dirty street or illegal dumping",
        "街道不潔或非法棄置",
        "Litter, dumped waste or a dirty back lane.",
        "街道垃圾、非法棄置廢物或後巷骯髒。",
        "required",
        [_WHEN],
        "",
        "dirty dumping litter 不潔 棄置",
        3,
        10,
    ),
    (
        "pest-control",
        "hygiene",
        "FEHD",
        "Rodents or mosquitoes",
        "鼠患或蚊患",
        "Rats, mosquito breeding or stagnant water in a public place.",
        "公眾地方有老鼠、蚊患或積水。",
        "required",
        [
            _attr(
                "pest",
                "singlevaluelist",
                "What",
                "問題",
                required=True,
                values=[
                    ("rodent", "Rodents", "鼠患"),
                    ("mosquito", "Mosquitoes", "蚊患"),
                    ("water", "Stagnant water", "積水"),
                ],
            )
        ],
        "",
        "rat mosquito 老鼠 蚊",
        3,
        10,
    ),
    (
        "food-premises",
        "hygiene",
        "FEHD",
        "Food premises hygiene",
        "食物業處所衞生",
        "Hygiene of a restaurant or food shop, or one operating without a licence.",
        "食肆或食物店的衞生，或無牌經營。",
        "required",
        [_attr("premises", "string", "Name of the premises", "處所名稱", required=True)],
        "",
        "restaurant hygiene 食肆 衞生",
        3,
        15,
    ),
    (
        "construction-noise",
        "noise",
        "EPD",
        "Construction noise",
        "建築噪音",
        "Noisy construction work, especially at night or on a public holiday.",
        "建築工程噪音，尤其在晚間或公眾假期。",
        "required",
        [
            _attr(
                "period",
                "singlevaluelist",
                "When",
                "時段",
                required=True,
                values=[
                    ("day", "Daytime (7 am – 7 pm)", "日間（上午7時至晚上7時）"),
                    ("night", "Night or public holiday", "晚間或公眾假期"),
                ],
            ),
            _WHEN,
        ],
        "",
        "noise construction 噪音 工程",
        3,
        15,
    ),
    (
        "neighbourhood-noise",
        "noise",
        "HKPF",
        "Neighbourhood noise",
        "鄰里噪音",
        "Noise from a home or a public place (loud music, shouting, mahjong).",
        "住宅或公眾地方傳出的噪音（音樂、叫嚷、麻雀）。",
        "required",
        [_WHEN],
        "",
        "noise neighbour 噪音 鄰居",
        1,
        5,
    ),
    (
        "illegal-parking",
        "parking",
        "HKPF",
        "Illegal parking",
        "違例泊車",
        "A vehicle parked where it obstructs traffic or is not allowed.",
        "車輛違例停泊，阻塞交通。",
        "required",
        [
            _PLATE,
            _attr(
                "vehicle_type",
                "singlevaluelist",
                "Vehicle",
                "車輛類別",
                order=2,
                values=[
                    ("car", "Private car", "私家車"),
                    ("goods", "Goods vehicle", "貨車"),
                    ("motorcycle", "Motorcycle", "電單車"),
                ],
            ),
            _WHEN,
        ],
        "",
        "parking 泊車 違泊",
        2,
        10,
    ),
    (
        "water-leak",
        "water",
        "WSD",
        "Water leaking from a main or pipe",
        "水管爆裂或漏水",
        "Water leaking or gushing from a water main, hydrant or meter on the street.",
        "街上水管、消防栓或水錶漏水或爆裂。",
        "required",
        [_WHEN],
        "",
        "leak burst water main 爆喉 漏水",
        1,
        5,
    ),
    (
        "no-water-supply",
        "water",
        "WSD",
        "No water or low pressure",
        "停水或水壓低",
        "No water supply, or very low pressure, at home.",
        "住所沒有食水供應或水壓很低。",
        "optional",
        [_attr("account", "string", "Water account number, if known", "水費賬戶號碼（如知道）")],
        "",
        "no water 停水 水壓",
        1,
        5,
    ),
    (
        "water-quality",
        "water",
        "WSD",
        "Discoloured or odd-tasting water",
        "水質問題",
        "Tap water is discoloured, cloudy or tastes or smells odd.",
        "自來水變色、混濁或有異味。",
        "optional",
        [],
        "",
        "water quality yellow 水質",
        2,
        10,
    ),
    (
        "tree-hazard",
        "trees",
        "LCSD",
        "Tree in danger of falling",
        "樹木有倒塌危險",
        "A tree leans, is cracked, has a hanging branch or looks diseased.",
        "樹木傾斜、有裂縫、有懸掛枝條或似乎患病。",
        "required",
        [_attr("tree_number", "string", "Tree number on its tag, if any", "樹木編號牌（如有）")],
        "",
        "tree branch 樹 倒塌",
        1,
        10,
    ),
    (
        "fallen-tree",
        "trees",
        "LCSD",
        "Fallen tree or branch blocking the way",
        "塌樹或斷枝阻路",
        "A tree or a large branch has fallen and blocks a road or a footpath.",
        "樹木或大樹枝倒下阻塞道路或行人路。",
        "required",
        [],
        "",
        "fallen tree 塌樹",
        1,
        5,
    ),
    (
        "eservice-senior-citizen-card",
        "eservices",
        "SWD",
        "Senior Citizen Card application",
        "長者咭申請",
        "Questions about applying for the Senior Citizen Card online.",
        "有關網上申請長者咭的查詢。",
        "none",
        [],
        "senior-citizen-card",
        "senior card 長者咭",
        3,
        10,
    ),
    (
        "eservice-driving-licence",
        "eservices",
        "TD",
        "Driving licence renewal",
        "續領駕駛執照",
        "Questions about renewing a full driving licence online.",
        "有關網上續領正式駕駛執照的查詢。",
        "none",
        [],
        "driving-licence-renewal",
        "driving licence 駕駛執照",
        3,
        10,
    ),
    (
        "eservice-water-account",
        "eservices",
        "WSD",
        "Opening a water account",
        "開立水費賬戶",
        "Questions about opening a water account online.",
        "有關網上開立水費賬戶的查詢。",
        "none",
        [_attr("account", "string", "Water account number, if you have one", "水費賬戶號碼（如有）")],
        "water-account-opening",
        "water account 水費賬戶",
        3,
        10,
    ),
    (
        "eservice-restaurant-licence",
        "eservices",
        "FEHD",
        "General restaurant licence",
        "普通食肆牌照",
        "Questions about applying for a general restaurant licence.",
        "有關申請普通食肆牌照的查詢。",
        "none",
        [],
        "restaurant-licence",
        "restaurant licence 食肆牌照",
        5,
        15,
    ),
    (
        "eservice-leisure-booking",
        "eservices",
        "LCSD",
        "Booking leisure facilities",
        "預訂康樂設施",
        "Questions about booking sports and leisure facilities.",
        "有關預訂康體設施的查詢。",
        "none",
        [],
        "leisure-facility-booking",
        "booking SmartPLAY 預訂",
        3,
        10,
    ),
    (
        "eservice-public-housing",
        "eservices",
        "HD",
        "Public rental housing application",
        "公屋申請",
        "Questions about applying for public rental housing.",
        "有關申請公共租住房屋的查詢。",
        "none",
        [],
        "public-rental-housing",
        "public housing 公屋",
        5,
        15,
    ),
    (
        "bus-service",
        "transport",
        "TD",
        "Bus service",
        "巴士服務",
        "Frequency, punctuality or conduct on a franchised bus route.",
        "專營巴士路線的班次、準時或服務態度。",
        "optional",
        [
            _attr("route", "string", "Route number", "路線編號", required=True),
            _attr(
                "operator",
                "singlevaluelist",
                "Operator",
                "營辦商",
                order=2,
                values=[
                    ("kmb", "KMB", "九巴"),
                    ("ctb", "Citybus", "城巴"),
                    ("lwb", "Long Win", "龍運"),
                    ("nlb", "New Lantao Bus", "新大嶼山巴士"),
                ],
            ),
        ],
        "",
        "bus route 巴士",
        5,
        15,
    ),
    (
        "taxi-service",
        "transport",
        "TD",
        "Taxi service",
        "的士服務",
        "Overcharging, refusing hire or bad driving by a taxi.",
        "的士濫收車資、拒載或駕駛不當。",
        "optional",
        [_PLATE, _WHEN],
        "",
        "taxi 的士 拒載",
        5,
        20,
    ),
    (
        "staff-conduct",
        "staff",
        "DPO",
        "Conduct of government staff",
        "政府人員的服務態度",
        "A complaint about how a government officer treated you; 1823 passes it to the department concerned.",
        "投訴政府人員對待你的態度；1823 會轉交有關部門。",
        "none",
        [_attr("department_concerned", "string", "Which department", "涉及的部門", required=True)],
        "",
        "staff attitude 態度 職員",
        5,
        20,
    ),
    (
        "compliment",
        "staff",
        "DPO",
        "Compliment",
        "讚賞",
        "Thank a department or an officer; 1823 passes it on.",
        "讚賞部門或人員；1823 會轉交。",
        "none",
        [_attr("department_concerned", "string", "Which department", "涉及的部門")],
        "",
        "thanks compliment 讚賞 多謝",
        5,
        10,
    ),
    (
        "general-enquiry",
        "general",
        "DPO",
        "Other enquiries",
        "其他查詢",
        "Anything else about government services.",
        "其他有關政府服務的事項。",
        "optional",
        [],
        "",
        "enquiry other 查詢",
        3,
        10,
    ),
]

#: ``(case type or None, district or "", department, priority)``: seed 002 ITIB211's examples —
#: trees on country-side government land go to the Lands Department; neighbourhood noise in
#: the New Territories' rural districts first to the police; the rest by case type.
ROUTING_RULES = [
    ("tree-hazard", "islands", "LANDSD", 10),
    ("tree-hazard", "sai-kung", "LANDSD", 10),
    ("tree-hazard", "north", "LANDSD", 10),
    ("fallen-tree", "", "HYD", 20),
    ("road-drain-blocked", "", "HYD", 20),
]

#: The demo's 1823 logins: ``(username, department or None for the coordinator, label)``.
DEMO_OFFICERS = [
    ("hotline-coordinator", None, "1823 coordinator"),
    ("fehd-case-officer", "FEHD", "1823 case officer, Food and Environmental Hygiene Department"),
    ("hyd-case-officer", "HYD", "1823 case officer, Highways Department"),
    ("wsd-case-officer", "WSD", "1823 case officer, Water Supplies Department"),
    ("lcsd-case-officer", "LCSD", "1823 case officer, Leisure and Cultural Services Department"),
    ("td-case-officer", "TD", "1823 case officer, Transport Department"),
    ("epd-case-officer", "EPD", "1823 case officer, Environmental Protection Department"),
    ("hkpf-case-officer", "HKPF", "1823 case officer, Hong Kong Police Force"),
    ("dpo-case-officer", "DPO", "1823 case officer, Digital Policy Office (1823)"),
]


def needed_departments() -> set[str]:
    return {row[2] for row in CASE_TYPES} | {row[2] for row in ROUTING_RULES} | {d for _u, d, _l in DEMO_OFFICERS if d}


@transaction.atomic
def seed_case_types() -> dict[str, int]:
    """Upsert :data:`CASE_TYPES` and :data:`ROUTING_RULES` (departments must exist: the
    e-services catalogue loads them). Returns ``{"case_types": n, "routing_rules": n}``."""
    missing = needed_departments() - set(Department.objects.values_list("code", flat=True))
    if missing:
        raise RuntimeError(
            f"departments {sorted(missing)} missing: load the e-services catalogue first (tungban setup)"
        )
    for (
        code,
        group,
        dept,
        name_en,
        name_zh,
        desc_en,
        desc_zh,
        location,
        attributes,
        slug,
        keywords,
        reply_days,
        close_days,
    ) in CASE_TYPES:
        group_en, group_zh = GROUPS[group]
        CaseType.objects.update_or_create(
            code=code,
            defaults={
                "name_en": name_en,
                "name_zh": name_zh,
                "description_en": desc_en,
                "description_zh": desc_zh,
                "group_en": group_en,
                "group_zh": group_zh,
                "keywords": keywords,
                "department_id": dept,
                "service_slug": slug,
                "attributes": attributes,
                "location": location,
                "reply_days": reply_days,
                "close_days": close_days,
                "accept_hours": 24,
                "active": True,
            },
        )
    for case_type, district, dept, priority in ROUTING_RULES:
        RoutingRule.objects.update_or_create(
            case_type_id=case_type, district=district, department_id=dept, defaults={"priority": priority}
        )
    return {"case_types": len(CASE_TYPES), "routing_rules": len(ROUTING_RULES)}


def grant(user, department: str | None) -> None:
    """Give ``user`` the 1823 role: ``department``'s case officer, or the coordinator (None)."""
    CaseOfficer.objects.get_or_create(
        user=user,
        role=OfficerRole.DEPARTMENT if department else OfficerRole.COORDINATOR,
        department_id=department,
    )


def seed_officers(*, reset: bool = True) -> list[dict]:
    """The demo's 1823 logins, each with a new password and a new TOTP second factor (as the
    other demo logins: :func:`tungban.counter.services.provision_staff_user`); with ``reset``
    false, logins that exist keep theirs (only their role is ensured). Returns the logins
    given credentials: ``[{"username", "role", "password", "totp_secret", "totp_uri"}]``."""
    from django.contrib.auth import get_user_model

    from tungban.counter import services as counter

    out = []
    for username, department, label in DEMO_OFFICERS:
        existing = get_user_model().objects.filter(username=username).first()
        if existing is not None and not reset:
            grant(existing, department)
            continue
        password = secrets.token_urlsafe(9)
        user, otp = counter.provision_staff_user(username, password=password)
        grant(user, department)
        out.append({"username": username, "role": label, "password": password, **otp})
    return out


#: Sample cases: ``(case type, kind, district, address, description, attributes, end state, days ago)``.
#: End states: ``assigned``, ``accepted``, ``replied``, ``closed``, ``escalated``, ``declined``
#: (declined by every candidate, so escalated), ``lead`` (escalated, then the lead decided),
#: ``reopened``, ``overdue`` (accepted long ago, no reply).
SAMPLES = [
    (
        "street-light-fault",
        "complaint",
        "wan-chai",
        "Outside 200 Hennessy Road",
        "The street light has been off for three nights; the pavement is very dark.",
        {"lamp_post": "E1234", "fault": "out"},
        "closed",
        40,
    ),
    (
        "street-light-fault",
        "complaint",
        "sha-tin",
        "Tai Wai Road near the MTR exit",
        "Lamp keeps flickering all night.",
        {"lamp_post": "N5521", "fault": "flicker"},
        "replied",
        6,
    ),
    (
        "street-light-fault",
        "enquiry",
        "kwun-tong",
        "Hoi Bun Road",
        "Light stays on all day, is this a fault?",
        {"lamp_post": "K0872", "fault": "day"},
        "assigned",
        0,
    ),
    (
        "street-light-damaged",
        "complaint",
        "tuen-mun",
        "Tuen Mun Road slip road",
        "A lamp post was hit by a lorry and is leaning over the footpath.",
        {"lamp_post": "W7710"},
        "accepted",
        2,
    ),
    (
        "road-defect",
        "complaint",
        "yau-tsim-mong",
        "Nathan Road near Jordan Road",
        "A deep pothole in the slow lane; motorcycles swerve around it.",
        {"size": "medium"},
        "closed",
        30,
    ),
    (
        "road-defect",
        "complaint",
        "eastern",
        "King's Road, North Point",
        "Cracked road surface at the bus stop.",
        {"size": "large"},
        "overdue",
        25,
    ),
    (
        "footpath-damaged",
        "complaint",
        "central-and-western",
        "Des Voeux Road West",
        "Several paving blocks are loose; an elderly man tripped.",
        {},
        "closed",
        20,
    ),
    (
        "road-drain-blocked",
        "complaint",
        "yuen-long",
        "Castle Peak Road, Yuen Long",
        "The road floods every time it rains; the gully is blocked with leaves.",
        {},
        "accepted",
        3,
    ),
    (
        "refuse-not-collected",
        "complaint",
        "sham-shui-po",
        "Refuse collection point, Pei Ho Street",
        "Refuse has not been collected for two days and smells.",
        {"bin": "RCP-SSP-014"},
        "closed",
        15,
    ),
    (
        "refuse-not-collected",
        "complaint",
        "kowloon-city",
        "To Kwa Wan Road",
        "Litter bin overflowing.",
        {},
        "replied",
        4,
    ),
    (
        "street-cleanliness",
        "complaint",
        "wong-tai-sin",
        "Back lane behind Ngan Chuk Street",
        "Furniture and construction waste dumped in the back lane.",
        {},
        "declined",
        5,
    ),
    (
        "street-cleanliness",
        "suggestion",
        "islands",
        "Mui Wo ferry pier",
        "Please add litter bins along the promenade.",
        {},
        "closed",
        45,
    ),
    (
        "pest-control",
        "complaint",
        "tai-po",
        "Tai Po Market, Heung Sze Wui Street",
        "Rats running across the street at night near the market.",
        {"pest": "rodent"},
        "accepted",
        7,
    ),
    (
        "pest-control",
        "complaint",
        "southern",
        "Aberdeen Praya Road",
        "Stagnant water in planters, many mosquitoes.",
        {"pest": "water"},
        "closed",
        12,
    ),
    (
        "food-premises",
        "complaint",
        "yau-tsim-mong",
        "Temple Street",
        "Restaurant kitchen waste water flows onto the street.",
        {"premises": "Happy Noodle House"},
        "escalated",
        3,
    ),
    (
        "construction-noise",
        "complaint",
        "kwun-tong",
        "Site at How Ming Street",
        "Piling continues after 11 pm on weekdays.",
        {"period": "night"},
        "accepted",
        8,
    ),
    (
        "construction-noise",
        "complaint",
        "sha-tin",
        "Site at Siu Lek Yuen Road",
        "Drilling on Sunday morning.",
        {"period": "night"},
        "closed",
        35,
    ),
    (
        "neighbourhood-noise",
        "complaint",
        "tsuen-wan",
        "Block B, Lei Muk Shue Estate",
        "Loud mahjong every night past 2 am upstairs.",
        {},
        "closed",
        10,
    ),
    (
        "illegal-parking",
        "complaint",
        "yau-tsim-mong",
        "Sai Yeung Choi Street South",
        "Goods vehicles park on the pedestrian street every morning.",
        {"vehicle_plate": "AB1234", "vehicle_type": "goods"},
        "replied",
        5,
    ),
    (
        "illegal-parking",
        "complaint",
        "kowloon-city",
        "Junction Road",
        "Private car blocking the bus stop daily.",
        {"vehicle_plate": "XY888", "vehicle_type": "car"},
        "assigned",
        0,
    ),
    (
        "water-leak",
        "complaint",
        "eastern",
        "Shau Kei Wan Road outside the market",
        "Water gushing from the footpath, a main seems to have burst.",
        {},
        "closed",
        18,
    ),
    (
        "water-leak",
        "complaint",
        "north",
        "San Wan Road, Sheung Shui",
        "Water leaking from a fire hydrant.",
        {},
        "reopened",
        28,
    ),
    (
        "no-water-supply",
        "enquiry",
        "sai-kung",
        "Hang Hau",
        "No water since morning; is there a suspension?",
        {},
        "closed",
        22,
    ),
    (
        "water-quality",
        "complaint",
        "kwai-tsing",
        "Kwai Chung Estate",
        "Tap water is yellow in the morning.",
        {},
        "accepted",
        1,
    ),
    (
        "tree-hazard",
        "complaint",
        "sai-kung",
        "Hiram's Highway near Pak Sha Wan",
        "A large tree leans towards the road and its roots are lifting.",
        {"tree_number": "SK-0412"},
        "closed",
        38,
    ),
    (
        "tree-hazard",
        "complaint",
        "kowloon-city",
        "Kowloon Tsai Park",
        "A cracked branch hangs over the playground.",
        {},
        "lead",
        9,
    ),
    (
        "fallen-tree",
        "complaint",
        "southern",
        "Pok Fu Lam Road",
        "Fallen branch blocking one lane after the rain.",
        {},
        "closed",
        14,
    ),
    (
        "eservice-senior-citizen-card",
        "enquiry",
        "",
        "",
        "My father is 65 next month; can he apply now?",
        {},
        "closed",
        11,
    ),
    ("eservice-driving-licence", "enquiry", "", "", "The renewal asks for a photo; which size?", {}, "replied", 3),
    (
        "eservice-water-account",
        "enquiry",
        "",
        "",
        "Can a tenant open the account, or only the owner?",
        {},
        "assigned",
        0,
    ),
    ("eservice-restaurant-licence", "enquiry", "", "", "How long does a provisional licence take?", {}, "accepted", 6),
    (
        "eservice-leisure-booking",
        "complaint",
        "",
        "",
        "The booking page timed out twice after I paid.",
        {},
        "closed",
        16,
    ),
    ("eservice-public-housing", "enquiry", "", "", "How do I add my newborn to the application?", {}, "overdue", 20),
    (
        "bus-service",
        "complaint",
        "tuen-mun",
        "",
        "Route 960 skipped the stop twice this week.",
        {"route": "960", "operator": "kmb"},
        "accepted",
        4,
    ),
    (
        "bus-service",
        "suggestion",
        "islands",
        "",
        "Please run route 3M more often at weekends.",
        {"route": "3M", "operator": "nlb"},
        "closed",
        50,
    ),
    (
        "taxi-service",
        "complaint",
        "central-and-western",
        "",
        "Taxi refused to take me to Lantau.",
        {"vehicle_plate": "TX4567"},
        "escalated",
        2,
    ),
    (
        "staff-conduct",
        "complaint",
        "",
        "",
        "The officer at the counter was rude and refused to explain.",
        {"department_concerned": "Lands Department"},
        "declined",
        6,
    ),
    (
        "compliment",
        "compliment",
        "",
        "",
        "Thank you to the officer who helped my mother renew her card.",
        {"department_concerned": "Immigration Department"},
        "closed",
        8,
    ),
    ("general-enquiry", "enquiry", "", "", "Which department handles stray cattle on Lantau?", {}, "lead", 5),
    (
        "general-enquiry",
        "suggestion",
        "",
        "",
        "Please put 1823's opening hours on the website's front page.",
        {},
        "closed",
        26,
    ),
]

SEED_SUBMITTER = "seed:hotline-demo"


def _officer_for(department: str):
    return (
        CaseOfficer.objects.filter(role=OfficerRole.DEPARTMENT, department_id=department).select_related("user").first()
    )


def _shift(case: Case, days: int) -> None:
    """Move the case's and its events' times ``days`` back (the demo's history), pledge dates
    recomputed from the shifted acceptance."""
    from .services import pledges

    if days <= 0:
        return
    delta = dt.timedelta(days=days)
    fields = [
        "submitted_at",
        "assigned_at",
        "accept_due_at",
        "accepted_at",
        "first_reply_at",
        "closed_at",
        "reopen_until",
    ]
    values = {f: getattr(case, f) - delta for f in fields if getattr(case, f) is not None}
    if case.accepted_at is not None:
        values["reply_due"], values["close_due"] = pledges.due_dates(case.case_type, values["accepted_at"])
    Case.objects.filter(pk=case.pk).update(**values)
    for event in CaseEvent.objects.filter(case=case):
        CaseEvent.objects.filter(pk=event.pk).update(at=event.at - delta)


def _escalate_now(case: Case) -> None:
    """Let the case's time to accept run out and run the escalation sweep."""
    from .services import cases

    Case.objects.filter(pk=case.pk).update(accept_due_at=timezone.now() - dt.timedelta(minutes=1))
    cases.escalate_due()


def seed_cases(resident=None) -> int:
    """Submit :data:`SAMPLES` (anonymously; the first three as ``resident`` if given) and take
    each to its end state through the services, then move its history back in time. Needs
    :func:`seed_officers`. Idempotent (idempotency keys). Returns the cases made."""
    from .services import cases

    coordinator = CaseOfficer.objects.filter(role=OfficerRole.COORDINATOR).select_related("user").first()
    made = 0
    for n, (code, kind, district, address, text, attrs, end, days) in enumerate(SAMPLES):
        key = f"demo-{n:03d}"
        if Case.objects.filter(submitter_key=SEED_SUBMITTER, idempotency_key=key).exists():
            continue
        ctype = CaseType.objects.get(code=code)
        if ctype.location == "required" and not address:
            address = "Hong Kong"
        case, tracking = cases.submit(
            case_type=code,
            kind=kind,
            description=text,
            language="en",
            channel="web",
            resident=resident if (resident is not None and n < 3) else None,
            address=address,
            district=district,
            attribute_values=attrs,
            idempotency_key=key,
            submitter_key=SEED_SUBMITTER,
            contact={"name": "", "email": "", "phone": ""},
        )
        made += 1
        officer = _officer_for(case.department_id)
        user = officer.user if officer else None
        if end in ("declined",):
            while case.state == CaseState.ASSIGNED:
                who = _officer_for(case.department_id)
                if who is None:
                    break
                case = cases.decline(case, who.user, "Not within our remit: this is another department's matter.")
        elif end == "escalated":
            _escalate_now(case)
        elif end == "lead" and coordinator:
            _escalate_now(case)
            cases.decide_lead(
                case,
                coordinator.user,
                ctype.department_id,
                "Deputy Chief Secretary for Administration, District Governance Steering Committee",
            )
        elif user is not None and end in ("accepted", "replied", "closed", "reopened", "overdue"):
            cases.accept(case, user)
            if end in ("replied", "closed", "reopened"):
                cases.reply(case, user, "Thank you. Our staff will inspect the place within two working days.")
            if end in ("closed", "reopened"):
                cases.close(case, user, "We inspected the place and fixed the problem. Thank you for telling us.")
            if end == "reopened":
                cases.reopen(case.reference, reason="The problem came back two days later.", tracking_code=tracking)
        case.refresh_from_db()
        _shift(case, days)
    return made


def seed(resident=None, *, reset_logins: bool = True) -> dict:
    """Everything above, for ``seed_hotline`` and ``tungban setup --demo``. Returns
    ``{"case_types", "routing_rules", "staff": [logins given credentials], "cases": made}``."""
    from .services import notices

    out = seed_case_types()
    out["staff"] = seed_officers(reset=reset_logins)
    try:
        notices.ensure_templates()
    except Exception:  # noqa: BLE001 — no portal sender yet: notifications are skipped
        pass
    out["cases"] = seed_cases(resident)
    return out
