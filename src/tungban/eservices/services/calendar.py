"""Working days for service pledges: Monday to Friday, less Hong Kong general holidays listed
in ``TUNGBAN_ESERVICES_HOLIDAYS`` (a JSON list of ISO dates; none by default)."""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path

from django.conf import settings


@functools.cache
def _holidays(path: str) -> frozenset[dt.date]:
    if not path or not Path(path).is_file():
        return frozenset()
    return frozenset(dt.date.fromisoformat(d) for d in json.loads(Path(path).read_text()))


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
