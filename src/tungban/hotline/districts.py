"""Hong Kong's 18 districts (the District Councils' districts), as the codes cases and routing
rules use, with their names in both languages. The codes are :mod:`tungban.opendata`'s
(``opendata/seed.py``), so a district means the same in 1823's statistics and the open data.
"""

from __future__ import annotations

from django.utils.translation import get_language

#: ``(code, name in English, name in Chinese)``, Hong Kong Island, Kowloon, then the New Territories.
DISTRICTS: tuple[tuple[str, str, str], ...] = (
    ("central-and-western", "Central and Western", "中西區"),
    ("wan-chai", "Wan Chai", "灣仔區"),
    ("eastern", "Eastern", "東區"),
    ("southern", "Southern", "南區"),
    ("yau-tsim-mong", "Yau Tsim Mong", "油尖旺區"),
    ("sham-shui-po", "Sham Shui Po", "深水埗區"),
    ("kowloon-city", "Kowloon City", "九龍城區"),
    ("wong-tai-sin", "Wong Tai Sin", "黃大仙區"),
    ("kwun-tong", "Kwun Tong", "觀塘區"),
    ("kwai-tsing", "Kwai Tsing", "葵青區"),
    ("tsuen-wan", "Tsuen Wan", "荃灣區"),
    ("tuen-mun", "Tuen Mun", "屯門區"),
    ("yuen-long", "Yuen Long", "元朗區"),
    ("north", "North", "北區"),
    ("tai-po", "Tai Po", "大埔區"),
    ("sha-tin", "Sha Tin", "沙田區"),
    ("sai-kung", "Sai Kung", "西貢區"),
    ("islands", "Islands", "離島區"),
)
CODES = frozenset(code for code, _en, _zh in DISTRICTS)
_BY_CODE = {code: (en, zh) for code, en, zh in DISTRICTS}


def name(code: str, language: str | None = None) -> str:
    """The district's name in ``language`` (the active language by default); ``""`` for none."""
    if code not in _BY_CODE:
        return ""
    en, zh = _BY_CODE[code]
    return zh if (language or get_language() or "").startswith("zh") else en


def choices(language: str | None = None) -> list[tuple[str, str]]:
    """``[(code, name)]`` for a form's district list."""
    return [(code, name(code, language)) for code, _en, _zh in DISTRICTS]
