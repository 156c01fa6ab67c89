"""The 1823 desk at /staff/1823/: who may see and do what, each action through the page, errors
in both languages, attachments to the department only, the coordinator's queue, the KPI dashboard."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from tungban.hotline.constants import CaseState
from tungban.hotline.models import Case, CaseEvent
from tungban.hotline.services import cases, kpi
from tungban.testing.factories import login_staff, staff_user

from .conftest import PNG, lamp_case


def _as(user) -> Client:
    return login_staff(Client(), user)


def test_anonymous_goes_to_login_and_staff_without_role_is_refused(hotline):
    resp = Client().get("/staff/1823/")
    assert resp.status_code == 302 and resp["Location"].startswith("/admin/login/")
    client = _as(staff_user("counter_officer"))
    en = client.get("/staff/1823/", HTTP_ACCEPT_LANGUAGE="en")
    zh = client.get("/staff/1823/", HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert en.status_code == zh.status_code == 403
    assert "You are not a 1823 case officer." in en.content.decode()
    assert "你不是 1823 個案人員。" in zh.content.decode()


def test_queue_shows_my_department_only(hotline, hyd_officer, fehd_officer):
    mine, _ = lamp_case()
    theirs, _ = cases.submit(
        case_type="refuse-collection", kind="complaint", description="Bin full", language="en", channel="web"
    )
    page = _as(hyd_officer).get("/staff/1823/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert mine.reference in page and theirs.reference not in page
    page = _as(fehd_officer).get("/staff/1823/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert theirs.reference in page and mine.reference not in page and "等待接收" in page


def test_accept_reply_close_through_the_page(hotline, hyd_officer):
    case, _ = lamp_case()
    client = _as(hyd_officer)
    url = f"/staff/1823/cases/{case.reference}/"
    assert "E1234" in client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert client.post(url + "accept").status_code == 302
    assert Case.objects.get(pk=case.pk).state == CaseState.ACCEPTED
    n = CaseEvent.objects.count()
    resp = client.post(url + "reply", {"reply-text": "  "}, HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 400 and "Write the reply to the person" in resp.content.decode()
    resp = client.post(url + "close", {"close-text": ""}, HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert resp.status_code == 400 and "請填寫給市民的回覆" in resp.content.decode()
    future = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    resp = client.post(url + "close", {"close-text": "Fixed", "close-closed_at": future}, HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 400 and "cannot be in the future" in resp.content.decode()
    assert CaseEvent.objects.count() == n
    assert client.post(url + "reply", {"reply-text": "Contractor on site tomorrow."}).status_code == 302
    assert client.post(url + "note", {"note-text": "Called contractor."}).status_code == 302
    assert client.post(url + "close", {"close-text": "Repaired."}).status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED and case.closure_reply == "Repaired."
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Called contractor." in page and "Repaired." in page
    assert client.post(url + "close", {"close-text": "Again"}).status_code == 409
    assert client.post(url + "nonsense").status_code == 404


def test_other_department_is_refused_on_page_and_action(hotline, fehd_officer):
    case, _ = lamp_case()
    client = _as(fehd_officer)
    resp = client.get(f"/staff/1823/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 403 and "not with your department" in resp.content.decode()
    resp = client.post(f"/staff/1823/cases/{case.reference}/accept", HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert resp.status_code == 403 and "此個案不屬你的部門。" in resp.content.decode()
    assert Case.objects.get(pk=case.pk).state == CaseState.ASSIGNED
    assert client.get("/staff/1823/cases/1823-26-00000000/").status_code == 404


def test_attachments_only_to_the_departments_officers(hotline, hyd_officer, fehd_officer, coordinator):
    case, _ = lamp_case(attachments=[("lamp.png", PNG)])
    doc = case.attachments.get()
    url = f"/staff/1823/cases/{case.reference}/attachments/{doc.pk}"
    resp = _as(hyd_officer).get(url)
    assert resp.status_code == 200 and resp.content == PNG and resp["Content-Type"] == "image/png"
    assert resp["X-Content-Type-Options"] == "nosniff"
    assert _as(fehd_officer).get(url).status_code == 403
    assert _as(coordinator).get(url).status_code == 403
    page = _as(coordinator).get(f"/staff/1823/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "lamp.png" not in page and "for the department" in page
    assert _as(hyd_officer).get(url.replace(str(doc.pk), str(doc.pk + 99))).status_code == 404


def test_decline_and_transfer_through_the_page(hotline, hyd_officer, lcsd_officer):
    case, _ = cases.submit(
        case_type="tree-safety",
        kind="complaint",
        description="Leaning tree",
        language="en",
        channel="web",
        district="sha-tin",
    )
    client = _as(hyd_officer)
    url = f"/staff/1823/cases/{case.reference}/"
    resp = client.post(url + "decline", {"decline-text": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 400 and "Give the reason" in resp.content.decode()
    assert client.post(url + "decline", {"decline-text": "Park tree"}).status_code == 302
    assert Case.objects.get(pk=case.pk).department_id == "LCSD"
    lc = _as(lcsd_officer)
    resp = lc.post(url + "transfer", {"transfer-department": "NOPE", "transfer-text": "x"}, HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 400
    assert lc.post(url + "transfer", {"transfer-department": "FEHD", "transfer-text": "Refuse"}).status_code == 302
    assert Case.objects.get(pk=case.pk).department_id == "FEHD"


def test_coordinator_queue_and_lead_decision(hotline, coordinator, hyd_officer, fehd_officer):
    case, _ = lamp_case()
    cases.escalate_due(case.accept_due_at)
    client = _as(coordinator)
    page = client.get("/staff/1823/", HTTP_ACCEPT_LANGUAGE="en", follow=True).content.decode()
    assert case.reference in page and "Coordinator" in page
    assert _as(hyd_officer).get("/staff/1823/coordinator/").status_code == 403
    url = f"/staff/1823/cases/{case.reference}/lead"
    resp = client.post(url, {"lead-department": "FEHD", "lead-decided_by": ""}, HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert resp.status_code == 400 and "請說明原因" in resp.content.decode()
    who = "Deputy Chief Secretary for Administration, meeting of 3 March 2026"
    assert client.post(url, {"lead-department": "FEHD", "lead-decided_by": who}).status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED and case.department_id == "FEHD" and case.lead_decided_by == who
    page = _as(fehd_officer).get("/staff/1823/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert case.reference in page


def test_kpi_figures_and_page(hotline, hyd_officer, coordinator):
    a, _ = lamp_case()
    b, _ = lamp_case()
    c, _ = lamp_case()
    for x in (a, b, c):
        cases.accept(x, hyd_officer)
    cases.reply(a, hyd_officer, "ok")
    cases.close(a, hyd_officer, "done")
    Case.objects.filter(pk=c.pk).update(close_due=timezone.localdate() - dt.timedelta(days=1))
    rows = {r.code: r for r in kpi.figures(kpi.default_period())}
    hyd = rows["HYD"]
    assert (hyd.received, hyd.accepted, hyd.closed, hyd.open_overdue) == (3, 3, 1, 1)
    assert hyd.within_pledge_percent == 100.0 and hyd.close_median is not None
    assert kpi.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9
    assert kpi.percentile([4.0, 1.0], 50) == 1.0 and kpi.percentile([], 50) is None
    page = _as(hyd_officer).get("/staff/1823/kpi/", HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert page.status_code == 200 and "在服務承諾內結案" in page.content.decode()
    bad = _as(hyd_officer).get("/staff/1823/kpi/?start=2026-12-05&end=2026-01-01", HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code == 400 and "before its start" in bad.content.decode()
    svg = _as(coordinator).get("/staff/1823/kpi/chart.svg")
    assert svg["Content-Type"] == "image/svg+xml" and b"<script" not in svg.content and b"HYD" in svg.content
    old = kpi.figures(kpi.Period(dt.date(2020, 1, 1), dt.date(2020, 1, 31)))
    assert old == []


@pytest.mark.parametrize(
    ("path", "title_en", "title_zh"),
    [
        ("/staff/1823/", "1823 cases of my department", "本部門的 1823 個案"),
        ("/staff/1823/kpi/", "1823 KPI dashboard", "1823 表現指標儀表板"),
    ],
)
def test_pages_in_both_languages(hotline, hyd_officer, path, title_en, title_zh):
    client = _as(hyd_officer)
    en = client.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    zh = client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert '<html lang="en">' in en and f"<h1>{title_en}</h1>" in en
    assert '<html lang="zh-Hant-HK">' in zh and f"<h1>{title_zh}</h1>" in zh
