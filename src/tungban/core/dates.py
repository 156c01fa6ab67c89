"""Date-times as residents read them: Hong Kong time, in the page's language, written as the
app writes them with ``Intl.DateTimeFormat(locale, {dateStyle: "medium", timeStyle: "short",
timeZone: "Asia/Hong_Kong"})`` (``wallet/static/wallet/js/ui/format.js`` ``dateTime``), so a
server-made text and the app's own agree. Source: issue 16, polish16 item 9."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import translation

HONG_KONG = zoneinfo.ZoneInfo("Asia/Hong_Kong")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def resident_datetime(value: dt.datetime, language: str | None = None) -> str:
    """``value`` (aware) in Hong Kong time: ``"5 Dec 2026, 5:54 pm"`` (English, en-HK) or
    ``"2026年12月5日 下午5:54"`` (Chinese, zh-HK); ``language`` defaults to the active one."""
    local = value.astimezone(HONG_KONG)
    hour = local.hour % 12 or 12
    language = (language or translation.get_language() or "zh-hant").lower()
    if language.startswith("en"):
        return f"{local.day} {_MONTHS[local.month - 1]} {local.year}, {hour}:{local.minute:02d} {'am' if local.hour < 12 else 'pm'}"
    return (
        f"{local.year}年{local.month}月{local.day}日 {'上午' if local.hour < 12 else '下午'}{hour}:{local.minute:02d}"
    )
