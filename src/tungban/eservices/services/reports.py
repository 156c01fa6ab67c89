"""Department reports (issue 17, "Department reports"): volumes per service and state, pledge
compliance, time to decision and drop-off per form page, as rows for tables and CSV files, and
as SVG charts rendered on the server with pygal (the table is each chart's text alternative).

Periods are Hong Kong local dates, inclusive; an application belongs to the period it was
submitted in (drop-off: started in).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import statistics
from dataclasses import dataclass

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ..models import Application, PageProgress, Service, State
from .calendar import working_days_between

DECIDED = (State.APPROVED, State.LICENCE_ISSUED, State.REJECTED)


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        tz = timezone.get_current_timezone()
        return (
            dt.datetime.combine(self.start, dt.time.min, tzinfo=tz),
            dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
        )


def default_period(today: dt.date | None = None) -> Period:
    """The last 90 days up to today."""
    today = today or timezone.localdate()
    return Period(today - dt.timedelta(days=89), today)


def _name(service: Service) -> str:
    return service.name_zh if (get_language() or "").startswith("zh") else service.name_en


def _submitted(code: str, period: Period):
    lo, hi = period.bounds()
    return Application.objects.filter(service__department_id=code, submitted_at__gte=lo, submitted_at__lt=hi)


def volumes(code: str, period: Period) -> list[dict]:
    """One row per service: ``{"service", "name", "total", "states": {state: count}}``."""
    rows: dict[str, dict] = {}
    services = {s.slug: s for s in Service.objects.filter(department_id=code)}
    counts = _submitted(code, period).values("service__slug", "state").annotate(n=Count("id")).order_by()
    for c in counts:
        slug = c["service__slug"]
        row = rows.setdefault(slug, {"service": slug, "name": _name(services[slug]), "total": 0, "states": {}})
        row["states"][c["state"]] = c["n"]
        row["total"] += c["n"]
    return sorted(rows.values(), key=lambda r: (-r["total"], r["service"]))


def _decided(code: str, period: Period):
    return (
        _submitted(code, period)
        .filter(state__in=DECIDED, decided_at__isnull=False)
        .select_related("service")
        .only("service__slug", "service__name_en", "service__name_zh", "submitted_at", "decided_at", "pledge_due")
    )


def _decision_days(app: Application) -> int:
    return working_days_between(timezone.localdate(app.submitted_at), timezone.localdate(app.decided_at))


def pledge_compliance(code: str, period: Period) -> list[dict]:
    """Per service with a pledge: ``{"service", "name", "decided", "within", "percent"}`` —
    decided (approved, licence issued or rejected) on or before the pledge's due date
    (working days, Hong Kong general holidays excluded)."""
    rows: dict[str, dict] = {}
    for app in _decided(code, period).filter(pledge_due__isnull=False):
        row = rows.setdefault(
            app.service.slug, {"service": app.service.slug, "name": _name(app.service), "decided": 0, "within": 0}
        )
        row["decided"] += 1
        row["within"] += timezone.localdate(app.decided_at) <= app.pledge_due
    for row in rows.values():
        row["percent"] = round(100 * row["within"] / row["decided"], 1)
    return sorted(rows.values(), key=lambda r: r["service"])


def time_to_decision(code: str, period: Period) -> list[dict]:
    """Per service: ``{"service", "name", "decided", "min", "median", "max"}`` in working days
    from the submission's date to the decision's."""
    days: dict[str, list[int]] = {}
    names = {}
    for app in _decided(code, period):
        days.setdefault(app.service.slug, []).append(_decision_days(app))
        names[app.service.slug] = _name(app.service)
    return [
        {
            "service": slug,
            "name": names[slug],
            "decided": len(values),
            "min": min(values),
            "median": statistics.median(values),
            "max": max(values),
        }
        for slug, values in sorted(days.items())
    ]


def drop_off(code: str, period: Period) -> list[dict]:
    """Per service, form version and page in the form's order: ``{"service", "name",
    "version", "page", "title", "reached", "percent"}`` — drafts started in the period that
    reached the page (:class:`~tungban.eservices.models.PageProgress`), as a share of those
    that reached the first page; then a row ``page="submitted"`` for those submitted."""
    lo, hi = period.bounds()
    apps = Application.objects.filter(service__department_id=code, created_at__gte=lo, created_at__lt=hi)
    counts = (
        PageProgress.objects.filter(application__in=apps)
        .values("service_id", "form_version_id", "page")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_version: dict[tuple[int, int], dict[str, int]] = {}
    for c in counts:
        by_version.setdefault((c["service_id"], c["form_version_id"]), {})[c["page"]] = c["n"]
    zh = (get_language() or "").startswith("zh")
    rows = []
    for (service_id, version_id), pages in sorted(by_version.items()):
        service = Service.objects.get(pk=service_id)
        version = service.form.versions.get(pk=version_id) if service.form_id else None
        layout = (version.layout if version else {}).get("pages", [])
        order = [p["id"] for p in layout if p.get("id") in pages] + sorted(set(pages) - {p.get("id") for p in layout})
        titles = {p["id"]: (p.get("title_zh") if zh else p.get("title_en")) or p["id"] for p in layout}
        first = pages[order[0]] if order else 0
        submitted = apps.filter(form_version_id=version_id, submitted_at__isnull=False).count()
        number = version.number if version else None
        for page in order:
            rows.append(
                {
                    "service": service.slug,
                    "name": _name(service),
                    "version": number,
                    "page": page,
                    "title": titles.get(page, page),
                    "reached": pages[page],
                    "percent": round(100 * pages[page] / first, 1) if first else 0.0,
                }
            )
        rows.append(
            {
                "service": service.slug,
                "name": _name(service),
                "version": number,
                "page": "submitted",
                "title": _("Submitted"),
                "reached": submitted,
                "percent": round(100 * submitted / first, 1) if first else 0.0,
            }
        )
    return rows


REPORTS = ("volumes", "compliance", "decision", "dropoff")


def report(name: str, code: str, period: Period) -> list[dict]:
    """:raises KeyError: an unknown report."""
    return {
        "volumes": volumes,
        "compliance": pledge_compliance,
        "decision": time_to_decision,
        "dropoff": drop_off,
    }[name](code, period)


def _columns(name: str) -> list[tuple[str, str]]:
    states = [(f"state:{s.value}", str(s.label)) for s in State if s not in (State.DRAFT, State.EXPIRED)]
    return {
        "volumes": [("service", _("Service id")), ("name", _("Service")), ("total", _("Total")), *states],
        "compliance": [
            ("service", _("Service id")),
            ("name", _("Service")),
            ("decided", _("Decided")),
            ("within", _("Within the pledge")),
            ("percent", _("Per cent within the pledge")),
        ],
        "decision": [
            ("service", _("Service id")),
            ("name", _("Service")),
            ("decided", _("Decided")),
            ("min", _("Fewest working days")),
            ("median", _("Median working days")),
            ("max", _("Most working days")),
        ],
        "dropoff": [
            ("service", _("Service id")),
            ("name", _("Service")),
            ("version", _("Form version")),
            ("page", _("Page id")),
            ("title", _("Page")),
            ("reached", _("Reached")),
            ("percent", _("Per cent of those who began")),
        ],
    }[name]


def table(name: str, rows: list[dict]) -> tuple[list[str], list[list]]:
    """The report as a header and rows (the page's table and the CSV file)."""
    cols = _columns(name)
    out = []
    for row in rows:
        out.append(
            [row.get("states", {}).get(k[6:], 0) if k.startswith("state:") else row.get(k, "") for k, _l in cols]
        )
    return [label for _k, label in cols], out


def to_csv(name: str, rows: list[dict]) -> str:
    """RFC 4180 CSV (UTF-8, header row) of :func:`table`."""
    header, body = table(name, rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(body)
    return buffer.getvalue()


def chart_svg(name: str, rows: list[dict], title: str) -> str:
    """An SVG chart of the report (pygal, no script: it is shown as an image; the page's
    table carries the same figures as text)."""
    import pygal
    from pygal.style import Style

    style = Style(
        background="white",
        plot_background="white",
        foreground="#1a1a1a",
        foreground_strong="#1a1a1a",
        foreground_subtle="#555555",
        colors=("#005ea5", "#b35c00", "#2e7d32", "#8e24aa", "#c62828", "#455a64", "#00838f"),
        font_family="'Noto Sans CJK TC', 'Noto Sans', sans-serif",
    )
    options = dict(js=[], style=style, width=720, height=360, disable_xml_declaration=True, print_values=True)
    if name == "volumes":
        chart = pygal.StackedBar(**options)
        chart.x_labels = [r["name"] for r in rows]
        states = [s for s in State if any(r["states"].get(s.value) for r in rows)]
        for s in states:
            chart.add(str(s.label), [r["states"].get(s.value, 0) for r in rows])
    elif name == "compliance":
        chart = pygal.Bar(range=(0, 100), **options)
        chart.x_labels = [r["name"] for r in rows]
        chart.add(_("Per cent within the pledge"), [r["percent"] for r in rows])
    elif name == "decision":
        chart = pygal.Bar(**options)
        chart.x_labels = [r["name"] for r in rows]
        chart.add(_("Fewest working days"), [r["min"] for r in rows])
        chart.add(_("Median working days"), [float(r["median"]) for r in rows])
        chart.add(_("Most working days"), [r["max"] for r in rows])
    else:
        chart = pygal.HorizontalBar(range=(0, 100), **options)
        chart.x_labels = [f"{r['name']} v{r['version']}: {r['title']}" for r in rows]
        chart.add(_("Per cent of those who began"), [r["percent"] for r in rows])
    chart.title = title
    chart.no_data_text = _("No applications in this period")
    # pygal writes its tooltips' configuration as a script even without scripts to load: an
    # image runs none, and the file is kept free of any.
    return re.sub(r"<script\b[^>]*>.*?</script>", "", chart.render(is_unicode=True), flags=re.S)
