"""Working days for service pledges: Monday to Friday, less the Hong Kong general holidays in
``TUNGBAN_ESERVICES_HOLIDAYS`` — by default the bundled data file
``catalogue/holidays/hk-general-holidays.json`` (the 1823 holiday calendar on data.gov.hk;
its source and how to update it: ``docs/operations.md``, "Hong Kong general holidays").

The file is JSON: either ``{"holidays": [{"date": "YYYY-MM-DD", "name_en", "name_zh"}, …]}``
(the bundled shape) or a plain list of ISO dates. An empty setting means no holidays.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path

from django.conf import settings

#: The bundled Hong Kong general holidays (2025–2027).
BUNDLED_HOLIDAYS = Path(__file__).resolve().parent.parent / "catalogue" / "holidays" / "hk-general-holidays.json"


@functools.cache
def _holidays(path: str) -> frozenset[dt.date]:
    if not path or not Path(path).is_file():
        return frozenset()
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    rows = data["holidays"] if isinstance(data, dict) else data
    return frozenset(dt.date.fromisoformat(r["date"] if isinstance(r, dict) else r) for r in rows)


def holidays() -> frozenset[dt.date]:
    return _holidays(str(getattr(settings, "TUNGBAN_ESERVICES_HOLIDAYS", "") or ""))


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in holidays()


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The ``days``-th working day after ``start`` (``start`` itself not counted)."""
    day = start
    left = days
    while left > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when ``end`` is
    before ``start``): ``working_days_between(d, add_working_days(d, n)) == n``. A pledge timer
    shows ``working_days_between(today, pledge_due)`` days left (≤ 0 once due or overdue)."""
    if end < start:
        return -working_days_between(end, start)
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count
