"""Demo data of the open-data portal (issue 21: "at least 200 datasets in the 19 categories from
at least 15 departments, with real-shaped CSV resources"), loaded through the services
(:func:`.services.publishing.create_dataset`, ``add_resource``, :func:`.services.versions.add_version`,
``submit``, ``approve``) so that every row is one the platform itself would have made, and
each department's departmental data catalogue (:mod:`.services.catalogue`, ~5 entries each).

* **Deterministic:** every value comes from a :class:`random.Random` seeded with
  :data:`SEED` and the dataset's name, and every date from :data:`BASE_DAY`; the same
  bytes each time (so the same SHA-256 version URLs).
* **Idempotent:** a dataset (or catalogue entry) that already exists is left alone: running
  :func:`seed` twice adds nothing.
* **Real-shaped:** each resource is a CSV with a Frictionless Table Schema (types ``string``,
  ``integer``, ``number``, ``date``, ``datetime``, ``boolean``; months as patterned strings), e.g. daily
  weather readings per station, car park vacancies, air quality by station, licensed
  restaurants by district, public housing estates, clinic waiting times. The figures are
  invented; the shapes follow data.gov.hk's.
* Every :data:`VERSIONED_EVERY`-th dataset gets a second, longer version a month later (the
  historical archive shows history); one Transport Department dataset
  (:data:`PENDING_DATASET`) is left submitted, waiting for its Departmental Data Officer.

The datasets are prepared by one data officer and approved by one Departmental Data Officer
per provider, staff users made here (``opendata-seed-<provider>``, ``…-ddo``) with no usable
password: nobody logs in as them. The demo's own logins (``tungban setup --demo``) are made by
:mod:`tungban.setup.demo`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import zoneinfo
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from . import errors
from .constants import Classification, DataType, Disposition, OrganizationKind, Role, UpdateFrequency
from .models import CatalogueEntry, DataOfficer, Dataset, Organization
from .services import catalogue, publishing, taxonomy, versions

SEED = 21
HONG_KONG = zoneinfo.ZoneInfo("Asia/Hong_Kong")
#: The first day of every generated series; versions are captured on it and a month later.
BASE_DAY = dt.date(2026, 9, 1)
FIRST_CAPTURE = dt.datetime(2026, 10, 1, 9, 30, tzinfo=HONG_KONG)
SECOND_CAPTURE = dt.datetime(2026, 11, 1, 9, 30, tzinfo=HONG_KONG)
VERSIONED_EVERY = 4
PENDING_DATASET = "cross-harbour-tunnel-traffic"

# --- providers ---------------------------------------------------------------------------------

GOV, PUBLIC = OrganizationKind.GOVERNMENT, OrganizationKind.PUBLIC_BODY
#: name, English, Chinese, department code (the e-services / exchange code), kind, website.
PROVIDERS = [
    ("hk-td", "Transport Department", "運輸署", "TD", GOV, "https://www.td.gov.hk/"),
    ("hk-hko", "Hong Kong Observatory", "香港天文台", "HKO", GOV, "https://www.hko.gov.hk/"),
    ("hk-epd", "Environmental Protection Department", "環境保護署", "EPD", GOV, "https://www.epd.gov.hk/"),
    ("hk-fehd", "Food and Environmental Hygiene Department", "食物環境衞生署", "FEHD", GOV, "https://www.fehd.gov.hk/"),
    (
        "hk-lcsd",
        "Leisure and Cultural Services Department",
        "康樂及文化事務署",
        "LCSD",
        GOV,
        "https://www.lcsd.gov.hk/",
    ),
    ("hk-hd", "Housing Department", "房屋署", "HD", GOV, "https://www.housingauthority.gov.hk/"),
    ("hk-dh", "Department of Health", "衞生署", "DH", GOV, "https://www.dh.gov.hk/"),
    ("hk-swd", "Social Welfare Department", "社會福利署", "SWD", GOV, "https://www.swd.gov.hk/"),
    ("hk-edb", "Education Bureau", "教育局", "EDB", GOV, "https://www.edb.gov.hk/"),
    ("hk-censtatd", "Census and Statistics Department", "政府統計處", "CENSTATD", GOV, "https://www.censtatd.gov.hk/"),
    ("hk-landsd", "Lands Department", "地政總署", "LANDSD", GOV, "https://www.landsd.gov.hk/"),
    ("hk-pland", "Planning Department", "規劃署", "PLAND", GOV, "https://www.pland.gov.hk/"),
    ("hk-ld", "Labour Department", "勞工處", "LD", GOV, "https://www.labour.gov.hk/"),
    ("hk-ird", "Inland Revenue Department", "稅務局", "IRD", GOV, "https://www.ird.gov.hk/"),
    ("hk-dpo", "Digital Policy Office", "數字政策辦公室", "DPO", GOV, "https://www.digitalpolicy.gov.hk/"),
    ("hk-police", "Hong Kong Police Force", "香港警務處", "POLICE", GOV, "https://www.police.gov.hk/"),
    ("hk-wsd", "Water Supplies Department", "水務署", "WSD", GOV, "https://www.wsd.gov.hk/"),
    ("hk-cr", "Companies Registry", "公司註冊處", "CR", GOV, "https://www.cr.gov.hk/"),
    ("hk-tourism-board", "Hong Kong Tourism Board", "香港旅遊發展局", "", PUBLIC, "https://www.discoverhongkong.com/"),
    ("hospital-authority", "Hospital Authority", "醫院管理局", "", PUBLIC, "https://www.ha.org.hk/"),
]

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
    ("kwai-tsing", "Kwai Tsing", "葵青"),
    ("tsuen-wan", "Tsuen Wan", "荃灣"),
    ("tuen-mun", "Tuen Mun", "屯門"),
    ("yuen-long", "Yuen Long", "元朗"),
    ("north", "North", "北區"),
    ("tai-po", "Tai Po", "大埔"),
    ("sha-tin", "Sha Tin", "沙田"),
    ("sai-kung", "Sai Kung", "西貢"),
    ("islands", "Islands", "離島"),
]
WEATHER_STATIONS = [
    ("hko", "Hong Kong Observatory", "香港天文台"),
    ("kings-park", "King's Park", "京士柏"),
    ("sha-tin", "Sha Tin", "沙田"),
    ("tuen-mun", "Tuen Mun", "屯門"),
    ("ta-kwu-ling", "Ta Kwu Ling", "打鼓嶺"),
    ("cheung-chau", "Cheung Chau", "長洲"),
    ("chek-lap-kok", "Chek Lap Kok", "赤鱲角"),
    ("sai-kung", "Sai Kung", "西貢"),
    ("tai-po", "Tai Po", "大埔"),
    ("wong-chuk-hang", "Wong Chuk Hang", "黃竹坑"),
]
AIR_STATIONS = [
    ("central-western", "Central/Western", "中西區"),
    ("eastern", "Eastern", "東區"),
    ("kwun-tong", "Kwun Tong", "觀塘"),
    ("sham-shui-po", "Sham Shui Po", "深水埗"),
    ("kwai-chung", "Kwai Chung", "葵涌"),
    ("tsuen-wan", "Tsuen Wan", "荃灣"),
    ("tseung-kwan-o", "Tseung Kwan O", "將軍澳"),
    ("yuen-long", "Yuen Long", "元朗"),
    ("tuen-mun", "Tuen Mun", "屯門"),
    ("tung-chung", "Tung Chung", "東涌"),
    ("tai-po", "Tai Po", "大埔"),
    ("sha-tin", "Sha Tin", "沙田"),
    ("tap-mun", "Tap Mun", "塔門"),
    ("causeway-bay", "Causeway Bay", "銅鑼灣"),
    ("central", "Central", "中環"),
    ("mong-kok", "Mong Kok", "旺角"),
    ("north", "North", "北區"),
    ("southern", "Southern", "南區"),
]
YEARS = [(str(y), str(y), f"{y}年") for y in range(2021, 2026)]
VARY = {"district": DISTRICTS, "weather": WEATHER_STATIONS, "air": AIR_STATIONS, "year": YEARS}

# --- columns -----------------------------------------------------------------------------------
# A column: (name, Table Schema type, English title, Chinese title, generator). Generators:
#   ("day", step)       BASE_DAY + i*step days               ("minute", step) timestamps
#   ("month",)          yearmonth from 4 years before BASE_DAY   ("int", lo, hi) ("num", lo, hi, places)
#   ("pick", [..])      random choice                         ("cycle", [..]) i-th of the list
#   ("district",) / ("district_zh",)  the i-th district       ("param",) / ("param_zh",) the variant
#   ("id", "PREFIX")    PREFIX + 5 digits                     ("lat",) ("lon",) in Hong Kong
#   ("bool",)           true / false                          ("named", [en..], [zh..], suffix_en, suffix_zh)

D_EN = [d[1] for d in DISTRICTS]
D_ZH = [d[2] for d in DISTRICTS]


def C(name, type_, en, zh, *gen):  # noqa: N802 — a table of columns reads better short
    return (name, type_, en, zh, gen)


DATE = C("date", "date", "Date", "日期", "day", 1)
MONTH = C("month", "yearmonth", "Month", "月份", "month")
DISTRICT = C("district", "string", "District", "地區", "district")
DISTRICT_ZH = C("district_zh", "string", "District (Chinese)", "地區（中文）", "district_zh")
LAT, LON = C("latitude", "number", "Latitude", "緯度", "lat"), C("longitude", "number", "Longitude", "經度", "lon")
SHOP_EN = ["Wing Kee", "Tai Fat", "Sun Hing", "Kam Fung", "Lok Yuen", "Hoi On", "Fook Lam", "Yat Lok", "Man Kee"]
SHOP_ZH = ["永記", "大發", "新興", "金鳳", "樂園", "海安", "福臨", "一樂", "文記"]
ESTATE_EN = ["Lok Fu", "Choi Hung", "Shek Kip Mei", "Wah Fu", "Oi Man", "Lei Cheng Uk", "Tin Shui", "Kwai Fong"]
ESTATE_ZH = ["樂富", "彩虹", "石硤尾", "華富", "愛民", "李鄭屋", "天瑞", "葵芳"]
SPORT_EN = ["Sports Centre", "Swimming Pool", "Football Pitch", "Tennis Court", "Park", "Playground"]
SPORT_ZH = ["體育館", "游泳池", "足球場", "網球場", "公園", "遊樂場"]
INDUSTRY = ["Construction", "Retail", "Accommodation and food services", "Transport", "Financing", "Education"]
MARKETS = ["Mainland China", "Taiwan", "South Korea", "Japan", "Philippines", "United States", "Thailand"]


@dataclass
class Spec:
    """One dataset (or one per variant of ``vary``: a district, a station, a year)."""

    org: str
    groups: tuple[str, ...]
    name: str  # {v}: the variant's slug
    title_en: str  # {v}: the variant's English name
    title_zh: str
    notes_en: str
    notes_zh: str
    tags: tuple[str, ...]
    columns: list
    rows: int = 24
    vary: str = ""
    frequency: str = UpdateFrequency.DAILY
    resource_en: str = "Data"
    resource_zh: str = "數據"
    high_value: bool = False
    extra: dict = field(default_factory=dict)


def _weather_cols():
    return [
        DATE,
        C("station", "string", "Station", "氣象站", "param"),
        C("mean_temperature_c", "number", "Mean temperature (°C)", "平均氣溫（攝氏度）", "num", 14, 31, 1),
        C("max_temperature_c", "number", "Maximum temperature (°C)", "最高氣溫（攝氏度）", "num", 18, 35, 1),
        C("min_temperature_c", "number", "Minimum temperature (°C)", "最低氣溫（攝氏度）", "num", 10, 27, 1),
        C("relative_humidity_pct", "integer", "Mean relative humidity (%)", "平均相對濕度（百分比）", "int", 45, 98),
        C("rainfall_mm", "number", "Rainfall (mm)", "雨量（毫米）", "num", 0, 85, 1),
    ]


SPECS: list[Spec] = [
    # Climate and weather (Hong Kong Observatory)
    Spec(
        "hk-hko",
        ("climate-and-weather",),
        "daily-weather-{v}",
        "Daily weather readings at {v}",
        "{v}每日天氣資料",
        "Daily mean, maximum and minimum temperature, humidity and rainfall recorded at the station.",
        "氣象站錄得的每日平均、最高及最低氣溫、濕度及雨量。",
        ("weather", "天氣", "temperature", "氣溫"),
        _weather_cols(),
        rows=30,
        vary="weather",
        high_value=True,
    ),
    Spec(
        "hk-hko",
        ("climate-and-weather",),
        "monthly-rainfall-{v}",
        "Monthly rainfall by station, {v}",
        "{v}各氣象站每月雨量",
        "Total rainfall of each month at the principal stations.",
        "主要氣象站每月總雨量。",
        ("rainfall", "雨量"),
        [
            C("month", "string", "Month", "月份", "cycle", [f"{m:02d}" for m in range(1, 13)]),
            C("station", "string", "Station", "氣象站", "cycle", [s[1] for s in WEATHER_STATIONS]),
            C("rainfall_mm", "number", "Rainfall (mm)", "雨量（毫米）", "num", 0, 650, 1),
        ],
        rows=36,
        vary="year",
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-hko",
        ("climate-and-weather",),
        "tropical-cyclone-warning-signals",
        "Tropical cyclone warning signals issued",
        "熱帶氣旋警告信號",
        "Each tropical cyclone warning signal issued: its name, signal and times.",
        "每次發出的熱帶氣旋警告信號：名稱、信號及時間。",
        ("typhoon", "颱風", "warning", "警告"),
        [
            C(
                "cyclone",
                "string",
                "Tropical cyclone",
                "熱帶氣旋",
                "pick",
                ["Saola", "Koinu", "Yagi", "Toraji", "Wipha", "Ragasa"],
            ),
            C("signal", "string", "Signal", "信號", "pick", ["1", "3", "8 NE", "8 SE", "8 NW", "9", "10"]),
            C("issued_at", "datetime", "Issued at", "發出時間", "minute", 4327),
            C("duration_hours", "number", "Duration (hours)", "持續時間（小時）", "num", 2, 40, 1),
        ],
        rows=18,
        frequency=UpdateFrequency.IRREGULAR,
    ),
    Spec(
        "hk-hko",
        ("climate-and-weather", "health"),
        "daily-uv-index",
        "Daily maximum UV index",
        "每日最高紫外線指數",
        "The day's maximum UV index at King's Park.",
        "京士柏錄得的每日最高紫外線指數。",
        ("uv", "紫外線"),
        [DATE, C("max_uv_index", "number", "Maximum UV index", "最高紫外線指數", "num", 1, 13, 1)],
        rows=30,
    ),
    Spec(
        "hk-hko",
        ("climate-and-weather",),
        "lightning-counts",
        "Lightning counts by region",
        "各區閃電次數",
        "Cloud-to-ground lightning strokes detected per region and hour.",
        "每小時各區偵測到的雲對地閃電次數。",
        ("lightning", "閃電"),
        [
            C("hour", "datetime", "Hour", "時間", "minute", 60),
            C(
                "region",
                "string",
                "Region",
                "區域",
                "cycle",
                ["Hong Kong Island", "Kowloon", "New Territories", "Lantau"],
            ),
            C("strokes", "integer", "Strokes", "閃電次數", "int", 0, 420),
        ],
        rows=48,
        frequency=UpdateFrequency.HOURLY,
    ),
    Spec(
        "hk-hko",
        ("climate-and-weather", "environment"),
        "sea-surface-temperature",
        "Sea surface temperature",
        "海面溫度",
        "Daily sea surface temperature at North Point.",
        "北角每日海面溫度。",
        ("sea", "海水", "temperature"),
        [DATE, C("temperature_c", "number", "Temperature (°C)", "溫度（攝氏度）", "num", 17, 30, 1)],
        rows=30,
    ),
    # Environment (EPD)
    Spec(
        "hk-epd",
        ("environment", "health"),
        "air-quality-{v}",
        "Air quality readings at {v} station",
        "{v}監測站空氣質素數據",
        "Hourly concentrations of pollutants and the Air Quality Health Index at the station.",
        "監測站每小時的污染物濃度及空氣質素健康指數。",
        ("air quality", "空氣質素", "AQHI", "空氣污染"),
        [
            C("hour", "datetime", "Hour", "時間", "minute", 60),
            C("station", "string", "Station", "監測站", "param"),
            C("no2_ugm3", "integer", "NO₂ (µg/m³)", "二氧化氮（微克/立方米）", "int", 8, 140),
            C("o3_ugm3", "integer", "O₃ (µg/m³)", "臭氧（微克/立方米）", "int", 2, 160),
            C("pm25_ugm3", "integer", "PM2.5 (µg/m³)", "微細懸浮粒子（微克/立方米）", "int", 3, 75),
            C("pm10_ugm3", "integer", "PM10 (µg/m³)", "可吸入懸浮粒子（微克/立方米）", "int", 5, 110),
            C("aqhi", "integer", "AQHI", "空氣質素健康指數", "int", 1, 10),
        ],
        rows=48,
        vary="air",
        frequency=UpdateFrequency.HOURLY,
        high_value=True,
    ),
    Spec(
        "hk-epd",
        ("environment",),
        "municipal-solid-waste",
        "Municipal solid waste disposed of",
        "都市固體廢物棄置量",
        "Tonnes of municipal solid waste disposed of at landfills each month.",
        "每月在堆填區棄置的都市固體廢物公噸數。",
        ("waste", "廢物", "recycling", "回收"),
        [
            MONTH,
            C("domestic_tonnes", "integer", "Domestic (tonnes)", "家居（公噸）", "int", 140000, 190000),
            C("commercial_tonnes", "integer", "Commercial (tonnes)", "工商業（公噸）", "int", 60000, 90000),
        ],
        rows=24,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-epd",
        ("environment", "recreation-and-culture"),
        "beach-water-quality",
        "Beach water quality grades",
        "泳灘水質級別",
        "Weekly E. coli counts and grades of gazetted beaches.",
        "憲報公布泳灘每周的大腸桿菌數目及級別。",
        ("beach", "泳灘", "water quality", "水質"),
        [
            DATE,
            C(
                "beach",
                "string",
                "Beach",
                "泳灘",
                "pick",
                ["Repulse Bay", "Stanley Main", "Big Wave Bay", "Clear Water Bay 2nd", "Silverstrand", "Golden"],
            ),
            C("e_coli_per_100ml", "integer", "E. coli per 100 mL", "每100毫升大腸桿菌數目", "int", 1, 600),
            C("grade", "integer", "Grade (1 good – 4 very poor)", "級別（1良好至4極差）", "int", 1, 4),
        ],
        rows=30,
        frequency=UpdateFrequency.WEEKLY,
    ),
    Spec(
        "hk-epd",
        ("environment", "city-management"),
        "noise-complaints",
        "Noise complaints by district",
        "各區噪音投訴",
        "Noise complaints received each month by district and source.",
        "每月按地區及來源劃分的噪音投訴。",
        ("noise", "噪音"),
        [
            MONTH,
            DISTRICT,
            C("source", "string", "Source", "來源", "pick", ["Construction", "Traffic", "Commercial", "Industrial"]),
            C("complaints", "integer", "Complaints", "投訴數目", "int", 5, 180),
        ],
        rows=36,
        frequency=UpdateFrequency.MONTHLY,
    ),
    # Transport (TD)
    Spec(
        "hk-td",
        ("transport",),
        "car-park-vacancies-{v}",
        "Car park vacancies in {v} District",
        "{v}區停車場空位",
        "Vacant parking spaces of the car parks in the district, every 15 minutes.",
        "區內停車場每15分鐘的空置車位數目。",
        ("car park", "停車場", "parking", "泊車"),
        [
            C("time", "datetime", "Time", "時間", "minute", 15),
            C("car_park", "string", "Car park", "停車場", "named", SHOP_EN, SHOP_ZH, " Car Park", "停車場"),
            C("district", "string", "District", "地區", "param"),
            C("vacancy_private_car", "integer", "Private car vacancies", "私家車空位", "int", 0, 420),
            C("vacancy_motorcycle", "integer", "Motorcycle vacancies", "電單車空位", "int", 0, 60),
            LAT,
            LON,
        ],
        rows=40,
        vary="district",
        frequency=UpdateFrequency.EVERY_MINUTE,
        high_value=True,
    ),
    Spec(
        "hk-td",
        ("transport",),
        "traffic-speed-map",
        "Average traffic speed of major roads",
        "主要道路平均行車速度",
        "Average speed of each road segment, every 5 minutes.",
        "每5分鐘各路段的平均行車速度。",
        ("traffic", "交通", "speed"),
        [
            C("time", "datetime", "Time", "時間", "minute", 5),
            C("segment", "string", "Segment", "路段", "id", "SEG"),
            C("speed_kmh", "integer", "Speed (km/h)", "速度（公里/小時）", "int", 8, 95),
            C("saturation", "string", "Road saturation", "道路飽和程度", "pick", ["good", "average", "bad"]),
        ],
        rows=60,
        frequency=UpdateFrequency.EVERY_MINUTE,
    ),
    Spec(
        "hk-td",
        ("transport",),
        "licensed-vehicles",
        "Licensed vehicles by type",
        "按類別劃分的領牌車輛",
        "Number of licensed vehicles at the end of each month, by type.",
        "每月底按類別劃分的領牌車輛數目。",
        ("vehicles", "車輛", "licence"),
        [
            MONTH,
            C(
                "vehicle_type",
                "string",
                "Vehicle type",
                "車輛類別",
                "cycle",
                ["Private car", "Taxi", "Public light bus", "Goods vehicle", "Motorcycle"],
            ),
            C("vehicles", "integer", "Vehicles", "車輛數目", "int", 4000, 650000),
        ],
        rows=30,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-td",
        ("transport", "law-and-security"),
        "road-traffic-accidents-{v}",
        "Road traffic accidents, {v}",
        "{v}道路交通意外",
        "Road traffic accidents by district and severity.",
        "按地區及嚴重程度劃分的道路交通意外。",
        ("accident", "交通意外", "road safety", "道路安全"),
        [
            DISTRICT,
            DISTRICT_ZH,
            C("fatal", "integer", "Fatal", "致命", "int", 0, 12),
            C("serious", "integer", "Serious", "嚴重", "int", 10, 180),
            C("slight", "integer", "Slight", "輕微", "int", 150, 1100),
        ],
        rows=18,
        vary="year",
        frequency=UpdateFrequency.ANNUAL,
    ),
    # Food (FEHD)
    Spec(
        "hk-fehd",
        ("food",),
        "licensed-restaurants-{v}",
        "Licensed restaurants in {v} District",
        "{v}區持牌食肆",
        "Restaurants licensed by the department in the district: name, address and licence type.",
        "區內獲本署發牌的食肆：名稱、地址及牌照類別。",
        ("restaurant", "食肆", "licence", "牌照"),
        [
            C("licence_number", "string", "Licence number", "牌照號碼", "id", "2-"),
            C("name_en", "string", "Name", "名稱", "named", SHOP_EN, SHOP_ZH, " Restaurant", "酒家"),
            C("district", "string", "District", "地區", "param"),
            C(
                "licence_type",
                "string",
                "Licence type",
                "牌照類別",
                "pick",
                ["General Restaurant", "Light Refreshment Restaurant", "Food Factory"],
            ),
            C("expiry_date", "date", "Licence expiry", "牌照屆滿日期", "day", 11),
            LAT,
            LON,
        ],
        rows=30,
        vary="district",
        frequency=UpdateFrequency.WEEKLY,
    ),
    Spec(
        "hk-fehd",
        ("food", "commerce-and-industry"),
        "public-market-stall-vacancies",
        "Vacant stalls of public markets",
        "公眾街市空置攤位",
        "Vacant stalls in each public market, by trade.",
        "各公眾街市按行業劃分的空置攤位。",
        ("market", "街市"),
        [
            C("market", "string", "Market", "街市", "named", SHOP_EN, SHOP_ZH, " Market", "街市"),
            DISTRICT,
            C(
                "trade",
                "string",
                "Trade",
                "行業",
                "pick",
                ["Fresh fish", "Vegetables", "Meat", "Dry goods", "Cooked food"],
            ),
            C("vacant_stalls", "integer", "Vacant stalls", "空置攤位", "int", 0, 25),
        ],
        rows=36,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-fehd",
        ("food", "health"),
        "food-poisoning-outbreaks",
        "Food poisoning outbreaks",
        "食物中毒個案",
        "Food poisoning outbreaks referred to the Centre for Food Safety each month.",
        "每月轉介食物安全中心的食物中毒個案。",
        ("food safety", "食物安全"),
        [
            MONTH,
            C("outbreaks", "integer", "Outbreaks", "個案", "int", 2, 40),
            C("persons_affected", "integer", "Persons affected", "受影響人數", "int", 5, 160),
        ],
        rows=24,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-fehd",
        ("city-management",),
        "public-toilets",
        "Public toilets",
        "公廁",
        "Location and facilities of public toilets.",
        "公廁的位置及設施。",
        ("toilet", "公廁"),
        [
            C("toilet_id", "string", "Toilet", "公廁編號", "id", "PT"),
            DISTRICT,
            C("accessible", "boolean", "Accessible toilet", "暢通易達洗手間", "bool"),
            C("baby_care_room", "boolean", "Baby care room", "育嬰室", "bool"),
            LAT,
            LON,
        ],
        rows=40,
        frequency=UpdateFrequency.IRREGULAR,
    ),
    # Recreation and culture (LCSD)
    Spec(
        "hk-lcsd",
        ("recreation-and-culture",),
        "sports-facilities-{v}",
        "Sports and recreation facilities in {v} District",
        "{v}區康體設施",
        "Sports centres, pools, pitches, courts, parks and playgrounds of the district with opening hours.",
        "區內的體育館、游泳池、球場、公園及遊樂場及其開放時間。",
        ("sports", "體育", "park", "公園"),
        [
            C("facility", "string", "Facility", "設施", "named", ESTATE_EN, ESTATE_ZH, " Sports Centre", "體育館"),
            C("type", "string", "Type", "類別", "pick", SPORT_EN),
            C("district", "string", "District", "地區", "param"),
            C(
                "opening_hours",
                "string",
                "Opening hours",
                "開放時間",
                "pick",
                ["07:00-23:00", "06:30-22:00", "24 hours"],
            ),
            LAT,
            LON,
        ],
        rows=24,
        vary="district",
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-lcsd",
        ("recreation-and-culture", "education"),
        "public-library-loans",
        "Public library loans",
        "公共圖書館借閱量",
        "Items lent each month by the Hong Kong Public Libraries.",
        "香港公共圖書館每月借出的資料數目。",
        ("library", "圖書館"),
        [
            MONTH,
            C("books", "integer", "Books", "書籍", "int", 1500000, 2400000),
            C("multimedia", "integer", "Multimedia", "多媒體資料", "int", 90000, 220000),
        ],
        rows=24,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-lcsd",
        ("recreation-and-culture", "tourism"),
        "museum-attendance",
        "Museum attendance",
        "博物館入場人次",
        "Monthly attendance of the public museums.",
        "公共博物館每月入場人次。",
        ("museum", "博物館"),
        [
            MONTH,
            C(
                "museum",
                "string",
                "Museum",
                "博物館",
                "cycle",
                [
                    "Hong Kong Museum of Art",
                    "Hong Kong Science Museum",
                    "Hong Kong Museum of History",
                    "Hong Kong Space Museum",
                ],
            ),
            C("attendance", "integer", "Attendance", "入場人次", "int", 20000, 160000),
        ],
        rows=32,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-lcsd",
        ("recreation-and-culture",),
        "swimming-pool-attendance",
        "Public swimming pool attendance",
        "公眾泳池入場人次",
        "Daily attendance of public swimming pools.",
        "公眾泳池每日入場人次。",
        ("swimming", "游泳"),
        [
            DATE,
            C("pool", "string", "Pool", "泳池", "named", ESTATE_EN, ESTATE_ZH, " Swimming Pool", "游泳池"),
            C("attendance", "integer", "Attendance", "入場人次", "int", 150, 4200),
        ],
        rows=30,
    ),
    # Housing (HD)
    Spec(
        "hk-hd",
        ("housing",),
        "public-housing-estates-{v}",
        "Public rental housing estates in {v} District",
        "{v}區公共租住房屋屋邨",
        "Estates in the district: blocks, flats, year of intake and average rent.",
        "區內屋邨：座數、單位數目、入伙年份及平均租金。",
        ("public housing", "公屋", "estate", "屋邨"),
        [
            C("estate", "string", "Estate", "屋邨", "named", ESTATE_EN, ESTATE_ZH, " Estate", "邨"),
            C("district", "string", "District", "地區", "param"),
            C("blocks", "integer", "Blocks", "座數", "int", 1, 24),
            C("flats", "integer", "Flats", "單位數目", "int", 400, 9000),
            C("intake_year", "integer", "Year of intake", "入伙年份", "int", 1960, 2025),
            C("average_rent_hkd", "number", "Average monthly rent (HK$)", "平均月租（港元）", "num", 900, 4500, 0),
        ],
        rows=12,
        vary="district",
        frequency=UpdateFrequency.ANNUAL,
        high_value=True,
    ),
    Spec(
        "hk-hd",
        ("housing", "social-welfare"),
        "public-housing-waiting-time",
        "Average waiting time for public rental housing",
        "公屋平均輪候時間",
        "Average waiting time of general applicants at the end of each quarter.",
        "每季末一般申請者的平均輪候時間。",
        ("waiting time", "輪候時間", "public housing"),
        [
            MONTH,
            C("general_applicants", "integer", "General applicants", "一般申請者", "int", 120000, 140000),
            C("average_wait_years", "number", "Average wait (years)", "平均輪候時間（年）", "num", 4.5, 6.5, 1),
        ],
        rows=12,
        frequency=UpdateFrequency.QUARTERLY,
    ),
    Spec(
        "hk-hd",
        ("housing", "development"),
        "public-housing-production",
        "Public housing production forecast",
        "公營房屋建屋量預測",
        "Flats expected to be completed, by year and district.",
        "按年份及地區劃分的預計落成單位。",
        ("housing supply", "房屋供應"),
        [
            C("year", "integer", "Year", "年份", "int", 2026, 2031),
            DISTRICT,
            C("flats", "integer", "Flats", "單位", "int", 300, 6000),
        ],
        rows=24,
        frequency=UpdateFrequency.ANNUAL,
    ),
    # Health (DH, Hospital Authority)
    Spec(
        "hospital-authority",
        ("health",),
        "accident-and-emergency-waiting-time",
        "Accident and emergency waiting time",
        "急症室等候時間",
        "Waiting time of non-urgent patients at each hospital's accident and emergency department, every 15 minutes.",
        "各醫院急症室次緊急及非緊急病人每15分鐘更新的等候時間。",
        ("hospital", "醫院", "waiting time", "等候時間", "急症室"),
        [
            C("time", "datetime", "Time", "時間", "minute", 15),
            C(
                "hospital",
                "string",
                "Hospital",
                "醫院",
                "cycle",
                [
                    "Queen Mary Hospital",
                    "Queen Elizabeth Hospital",
                    "Prince of Wales Hospital",
                    "Tuen Mun Hospital",
                    "United Christian Hospital",
                ],
            ),
            C("wait_minutes", "integer", "Waiting time (minutes)", "等候時間（分鐘）", "int", 30, 480),
        ],
        rows=40,
        frequency=UpdateFrequency.EVERY_MINUTE,
        high_value=True,
    ),
    Spec(
        "hospital-authority",
        ("health",),
        "general-outpatient-clinic-quota",
        "General outpatient clinic waiting times and quota",
        "普通科門診等候時間及名額",
        "Daily consultation quota and median waiting time of general outpatient clinics.",
        "普通科門診每日診症名額及等候時間中位數。",
        ("clinic", "診所", "門診"),
        [
            DATE,
            C(
                "clinic",
                "string",
                "Clinic",
                "診所",
                "named",
                ESTATE_EN,
                ESTATE_ZH,
                " General Out-patient Clinic",
                "普通科門診診所",
            ),
            DISTRICT,
            C("quota", "integer", "Quota", "名額", "int", 80, 400),
            C("median_wait_minutes", "integer", "Median wait (minutes)", "等候時間中位數（分鐘）", "int", 10, 95),
        ],
        rows=36,
    ),
    Spec(
        "hospital-authority",
        ("health",),
        "hospital-beds",
        "Hospital beds by cluster",
        "各聯網病床數目",
        "Hospital beds by cluster and type at the end of each year.",
        "每年底按聯網及類別劃分的病床數目。",
        ("hospital beds", "病床"),
        [
            C(
                "cluster",
                "string",
                "Cluster",
                "聯網",
                "cycle",
                [
                    "Hong Kong East",
                    "Hong Kong West",
                    "Kowloon Central",
                    "Kowloon East",
                    "Kowloon West",
                    "New Territories East",
                    "New Territories West",
                ],
            ),
            C(
                "type",
                "string",
                "Type",
                "類別",
                "pick",
                ["General", "Infirmary", "Mentally ill", "Mentally handicapped"],
            ),
            C("beds", "integer", "Beds", "病床", "int", 200, 6000),
        ],
        rows=21,
        frequency=UpdateFrequency.ANNUAL,
    ),
    Spec(
        "hk-dh",
        ("health",),
        "notifiable-infectious-diseases",
        "Notifiable infectious diseases",
        "須呈報傳染病",
        "Weekly notifications of statutory notifiable infectious diseases.",
        "每周須呈報傳染病的呈報數目。",
        ("infectious disease", "傳染病"),
        [
            DATE,
            C(
                "disease",
                "string",
                "Disease",
                "疾病",
                "cycle",
                ["Chickenpox", "Scarlet fever", "Tuberculosis", "Dengue fever", "Influenza A(H1)"],
            ),
            C("notifications", "integer", "Notifications", "呈報數目", "int", 0, 320),
        ],
        rows=35,
        frequency=UpdateFrequency.WEEKLY,
    ),
    Spec(
        "hk-dh",
        ("health", "social-welfare"),
        "elderly-health-centres",
        "Elderly health centres",
        "長者健康中心",
        "Elderly health centres: address, district and members.",
        "長者健康中心：地址、地區及會員人數。",
        ("elderly", "長者"),
        [
            C(
                "centre",
                "string",
                "Centre",
                "中心",
                "named",
                ESTATE_EN,
                ESTATE_ZH,
                " Elderly Health Centre",
                "長者健康中心",
            ),
            DISTRICT,
            C("members", "integer", "Members", "會員人數", "int", 2000, 3400),
            LAT,
            LON,
        ],
        rows=18,
        frequency=UpdateFrequency.ANNUAL,
    ),
    Spec(
        "hk-dh",
        ("health",),
        "vaccination-programme",
        "Vaccination programme doses",
        "疫苗接種計劃劑數",
        "Doses given under the Government Vaccination Programme each month.",
        "每月政府防疫注射計劃的接種劑數。",
        ("vaccination", "疫苗", "接種"),
        [
            MONTH,
            C("vaccine", "string", "Vaccine", "疫苗", "cycle", ["Seasonal influenza", "Pneumococcal", "COVID-19"]),
            C("doses", "integer", "Doses", "劑數", "int", 1000, 240000),
        ],
        rows=30,
        frequency=UpdateFrequency.MONTHLY,
    ),
    # Social welfare (SWD)
    Spec(
        "hk-swd",
        ("social-welfare",),
        "residential-care-homes-elderly",
        "Residential care homes for the elderly",
        "安老院舍",
        "Licensed residential care homes for the elderly: district, type and places.",
        "持牌安老院舍：地區、類別及宿位。",
        ("elderly", "安老院", "長者"),
        [
            C("home", "string", "Home", "院舍", "named", SHOP_EN, SHOP_ZH, " Care Home", "護老院"),
            DISTRICT,
            C("type", "string", "Type", "類別", "pick", ["Subvented", "Contract", "Private", "Self-financing"]),
            C("places", "integer", "Places", "宿位", "int", 40, 320),
        ],
        rows=36,
        frequency=UpdateFrequency.QUARTERLY,
    ),
    Spec(
        "hk-swd",
        ("social-welfare", "finance"),
        "social-security-recipients",
        "Social security recipients",
        "社會保障受助人",
        "Recipients of Comprehensive Social Security Assistance and the Social Security Allowance each month.",
        "每月綜合社會保障援助及公共福利金受助人數目。",
        ("CSSA", "綜援", "social security"),
        [
            MONTH,
            C(
                "scheme",
                "string",
                "Scheme",
                "計劃",
                "cycle",
                ["CSSA", "Old Age Allowance", "Old Age Living Allowance", "Disability Allowance"],
            ),
            C("recipients", "integer", "Recipients", "受助人", "int", 100000, 620000),
        ],
        rows=32,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-swd",
        ("social-welfare", "education"),
        "child-care-centres",
        "Child care centres",
        "幼兒中心",
        "Child care centres and their places.",
        "幼兒中心及其名額。",
        ("child care", "幼兒"),
        [
            C("centre", "string", "Centre", "中心", "named", SHOP_EN, SHOP_ZH, " Child Care Centre", "幼兒中心"),
            DISTRICT,
            C("places", "integer", "Places", "名額", "int", 14, 120),
        ],
        rows=30,
        frequency=UpdateFrequency.QUARTERLY,
    ),
    # Education (EDB)
    Spec(
        "hk-edb",
        ("education",),
        "school-list-{v}",
        "Schools in {v} District",
        "{v}區學校名單",
        "Kindergartens, primary and secondary schools of the district: finance type, session, gender.",
        "區內幼稚園、小學及中學：資助類別、授課時間及學生性別。",
        ("school", "學校", "教育"),
        [
            C("school_no", "string", "School number", "學校編號", "id", "S"),
            C("school", "string", "School", "學校", "named", ESTATE_EN, ESTATE_ZH, " School", "學校"),
            C("district", "string", "District", "地區", "param"),
            C("level", "string", "Level", "類別", "pick", ["Kindergarten", "Primary", "Secondary"]),
            C(
                "finance_type",
                "string",
                "Finance type",
                "資助類別",
                "pick",
                ["Aided", "Government", "Direct Subsidy Scheme", "Private"],
            ),
            C("session", "string", "Session", "授課時間", "pick", ["Whole day", "AM", "PM"]),
        ],
        rows=20,
        vary="district",
        frequency=UpdateFrequency.ANNUAL,
    ),
    Spec(
        "hk-edb",
        ("education", "population"),
        "student-enrolment",
        "Student enrolment by level",
        "按教育程度劃分的學生人數",
        "Students enrolled by level of education and year.",
        "按教育程度及年份劃分的學生人數。",
        ("students", "學生"),
        [
            C("year", "integer", "School year starting", "學年開始", "int", 2015, 2025),
            C("level", "string", "Level", "程度", "cycle", ["Kindergarten", "Primary", "Secondary"]),
            C("students", "integer", "Students", "學生人數", "int", 150000, 380000),
        ],
        rows=30,
        frequency=UpdateFrequency.ANNUAL,
    ),
    Spec(
        "hk-edb",
        ("education", "finance"),
        "kindergarten-fees",
        "Kindergarten school fees",
        "幼稚園學費",
        "Annual school fees of kindergartens joining the Kindergarten Education Scheme.",
        "參加幼稚園教育計劃的幼稚園每年學費。",
        ("kindergarten", "幼稚園", "學費"),
        [
            C("kindergarten", "string", "Kindergarten", "幼稚園", "named", SHOP_EN, SHOP_ZH, " Kindergarten", "幼稚園"),
            DISTRICT,
            C("annual_fee_hkd", "integer", "Annual fee (HK$)", "每年學費（港元）", "int", 0, 38000),
        ],
        rows=36,
        frequency=UpdateFrequency.ANNUAL,
    ),
    # Population, finance, commerce (C&SD)
    Spec(
        "hk-censtatd",
        ("population",),
        "population-by-district-{v}",
        "Population by District Council district, {v}",
        "{v}按區議會分區劃分的人口",
        "Mid-year population by district, sex and age group.",
        "按區議會分區、性別及年齡組別劃分的年中人口。",
        ("population", "人口", "census"),
        [
            DISTRICT,
            DISTRICT_ZH,
            C("male", "integer", "Male", "男", "int", 60000, 320000),
            C("female", "integer", "Female", "女", "int", 60000, 340000),
            C("aged_65_plus", "integer", "Aged 65 and over", "65歲及以上", "int", 15000, 140000),
        ],
        rows=18,
        vary="year",
        frequency=UpdateFrequency.ANNUAL,
        high_value=True,
    ),
    Spec(
        "hk-censtatd",
        ("finance",),
        "consumer-price-index",
        "Consumer Price Indices",
        "消費物價指數",
        "Composite and A, B, C Consumer Price Indices (October 2019 – September 2020 = 100).",
        "綜合及甲類、乙類、丙類消費物價指數（2019年10月至2020年9月=100）。",
        ("CPI", "物價", "inflation", "通脹"),
        [
            MONTH,
            C("composite_cpi", "number", "Composite CPI", "綜合消費物價指數", "num", 100, 110, 1),
            C("cpi_a", "number", "CPI(A)", "甲類消費物價指數", "num", 100, 111, 1),
        ],
        rows=24,
        frequency=UpdateFrequency.MONTHLY,
        high_value=True,
    ),
    Spec(
        "hk-censtatd",
        ("commerce-and-industry",),
        "retail-sales",
        "Value of total retail sales",
        "零售業總銷貨價值",
        "Monthly value of total retail sales (HK$ million), by type of outlet.",
        "按零售商類別劃分的每月零售業總銷貨價值（百萬港元）。",
        ("retail", "零售"),
        [
            MONTH,
            C(
                "outlet",
                "string",
                "Type of outlet",
                "零售商類別",
                "cycle",
                ["Food", "Supermarkets", "Jewellery", "Clothing", "Electrical goods"],
            ),
            C("value_hkd_million", "integer", "Value (HK$ million)", "價值（百萬港元）", "int", 1500, 9000),
        ],
        rows=30,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-censtatd",
        ("employment-and-labour",),
        "labour-force",
        "Labour force and unemployment rate",
        "勞動人口及失業率",
        "Seasonally adjusted unemployment rate and labour force, three-month moving average.",
        "經季節性調整的失業率及勞動人口（三個月移動平均）。",
        ("unemployment", "失業率", "labour"),
        [
            MONTH,
            C("labour_force", "integer", "Labour force", "勞動人口", "int", 3700000, 3900000),
            C("unemployment_rate_pct", "number", "Unemployment rate (%)", "失業率（百分比）", "num", 2.5, 4.5, 1),
        ],
        rows=24,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-censtatd",
        ("commerce-and-industry", "finance"),
        "external-merchandise-trade",
        "External merchandise trade",
        "對外商品貿易",
        "Value of imports, domestic exports and re-exports each month (HK$ million).",
        "每月進口、港產品出口及轉口貨值（百萬港元）。",
        ("trade", "貿易"),
        [
            MONTH,
            C("imports", "integer", "Imports", "進口", "int", 350000, 480000),
            C("total_exports", "integer", "Total exports", "整體出口", "int", 330000, 460000),
        ],
        rows=24,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-censtatd",
        ("miscellaneous",),
        "statistical-release-calendar",
        "Advance release calendar of statistics",
        "統計數字發布時間表",
        "Dates of the coming releases of official statistics.",
        "官方統計數字即將發布的日期。",
        ("calendar", "發布"),
        [
            C("release_date", "date", "Release date", "發布日期", "day", 3),
            C(
                "release",
                "string",
                "Release",
                "發布項目",
                "pick",
                ["CPI", "Retail sales", "Labour force", "External trade", "GDP"],
            ),
        ],
        rows=20,
        frequency=UpdateFrequency.MONTHLY,
    ),
    # Development (LandsD, PlanD)
    Spec(
        "hk-landsd",
        ("development",),
        "land-sale-records",
        "Land sale records",
        "賣地紀錄",
        "Government land sold by tender: lot, district, area, use and premium.",
        "以招標方式出售的政府土地：地段、地區、面積、用途及地價。",
        ("land sale", "賣地", "土地"),
        [
            C("lot", "string", "Lot", "地段", "id", "TPTL "),
            DISTRICT,
            C("site_area_m2", "integer", "Site area (m²)", "地盤面積（平方米）", "int", 800, 42000),
            C("use", "string", "Use", "用途", "pick", ["Residential", "Commercial", "Industrial"]),
            C("premium_hkd_million", "integer", "Premium (HK$ million)", "地價（百萬港元）", "int", 150, 12000),
        ],
        rows=20,
        frequency=UpdateFrequency.IRREGULAR,
    ),
    Spec(
        "hk-landsd",
        ("development", "miscellaneous"),
        "geographic-names",
        "Geographic place names",
        "地方名稱",
        "Place names in English and Chinese with their coordinates.",
        "地方的中英文名稱及其坐標。",
        ("place names", "地名", "map", "地圖"),
        [
            C("name_en", "string", "Name in English", "英文名稱", "named", ESTATE_EN, ESTATE_ZH, "", ""),
            DISTRICT,
            LAT,
            LON,
        ],
        rows=40,
        frequency=UpdateFrequency.QUARTERLY,
    ),
    Spec(
        "hk-landsd",
        ("development", "city-management"),
        "slope-maintenance",
        "Slopes maintained by the department",
        "本署維修的斜坡",
        "Registered slopes maintained by the department: feature number, district and inspection date.",
        "本署負責維修的已登記斜坡：特徵編號、地區及檢查日期。",
        ("slope", "斜坡"),
        [
            C("feature_no", "string", "Feature number", "特徵編號", "id", "11NW-A/C"),
            DISTRICT,
            C("last_inspection", "date", "Last inspection", "上次檢查", "day", 5),
        ],
        rows=30,
        frequency=UpdateFrequency.ANNUAL,
    ),
    Spec(
        "hk-pland",
        ("development",),
        "land-utilization",
        "Land utilization in Hong Kong",
        "香港土地用途",
        "Area of each broad land use (km²).",
        "各類土地用途的面積（平方公里）。",
        ("land use", "土地用途", "planning", "規劃"),
        [
            C(
                "use",
                "string",
                "Land use",
                "土地用途",
                "cycle",
                [
                    "Residential",
                    "Commercial",
                    "Industrial",
                    "Institutional",
                    "Open space",
                    "Transport",
                    "Woodland",
                    "Grassland",
                ],
            ),
            C("area_km2", "number", "Area (km²)", "面積（平方公里）", "num", 2, 280, 1),
        ],
        rows=8,
        frequency=UpdateFrequency.ANNUAL,
    ),
    Spec(
        "hk-pland",
        ("development",),
        "planning-applications",
        "Planning applications",
        "規劃申請",
        "Applications to the Town Planning Board: number, district, proposed use and decision.",
        "向城市規劃委員會提出的申請：編號、地區、擬議用途及決定。",
        ("town planning", "城市規劃"),
        [
            C("application_no", "string", "Application", "申請編號", "id", "A/YL/"),
            DISTRICT,
            C(
                "proposed_use",
                "string",
                "Proposed use",
                "擬議用途",
                "pick",
                ["Shop and services", "House", "Temporary open storage", "Flat"],
            ),
            C("decision", "string", "Decision", "決定", "pick", ["Approved", "Rejected", "Deferred"]),
            C("decided_on", "date", "Decided on", "決定日期", "day", 2),
        ],
        rows=30,
        frequency=UpdateFrequency.WEEKLY,
    ),
    Spec(
        "hk-pland",
        ("development", "population"),
        "population-projections-tpu",
        "Projected population by planning unit",
        "按規劃單位劃分的推算人口",
        "Projected population of each tertiary planning unit group.",
        "各小規劃統計區組的推算人口。",
        ("projection", "推算"),
        [
            C("tpu_group", "string", "Planning unit group", "小規劃統計區組", "id", "TPU"),
            C("year", "integer", "Year", "年份", "int", 2026, 2034),
            C("population", "integer", "Population", "人口", "int", 5000, 180000),
        ],
        rows=30,
        frequency=UpdateFrequency.ANNUAL,
    ),
    # Employment and labour (LD)
    Spec(
        "hk-ld",
        ("employment-and-labour",),
        "job-vacancies-interactive-employment",
        "Job vacancies by industry",
        "按行業劃分的職位空缺",
        "Private-sector vacancies received by the Interactive Employment Service each month.",
        "互動就業服務每月接獲的私營機構職位空缺。",
        ("jobs", "職位空缺", "就業"),
        [
            MONTH,
            C("industry", "string", "Industry", "行業", "cycle", INDUSTRY),
            C("vacancies", "integer", "Vacancies", "空缺", "int", 800, 24000),
        ],
        rows=36,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-ld",
        ("employment-and-labour", "health"),
        "occupational-injuries-{v}",
        "Occupational injuries, {v}",
        "{v}職業傷亡",
        "Occupational injuries by industry and severity.",
        "按行業及嚴重程度劃分的職業傷亡。",
        ("safety", "職安", "injuries", "工傷"),
        [
            C("industry", "string", "Industry", "行業", "cycle", INDUSTRY),
            C("fatal", "integer", "Fatal", "死亡", "int", 0, 25),
            C("non_fatal", "integer", "Non-fatal", "非死亡", "int", 300, 9000),
        ],
        rows=6,
        vary="year",
        frequency=UpdateFrequency.ANNUAL,
    ),
    Spec(
        "hk-ld",
        ("employment-and-labour",),
        "job-centres",
        "Job centres",
        "就業中心",
        "Job centres and industry-based recruitment centres with opening hours.",
        "就業中心及行業性招聘中心及其開放時間。",
        ("job centre", "就業中心"),
        [
            C("centre", "string", "Centre", "中心", "named", ESTATE_EN, ESTATE_ZH, " Job Centre", "就業中心"),
            DISTRICT,
            C("opening_hours", "string", "Opening hours", "開放時間", "pick", ["09:00-17:00", "08:45-17:30"]),
            LAT,
            LON,
        ],
        rows=13,
        frequency=UpdateFrequency.IRREGULAR,
    ),
    # Finance (IRD), commerce (CR)
    Spec(
        "hk-ird",
        ("finance",),
        "stamp-duty-statistics",
        "Stamp duty statistics",
        "印花稅統計數字",
        "Monthly stamp duty collected on property and share transactions (HK$ million).",
        "每月就物業及股票交易徵收的印花稅（百萬港元）。",
        ("stamp duty", "印花稅", "tax", "稅"),
        [
            MONTH,
            C("property_hkd_million", "integer", "Property (HK$ million)", "物業（百萬港元）", "int", 600, 2600),
            C("shares_hkd_million", "integer", "Shares (HK$ million)", "股票（百萬港元）", "int", 3000, 12000),
        ],
        rows=24,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-ird",
        ("finance",),
        "salaries-tax-by-income",
        "Salaries tax by assessable income",
        "按應評稅入息劃分的薪俸稅",
        "Taxpayers and tax assessed by band of assessable income.",
        "按應評稅入息組別劃分的納稅人及評定稅款。",
        ("salaries tax", "薪俸稅"),
        [
            C(
                "income_band",
                "string",
                "Assessable income (HK$)",
                "應評稅入息（港元）",
                "cycle",
                ["≤200,000", "200,001-400,000", "400,001-600,000", "600,001-1,000,000", ">1,000,000"],
            ),
            C("taxpayers", "integer", "Taxpayers", "納稅人", "int", 60000, 900000),
            C("tax_hkd_million", "integer", "Tax (HK$ million)", "稅款（百萬港元）", "int", 300, 40000),
        ],
        rows=5,
        frequency=UpdateFrequency.ANNUAL,
    ),
    Spec(
        "hk-ird",
        ("commerce-and-industry",),
        "business-registrations",
        "New business registrations",
        "新商業登記",
        "Business registration applications each month.",
        "每月的商業登記申請。",
        ("business registration", "商業登記"),
        [MONTH, C("new_registrations", "integer", "New registrations", "新登記", "int", 11000, 19000)],
        rows=24,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-cr",
        ("commerce-and-industry",),
        "company-registrations",
        "Companies registered",
        "公司註冊數目",
        "Local and non-Hong Kong companies registered each month.",
        "每月註冊的本地公司及非香港公司數目。",
        ("company", "公司"),
        [
            MONTH,
            C("local_companies", "integer", "Local companies", "本地公司", "int", 8000, 15000),
            C("non_hk_companies", "integer", "Non-Hong Kong companies", "非香港公司", "int", 60, 180),
        ],
        rows=24,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-wsd",
        ("city-management", "environment"),
        "reservoir-storage",
        "Storage of reservoirs",
        "水塘存水量",
        "Storage of each impounding reservoir on the first day of the month (million m³).",
        "每月首日各水塘存水量（百萬立方米）。",
        ("reservoir", "水塘", "water", "食水"),
        [
            MONTH,
            C(
                "reservoir",
                "string",
                "Reservoir",
                "水塘",
                "cycle",
                ["Plover Cove", "High Island", "Tai Lam Chung", "Shek Pik", "Tai Tam"],
            ),
            C("storage_mcm", "number", "Storage (million m³)", "存水量（百萬立方米）", "num", 5, 230, 2),
        ],
        rows=30,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-wsd",
        ("city-management",),
        "water-consumption",
        "Fresh water consumption",
        "食水用量",
        "Daily fresh water consumption (million m³).",
        "每日食水用量（百萬立方米）。",
        ("water consumption", "用水量"),
        [DATE, C("consumption_mcm", "number", "Consumption (million m³)", "用量（百萬立方米）", "num", 2.5, 3.2, 3)],
        rows=30,
    ),
    # IT and broadcasting, miscellaneous (DPO)
    Spec(
        "hk-dpo",
        ("information-technology-and-broadcasting",),
        "wi-fi-hk-hotspots",
        "Wi-Fi.HK hotspots",
        "Wi-Fi.HK熱點",
        "Free Wi-Fi.HK hotspots at government venues: venue, district, SSID and coordinates.",
        "政府場地的免費Wi-Fi.HK熱點：場地、地區、網絡名稱及坐標。",
        ("wifi", "無線上網", "Wi-Fi"),
        [
            C("venue", "string", "Venue", "場地", "named", ESTATE_EN, ESTATE_ZH, " Community Hall", "社區會堂"),
            DISTRICT,
            C("ssid", "string", "SSID", "網絡名稱", "pick", ["Wi-Fi.HK via GovWiFi", "Wi-Fi.HK"]),
            C("access_points", "integer", "Access points", "接入點", "int", 1, 40),
            LAT,
            LON,
        ],
        rows=40,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-dpo",
        ("information-technology-and-broadcasting",),
        "e-government-services-usage",
        "Use of e-government services",
        "電子政府服務使用量",
        "Monthly transactions of the main e-government services.",
        "主要電子政府服務每月交易量。",
        ("e-government", "電子政府", "tungban", "通辦"),
        [
            MONTH,
            C(
                "service",
                "string",
                "Service",
                "服務",
                "cycle",
                ["tungban logins", "e-Tax", "Online appointment", "e-Payment"],
            ),
            C("transactions", "integer", "Transactions", "交易量", "int", 50000, 9000000),
        ],
        rows=32,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-dpo",
        ("miscellaneous",),
        "general-holidays",
        "General holidays",
        "公眾假期",
        "The general holidays of Hong Kong, in English and Chinese.",
        "香港的公眾假期（中英文）。",
        ("holidays", "假期"),
        [
            C("date", "date", "Date", "日期", "day", 19),
            C(
                "holiday",
                "string",
                "Holiday",
                "假期",
                "cycle",
                [
                    "The first day of January",
                    "Lunar New Year's Day",
                    "Ching Ming Festival",
                    "Good Friday",
                    "Labour Day",
                    "Tuen Ng Festival",
                    "National Day",
                    "Christmas Day",
                ],
            ),
        ],
        rows=17,
        frequency=UpdateFrequency.ANNUAL,
    ),
    # Law and security (Police)
    Spec(
        "hk-police",
        ("law-and-security",),
        "crime-statistics-{v}",
        "Crime statistics by district, {v}",
        "{v}按地區劃分的罪案統計",
        "Reported crimes by police district and type.",
        "按警區及罪案類別劃分的舉報罪案。",
        ("crime", "罪案", "police", "警察"),
        [
            DISTRICT,
            C(
                "crime_type",
                "string",
                "Crime",
                "罪案類別",
                "pick",
                ["Burglary", "Theft", "Deception", "Wounding", "Robbery"],
            ),
            C("reported", "integer", "Reported", "舉報數字", "int", 10, 900),
            C("detected", "integer", "Detected", "破案數字", "int", 5, 400),
        ],
        rows=36,
        vary="year",
        frequency=UpdateFrequency.ANNUAL,
    ),
    Spec(
        "hk-police",
        ("law-and-security", "transport"),
        "traffic-enforcement",
        "Traffic enforcement actions",
        "交通執法行動",
        "Fixed penalty tickets and summonses each month, by offence.",
        "每月按違例類別劃分的定額罰款告票及傳票。",
        ("traffic enforcement", "交通執法"),
        [
            MONTH,
            C(
                "offence",
                "string",
                "Offence",
                "違例",
                "cycle",
                ["Speeding", "Illegal parking", "Red light", "Mobile phone"],
            ),
            C("tickets", "integer", "Tickets", "告票", "int", 1000, 190000),
        ],
        rows=32,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-police",
        ("law-and-security",),
        "police-stations",
        "Police stations and reporting centres",
        "警署及報案室",
        "Police stations and report rooms with their addresses.",
        "警署及報案室及其地址。",
        ("police station", "警署"),
        [
            C("station", "string", "Station", "警署", "named", ESTATE_EN, ESTATE_ZH, " Police Station", "警署"),
            DISTRICT,
            C("report_room_24h", "boolean", "24-hour report room", "24小時報案室", "bool"),
            LAT,
            LON,
        ],
        rows=30,
        frequency=UpdateFrequency.IRREGULAR,
    ),
    # Tourism (HKTB)
    Spec(
        "hk-tourism-board",
        ("tourism",),
        "visitor-arrivals",
        "Visitor arrivals",
        "訪港旅客人次",
        "Monthly visitor arrivals by mode of transport.",
        "每月按交通工具劃分的訪港旅客人次。",
        ("visitors", "旅客", "tourism", "旅遊"),
        [
            MONTH,
            C("mode", "string", "Mode", "交通工具", "cycle", ["Air", "Land", "Sea"]),
            C("arrivals", "integer", "Arrivals", "人次", "int", 200000, 3600000),
        ],
        rows=36,
        frequency=UpdateFrequency.MONTHLY,
        high_value=True,
    ),
    Spec(
        "hk-tourism-board",
        ("tourism", "commerce-and-industry"),
        "hotel-occupancy",
        "Hotel room occupancy",
        "酒店房間入住率",
        "Monthly hotel room occupancy and average room rate by category.",
        "按類別劃分的每月酒店房間入住率及平均房租。",
        ("hotel", "酒店"),
        [
            MONTH,
            C("category", "string", "Category", "類別", "cycle", ["High tariff A", "High tariff B", "Medium tariff"]),
            C("occupancy_pct", "integer", "Occupancy (%)", "入住率（百分比）", "int", 60, 95),
            C("average_rate_hkd", "integer", "Average room rate (HK$)", "平均房租（港元）", "int", 700, 3200),
        ],
        rows=36,
        frequency=UpdateFrequency.MONTHLY,
    ),
    Spec(
        "hk-tourism-board",
        ("tourism",),
        "visitors-by-market-{v}",
        "Visitor arrivals by source market, {v}",
        "{v}按客源市場劃分的訪港旅客",
        "Visitor arrivals of the year by source market.",
        "年內按客源市場劃分的訪港旅客人次。",
        ("source market", "客源市場"),
        [
            C("market", "string", "Market", "市場", "cycle", MARKETS),
            C("arrivals", "integer", "Arrivals", "人次", "int", 100000, 34000000),
        ],
        rows=7,
        vary="year",
        frequency=UpdateFrequency.ANNUAL,
    ),
    # The dataset the demo's Departmental Data Officer approves (left pending)
    Spec(
        "hk-td",
        ("transport",),
        PENDING_DATASET,
        "Cross-harbour tunnel traffic",
        "過海隧道交通流量",
        "Daily vehicle journeys through the three cross-harbour tunnels.",
        "每日經三條過海隧道的車輛架次。",
        ("tunnel", "隧道", "traffic", "交通"),
        [
            DATE,
            C(
                "tunnel",
                "string",
                "Tunnel",
                "隧道",
                "cycle",
                ["Cross-Harbour Tunnel", "Eastern Harbour Crossing", "Western Harbour Crossing"],
            ),
            C("vehicles", "integer", "Vehicle journeys", "車輛架次", "int", 60000, 125000),
        ],
        rows=30,
    ),
]

#: Generic entries every department's catalogue has besides its open data (title, scope and
#: attributes in both languages; personal data; classification; disposition).
INTERNAL_ENTRIES = [
    {
        "title_en": "Case records of members of the public",
        "title_zh": "市民個案紀錄",
        "data_type": DataType.TABULAR,
        "scope_en": "Enquiries, applications and complaints handled by the department, with the names and contact details of those concerned.",
        "scope_zh": "本部門處理的查詢、申請及投訴，載有當事人的姓名及聯絡資料。",
        "attributes": [
            ("case_no", "string", "Case number", "個案編號"),
            ("name", "string", "Name of the person", "當事人姓名"),
            ("phone", "string", "Contact telephone", "聯絡電話"),
            ("received_on", "date", "Date received", "接收日期"),
            ("status", "string", "Status", "狀況"),
        ],
        "personal_data": True,
        "classification": Classification.RESTRICTED,
        "owner": "Customer Services Section",
        "sharing_en": "Personal data: shared only for the purpose it was collected or with the person's consent (PDPO DPP3).",
        "sharing_zh": "個人資料：只按收集目的或經當事人同意分享（《個人資料（私隱）條例》保障資料第3原則）。",
        "internal": (
            "Contains personal data; kept for the purpose it was collected (PDPO DPP3).",
            "載有個人資料，只用於收集時的目的（《個人資料（私隱）條例》保障資料第3原則）。",
        ),
    },
    {
        "title_en": "Procurement and contract records",
        "title_zh": "採購及合約紀錄",
        "data_type": DataType.TABULAR,
        "scope_en": "Contracts awarded by the department: contractor, value, period and tender reference.",
        "scope_zh": "本部門批出的合約：承辦商、合約金額、合約期及招標編號。",
        "attributes": [
            ("tender_ref", "string", "Tender reference", "招標編號"),
            ("contractor", "string", "Contractor", "承辦商"),
            ("value_hkd", "number", "Contract value (HK$)", "合約金額（港元）"),
            ("start_date", "date", "Start date", "開始日期"),
        ],
        "personal_data": False,
        "classification": Classification.UNCLASSIFIED,
        "owner": "Supplies Section",
        "sharing_en": "May be shared with other bureaux and departments on request.",
        "sharing_zh": "其他政策局及部門可要求分享。",
        "internal": None,  # catalogued, not yet decided, not yet approved by the DDO
    },
]
#: Entries offered through the consented data exchange (tungban.exchange's bundled products).
EXCHANGE_ENTRIES = {
    "hk-ird": [("ird.tax-return-status.v1", "Tax return status of individuals", "個人報稅表狀況")],
    "hk-wsd": [
        ("wsd.registered-address.v1", "Addresses registered by water account holders", "用水帳戶持有人登記的地址")
    ],
    "hk-cr": [("cr.company-particulars.v1", "Particulars of companies and their officers", "公司及其高級人員的資料")],
}

# --- generating --------------------------------------------------------------------------------


def _value(gen: tuple, i: int, rng: random.Random, variant: tuple[str, str, str] | None):
    kind = gen[0]
    if kind == "day":
        return (BASE_DAY + dt.timedelta(days=i * gen[1])).isoformat()
    if kind == "minute":
        at = dt.datetime.combine(BASE_DAY, dt.time()) + dt.timedelta(minutes=i * gen[1])
        return at.strftime("%Y-%m-%dT%H:%M:%S+08:00")
    if kind == "month":
        start = BASE_DAY.year * 12 + BASE_DAY.month - 1 - 48
        return f"{(start + i) // 12:04d}-{(start + i) % 12 + 1:02d}"
    if kind == "int":
        return str(rng.randint(gen[1], gen[2]))
    if kind == "num":
        return f"{rng.uniform(gen[1], gen[2]):.{gen[3]}f}"
    if kind == "pick":
        return rng.choice(gen[1])
    if kind == "cycle":
        return gen[1][i % len(gen[1])]
    if kind == "district":
        return D_EN[i % len(D_EN)]
    if kind == "district_zh":
        return D_ZH[i % len(D_ZH)]
    if kind == "param":
        return variant[1] if variant else ""
    if kind == "id":
        return f"{gen[1]}{rng.randint(10000, 99999)}"
    if kind == "lat":
        return f"{rng.uniform(22.20, 22.52):.5f}"
    if kind == "lon":
        return f"{rng.uniform(113.90, 114.35):.5f}"
    if kind == "bool":
        return rng.choice(["true", "false"])
    if kind == "named":
        j = rng.randrange(len(gen[1]))
        return f"{gen[1][j]}{gen[3]} ({i + 1})" if gen[3] else gen[1][j]
    raise ValueError(kind)


#: A month (``YYYY-MM``) as the validator knows it: a string with a pattern (Table Schema's
#: ``yearmonth`` is not among :data:`tungban.opendata.tabular.TYPES`).
MONTH_PATTERN = r"\d{4}-(0[1-9]|1[0-2])"


def _field(name: str, type_: str, en: str, zh: str) -> dict:
    if type_ == "yearmonth":
        return {
            "name": name,
            "type": "string",
            "title": en,
            "description": zh,
            "constraints": {"pattern": MONTH_PATTERN},
        }
    return {"name": name, "type": type_, "title": en, "description": zh}


def table_schema(columns: list) -> dict:
    """The Frictionless Table Schema of ``columns`` (titles in both languages)."""
    return {"fields": [_field(name, type_, en, zh) for name, type_, en, zh, _gen in columns]}


def render(columns: list, rows: int, *, seed: str, variant=None) -> bytes:
    """``rows`` rows of ``columns`` as UTF-8 CSV, the same bytes for the same ``seed``."""
    rng = random.Random(f"{SEED}:{seed}")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([c[0] for c in columns])
    for i in range(rows):
        writer.writerow([_value(c[4], i, rng, variant) for c in columns])
    return buf.getvalue().encode("utf-8")


@dataclass
class Planned:
    """One dataset to seed, its variant's values filled in."""

    spec: Spec
    name: str
    title_en: str
    title_zh: str
    variant: tuple | None


def plan() -> list[Planned]:
    """Every dataset :func:`seed` makes, in order."""
    out = []
    for spec in SPECS:
        for variant in VARY[spec.vary] if spec.vary else [None]:
            slug, en, zh = variant or ("", "", "")
            out.append(
                Planned(
                    spec,
                    spec.name.format(v=slug),
                    spec.title_en.format(v=en),
                    spec.title_zh.format(v=zh),
                    variant,
                )
            )
    return out


def _staff(org: Organization, role: str):
    User = get_user_model()
    suffix = "-ddo" if role == Role.DDO else ""
    user, created = User.objects.get_or_create(
        username=f"opendata-seed-{org.name}{suffix}"[:150], defaults={"is_staff": True, "is_active": True}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    DataOfficer.objects.get_or_create(user=user, organization=org, defaults={"role": role})
    return user


def grant(user, organization: str, role: str) -> DataOfficer:
    """Make ``user`` a data officer (``role`` :attr:`Role.DATA_OFFICER`) or the Departmental
    Data Officer (:attr:`Role.DDO`) of the provider named ``organization`` (idempotent).
    :raises NotFound: ``unknown_organization``."""
    org = publishing.organization(organization)
    row, _ = DataOfficer.objects.update_or_create(user=user, organization=org, defaults={"role": role})
    return row


def providers() -> dict[str, Organization]:
    """The demo's providers, created when missing (idempotent)."""
    out = {}
    for name, en, zh, code, kind, website in PROVIDERS:
        out[name], _ = Organization.objects.get_or_create(
            name=name,
            defaults={"title_en": en, "title_zh": zh, "department_code": code, "kind": kind, "website": website},
        )
    return out


def _load_dataset(p: Planned, index: int, org: Organization, officer, ddo) -> None:
    spec = p.spec
    with transaction.atomic():
        ds = publishing.create_dataset(
            officer,
            org,
            name=p.name,
            title_en=p.title_en,
            title_zh=p.title_zh,
            notes_en=spec.notes_en,
            notes_zh=spec.notes_zh,
            groups=spec.groups,
            tags=spec.tags,
            update_frequency=spec.frequency,
            high_value=spec.high_value,
            maintainer_email=f"opendata@{org.name.removeprefix('hk-')}.gov.hk"
            if org.kind == OrganizationKind.GOVERNMENT
            else "",
        )
        res = publishing.add_resource(
            officer,
            ds,
            name_en=f"{p.title_en} ({spec.resource_en})",
            name_zh=f"{p.title_zh}（{spec.resource_zh}）",
            filename=f"{p.name}.csv",
            table_schema=table_schema(spec.columns),
        )
        data = render(spec.columns, spec.rows, seed=p.name, variant=p.variant)
        versions.add_version(officer, res, data, captured_at=FIRST_CAPTURE)
        sub = publishing.submit(officer, ds)
        if p.name == PENDING_DATASET:
            return
        publishing.approve(ddo, sub.pk)
        if index % VERSIONED_EVERY == 0:
            more = render(spec.columns, spec.rows + max(2, spec.rows // 6), seed=p.name, variant=p.variant)
            versions.add_version(officer, res, more, captured_at=SECOND_CAPTURE)
            publishing.approve(ddo, publishing.submit(officer, ds, note="Next month's figures").pk)


def _attributes_of(spec: Spec) -> list[dict]:
    return [
        {"name": name, "type": type_, "description_en": en, "description_zh": zh}
        for name, type_, en, zh, _gen in spec.columns
    ]


def _load_catalogue(org: Organization, planned: list[Planned], officer, ddo) -> int:
    """~5 entries of ``org``'s catalogue: up to three of its open datasets, the generic
    internal ones and its consented-exchange offers; returns how many were added."""
    have = set(CatalogueEntry.objects.filter(organization=org).values_list("title_en", flat=True))
    added = 0
    datasets = {d.name: d for d in Dataset.objects.filter(organization=org, name__in=[p.name for p in planned])}
    for p in planned[:3]:
        if p.title_en in have or p.name not in datasets:
            continue
        e = catalogue.create_entry(
            officer,
            org,
            title_en=p.title_en,
            title_zh=p.title_zh,
            data_type=DataType.TIME_SERIES
            if any(c[4][0] in ("day", "minute", "month") for c in p.spec.columns)
            else DataType.TABULAR,
            scope_en=p.spec.notes_en,
            scope_zh=p.spec.notes_zh,
            attributes=_attributes_of(p.spec),
            owner="Statistics and Information Section",
            update_frequency=p.spec.frequency,
            sharing_conditions_en="Open data: anyone may use it under the portal's terms.",
            sharing_conditions_zh="開放數據：任何人可按資料一線通的條款使用。",
        )
        CatalogueEntry.objects.filter(pk=e.pk).update(dataset=datasets[p.name], disposition=Disposition.PROPOSED_OPEN)
        catalogue.approve_entry(ddo, e)
        added += 1
    offers = [
        {
            "title_en": en,
            "title_zh": zh,
            "data_type": DataType.TABULAR,
            "scope_en": f"{en}, as the department's system of record holds them.",
            "scope_zh": f"本部門紀錄系統所載的{zh}。",
            "attributes": [
                ("subject", "string", "The data subject", "資料當事人"),
                ("record", "object", "The record", "紀錄"),
            ],
            "personal_data": True,
            "classification": Classification.RESTRICTED,
            "owner": "Information Technology Management Unit",
            "sharing_en": "With the data subject's consent, through the consented data exchange.",
            "sharing_zh": "經資料當事人同意，透過授權數據交換分享。",
            "product": product,
        }
        for product, en, zh in EXCHANGE_ENTRIES.get(org.name, [])
    ]
    for spec in [*INTERNAL_ENTRIES, *offers]:
        if spec["title_en"] in have:
            continue
        e = catalogue.create_entry(
            officer,
            org,
            title_en=spec["title_en"],
            title_zh=spec["title_zh"],
            data_type=spec["data_type"],
            scope_en=spec["scope_en"],
            scope_zh=spec["scope_zh"],
            attributes=[
                dict(zip(("name", "type", "description_en", "description_zh"), a, strict=True))
                for a in spec["attributes"]
            ],
            personal_data=spec["personal_data"],
            classification=spec["classification"],
            owner=spec["owner"],
            update_frequency=UpdateFrequency.DAILY,
            sharing_conditions_en=spec["sharing_en"],
            sharing_conditions_zh=spec["sharing_zh"],
        )
        if spec.get("product"):
            try:
                catalogue.exchange_product(spec["product"])
            except errors.UnknownProduct:
                pass  # the exchange's bundled products are not registered here: stays catalogued
            else:
                catalogue.offer_exchange(officer, e, spec["product"])
        if spec.get("internal"):
            catalogue.keep_internal(officer, e, reason_en=spec["internal"][0], reason_zh=spec["internal"][1])
        if spec.get("internal") or spec.get("product"):
            catalogue.approve_entry(ddo, e)
        added += 1
    return added


def seed() -> dict[str, int]:
    """Load the demo's providers, categories, datasets and catalogue entries (idempotent:
    what exists is left alone). Returns ``{"datasets": added, "entries": added}``."""
    taxonomy.load_groups()
    orgs = providers()
    officers = {name: (_staff(org, Role.DATA_OFFICER), _staff(org, Role.DDO)) for name, org in orgs.items()}
    existing = set(Dataset.objects.values_list("name", flat=True))
    planned = plan()
    added = 0
    for index, p in enumerate(planned):
        if p.name in existing:
            continue
        officer, ddo = officers[p.spec.org]
        _load_dataset(p, index, orgs[p.spec.org], officer, ddo)
        added += 1
    entries = 0
    for name, org in orgs.items():
        officer, ddo = officers[name]
        with transaction.atomic():
            entries += _load_catalogue(org, [p for p in planned if p.spec.org == name], officer, ddo)
    return {"datasets": added, "entries": entries}
