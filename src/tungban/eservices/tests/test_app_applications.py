"""The resident's applications in the app (issue 17: drafts "resumable from the app or web"):
the panel card ``eservices.applications`` and ``GET /api/v1/eservices/app/applications`` list
what needs the resident's answer, drafts (with their expiry), the others in progress and the
licences issued — each with the portal page that continues it — and nothing of anyone else's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from tungban.eservices import cards
from tungban.eservices.models import Application, Service
from tungban.eservices.tests.helpers import SENIOR_ANSWERS, fill_senior_card
from tungban.eservices.tests.staffing import submitted_senior_cards
from tungban.testing.factories import PIN, bind_cli, make_resident
from tungban.wallet import cards as panel_cards
from tungban.wallet import panel
from tungban.wallet.client import AppError

API = "/api/v1/eservices/app/applications"


@pytest.fixture
def mixed(catalogue, resident, officer, swd_officer, swd_approver):
    """One resident's applications in every group, and some that must not be listed."""
    s = catalogue
    service = Service.objects.get(slug="senior-citizen-card")
    issued, asked, waiting, withdrawn = submitted_senior_cards(resident, 4)
    issued = s.approve(issued, swd_approver)
    s.request_information(asked, swd_officer, "Please upload a photo taken in the last six months.", "請上載近照。")
    s.withdraw(withdrawn, resident)
    draft = s.start_application(resident, service)
    s.save_draft(draft, resident, {**SENIOR_ANSWERS["applicant"], "hkid": resident.hkid}, page="applicant")
    stale = s.start_application(resident, service)  # expired, not yet swept
    Application.objects.filter(pk=stale.pk).update(draft_expires_at=timezone.now() - dt.timedelta(minutes=1))
    other = make_resident(officer)
    fill_senior_card(s, s.start_application(other, service), other)
    return {"issued": issued, "asked": asked, "waiting": waiting, "draft": Application.objects.get(pk=draft.pk)}


def test_summaries_most_urgent_first_with_the_page_that_continues_each(mixed, resident):
    with translation.override("en"):
        found = cards.summaries(resident)
    assert [(s["reference"], s["group"]) for s in found] == [
        (mixed["asked"].reference, "information"),
        (mixed["draft"].reference, "draft"),
        (mixed["waiting"].reference, "open"),
        (mixed["issued"].reference, "issued"),
    ]
    asked, draft, waiting, issued = found
    assert asked["request"] == "Please upload a photo taken in the last six months."
    assert asked["url"] == f"/services/my/{mixed['asked'].reference}/"
    assert draft["url"] == f"/services/my/{mixed['draft'].reference}/page/address"  # the page reached
    assert draft["draft_expires_at"] == mixed["draft"].draft_expires_at
    assert waiting["state"] == "submitted" and waiting["draft_expires_at"] is None
    assert issued["credential_id"] == mixed["issued"].credential_id != ""
    with translation.override("zh-hant"):
        zh = cards.summaries(resident)
    assert zh[0]["request"] == "請上載近照。" and zh[0]["service"] == "申請長者咭"


def test_the_panel_card_links_each_item_to_the_portal(mixed, resident):
    assert panel_cards.get("eservices.applications").app == "eservices"
    panel.choose(resident, ["eservices.applications"])
    with translation.override("en"):
        (card,) = panel.panel(resident)["cards"]
    assert card["state"] == "ok"
    assert [i["href"] for i in card["items"]] == [s["url"] for s in cards.summaries(resident)]
    assert "More information is needed from you: Please upload a photo" in card["items"][0]["value"]
    expiry = timezone.localtime(mixed["draft"].draft_expires_at).date()
    assert card["items"][1]["value"].startswith(f"Draft, kept until {expiry.strftime('%-d %b %Y')}")
    assert card["items"][1]["label"] == f"Senior Citizen Card application ({mixed['draft'].reference})"
    with translation.override("zh-hant"):
        (zh,) = panel.panel(resident)["cards"]
    assert zh["label"] == "我的電子服務申請"
    assert f"草稿，保留至{expiry.year}年{expiry.month}月{expiry.day}日" in zh["items"][1]["value"]


def test_no_application_is_an_empty_card(catalogue, resident):
    assert cards.applications_card(resident)["state"] == "empty"


def test_the_device_api(issuer, mixed, resident, tmp_path):
    app = bind_cli(issuer, resident, tmp_path / "phone")
    found = app._call("GET", API, device_key=app.load_key(PIN))
    assert [(a["reference"], a["group"]) for a in found] == [
        (s["reference"], s["group"]) for s in cards.summaries(resident)
    ]
    draft = found[1]
    assert draft["url"].endswith("/page/address") and draft["draft_expires_at"]
    with pytest.raises(AppError) as exc:
        app._call("GET", API)  # no device proof
    assert exc.value.status == 401
