"""Issue 20, part D, end to end in headless Chromium: the director of a university (on the
demo company register and the register of eligible institutions, seed 000 §11(a)) applies to
the AI Subsidy Scheme through the portal "for a company", choosing the university in the app;
the form refuses more nodes than the class of service has; the application is submitted and
taken in (batch, eligibility); the Cyberport secretariat marks it complete and recommends
terms on its console. axe-core finds nothing on the pages, in English and in Chinese."""

from __future__ import annotations

import re

import pytest

from tungban.corpid.models import Mandate
from tungban.eservices.models import Application as EApplication
from tungban.subsidy.constants import ApplicationState
from tungban.subsidy.models import Application
from tungban.subsidy.services import intake
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, approval_url, bind_web_app, code_shown
from tungban.testing.factories import staff_login_page
from tungban.wallet import services as wallet

from .intake_helpers import UNIVERSITY, director_of, secretariat, setup_scheme
from .rulebook import covers

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _context(browser, locale):
    ctx = browser.new_context(locale=locale, viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    return ctx


def _continue(web, page_id):
    web.click("#continue")
    web.wait_for_url(re.compile(rf".*/page/{page_id}$"))


@pytest.mark.parametrize("lang", ["en", "zh"])
@covers("B03")
def test_a_university_applies_and_the_secretariat_marks_it_complete_and_recommends(
    issuer, officer, e2e_browser, settings, tmp_path, lang
):
    from tungban.eservices import portal

    setup_scheme(settings, tmp_path)
    portal.ensure_portal()
    director, _mandate = director_of(officer, UNIVERSITY)
    mandate = Mandate.objects.get(holder=director)
    locale = "en-GB" if lang == "en" else "zh-HK"
    errors: list[str] = []

    # The scheme page, then the director's app.
    web = _context(e2e_browser, locale).new_page()
    web.on("pageerror", lambda exc: errors.append(str(exc)))
    web.goto(f"{issuer}/subsidy/")
    assert web.locator("#categories li").count() == 5 and web.locator("#batches tbody tr").count() >= 1
    assert_no_violations(web, f"subsidy: the scheme page ({lang})")

    phone_ctx = _context(e2e_browser, locale)
    phone = phone_ctx.new_page()
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(phone_ctx, phone)
    bind_web_app(phone, issuer, director.hkid, wallet.issue_activation_code(director, officer))

    # "Apply for a company": the app chooses the university.
    web.goto(f"{issuer}/services/{intake.SLUG}/apply")
    assert web.locator("#start").count() == 0  # for organisations only (seed 002 ITIB229)
    web.click("#start-company")
    web.wait_for_selector("#open-app")
    link, code = approval_url(web), code_shown(web)
    phone.bring_to_front()
    phone.goto(link)
    phone.wait_for_selector("#screen-approve:not([hidden])")
    phone.wait_for_selector("#choice-set:not([hidden])")
    phone.check(f'#choice-options input[value="{mandate.public_id}"]')
    phone.fill("#approve-code", code)
    phone.click("#approve-button")
    phone.wait_for_selector("#result:not([hidden])")
    web.bring_to_front()
    web.wait_for_url(re.compile(r".*/services/my/CYBERPORT-[0-9A-Z]{4}-[0-9A-Z]{5}/page/organisation$"))
    assert_no_violations(web, f"subsidy: the form's first page ({lang})")

    # The form, page by page.
    web.check("input[name=category][value=university]")
    web.check("input[name=non_profit][value=true]")
    web.set_input_files("#f-evidence", files=[{"name": "evidence.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    _continue(web, "project")
    web.fill("#f-project_title_en", "Cantonese speech model")
    web.fill("#f-project_title_zh", "粵語語音模型")
    web.fill("#f-project_summary", "A speech model for Cantonese.")
    _continue(web, "team")
    web.fill("#f-team", "Five researchers.")
    web.fill("#f-track_record", "Two published speech models.")
    _continue(web, "compute")
    web.check("input[name=service_class][value=h800]")
    web.fill("#f-compute_months-0-month", "2027-01")
    web.fill("#f-compute_months-0-nodes", "400")  # beyond the class's 375 nodes: refused
    web.click("#continue")
    web.wait_for_selector("#f-compute_months-0-nodes[aria-invalid=true]")
    assert ("At most 375 nodes" if lang == "en" else "最多375個節點") in web.text_content("body")
    assert_no_violations(web, f"subsidy: the compute page refused ({lang})")
    web.fill("#f-compute_months-0-nodes", "4")
    web.click("#f-compute_months-add")
    web.wait_for_selector("#f-compute_months-1-month")
    web.fill("#f-compute_months-1-month", "2027-02")
    web.fill("#f-compute_months-1-nodes", "6")
    _continue(web, "justification")
    web.fill("#f-model_size", "7 billion parameters")
    web.fill("#f-dataset", "2 trillion tokens")
    web.check("input[name=precision][value=bf16]")
    web.check("input[name=workload][value=training]")
    web.fill("#f-justification", "Pre-training takes 2 months on 4 to 6 nodes.")
    _continue(web, "costs")
    web.fill("#f-cost_items-0-description", "Computing power")
    web.fill("#f-cost_items-0-amount", "2000000")
    web.check("input[name=cost_items__0__other_funding][value=false]")
    _continue(web, "attachments")
    web.set_input_files("#f-proposal", files=[{"name": "proposal.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    _continue(web, "declaration")
    web.check("#f-declaration")
    web.click("#continue")
    web.wait_for_url(re.compile(r".*/check$"))
    web.click("#submit")
    web.wait_for_selector("#state[data-state=submitted]")

    # Taken in: the scheme's application, its batch and eligibility.
    e_app = EApplication.objects.get(resident=director)
    app = Application.objects.get(reference=e_app.reference)
    assert app.state == ApplicationState.SUBMITTED and app.assessment.eligible
    assert app.batch is not None and app.batch.cut_off >= app.submitted_at
    web.goto(f"{issuer}/subsidy/mine/")
    web.wait_for_selector(f'#subsidy-applications tr[data-reference="{app.reference}"]')
    assert_no_violations(web, f"subsidy: my organisation's applications ({lang})")

    # The secretariat: the queue, mark complete, recommend.
    staff = secretariat()
    desk = _context(e2e_browser, locale).new_page()
    desk.on("pageerror", lambda exc: errors.append(str(exc)))
    staff_login_page(desk, issuer, staff, "/staff/subsidy/")
    desk.wait_for_selector(f'#queue tr[data-reference="{app.reference}"][data-state=submitted]')
    assert_no_violations(desk, f"subsidy: the secretariat's queue ({lang})")
    desk.click(f'#queue tr[data-reference="{app.reference}"] a')
    desk.wait_for_selector("#complete")
    assert_no_violations(desk, f"subsidy: an application, submitted ({lang})")
    desk.click("#complete")
    desk.wait_for_selector("#state[data-state=complete]")
    assert desk.get_attribute("#clock .clock", "data-alert") == "false"
    desk.fill("#nodes-2027-02", "5")
    desk.fill("#price", "300000")
    desk.fill("#rate", "70")
    desk.fill("#reasons_en", "A strong team and a clear need.")
    desk.fill("#reasons_zh", "團隊實力強，需要清晰。")
    assert_no_violations(desk, f"subsidy: an application, complete ({lang})")
    desk.click("#recommend")
    desk.wait_for_selector("#state[data-state=recommended]")
    assert_no_violations(desk, f"subsidy: an application, recommended ({lang})")
    app.refresh_from_db()
    rec = intake.recommendation(app)
    assert rec["schedule"] == {"2027-01-01": 4, "2027-02-01": 5} and rec["rate"] == "0.7"
    assert not errors, errors
