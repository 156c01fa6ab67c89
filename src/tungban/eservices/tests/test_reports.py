"""Department reports (issue 17): volumes per service and state, pledge compliance, time to
decision (min / median / max working days), drop-off per form page — as figures, CSV and SVG
charts; the pages show each chart with its table (the chart's text alternative)."""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.utils import timezone

from tungban.eservices import services
from tungban.eservices.models import Application, Service
from tungban.eservices.services import calendar, reports
from tungban.eservices.tests.staffing import submitted_senior_cards
from tungban.testing.factories import login_staff


def _decide_after(app, working_days: int, approve_with, *, reject=False):
    """Decide ``app`` as if ``working_days`` working days after its submission."""
    if reject:
        services.reject(app, approve_with, "No.", "不。")
    else:
        services.approve(app, approve_with)
    submitted = timezone.localdate(app.submitted_at)
    decided = calendar.add_working_days(submitted, working_days)
    when = timezone.make_aware(dt.datetime.combine(decided, dt.time(10)))
    Application.objects.filter(pk=app.pk).update(decided_at=when)


def test_report_figures(catalogue, resident, swd_approver):
    pledge = Service.objects.get(slug="senior-citizen-card").pledge_working_days
    a, b, c, d = submitted_senior_cards(resident, 4)
    _decide_after(a, 1, swd_approver)
    _decide_after(b, pledge, swd_approver)
    _decide_after(c, pledge + 3, swd_approver, reject=True)
    period = reports.default_period()

    (vol,) = reports.volumes("SWD", period)
    assert vol["service"] == "senior-citizen-card" and vol["total"] == 4
    assert vol["states"]["submitted"] == 1 and vol["states"]["rejected"] == 1
    assert sum(vol["states"].values()) == 4

    (comp,) = reports.pledge_compliance("SWD", period)
    assert (comp["decided"], comp["within"], comp["percent"]) == (3, 2, 66.7)

    (tdec,) = reports.time_to_decision("SWD", period)
    assert (tdec["min"], tdec["median"], tdec["max"]) == (1, pledge, pledge + 3)

    assert reports.volumes("FEHD", period) == []
    earlier = reports.Period(period.start - dt.timedelta(days=400), period.start - dt.timedelta(days=300))
    assert reports.volumes("SWD", earlier) == []


def test_drop_off_counts_pages_in_the_forms_order(catalogue, resident):
    service = Service.objects.get(slug="senior-citizen-card")
    submitted_senior_cards(resident, 2)
    services.start_application(resident, service)  # stopped on the first page
    rows = reports.drop_off("SWD", reports.default_period())
    pages = [r["page"] for r in rows]
    layout = [p["id"] for p in service.form.current_version().layout["pages"]]
    assert pages[:-1] == [p for p in layout if p in pages] and pages[-1] == "submitted"  # the form's order
    assert len(pages) >= 5
    assert rows[0]["reached"] == 3 and rows[0]["percent"] == 100.0
    assert rows[-1]["reached"] == 2 and rows[-1]["percent"] == 66.7


def test_csv_and_svg_downloads(client, catalogue, resident, swd_approver):
    (a,) = submitted_senior_cards(resident, 1)
    login_staff(client, swd_approver)
    page = client.get("/staff/eservices/SWD/reports/", HTTP_ACCEPT_LANGUAGE="en")
    body = page.content.decode()
    assert page.status_code == 200
    for name in reports.REPORTS:
        assert f'id="report-{name}"' in body and f"/staff/eservices/SWD/reports/{name}.svg" in body
    assert 'alt="Chart: Applications per service and state. The table below gives the same figures."' in body

    resp = client.get("/staff/eservices/SWD/reports/volumes.csv", HTTP_ACCEPT_LANGUAGE="en")
    assert resp["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(resp.content.decode())))
    assert rows[0][:3] == ["Service id", "Service", "Total"]
    assert rows[1][:3] == ["senior-citizen-card", "Senior Citizen Card application", "1"]

    svg = client.get("/staff/eservices/SWD/reports/volumes.svg", HTTP_ACCEPT_LANGUAGE="en")
    text = svg.content.decode()
    assert svg["Content-Type"] == "image/svg+xml" and text.startswith("<svg") and "<script" not in text
    assert "Senior Citizen Card application" in text

    zh = client.get("/staff/eservices/SWD/reports/compliance.csv", HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert "服務" in zh.content.decode().splitlines()[0]
    bad = client.get(
        "/staff/eservices/SWD/reports/", {"start": "2026-12-05", "end": "2026-01-01"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "The end of the range is before its start." in bad.content.decode()
    assert client.get("/staff/eservices/SWD/reports/nothing.csv").status_code == 404
    assert client.get("/staff/eservices/FEHD/reports/volumes.csv").status_code == 403
