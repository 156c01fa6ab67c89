"""The 1823 KPI dashboard's figures (issue 22): per department, for the cases submitted in a
period (Hong Kong dates, both ends included) and now with that department — received, accepted,
closed; the median and 90th percentile of the time to the first reply and to closure (days from
submission, one decimal); the share closed within the closure pledge; and the open cases now
overdue (a pledge date passed without the reply or the closure). Cases escalated to the 1823
coordinator (no department) are a row of their own (department ``""``).

Percentiles are nearest-rank (the smallest value with at least p % of values at or below it).
Figures are computed from the period's rows in Python: the period is at most
:data:`MAX_DAYS` days.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from tungban.eservices.models import Department

# The period (Hong Kong dates, inclusive) and its default, the last 90 days, are the e-services
# reports': one definition for the departments' dashboards.
from tungban.eservices.services.reports import Period, default_period  # noqa: F401 (used by the desk)

from ..constants import CaseState
from ..models import Case

#: The longest period the dashboard computes (days).
MAX_DAYS = 366


@dataclass
class Row:
    """One department's figures (``code`` ``""``: the coordinator's escalated cases)."""

    code: str
    name: str
    received: int = 0
    accepted: int = 0
    closed: int = 0
    reply_days: list[float] = field(default_factory=list)
    close_days: list[float] = field(default_factory=list)
    within_pledge: int = 0
    pledged: int = 0
    open_overdue: int = 0

    @property
    def reply_median(self):
        return percentile(self.reply_days, 50)

    @property
    def reply_p90(self):
        return percentile(self.reply_days, 90)

    @property
    def close_median(self):
        return percentile(self.close_days, 50)

    @property
    def close_p90(self):
        return percentile(self.close_days, 90)

    @property
    def within_pledge_percent(self) -> float | None:
        """% of closed cases with a pledge closed by its date, one decimal; ``None`` if none."""
        return round(100 * self.within_pledge / self.pledged, 1) if self.pledged else None


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank ``p``-th percentile of ``values`` (``None`` for none), one decimal."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return round(ordered[rank - 1], 1)


def _days(start: dt.datetime, end: dt.datetime) -> float:
    return max((end - start).total_seconds(), 0) / 86400


def figures(period: Period, departments: list[str] | None = None, *, language: str = "en") -> list[Row]:
    """One :class:`Row` per department with cases in ``period`` (or each of ``departments``,
    even with none), sorted by code, the coordinator's row last when it has cases."""
    lo, hi = period.bounds()
    today = timezone.localdate()
    found = Case.objects.filter(submitted_at__gte=lo, submitted_at__lt=hi)
    if departments is not None:
        found = found.filter(department_id__in=departments)
    zh = language.startswith("zh")
    names = {d.code: (d.name_zh if zh else d.name_en) for d in Department.objects.all()}
    rows: dict[str, Row] = {}
    for code in departments or ():
        rows[code] = Row(code, names.get(code, code))
    for c in found.only(
        "department_id",
        "state",
        "submitted_at",
        "accepted_at",
        "first_reply_at",
        "closed_at",
        "reply_due",
        "close_due",
    ).iterator():
        code = c.department_id or ""
        row = rows.setdefault(code, Row(code, names.get(code, "") if code else _("1823 coordinator (escalated)")))
        row.received += 1
        if c.accepted_at is not None:
            row.accepted += 1
        if c.first_reply_at is not None:
            row.reply_days.append(_days(c.submitted_at, c.first_reply_at))
        if c.state == CaseState.CLOSED and c.closed_at is not None:
            row.closed += 1
            row.close_days.append(_days(c.submitted_at, c.closed_at))
            if c.close_due is not None:
                row.pledged += 1
                row.within_pledge += int(timezone.localdate(c.closed_at) <= c.close_due)
        elif c.state == CaseState.ACCEPTED:
            late_reply = c.first_reply_at is None and c.reply_due is not None and c.reply_due < today
            late_close = c.close_due is not None and c.close_due < today
            row.open_overdue += int(late_reply or late_close)
    return sorted(rows.values(), key=lambda r: (r.code == "", r.code))


def chart_svg(rows: list[Row], *, title: str) -> str:
    """A grouped bar chart of received, closed and open overdue cases per department (pygal
    SVG without script, as the open-data dashboard's): shown as an image beside the table that
    carries the same figures as text."""
    import pygal
    from pygal.style import Style

    style = Style(
        background="white",
        plot_background="white",
        foreground="#1a1a1a",
        foreground_strong="#1a1a1a",
        foreground_subtle="#555555",
        colors=("#005ea5", "#2e7d32", "#a00000"),
        font_family="'Noto Sans CJK TC', 'Noto Sans', sans-serif",
    )
    chart = pygal.Bar(js=[], style=style, width=720, height=400, disable_xml_declaration=True, x_label_rotation=30)
    chart.title = title
    chart.x_labels = [r.code or "1823" for r in rows]
    chart.add(_("Received"), [r.received for r in rows])
    chart.add(_("Closed"), [r.closed for r in rows])
    chart.add(_("Open and overdue"), [r.open_overdue for r in rows])
    chart.no_data_text = _("No cases in this period")
    return re.sub(r"<script\b[^>]*>.*?</script>", "", chart.render(is_unicode=True), flags=re.S)
