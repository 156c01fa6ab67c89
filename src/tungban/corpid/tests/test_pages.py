"""CorpID's pages behind the portal login: the companies I act for, setting a company up, the
administrators' page (granting, revoking, the audit trail); a refused change shows its error
in the page's language and stores nothing. The app's card "Companies I act for"."""

from __future__ import annotations

import pytest
from django.utils import translation
from django.utils.html import escape

from tungban.corpid import cards, services
from tungban.corpid.models import Mandate, Organisation
from tungban.eservices import login

from .conftest import TAI_MAN_BRN, offer, year_from_today


@pytest.fixture
def client(client):
    """Pages in English unless a test asks otherwise (the platform's default is Chinese)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def log_in(client, resident):
    session = client.session
    session[login.SESSION_KEY] = {"resident": str(resident.public_id), "sub": "test"}
    session.save()


def test_the_pages_need_the_portal_login(client, register):
    answer = client.get("/business/")
    assert answer.status_code == 302 and answer["Location"] == "/services/login?next=%2Fbusiness%2F"
    assert client.post("/business/set-up", {"br_number": TAI_MAN_BRN}).status_code == 302
    assert not Organisation.objects.exists()


@pytest.mark.parametrize("lang,text", [("en", "8 digits"), ("zh-hant", "8位數字")])
def test_set_up_refusals_in_both_languages(client, director, employee, lang, text):
    log_in(client, employee)
    client.cookies["django_language"] = lang
    wrong = client.post("/business/set-up", {"br_number": "1234567"}, HTTP_ACCEPT_LANGUAGE=lang)
    assert wrong.status_code == 400 and text in wrong.content.decode()
    assert 'aria-invalid="true"' in wrong.content.decode()
    not_director = client.post("/business/set-up", {"br_number": TAI_MAN_BRN}, HTTP_ACCEPT_LANGUAGE=lang)
    assert not_director.status_code == 403
    with translation.override(lang):
        from tungban.corpid import errors

        assert escape(str(errors.NotADirector().message)) in not_director.content.decode()
    assert not Organisation.objects.exists()


def test_a_director_sets_up_grants_and_revokes_on_the_pages(client, director, employee):
    log_in(client, director)
    done = client.post("/business/set-up", {"br_number": "2181 2345"})
    assert done.status_code == 302 and done["Location"] == f"/business/{TAI_MAN_BRN}/"
    page = client.get(done["Location"]).content.decode()
    assert "Tai Man Demo Trading Company Limited" in page and 'id="grant-form"' in page

    start, end = year_from_today()
    form = {
        "holder_hkid": employee.hkid,
        "role": "user",
        "services": "svc-a, svc-b",
        "actions": ["view", "sign"],
        "valid_from": start.isoformat(),
        "valid_until": end.isoformat(),
        "joint_approval": "1",
    }
    bad = client.post(f"/business/{TAI_MAN_BRN}/grant", {**form, "valid_until": "31/12/2027"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.content.decode()
    assert 'value="svc-a, svc-b"' in bad.content.decode()  # what was typed is kept
    assert Mandate.objects.count() == 1
    assert client.post(f"/business/{TAI_MAN_BRN}/grant", form).status_code == 302
    mandate = Mandate.objects.get(holder=employee)
    assert (mandate.services, mandate.actions, mandate.joint_approval, mandate.state) == (
        ["svc-a", "svc-b"],
        ["view", "sign"],
        True,
        "offered",
    )
    own = Mandate.objects.get(holder=director)
    last = client.post(f"/business/{TAI_MAN_BRN}/mandates/{own.public_id}/revoke")
    assert last.status_code == 409 and "last administrator" in last.content.decode()
    assert client.post(f"/business/{TAI_MAN_BRN}/mandates/{mandate.public_id}/revoke").status_code == 302
    page = client.get(f"/business/{TAI_MAN_BRN}/").content.decode()
    assert "Revoked a mandate" in page and "Offered a mandate" in page


def test_only_administrators_see_the_administrators_page(client, director, employee):
    services.bootstrap(director, TAI_MAN_BRN)
    offer(director, employee)
    log_in(client, employee)
    answer = client.get(f"/business/{TAI_MAN_BRN}/")
    assert answer.status_code == 403 and "administrators and sub-administrators" in answer.content.decode()
    mine = client.get("/business/").content.decode()
    assert "Tai Man Demo Trading Company Limited" in mine and 'data-state="offered"' in mine


def test_the_card_lists_offers_and_answers_them(director, employee, app_of):
    services.bootstrap(director, TAI_MAN_BRN)
    assert cards.companies_card(employee)["state"] == "empty"
    offer(director, employee, services_=["svc-a"], actions=["view"])
    card = cards.companies_card(employee)
    assert card["action"] == "Answer the mandate offer"
    assert card["items"][0]["label"] == f"Tai Man Demo Trading Company Limited ({TAI_MAN_BRN})"
    assert card["items"][0]["value"].startswith("Waiting for your answer. User: View; svc-a;")
    app = app_of(employee)
    app.accept(cards.answer_offer(employee)["approval_id"])
    with translation.override("zh-hant"):
        card = cards.companies_card(employee)
    assert card["action"] == "" and card["items"][0]["label"] == f"大文示範貿易有限公司 ({TAI_MAN_BRN})"
    assert card["items"][0]["value"].startswith("有效。使用者：查閱；svc-a；")
    admin_card = cards.companies_card(director)
    assert admin_card["items"][0]["href"] == f"/business/{TAI_MAN_BRN}/"
