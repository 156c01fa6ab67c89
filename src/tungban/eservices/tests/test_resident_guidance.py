"""What a resident (an elderly one in particular) needs to find their way, found by walking the
demo as a new resident (es-walk): the region already in the e-ME address is not asked again,
every form page and the check page lead back to "My applications", and the status page says
what happens next (the pledge date, the app's message, the e-licence) in both languages."""

from __future__ import annotations

import re

import pytest

from tungban.eservices.models import Service
from tungban.eservices.services import Definition
from tungban.eservices.tests.helpers import fill_senior_card


@pytest.fixture
def senior(catalogue):
    return Service.objects.get(slug="senior-citizen-card")


@pytest.mark.parametrize(
    ("typed", "district", "region"),
    [
        ("Flat 3B, 18 Nathan Road\nTsim Sha Tsui, Kowloon", "Tsim Sha Tsui", "KLN"),
        ("Room 1, 2 Main Street\nSha Tin, New Territories", "Sha Tin", "NT"),
        ("1 Queen's Road East\nWan Chai, Hong Kong", "Wan Chai", "HK"),
        ("沙田大圍村1號\n沙田，新界", "沙田", "NT"),
        ("Flat 3B, 18 Nathan Road\nTsim Sha Tsui", "Tsim Sha Tsui", None),  # no region named: asked
    ],
)
def test_the_region_named_in_the_profiles_address_is_prefilled(catalogue, senior, typed, district, region):
    street, locality = typed.split("\n")  # the e-ME profile's address claim (identity.eme)
    claim = {"address": {"formatted": typed, "street_address": street, "locality": locality, "country": "HK"}}
    definition = Definition.of(senior.form.current_version())
    value = catalogue.from_claims(definition, claim, "7")["address"].value
    assert value["district"] == district
    assert value.get("region") == region
    assert value["lines"] == [typed.split("\n")[0]]


@pytest.mark.parametrize("page", ["applicant", "check"])
def test_form_pages_and_the_check_page_lead_back_to_my_applications(portal_client, catalogue, senior, resident, page):
    app = fill_senior_card(catalogue, catalogue.start_application(resident, senior), resident)
    url = f"/services/my/{app.reference}/" + ("check" if page == "check" else f"page/{page}")
    html = portal_client.get(url).content.decode()
    assert '<a href="/services/my/" id="my-applications">' in html


@pytest.mark.parametrize(
    ("lang", "decides", "message", "licence"),
    [
        (
            "en",
            "Social Welfare Department checks your application and decides by",
            "a message in your tungban app",
            "the e-licence appears in your tungban app",
        ),
        ("zh", "社會福利署會審核你的申請，並於", "通辦應用程式收到訊息", "電子證照會出現在你的通辦應用程式"),
    ],
)
def test_the_status_page_says_what_happens_next(
    portal_client, catalogue, senior, resident, lang, decides, message, licence
):
    app = fill_senior_card(catalogue, catalogue.start_application(resident, senior), resident)
    portal_client.cookies["tungban_language"] = "zh-hant" if lang == "zh" else "en"
    draft_html = portal_client.get(f"/services/my/{app.reference}/").content.decode()
    assert 'id="next-steps"' not in draft_html  # a draft is the resident's to finish, not the department's
    app = catalogue.submit(app, resident)
    html = portal_client.get(f"/services/my/{app.reference}/").content.decode()
    assert 'id="next-steps"' in html
    assert decides in html and app.pledge_due.strftime("%Y-%m-%d") in html
    assert message in html and licence in html
    catalogue.withdraw(app, resident, reason="")
    assert 'id="next-steps"' not in portal_client.get(f"/services/my/{app.reference}/").content.decode()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_answer_emptied_on_a_refused_page_stays_empty_beside_its_error(
    portal_client, catalogue, senior, resident, lang
):
    prefill = {"given_name": catalogue.PrefillValue("Tai Man", "claim", "7")}
    app = catalogue.start_application(resident, senior, prefill=prefill)
    portal_client.cookies["tungban_language"] = "zh-hant" if lang == "zh" else "en"
    response = portal_client.post(
        f"/services/my/{app.reference}/page/applicant",
        {"form_version": app.form_version.digest, "family_name": "CHAN", "given_name": "", "hkid": "A123456(4)"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert re.search(r'<input id="f-given_name" name="given_name" value=""', html), "the emptied answer came back"
    assert 'value="A123456(4)"' in html  # what was typed stays, beside its error
    assert 'id="f-given_name-error"' in html
    app.refresh_from_db()
    assert app.get_answers()["given_name"] == "Tai Man"  # nothing of the refused page was stored


def test_a_missing_part_of_an_address_is_named_in_words_not_as_a_path(catalogue, senior):
    definition = Definition.of(senior.form.current_version())
    errors = {e.field: e for e in definition.validate({"address": {"lines": ["1 Main Street"]}}, page="address")}
    assert errors["address.region"].message_en == "Residential address – Region: this answer is needed."
    assert errors["address.region"].message_zh.startswith("住址 – 區域")
    assert "address." not in errors["address.district"].message_en + errors["address.district"].message_zh


@pytest.mark.parametrize(
    ("slug", "who", "how"),
    [
        ("senior-citizen-card", "aged 65 or over", "free of charge"),
        (
            "fire-service-installation-certificate",
            "registered contractor",
            "free of charge",
        ),  # HK$0 in the fee schedule
        ("temporary-hawker-licence", "festive market", "Apply, pay and receive"),
    ],
)
def test_each_working_service_says_who_can_apply_and_whether_it_is_paid(client, catalogue, slug, who, how):
    client.cookies["tungban_language"] = "en"
    html = client.get(f"/services/{slug}/").content.decode()
    eligibility = re.search(r'<p id="eligibility">(.*?)</p>', html, re.S).group(1)
    assert who in eligibility and "department's page" not in eligibility
    assert how in html
    client.cookies["tungban_language"] = "zh-hant"
    zh = re.search(r'<p id="eligibility">(.*?)</p>', client.get(f"/services/{slug}/").content.decode(), re.S).group(1)
    assert zh.strip() and not re.search(r"[A-Za-z]", zh.replace("CorpID", ""))


def test_the_apply_page_says_which_steps_depend_on_the_answers(client, catalogue):
    client.cookies["tungban_language"] = "en"
    steps = re.findall(
        r"<li>(.*?)</li>",
        re.search(
            r'<ol id="steps">(.*?)</ol>', client.get("/services/senior-citizen-card/apply").content.decode(), re.S
        ).group(1),
    )
    marked = [s for s in steps if "only if your answers need it" in s]
    assert len(steps) == 6 and marked == [s for s in steps if s.startswith("Collection office")] and len(marked) == 1


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_resident_with_a_draft_is_offered_to_continue_it_before_starting_anew(
    portal_client, catalogue, senior, resident, lang
):
    portal_client.cookies["tungban_language"] = "zh-hant" if lang == "zh" else "en"
    html = portal_client.get("/services/senior-citizen-card/apply").content.decode()
    assert 'id="your-drafts"' not in html and 'class="btn" id="start"' in html
    app = fill_senior_card(catalogue, catalogue.start_application(resident, senior), resident)
    html = portal_client.get("/services/senior-citizen-card/apply").content.decode()
    assert html.index('id="your-drafts"') < html.index('id="start"')
    assert f'href="/services/my/{app.reference}/page/' in html
    assert ("Continue " if lang == "en" else "繼續 ") + app.reference in html
    assert 'class="btn secondary" id="start"' in html
    assert ("Start a new application instead" if lang == "en" else "改為開始一份新申請") in html
