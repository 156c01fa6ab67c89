"""Seeded and synthetic records of the demo data providers (WSD, IRD, CR).

The Companies Registry's records are the register file ``cr_register.json`` (companies and
their officers), which CorpID also loads as its register (issue 19): the sample companies
exist once (:mod:`.cr_register`).

Everything here is fictitious: the people are the tungban demo population, and the
addresses, companies and tax returns are made up (names such as "Demo Court" and
"Sample House" make that obvious). Records are keyed by the canonical HKID (no
brackets, upper case, e.g. ``A1234563``) and each record is the ``data`` member of a
provider answer, valid against the product's JSON Schema in
``src/tungban/exchange/products/``.

The demo population (seeded records):

- ``A1234563`` CHAN Tai Man 陳大文, born 1958: WSD address, IRD returns, director of one company.
- ``G123456A`` WONG Siu Ling 黃小玲, born 1985: WSD address, IRD returns.
- ``K5432103`` LEE Ka Yan 李嘉欣, born 1996: WSD address only.
- ``Y6543217`` CHEUNG Chi Keung 張志強, born 1972: WSD address, IRD returns, director of two companies.
- ``P8765433`` HO Wing Sze 何詠詩, born 2011 (a child): no records (404 ``no_record`` everywhere).

:func:`synthetic_record` makes a deterministic record for any HKID outside this
population (from a SHA-256 hash of the product id and the HKID); the providers use it only
with ``--synthetic`` (benchmarks with thousands of residents; the five people above keep
their seeded answers, 404s included) and ``--demo`` (:class:`DemoRecords`: every resident
without a seeded record, the five people's 404s too, gets one, labelled synthetic demo data
in the answer — issue 16: a resident registered during the demo can use the exchange).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import threading

from . import cr_register, water_bill

#: Department id → the products it serves.
PRODUCTS: dict[str, tuple[str, ...]] = {
    "wsd": ("wsd.registered-address.v1", water_bill.PRODUCT),
    "ird": ("ird.tax-return-status.v1", "ird.business-tax-status.v1"),
    "cr": ("cr.company-particulars.v1",),
}

DEPARTMENT_NAMES: dict[str, tuple[str, str]] = {
    "wsd": ("Water Supplies Department", "水務署"),
    "ird": ("Inland Revenue Department", "稅務局"),
    "cr": ("Companies Registry", "公司註冊處"),
}

#: The demo population, for reference (the providers serve only the records below).
PEOPLE: dict[str, dict[str, str]] = {
    "A1234563": {"name_en": "CHAN Tai Man", "name_zh": "陳大文", "born": "1958"},
    "G123456A": {"name_en": "WONG Siu Ling", "name_zh": "黃小玲", "born": "1985"},
    "K5432103": {"name_en": "LEE Ka Yan", "name_zh": "李嘉欣", "born": "1996"},
    "Y6543217": {"name_en": "CHEUNG Chi Keung", "name_zh": "張志強", "born": "1972"},
    "P8765433": {"name_en": "HO Wing Sze", "name_zh": "何詠詩", "born": "2011"},
}

RECORDS: dict[str, dict[str, dict]] = {
    "wsd.registered-address.v1": {
        "A1234563": {
            "address": {
                "lines": ["Flat 12A, 8 Nathan Road", "Tsim Sha Tsui"],
                "district": "Yau Tsim Mong",
                "region": "KLN",
            },
            "address_zh": "九龍尖沙咀彌敦道8號12A室",
            "registered_since": "1996-03-18",
        },
        "G123456A": {
            "address": {
                "lines": ["Flat 7C, Tower 3, Demo Court", "18 Sha Tin Centre Street", "Sha Tin"],
                "district": "Sha Tin",
                "region": "NT",
            },
            "address_zh": "新界沙田沙田正街18號示範苑3座7樓C室",
            "registered_since": "2012-07-02",
        },
        "K5432103": {
            "address": {
                "lines": ["Room 1503, 15/F, Sample House", "33 King's Road", "North Point"],
                "district": "Eastern",
                "region": "HK",
            },
            "address_zh": "香港北角英皇道33號樣本大廈15樓1503室",
            "registered_since": "2021-11-04",
        },
        "Y6543217": {
            "address": {
                "lines": ["Flat 21D, Block B, Fictional Estate", "2 Tuen Mun Heung Sze Wui Road", "Tuen Mun"],
                "district": "Tuen Mun",
                "region": "NT",
            },
            "address_zh": "新界屯門屯門鄉事會路2號虛構邨B座21樓D室",
            "registered_since": "2003-05-20",
        },
        # P8765433 (a child) has no water account: 404 no_record.
    },
    "ird.tax-return-status.v1": {
        "A1234563": {
            "returns": [
                {"year_of_assessment": "2025/26", "status": "filed", "filed_on": "2026-05-28"},
                {"year_of_assessment": "2024/25", "status": "assessed", "filed_on": "2025-06-03"},
                {"year_of_assessment": "2023/24", "status": "assessed", "filed_on": "2024-05-30"},
            ]
        },
        "G123456A": {
            "returns": [
                {"year_of_assessment": "2025/26", "status": "issued", "filed_on": None},
                {"year_of_assessment": "2024/25", "status": "assessed", "filed_on": "2025-06-24"},
                {"year_of_assessment": "2023/24", "status": "assessed", "filed_on": "2024-06-17"},
            ]
        },
        "Y6543217": {
            "returns": [
                {"year_of_assessment": "2025/26", "status": "overdue", "filed_on": None},
                {"year_of_assessment": "2024/25", "status": "assessed", "filed_on": "2025-08-14"},
                {"year_of_assessment": "2023/24", "status": "assessed", "filed_on": "2024-08-09"},
            ]
        },
    },
    "cr.company-particulars.v1": cr_register.directorships(),
}


#: Records of companies (the data subject an organisation, issue 19), by product and BR number:
#: both from the register file (``cr_register.json``).
ORGANISATION_RECORDS: dict[str, dict[str, dict]] = {
    "cr.company-particulars.v1": cr_register.particulars(),
    "ird.business-tax-status.v1": cr_register.tax_status(),
}


def organisation_record(product_id: str, brn: str) -> dict | None:
    """A copy of the record of the company with this BR number for ``product_id``, or ``None``."""
    record = ORGANISATION_RECORDS.get(product_id, {}).get(brn)
    return copy.deepcopy(record) if record is not None else None


def seeded_record(product_id: str, hkid: str) -> dict | None:
    """A copy of the seeded record of ``hkid`` for ``product_id``, or ``None``."""
    if product_id == water_bill.PRODUCT:  # every resident has a made-up bill (water_bill.py)
        return water_bill.record(hkid)
    record = RECORDS.get(product_id, {}).get(hkid)
    return copy.deepcopy(record) if record is not None else None


# --- Synthetic records (--synthetic) ---------------------------------------------------------

_STREETS = [
    # (English street, Chinese street, area en, area zh, district, region)
    ("Sample Road", "樣本道", "Mong Kok", "旺角", "Yau Tsim Mong", "KLN"),
    ("Demo Street", "示範街", "Sham Shui Po", "深水埗", "Sham Shui Po", "KLN"),
    ("Fictional Avenue", "虛構大道", "Kwun Tong", "觀塘", "Kwun Tong", "KLN"),
    ("Example Path", "例子徑", "Wan Chai", "灣仔", "Wan Chai", "HK"),
    ("Placeholder Lane", "佔位里", "Sai Ying Pun", "西營盤", "Central and Western", "HK"),
    ("Testing Terrace", "測試台", "Chai Wan", "柴灣", "Eastern", "HK"),
    ("Mock Road", "模擬道", "Tai Po", "大埔", "Tai Po", "NT"),
    ("Specimen Street", "樣品街", "Yuen Long", "元朗", "Yuen Long", "NT"),
    ("Dummy Drive", "虛擬徑", "Tseung Kwan O", "將軍澳", "Sai Kung", "NT"),
]
_REGION_ZH = {"HK": "香港", "KLN": "九龍", "NT": "新界"}
_COMPANY_WORDS = [
    ("Harbour", "海港"),
    ("Lucky", "福星"),
    ("Golden", "金輝"),
    ("Sample", "樣本"),
    ("Pearl", "明珠"),
    ("Evergreen", "長青"),
    ("Dragon", "龍騰"),
    ("Demo", "示範"),
]
_COMPANY_KINDS = [
    ("Trading", "貿易"),
    ("Engineering", "工程"),
    ("Logistics", "物流"),
    ("Catering", "飲食"),
    ("Holdings", "控股"),
    ("Technology", "科技"),
]


class _Digits:
    """Deterministic numbers from a SHA-256 stream of ``seed``."""

    def __init__(self, seed: str):
        self._seed = seed.encode()
        self._counter = 0
        self._pool = b""

    def below(self, n: int) -> int:
        if len(self._pool) < 4:
            self._pool += hashlib.sha256(self._seed + self._counter.to_bytes(4, "big")).digest()
            self._counter += 1
        value, self._pool = int.from_bytes(self._pool[:4], "big"), self._pool[4:]
        return value % n

    def date(self, start: dt.date, end: dt.date) -> str:
        return (start + dt.timedelta(days=self.below((end - start).days + 1))).isoformat()


def synthetic_record(product_id: str, hkid: str) -> dict | None:
    """A deterministic, schema-valid made-up record of ``hkid`` (``None`` for an unknown product)."""
    d = _Digits(f"{product_id}|{hkid}")
    if product_id == "wsd.registered-address.v1":
        street, street_zh, area, area_zh, district, region = _STREETS[d.below(len(_STREETS))]
        number, floor, flat = 1 + d.below(200), 1 + d.below(40), "ABCDEFGH"[d.below(8)]
        return {
            "address": {
                "lines": [f"Flat {floor}{flat}, {number} {street}", area],
                "district": district,
                "region": region,
            },
            "address_zh": f"{_REGION_ZH[region]}{area_zh}{street_zh}{number}號{floor}樓{flat}室",
            "registered_since": d.date(dt.date(1990, 1, 1), dt.date(2025, 12, 31)),
        }
    if product_id == "ird.tax-return-status.v1":
        returns = []
        for i, start in enumerate(range(2025, 2025 - (1 + d.below(4)), -1)):
            label = f"{start}/{(start + 1) % 100:02d}"
            filed = d.date(dt.date(start + 1, 5, 10), dt.date(start + 1, 8, 31))
            if i == 0:
                status = ("issued", "filed", "assessed", "overdue")[d.below(4)]
                returns.append(
                    {
                        "year_of_assessment": label,
                        "status": status,
                        "filed_on": filed if status in ("filed", "assessed") else None,
                    }
                )
            else:
                returns.append({"year_of_assessment": label, "status": "assessed", "filed_on": filed})
        return {"returns": returns}
    if product_id == "cr.company-particulars.v1":
        companies = []
        for _ in range(1 + d.below(2)):
            word, word_zh = _COMPANY_WORDS[d.below(len(_COMPANY_WORDS))]
            kind, kind_zh = _COMPANY_KINDS[d.below(len(_COMPANY_KINDS))]
            number = f"{d.below(10_000_000):07d}"
            street, _, area, _, _, region = _STREETS[d.below(len(_STREETS))]
            companies.append(
                {
                    "company_number": number,
                    "br_number": f"{d.below(100_000_000):08d}",
                    "name_en": f"{word} {kind} Sample Company Limited",
                    "name_zh": f"{word_zh}{kind_zh}樣本有限公司",
                    "company_type": "private_limited_by_shares",
                    "status": ("live", "live", "live", "dissolved")[d.below(4)],
                    "incorporated_on": d.date(dt.date(1980, 1, 1), dt.date(2025, 12, 31)),
                    "registered_office": f"Unit {1 + d.below(30)}, {1 + d.below(30)}/F, {1 + d.below(200)} {street}, {area}",
                    "role": ("director", "director", "secretary")[d.below(3)],
                }
            )
        return {"companies": companies}
    return None


#: What a demo provider says beside a synthetic record (``"notice"`` in its answer).
DEMO_NOTICE = (
    "Synthetic demo data: made up by this demo provider on the first request for a resident "
    "it holds no record of, and kept for later requests. Not a real record."
)


class DemoRecords:
    """The records a provider in demo mode (``--demo``) answers with (issue 16): the seeded
    record when there is one, else a synthetic one (:func:`synthetic_record`, any product
    that has a generator) made on the first request for that resident and stored, so that
    every later answer is the same record. In memory, per process (one worker process per
    provider); at most ``limit`` stored — past it a record is still made, the same one
    (it is deterministic), just not kept.
    """

    def __init__(self, limit: int = 100_000):
        self._limit = limit
        self._made: dict[tuple[str, str], dict] = {}
        self._lock = threading.Lock()

    def get(self, product_id: str, hkid: str) -> tuple[dict, bool] | None:
        """``(record, synthetic)`` for ``hkid``: a copy of the seeded record (``False``) or of
        the stored synthetic one (``True``); ``None`` for a product without a generator."""
        record = seeded_record(product_id, hkid)
        if record is not None:
            return record, False
        key = (product_id, hkid)
        with self._lock:
            record = self._made.get(key)
        if record is None:
            record = synthetic_record(product_id, hkid)
            if record is None:
                return None
            with self._lock:
                if len(self._made) < self._limit:
                    record = self._made.setdefault(key, record)
        return copy.deepcopy(record), True


#: What ``--fault bad-schema`` answers: each drops a required member and adds one the
#: schema does not allow (``additionalProperties: false``), like a provider whose
#: system changed its output without telling the gateway.
BAD_SCHEMA: dict[str, dict] = {
    "wsd.registered-address.v1": {
        "address": {
            "lines": ["Flat 12A, 8 Nathan Road", "Tsim Sha Tsui"],
            "district": "Yau Tsim Mong",
            "region": "KLN",
        },
        "registeredSince": "1996-03-18",
        "account_no": "WSD-0000-1234",
    },
    "ird.tax-return-status.v1": {
        "tax_returns": [{"year_of_assessment": "2024/25", "status": "assessed", "filed_on": "2025-06-03"}],
        "file_no": "0A1-23456789",
    },
    "ird.business-tax-status.v1": {"br_number": "21812345", "tax_cleared": "yes"},
    "cr.company-particulars.v1": {
        "company_list": [
            {"company_number": "0812345", "name_en": "Tai Man Demo Trading Company Limited", "role": "director"}
        ],
        "search_fee_hkd": 22,
    },
}


def bad_schema_record(product_id: str) -> dict:
    return copy.deepcopy(BAD_SCHEMA[product_id])
