"""The relevance corpus and query set of issue 22 acceptance 1 (also seeded by
``bench/search.py``): the shipped e-services catalogue (loaded with ``load_catalogue``, so
its own sources index it), the open-data demo seed's datasets (``tungban.opendata.seed.plan()``:
the same titles, descriptions and providers ``tungban seed_opendata`` publishes, turned into
documents by the open-data source's :func:`~tungban.opendata.search_sources.document_of`
without writing the CSV files), and synthetic distractors that share their vocabulary
(licences, permits, registrations, schemes, bookings, reports, statistics by district and
year), all written through :func:`tungban.search.services.index`.

Sizes: at least 1,500 services, 3,800 forms and 5,500 datasets (:func:`build` returns the
counts). Everything is deterministic: no randomness, the same documents every time.
"""

from __future__ import annotations

import itertools

from tungban.search import services as search
from tungban.search.sources import Document

DISTRICTS = [
    ("central-and-western", "Central and Western", "中西區"),
    ("wan-chai", "Wan Chai", "灣仔"),
    ("eastern", "Eastern", "東區"),
    ("southern", "Southern", "南區"),
    ("yau-tsim-mong", "Yau Tsim Mong", "油尖旺"),
    ("sham-shui-po", "Sham Shui Po", "深水埗"),
    ("kowloon-city", "Kowloon City", "九龍城"),
    ("wong-tai-sin", "Wong Tai Sin", "黃大仙"),
    ("kwun-tong", "Kwun Tong", "觀塘"),
    ("tsuen-wan", "Tsuen Wan", "荃灣"),
    ("tuen-mun", "Tuen Mun", "屯門"),
    ("yuen-long", "Yuen Long", "元朗"),
    ("north", "North", "北區"),
    ("tai-po", "Tai Po", "大埔"),
    ("sai-kung", "Sai Kung", "西貢"),
    ("sha-tin", "Sha Tin", "沙田"),
    ("kwai-tsing", "Kwai Tsing", "葵青"),
    ("islands", "Islands", "離島"),
]
YEARS = [str(y) for y in range(2016, 2026)]

DEPARTMENTS = {
    "FEHD": ("Food and Environmental Hygiene Department", "食物環境衞生署"),
    "HAD": ("Home Affairs Department", "民政事務總署"),
    "TD": ("Transport Department", "運輸署"),
    "MD": ("Marine Department", "海事處"),
    "AFCD": ("Agriculture, Fisheries and Conservation Department", "漁農自然護理署"),
    "EPD": ("Environmental Protection Department", "環境保護署"),
    "SWD": ("Social Welfare Department", "社會福利署"),
    "EDB": ("Education Bureau", "教育局"),
    "LCSD": ("Leisure and Cultural Services Department", "康樂及文化事務署"),
    "HYD": ("Highways Department", "路政署"),
    "BD": ("Buildings Department", "屋宇署"),
    "POLICE": ("Hong Kong Police Force", "香港警務處"),
    "LD": ("Labour Department", "勞工處"),
    "DH": ("Department of Health", "衞生署"),
    "ITC": ("Innovation and Technology Commission", "創新科技署"),
    "TID": ("Trade and Industry Department", "工業貿易署"),
    "CSD": ("Correctional Services Department", "懲教署"),
    "IMMD": ("Immigration Department", "入境事務處"),
    "CENSTATD": ("Census and Statistics Department", "政府統計處"),
}

#: Things a licence or permit is for (none of them is a shipped service's subject).
LICENSED = [
    ("massage-establishment", "massage establishment licence", "按摩院牌照", "HAD"),
    ("liquor", "liquor licence", "酒牌", "FEHD"),
    ("food-factory", "food factory licence", "食物製造廠牌照", "FEHD"),
    ("bakery", "bakery licence", "烘製麵包餅食店牌照", "FEHD"),
    ("frozen-confection", "frozen confection factory licence", "冰凍甜點製造廠牌照", "FEHD"),
    ("milk-factory", "milk factory licence", "奶品廠牌照", "FEHD"),
    ("fresh-provision-shop", "fresh provision shop licence", "新鮮糧食店牌照", "FEHD"),
    ("swimming-pool", "swimming pool licence", "泳池牌照", "FEHD"),
    ("karaoke", "karaoke establishment permit", "卡拉OK場所許可證", "HAD"),
    ("amusement-game-centre", "amusement game centre licence", "遊戲機中心牌照", "HAD"),
    ("money-lender", "money lender's licence", "放債人牌照", "POLICE"),
    ("pawnbroker", "pawnbroker's licence", "當押商牌照", "POLICE"),
    ("hotel", "hotel licence", "酒店牌照", "HAD"),
    ("guesthouse", "guesthouse licence", "賓館牌照", "HAD"),
    ("club", "club certificate of compliance", "會社合格證明書", "HAD"),
    ("pleasure-vessel", "pleasure vessel licence", "遊樂船隻牌照", "MD"),
    ("fishing-vessel", "local fishing vessel licence", "本地漁船牌照", "MD"),
    ("dog", "dog licence", "狗隻牌照", "AFCD"),
    ("pet-shop", "animal trader licence", "動物售賣商牌照", "AFCD"),
    ("endangered-species", "endangered species import licence", "瀕危物種進口許可證", "AFCD"),
    ("sewage-discharge", "water pollution discharge licence", "排放污水牌照", "EPD"),
    ("construction-noise", "construction noise permit", "建築噪音許可證", "EPD"),
    ("air-pollution", "specified process licence", "指明工序牌照", "EPD"),
    ("road-excavation", "excavation permit", "挖掘准許證", "HYD"),
    ("minor-works", "minor works contractor registration", "小型工程承建商註冊", "BD"),
    ("signboard", "signboard validation", "招牌檢核", "BD"),
    ("public-entertainment", "temporary place of public entertainment licence", "臨時公眾娛樂場所牌照", "FEHD"),
    ("lottery", "lottery licence", "獎券活動牌照", "HAD"),
    ("street-collection", "street collection permit", "街頭募捐許可證", "SWD"),
    ("elderly-home", "residential care home for the elderly licence", "安老院牌照", "SWD"),
    ("disability-home", "residential care home for persons with disabilities licence", "殘疾人士院舍牌照", "SWD"),
    ("child-care", "child care centre registration", "幼兒中心註冊", "SWD"),
    ("tutorial-school", "private tutorial school registration", "私營補習學校註冊", "EDB"),
    ("kindergarten", "kindergarten registration", "幼稚園註冊", "EDB"),
    ("film-censorship", "film exhibition approval", "電影上映核准", "HAD"),
    ("security-company", "security company licence", "保安公司牌照", "POLICE"),
    ("security-personnel", "security personnel permit", "保安人員許可證", "POLICE"),
    ("arms", "arms licence", "槍械牌照", "POLICE"),
    ("textile-export", "textile export licence", "紡織品出口許可證", "TID"),
    ("strategic-commodities", "strategic commodities licence", "戰略物品許可證", "TID"),
    ("rice-stockholder", "rice stockholder registration", "儲米商登記", "TID"),
    ("private-columbarium", "private columbarium licence", "私營骨灰安置所牌照", "FEHD"),
    ("funeral-parlour", "undertaker of burials licence", "殯儀館牌照", "FEHD"),
    ("slaughterhouse", "slaughterhouse licence", "屠房牌照", "FEHD"),
    ("hairdresser", "hairdressing salon hygiene permit", "髮型屋衞生許可證", "FEHD"),
    ("poultry-farm", "livestock keeping licence", "禽畜飼養牌照", "AFCD"),
    ("tour-boat", "tour boat permit", "觀光船許可證", "MD"),
    ("film-location", "film location permit", "電影拍攝地點許可證", "LCSD"),
    ("busking", "street performance permit", "街頭表演許可證", "LCSD"),
    ("closed-road", "closed road permit", "封閉道路通行許可證", "TD"),
    ("goods-vehicle", "goods vehicle overnight parking permit", "貨車夜間停泊許可證", "TD"),
    ("tow-truck", "tow truck operator permit", "拖車營辦商許可證", "TD"),
    ("school-bus", "school private light bus permit", "學校私家小巴許可證", "TD"),
    ("medical-device", "medical device listing", "醫療儀器表列", "DH"),
    ("pharmacy", "listed seller of poisons licence", "列載毒藥銷售商牌照", "DH"),
    ("radiation", "irradiating apparatus licence", "輻照儀器牌照", "DH"),
    ("tobacco", "tobacco retailer registration", "煙草零售商登記", "DH"),
    ("employment-of-children", "child performer employment permit", "兒童演出僱用許可證", "LD"),
    ("boiler", "boiler and pressure vessel registration", "鍋爐及壓力容器註冊", "LD"),
    ("crane", "crane operator certificate", "起重機操作員證明書", "LD"),
]

ACTIONS = [
    ("apply", "Apply for a {o}", "申請{z}"),
    ("renew", "Renew a {o}", "續期{z}"),
    ("replace", "Replace a lost {o}", "補領遺失的{z}"),
    ("cancel", "Cancel a {o}", "取消{z}"),
    ("transfer", "Transfer a {o}", "轉讓{z}"),
    ("change", "Change the particulars of a {o}", "更改{z}資料"),
    ("status", "Check the progress of a {o} application", "查詢{z}申請進度"),
    ("appeal", "Appeal against a refused {o}", "就被拒絕的{z}提出上訴"),
]

SECTORS = [
    ("retail", "Retail", "零售業", "TID"),
    ("catering", "Catering", "飲食業", "FEHD"),
    ("tourism", "Tourism", "旅遊業", "TID"),
    ("logistics", "Logistics", "物流業", "TD"),
    ("fisheries", "Fisheries", "漁業", "AFCD"),
    ("agriculture", "Agriculture", "農業", "AFCD"),
    ("construction", "Construction", "建造業", "LD"),
    ("arts", "Arts and culture", "文化藝術", "LCSD"),
    ("sports", "Sports", "體育", "LCSD"),
    ("elderly-care", "Elderly care", "安老服務", "SWD"),
    ("childcare", "Childcare", "幼兒照顧", "SWD"),
    ("manufacturing", "Manufacturing", "製造業", "TID"),
    ("textiles", "Textiles and clothing", "紡織及製衣業", "TID"),
    ("printing", "Printing", "印刷業", "TID"),
    ("transport-trades", "Transport trades", "運輸業", "TD"),
    ("marine", "Marine industry", "海事業", "MD"),
    ("green-energy", "Renewable energy", "可再生能源", "EPD"),
    ("recycling-industry", "Recycling industry", "回收業", "EPD"),
    ("social-enterprise", "Social enterprises", "社會企業", "HAD"),
    ("youth", "Youth development", "青年發展", "HAD"),
    ("rehabilitation", "Rehabilitation services", "復康服務", "SWD"),
    ("nursing", "Nursing", "護理", "DH"),
    ("research", "Research and development", "研究及發展", "ITC"),
    ("e-commerce", "E-commerce", "電子商貿", "TID"),
]
SUPPORTS = [
    ("subsidy", "Subsidy Scheme", "資助計劃"),
    ("training", "Training Allowance", "培訓津貼"),
    ("loan", "Loan Guarantee Scheme", "信貸保證計劃"),
    ("grant", "Development Grant", "發展資助"),
    ("award", "Recognition Award", "嘉許獎"),
    ("apprenticeship", "Apprenticeship Programme", "學徒計劃"),
    ("fund", "Quality Enhancement Fund", "質素提升基金"),
    ("voucher", "Technology Voucher", "科技券"),
    ("internship", "Internship Subsidy", "實習津貼"),
    ("export", "Export Marketing Fund", "市場推廣基金"),
]

FACILITIES = [
    ("badminton", "badminton court", "羽毛球場"),
    ("tennis", "tennis court", "網球場"),
    ("basketball", "basketball court", "籃球場"),
    ("squash", "squash court", "壁球場"),
    ("football", "football pitch", "足球場"),
    ("sports-hall", "sports hall", "體育館主場"),
    ("table-tennis", "table tennis table", "乒乓球枱"),
    ("bbq", "barbecue pit", "燒烤爐"),
    ("campsite", "campsite", "營地"),
    ("music-room", "music practice room", "音樂練習室"),
    ("function-room", "community hall function room", "社區會堂活動室"),
    ("dance-room", "dance room", "舞蹈室"),
    ("golf", "golf driving range bay", "高爾夫球練習場打擊位"),
]

PROBLEMS = [
    ("illegal-parking", "Report illegal parking", "舉報違例泊車", "POLICE"),
    ("noise", "Report a noise nuisance", "舉報噪音滋擾", "EPD"),
    ("seepage", "Report water seepage from the flat above", "舉報樓上單位滲水", "FEHD"),
    ("drain", "Report a blocked drain", "舉報渠道淤塞", "FEHD"),
    ("stray-dog", "Report a stray dog", "舉報流浪狗", "AFCD"),
    ("street-light", "Report a faulty street light", "舉報街燈故障", "HYD"),
    ("abandoned-vehicle", "Report an abandoned vehicle", "舉報棄置車輛", "TD"),
    ("dumping", "Report illegal dumping of waste", "舉報非法棄置廢物", "EPD"),
    ("rodents", "Report rodents and pests", "舉報鼠患及蟲害", "FEHD"),
    ("oil-fumes", "Report oil fumes from a restaurant", "舉報食肆油煙", "EPD"),
    ("road-damage", "Report a damaged road surface", "舉報路面損毀", "HYD"),
    ("tree", "Report a dangerous tree", "舉報危險樹木", "LCSD"),
    ("hawking", "Report unlicensed hawking", "舉報無牌販賣", "FEHD"),
    ("shop-extension", "Report a shop extending onto the pavement", "舉報店鋪阻街", "FEHD"),
    ("graffiti", "Report graffiti on a public wall", "舉報公共牆壁塗鴉", "HAD"),
    ("flooding", "Report road flooding", "舉報道路水浸", "HYD"),
]

OFFICES = [
    ("had", "Book an appointment at the District Office", "預約民政事務處服務", "HAD"),
    ("swd", "Book an appointment at the Integrated Family Service Centre", "預約綜合家庭服務中心", "SWD"),
    ("ld", "Book an appointment at the Job Centre", "預約就業中心服務", "LD"),
    ("fehd", "Book an appointment at the District Environmental Hygiene Office", "預約分區環境衞生辦事處", "FEHD"),
    ("td", "Book an appointment at the Licensing Office", "預約牌照事務處", "TD"),
    ("dh", "Book an appointment at the Maternal and Child Health Centre", "預約母嬰健康院", "DH"),
    ("edb", "Book an appointment at the Regional Education Office", "預約區域教育服務處", "EDB"),
    ("police", "Book an appointment at the Police Licensing Office", "預約警察牌照課", "POLICE"),
    ("afcd", "Book an appointment at the Animal Management Centre", "預約動物管理中心", "AFCD"),
    ("lcsd", "Book an appointment at the District Leisure Services Office", "預約分區康樂事務辦事處", "LCSD"),
]

PROFESSIONS = [
    ("social-worker", "social worker", "社會工作者", "SWD"),
    ("nurse", "enrolled nurse", "登記護士", "DH"),
    ("pharmacist", "pharmacist", "藥劑師", "DH"),
    ("dentist", "dentist", "牙醫", "DH"),
    ("chinese-medicine", "Chinese medicine practitioner", "中醫", "DH"),
    ("physiotherapist", "physiotherapist", "物理治療師", "DH"),
    ("architect", "authorised person (architect)", "認可人士（建築師）", "BD"),
    ("structural-engineer", "registered structural engineer", "註冊結構工程師", "BD"),
    ("electrician", "registered electrical worker", "註冊電業工程人員", "LD"),
    ("plumber", "licensed plumber", "持牌水喉匠", "BD"),
    ("lift-worker", "registered lift worker", "註冊升降機工程人員", "LD"),
    ("teacher", "registered teacher", "註冊教師", "EDB"),
    ("tour-guide", "tourist guide", "導遊", "TID"),
    ("security-guard", "security guard", "保安員", "POLICE"),
    ("veterinary", "veterinary surgeon", "獸醫", "AFCD"),
    ("gas-installer", "registered gas installer", "註冊氣體工程技術人員", "EPD"),
    ("asbestos", "registered asbestos consultant", "註冊石棉顧問", "EPD"),
    ("surveyor", "registered inspector of buildings", "註冊檢驗人員", "BD"),
    ("coxswain", "local vessel coxswain", "本地船隻船長", "MD"),
    ("dietitian", "dietitian", "營養師", "DH"),
]
PROFESSION_ACTIONS = [
    ("register", "Register as a {p}", "註冊為{z}"),
    ("renew", "Renew registration as a {p}", "續期{z}註冊"),
    ("restore", "Restore registration as a {p}", "恢復{z}註冊"),
    ("certificate", "Certificate of registration as a {p}", "{z}註冊證明書"),
]

MEASURES = [
    ("passport-applications", "Passport applications received", "護照申請宗數", "IMMD"),
    ("identity-card-applications", "Identity card applications received", "身份證申請宗數", "IMMD"),
    ("visitor-visas", "Visit visas issued", "訪港簽證簽發數目", "IMMD"),
    ("births", "Births registered", "出生登記數目", "IMMD"),
    ("marriages", "Marriages registered", "結婚登記數目", "IMMD"),
    ("driving-tests", "Driving tests conducted", "駕駛考試次數", "TD"),
    ("driving-licences", "Driving licences in force", "有效駕駛執照數目", "TD"),
    ("vehicle-registrations", "First registration of vehicles", "車輛首次登記數目", "TD"),
    ("parking-meters", "On-street parking meters", "路旁停車收費錶", "TD"),
    ("bus-routes", "Franchised bus routes", "專營巴士路線", "TD"),
    ("hawker-licences", "Hawker licences issued", "小販牌照簽發數目", "FEHD"),
    ("restaurant-inspections", "Restaurant inspections", "食肆巡查次數", "FEHD"),
    ("food-complaints", "Food complaints received", "食物投訴宗數", "FEHD"),
    ("library-visits", "Library visits", "圖書館入館人次", "LCSD"),
    ("leisure-bookings", "Leisure facility booking rates", "康體設施使用率", "LCSD"),
    ("senior-card-holders", "Senior Citizen Card holders", "長者咭持有人數目", "SWD"),
    ("elderly-allowance", "Old Age Allowance recipients", "高齡津貼受惠人數", "SWD"),
    ("public-housing-applications", "Public housing applications on the waiting list", "公屋輪候冊申請宗數", "HD"),
    ("rental-flats", "Public rental flats allocated", "編配公屋單位數目", "HD"),
    ("tax-returns", "Tax returns issued", "報稅表發出數目", "IRD"),
    ("business-registrations", "Business registration certificates issued", "商業登記證發出數目", "IRD"),
    ("company-incorporations", "Local companies incorporated", "本地公司成立數目", "CR"),
    ("water-bills", "Water bills issued", "水費單發出數目", "WSD"),
    ("water-accounts", "Water accounts opened", "水費賬戶開立數目", "WSD"),
    ("air-pollution-index", "Air quality health index", "空氣質素健康指數", "EPD"),
    ("noise-levels", "Road traffic noise levels", "道路交通噪音水平", "EPD"),
    ("waste-recovered", "Recyclables recovered", "回收物料數量", "EPD"),
    ("chemical-waste", "Chemical waste received", "化學廢物接收量", "EPD"),
    ("construction-waste", "Construction waste disposed of", "建築廢物棄置量", "EPD"),
    ("fire-calls", "Fire calls", "火警召喚", "FSD"),
    ("ambulance-calls", "Ambulance calls", "救護車召喚", "FSD"),
    ("job-vacancies", "Vacancies registered with job centres", "就業中心登記空缺", "LD"),
    ("employment-agencies", "Licensed employment agencies", "持牌職業介紹所", "LD"),
    ("school-places", "School places", "學位數目", "EDB"),
    ("clinic-attendances", "Clinic attendances", "診所求診人次", "DH"),
    ("vaccinations", "Vaccination doses given", "疫苗接種劑數", "DH"),
    ("crime-reports", "Crimes reported", "舉報罪案數目", "POLICE"),
    ("traffic-accidents", "Traffic accidents", "交通意外數目", "POLICE"),
    ("land-transactions", "Land registrations", "土地註冊宗數", "LR"),
    ("rates-assessments", "Rates assessments", "差餉估價", "RVD"),
]
#: 40 measures × (18 districts × 7 years + 10 years territory-wide) ≈ 5,440 datasets.
MEASURE_YEARS = YEARS[-7:]

PROVIDER_NAMES = {
    "IMMD": ("Immigration Department", "入境事務處"),
    "FSD": ("Fire Services Department", "消防處"),
    "HD": ("Housing Department", "房屋署"),
    "IRD": ("Inland Revenue Department", "稅務局"),
    "CR": ("Companies Registry", "公司註冊處"),
    "WSD": ("Water Supplies Department", "水務署"),
    "LR": ("Land Registry", "土地註冊處"),
    "RVD": ("Rating and Valuation Department", "差餉物業估價署"),
}


def _dept(code: str) -> tuple[str, str]:
    return DEPARTMENTS.get(code) or PROVIDER_NAMES[code]


def _service(ref, title_en, title_zh, text_en, text_zh, dept, *, online=False) -> Document:
    en, zh = _dept(dept)
    page = f"/services/{ref}/"
    actions = [{"kind": "read", "url": page, "label_en": "About this service", "label_zh": "服務詳情"}]
    if online:
        actions.insert(0, {"kind": "apply", "url": f"{page}apply", "label_en": "Apply online", "label_zh": "網上申請"})
    return Document(
        kind="service",
        ref=ref,
        title_en=title_en,
        title_zh=title_zh,
        text_en=text_en,
        text_zh=text_zh,
        department=dept,
        department_en=en,
        department_zh=zh,
        url=page,
        actions=tuple(actions),
    )


def synthetic_services() -> list[Document]:
    """Distractor services (about 1,500): licence actions, sector schemes, facility bookings by
    district, reports of problems by district, professional registrations."""
    out = []
    for (slug, o, z, dept), (act, en, zh) in itertools.product(LICENSED, ACTIONS):
        out.append(
            _service(
                f"{act}-{slug}",
                en.format(o=o),
                zh.format(z=z),
                f"Holders and applicants of a {o} use this service. Documents needed and fees are listed.",
                f"{z}持有人及申請人使用此服務。列明所需文件及費用。",
                dept,
                online=act in ("apply", "renew"),
            )
        )
    for (slug, s_en, s_zh, dept), (sup, en, zh) in itertools.product(SECTORS, SUPPORTS):
        out.append(
            _service(
                f"{slug}-{sup}",
                f"{s_en} {en}",
                f"{s_zh}{zh}",
                f"Businesses and workers in {s_en.lower()} apply for the {en.lower()}.",
                f"{s_zh}企業及從業員申請{zh}。",
                dept,
                online=True,
            )
        )
    for (slug, f_en, f_zh), (d, d_en, d_zh) in itertools.product(FACILITIES, DISTRICTS):
        out.append(
            _service(
                f"book-{slug}-{d}",
                f"Book a {f_en} in {d_en}",
                f"預訂{d_zh}{f_zh}",
                f"Book a {f_en} at a leisure venue in {d_en} District.",
                f"預訂{d_zh}區康樂場地的{f_zh}。",
                "LCSD",
                online=True,
            )
        )
    for (slug, en, zh, dept), (d, d_en, d_zh) in itertools.product(PROBLEMS, DISTRICTS):
        out.append(
            _service(
                f"{slug}-{d}",
                f"{en} in {d_en}",
                f"{zh}（{d_zh}）",
                f"Tell the department about the problem in {d_en} District; you get a reference.",
                f"向部門報告{d_zh}區的問題，你會收到參考編號。",
                dept,
            )
        )
    for (slug, en, zh, dept), (d, d_en, d_zh) in itertools.product(OFFICES, DISTRICTS):
        out.append(
            _service(
                f"appointment-{slug}-{d}",
                f"{en} ({d_en})",
                f"{zh}（{d_zh}）",
                f"Choose a time to visit the office serving {d_en} District.",
                f"選擇到訪{d_zh}區辦事處的時間。",
                dept,
                online=True,
            )
        )
    for (slug, p, z, dept), (act, en, zh) in itertools.product(PROFESSIONS, PROFESSION_ACTIONS):
        out.append(
            _service(
                f"{act}-{slug}",
                en.format(p=p),
                zh.format(z=z),
                f"For a {p} practising in Hong Kong.",
                f"適用於在香港執業的{z}。",
                dept,
                online=act == "renew",
            )
        )
    return out


FORM_KINDS = [
    ("application", "Application form", "申請表"),
    ("supplement", "Supplementary information form", "補充資料表"),
    ("authorisation", "Letter of authorisation", "授權書"),
]


def synthetic_forms(services: list[Document]) -> list[Document]:
    """Forms of the distractor services: an application form, a supplementary form and a letter
    of authorisation each (about 4,300)."""
    out = []
    for s in services:
        for i, (slug, en, zh) in enumerate(FORM_KINDS, start=1):
            ref = f"{s.ref}-{slug}"
            out.append(
                Document(
                    kind="form",
                    ref=ref,
                    title_en=f"{en}: {s.title_en}",
                    title_zh=f"{s.title_zh}{zh}",
                    text_en=f"Form {s.department}-{i} for: {s.title_en}.",
                    text_zh=f"用於：{s.title_zh}。",
                    department=s.department,
                    department_en=s.department_en,
                    department_zh=s.department_zh,
                    url=s.url,
                    actions=s.actions[:1],
                )
            )
    return out


def _dataset(name, title_en, title_zh, notes_en, notes_zh, code) -> Document:
    from tungban.opendata.search_sources import document_of

    en, zh = _dept(code) if code in DEPARTMENTS or code in PROVIDER_NAMES else (code, code)
    return document_of(
        name=name,
        title_en=title_en,
        title_zh=title_zh,
        notes_en=notes_en,
        notes_zh=notes_zh,
        provider_code=code,
        provider_en=en,
        provider_zh=zh,
    )


def synthetic_datasets() -> list[Document]:
    """Statistics datasets sharing the services' words (passports, licences, bills, waste),
    by district and year and territory-wide by year, plus the recycling points."""
    out = []
    for slug, en, zh, code in MEASURES:
        for (d, d_en, d_zh), year in itertools.product(DISTRICTS, MEASURE_YEARS):
            out.append(
                _dataset(
                    f"{slug}-{d}-{year}",
                    f"{en} in {d_en} District, {year}",
                    f"{year}年{d_zh}區{zh}",
                    f"Monthly figures: {en.lower()} in {d_en} District in {year}.",
                    f"{year}年{d_zh}區每月{zh}。",
                    code,
                )
            )
        for year in YEARS:
            out.append(
                _dataset(
                    f"{slug}-{year}",
                    f"{en}, {year}",
                    f"{year}年{zh}",
                    f"Territory-wide monthly figures of {en.lower()} in {year}.",
                    f"{year}年全港每月{zh}。",
                    code,
                )
            )
    out.append(
        _dataset(
            "community-recycling-points",
            "Community recycling points (GREEN@COMMUNITY)",
            "社區回收網絡「綠在區區」回收點",
            "Locations and opening hours of recycling stations, recycling stores and recycling spots.",
            "回收環保站、回收便利店及回收便利點的位置及開放時間。",
            "EPD",
        )
    )
    return out


def seed_datasets() -> list[Document]:
    """The open-data demo seed's datasets (``tungban seed_opendata``), as documents."""
    from tungban.opendata import seed

    providers = {p[0]: p for p in seed.PROVIDERS}
    out = []
    for p in seed.plan():
        name, en, zh, code = providers[p.spec.org][:4]
        out.append(
            _dataset_with(p.name, p.title_en, p.title_zh, p.spec.notes_en, p.spec.notes_zh, code or name, en, zh)
        )
    return out


def _dataset_with(name, title_en, title_zh, notes_en, notes_zh, code, en, zh) -> Document:
    from tungban.opendata.search_sources import document_of

    return document_of(
        name=name,
        title_en=title_en,
        title_zh=title_zh,
        notes_en=notes_en,
        notes_zh=notes_zh,
        provider_code=code,
        provider_en=en,
        provider_zh=zh,
    )


def build() -> dict[str, int]:
    """Load the shipped catalogue (its source indexes it) and index the rest; returns the
    number of documents of each kind in the index."""
    from tungban.credentials import catalogue as credential_catalogue
    from tungban.eservices.services.catalogue import load_catalogue
    from tungban.search.models import SearchDocument

    credential_catalogue.register_bundled()  # the e-licence types the catalogue's services issue
    load_catalogue()
    services = synthetic_services()
    search.index(services)
    search.index(synthetic_forms(services))
    search.index(seed_datasets())
    search.index(synthetic_datasets())
    return {
        kind: SearchDocument.objects.filter(kind=kind).count() for kind in ("service", "form", "field_help", "dataset")
    }


#: The relevance set: (what a resident types, expected kind, expected ref). Realistic queries
#: (not copies of titles): English, Traditional and Simplified Chinese, two-character words, typos.
QUERIES: list[tuple[str, str, str]] = [
    # English
    ("passport", "service", "hksar-passport"),
    ("replace my passport", "service", "hksar-passport"),
    ("senior citizen card", "service", "senior-citizen-card"),
    ("elderly card", "service", "senior-citizen-card"),
    ("hawker licence", "service", "temporary-hawker-licence"),
    ("restaurant license", "service", "restaurant-licence"),
    ("renew driving licence", "service", "driving-licence-renewal"),
    ("car licence renewal", "service", "vehicle-licence-renewal"),
    ("library card", "service", "library-card"),
    ("open a water account", "service", "water-account-opening"),
    ("electronic water bill", "service", "ebilling"),
    ("tax return", "service", "salaries-tax-return"),
    ("register a new business", "service", "business-registration"),
    ("set up a company", "service", "company-incorporation"),
    ("health care voucher", "service", "elderly-health-care-voucher"),
    ("public rental housing", "service", "public-rental-housing"),
    ("copy of birth certificate", "service", "birth-certificate-copy"),
    ("notice of marriage", "service", "marriage-registration-appointment"),
    ("e-channel", "service", "e-channel-enrolment"),
    ("international driving permit", "service", "international-driving-permit"),
    ("vehicle registration mark", "service", "personalized-vehicle-registration-mark"),
    ("chemical waste", "service", "chemical-waste-producer"),
    ("construction waste account", "service", "construction-waste-billing-account"),
    ("fire service certificate", "service", "fire-service-installation-certificate"),
    ("land search", "service", "land-register-search"),
    ("find a job", "service", "interactive-employment-service"),
    ("employment agency licence", "service", "employment-agency-licence"),
    ("change rates payer", "service", "change-of-rates-payer"),
    ("ai computing subsidy", "service", "ai-subsidy-scheme"),
    ("dangerous goods", "service", "dangerous-goods-licence"),
    ("uv index", "dataset", "daily-uv-index"),
    ("hospital beds", "dataset", "hospital-beds"),
    # typos
    ("pasport", "service", "hksar-passport"),
    ("resturant licnce", "service", "restaurant-licence"),
    ("recyling points", "dataset", "community-recycling-points"),
    ("libary card", "service", "library-card"),
    ("senoir citizen card", "service", "senior-citizen-card"),
    ("internatonal driving permit", "service", "international-driving-permit"),
    # Traditional Chinese
    ("護照", "service", "hksar-passport"),
    ("長者咭", "service", "senior-citizen-card"),
    ("申請長者咭", "service", "senior-citizen-card"),
    ("小販牌照", "service", "temporary-hawker-licence"),
    ("續領駕駛執照", "service", "driving-licence-renewal"),
    ("食肆牌照", "service", "restaurant-licence"),
    ("借書證", "service", "library-card"),
    ("電子水費單", "service", "ebilling"),
    ("長者醫療券", "service", "elderly-health-care-voucher"),
    ("公屋輪候時間", "dataset", "public-housing-waiting-time"),
    # Simplified Chinese
    ("护照", "service", "hksar-passport"),
    ("长者咭", "service", "senior-citizen-card"),
    ("驾驶执照续期", "service", "driving-licence-renewal"),
    ("商业登记", "service", "business-registration"),
    ("国际驾驶许可证", "service", "international-driving-permit"),
    # two-character Chinese words
    ("報稅", "service", "salaries-tax-return"),
    ("求職", "service", "interactive-employment-service"),
    ("差餉", "service", "change-of-rates-payer"),
    ("算力", "service", "ai-subsidy-scheme"),
    ("結婚", "service", "marriage-registration-appointment"),
    # form-field help
    ("hkid number example", "field_help", "swd-senior-citizen-card.hkid"),
]
