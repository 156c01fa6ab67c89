"""The reports' pages (issue 20, part F): the KPI dashboard with its charts and tables, the
standard reports and their CSV, the annual report drafted, submitted and frozen, the review of
progress reports, and the grantee's progress reports under a CorpID mandate (seed 000 §21)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from tungban.eservices.models import Department, DepartmentOfficer
from tungban.subsidy.models import Award
from tungban.subsidy.models_progress import AnnualReport, ProgressReport, ProgressReportState
from tungban.subsidy.services import progress, reports
from tungban.subsidy.tests.rulebook import covers
from tungban.testing.factories import login_staff, staff_user

pytestmark = pytest.mark.django_db

REGISTER = Path(__file__).resolve().parents[4] / "examples" / "providers" / "cr_register.json"
BRN = "21812345"  # a company on the sample register; director A1234563
BASE = "/staff/subsidy/reports/"


def _officer(code: str):
    Department.objects.get_or_create(
        code=code,
        defaults={"name_en": code, "name_zh": "數碼港" if code == "CYBERPORT" else "數字辦", "source_path": "-"},
    )
    user = staff_user("none", username=f"{code.lower()}-officer")
    DepartmentOfficer.objects.create(user=user, department_id=code, role="officer")
    return user


@pytest.fixture
def seeded():
    call_command("seed_subsidy", "--seed", "4", stdout=io.StringIO())


@pytest.fixture
def cyberport(client, seeded):
    return login_staff(client, _officer("CYBERPORT"))


@covers("R34")
def test_dashboard_shows_each_chart_with_its_table(cyberport):
    """seed 000 §21 (AISC utilisation and other KPIs): four charts, each with its data table."""
    page = cyberport.get(BASE, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    for name in ("utilisation", "categories", "times", "amounts"):
        assert f'id="{name}-table"' in html
        assert f"{BASE}charts/{name}.svg" in html
    # the amounts table's total is the seeded awards' caps
    total = sum(a.subsidy_cap for a in Award.objects.all())
    assert f"{total:,.2f}" in html
    assert 'id="usage-waiting"' in html or reports.usage_available()


@pytest.mark.parametrize("name", ["utilisation", "categories", "times", "amounts"])
def test_charts_are_svg_with_chinese_labels(cyberport, name):
    """matplotlib SVG (text kept as text), labels in the page's language."""
    response = cyberport.get(f"{BASE}charts/{name}.svg", HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    svg = response.content.decode()
    assert "<svg" in svg and "<script" not in svg
    if name != "times":
        assert "本地院校" in svg  # a category label in Chinese
    again = cyberport.get(f"{BASE}charts/{name}.svg", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert again == svg  # the same figures draw the same bytes


@covers("R35", "R36", "R37", "R38")
def test_standard_reports_page_and_csv(cyberport):
    """Anchor §2.12 (seed 002 ITIB153, ITIB239, ITIB229, ITIB179): pages and CSV."""
    page = cyberport.get(f"{BASE}standard/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and 'id="as-of"' in page.content.decode()
    for name in reports.STANDARD_REPORTS:
        assert f'id="report-{name}"' in page.content.decode()
    response = cyberport.get(f"{BASE}standard/projects.csv", HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Type"].startswith("text/csv")
    parsed = list(csv.reader(io.StringIO(response.content.decode())))
    assert len(parsed) == 1 + Award.objects.count()
    assert {r[0] for r in parsed[1:]} == set(Award.objects.values_list("application__reference", flat=True))
    assert cyberport.get(f"{BASE}standard/nothing.csv").status_code == 404


def test_only_cyberport_and_dpo_officers(client, seeded):
    assert client.get(BASE).status_code == 302  # to the staff login
    client.force_login(_officer("CYBERPORT"))  # a password without the second factor opens nothing
    assert client.get(BASE).status_code == 302
    client.logout()
    login_staff(client, _officer("SWD"))
    assert client.get(BASE).status_code == 403


def test_funder_reads_but_does_not_change(client, seeded):
    login_staff(client, _officer("DPO"))
    assert client.get(BASE).status_code == 200
    assert client.get(f"{BASE}annual/2025-26/").status_code == 200
    assert client.post(f"{BASE}annual/2025-26/submit/").status_code == 403
    assert not AnnualReport.objects.filter(fiscal_year="2025-26", submitted_at__isnull=False).exists()


@covers("R32", "R33")
def test_annual_report_page_submit_freeze_and_files(cyberport):
    """seed 000 §21, seed 002 ITIB153/ITIB197: drafted, submitted once, frozen; the files
    downloaded are the stored bytes."""
    url = f"{BASE}annual/2025-26/"
    page = cyberport.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and 'id="draft"' in page.content.decode()
    saved = cyberport.post(
        url,
        {
            "security_audit_en": "Audit done.",
            "security_audit_zh": "審計完成。",
            "work_plan_en": "Plan.",
            "work_plan_zh": "計劃。",
            "next_year_budget": "1142000000",
        },
    )
    assert saved.status_code == 302
    draft_pdf = cyberport.get(f"{url}report.pdf")
    assert draft_pdf["Content-Type"] == "application/pdf" and draft_pdf.content.startswith(b"%PDF-")
    assert "draft" in draft_pdf["Content-Disposition"]
    cyberport.post(f"{url}submit/")
    report = AnnualReport.objects.get(fiscal_year="2025-26")
    assert report.frozen and report.work_plan_zh == "計劃。"
    page = cyberport.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert report.pdf_sha256 in page and 'id="frozen"' in page and 'id="annual-submit"' not in page
    assert cyberport.get(f"{url}report.pdf").content == bytes(report.pdf)
    assert cyberport.get(f"{url}report.csv").content == bytes(report.csv)
    again = cyberport.post(f"{url}submit/", HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "cannot change" in again.content.decode()
    edit = cyberport.post(url, {"work_plan_en": "Changed"}, HTTP_ACCEPT_LANGUAGE="en")
    assert edit.status_code == 409
    assert AnnualReport.objects.get(fiscal_year="2025-26").work_plan_en == "Plan."
    assert cyberport.get(f"{url}report.exe").status_code == 404
    assert cyberport.get(f"{BASE}annual/2025/").status_code == 404


@covers("R30")
def test_progress_review_return_needs_a_comment(cyberport):
    """seed 000 §21: Cyberport reviews the grantees' progress reports, and sees those overdue."""
    item = ProgressReport.objects.filter(state=ProgressReportState.SUBMITTED).first()
    assert item is not None
    late = ProgressReport.objects.filter(state=ProgressReportState.DUE, due_on__lt=timezone.localdate())
    assert late.exists()  # the seed leaves some due reports unsubmitted
    listing = cyberport.get(f"{BASE}progress/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert str(item.public_id) in listing
    overdue = listing.split('id="overdue"')[1]
    assert all(f"{r.award.application.reference} #{r.sequence}" in overdue for r in late)
    assert list(progress.overdue()) == list(late.order_by("due_on", "award_id", "sequence"))
    url = f"{BASE}progress/{item.public_id}/"
    refused = cyberport.post(url, {"decision": "return", "review_comment": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 422 and "needs a comment" in refused.content.decode()
    item.refresh_from_db()
    assert item.state == ProgressReportState.SUBMITTED
    assert cyberport.post(url, {"decision": "return", "review_comment": "Add the model card."}).status_code == 302
    item.refresh_from_db()
    assert item.state == ProgressReportState.RETURNED and item.review_comment == "Add the model card."


# --- the grantee's pages ----------------------------------------------------------------------


@pytest.fixture
def grantee(seeded, catalogue_loaded):
    """The director of :data:`BRN` (its CorpID administrator), whose organisation holds a
    seeded award."""
    from tungban.corpid import services as corpid
    from tungban.testing.factories import make_resident

    corpid.load_register(REGISTER)
    boss = make_resident(hkid="A1234563")
    corpid.bootstrap(boss, BRN)
    award = Award.objects.order_by("decided_at").first()
    award.application.br_number = BRN
    award.application.save()
    return boss, award


@pytest.fixture
def catalogue_loaded(db, settings, tmp_path):
    from tungban.credentials import catalogue as credential_catalogue
    from tungban.eservices import services

    settings.TUNGBAN_ESERVICES_FILES = tmp_path / "files"
    credential_catalogue.register_bundled()
    services.load_catalogue()


def _portal(client, resident):
    from tungban.eservices import login

    session = client.session
    session[login.SESSION_KEY] = {"resident": str(resident.public_id), "sub": "sub-for-tests"}
    session.save()
    return client


@covers("R30")
def test_grantee_submits_a_progress_report(client, grantee):
    """Seed 000 §21: the grantee submits its periodic progress report."""
    boss, award = grantee
    _portal(client, boss)
    base = f"/subsidy/grants/{award.public_id}/reports/"
    listing = client.get(base, HTTP_ACCEPT_LANGUAGE="en")
    assert listing.status_code == 200
    item = (
        award.progress_reports.exclude(state=ProgressReportState.SUBMITTED)
        .exclude(state=ProgressReportState.ACCEPTED)
        .first()
        or progress.schedule(award)[-1]
    )
    ProgressReport.objects.filter(pk=item.pk).update(state=ProgressReportState.DUE)
    url = f"{base}{item.sequence}/"
    empty = client.post(
        url, {"progress": " ", "papers": 0, "models_released": 0, "datasets": 0, "talents": 0, "landed_firms": 0}
    )
    assert empty.status_code == 422
    item.refresh_from_db()
    assert item.state == ProgressReportState.DUE
    done = client.post(
        url,
        {
            "progress": "Pre-training finished.",
            "papers": 2,
            "models_released": 1,
            "datasets": 0,
            "talents": 7,
            "landed_firms": 1,
        },
    )
    assert done.status_code == 302
    item.refresh_from_db()
    assert item.state == ProgressReportState.SUBMITTED and item.talents == 7 and item.submitted_by
    again = client.post(
        url,
        {"progress": "x", "papers": 0, "models_released": 0, "datasets": 0, "talents": 0, "landed_firms": 0},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert again.status_code == 409 and "cannot be submitted now" in again.content.decode()
    assert 'id="progress-form"' not in again.content.decode()
    item.refresh_from_db()
    assert item.progress == "Pre-training finished."


@covers("B02")
def test_a_person_without_a_mandate_is_refused(client, grantee):
    """Seed 002 ITIB229: only a person with the grantee's mandate."""
    from tungban.testing.factories import make_resident

    _boss, award = grantee
    _portal(client, make_resident())
    response = client.get(f"/subsidy/grants/{award.public_id}/reports/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403


@covers("R30")
def test_progress_schedule_covers_the_award():
    """seed 000 §21 (regular progress reports): consecutive periods from start to end, the
    last one final, each due 30 days after its end."""
    call_command("seed_subsidy", "--seed", "2", stdout=io.StringIO())
    for award in Award.objects.all():
        items = list(award.progress_reports.order_by("sequence"))
        assert items[0].period_start == award.starts_on and items[-1].period_end == award.ends_on
        assert items[-1].final and not any(r.final for r in items[:-1])
        for a, b in zip(items, items[1:], strict=False):
            assert b.period_start == a.period_end + dt.timedelta(days=1)
        assert all(r.due_on == r.period_end + dt.timedelta(days=progress.DUE_AFTER_DAYS) for r in items)
        assert progress.schedule(award) == items  # idempotent
    assert timezone.now()


def test_dashboard_and_reports_before_any_application(client):
    """No records yet: the pages say so; no figure is made up."""
    login_staff(client, _officer("CYBERPORT"))
    page = client.get(BASE, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and "No figures yet." in page.content.decode()
    for name in ("utilisation", "categories", "times", "amounts"):
        assert client.get(f"{BASE}charts/{name}.svg").status_code == 200
    assert client.get(f"{BASE}standard/").status_code == 200
    assert client.get(f"{BASE}annual/2024-25/", HTTP_ACCEPT_LANGUAGE="en").status_code == 200


@covers("R34")
def test_seed000_s21_the_dashboard_shows_utilisation_with_its_table(cyberport):
    """seed 000 §21 (KPIs: AISC utilisation): the dashboard's utilisation chart and, beside it,
    its table (WCAG 1.1.1) with each month's GPU-minutes used by category and the shares of the
    subsidised and the whole capacity, as ``reports.utilisation_by_month`` gives them."""
    html = cyberport.get(BASE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="used-table"' in html and f"{BASE}charts/used.svg" in html
    assert "Share of the subsidised capacity (%)" in html
    span = reports.utilisation_months(timezone.localdate())
    rows = [r for r in reports.utilisation_by_month(*span) if r["used_subsidised"]]
    assert rows
    for r in rows:
        cells = [r["month"].strftime("%Y-%m"), *[str(v) for v in r["used_by_category"].values()]]
        cells += [str(r["used_subsidised"]), str(r["subsidised_gpu_minutes"]), str(r["share_of_subsidised"])]
        assert "".join(f"<td>{c}</td>" for c in cells[1:]) in html.replace("\n", "")
        assert f'<th scope="row">{cells[0]}</th>' in html
    svg = cyberport.get(f"{BASE}charts/used.svg", HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert "本地院校" in svg.content.decode()
