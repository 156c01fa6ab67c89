"""Shared set-up of the intake tests (issue 20, part D): the catalogue, the company register,
the eligibility register, the demo call, and an application through the e-services engine."""

from __future__ import annotations

import copy
from pathlib import Path

from tungban.corpid import services as corpid
from tungban.eservices import services as eservices
from tungban.eservices.services.company import Company
from tungban.eservices.tests.helpers import PDF, PNG, department_user
from tungban.subsidy.services import eligibility, intake
from tungban.testing.factories import make_resident

REGISTER = Path(__file__).resolve().parents[4] / "examples" / "providers" / "cr_register.json"
#: On the demo company register and the eligibility register (fictitious).
UNIVERSITY = ("74567890", "Sha Tin Sample University Limited", "沙田樣本大學有限公司", "P2468011")
STARTUP = ("73456789", "Kwun Tong Sample AI Limited", "觀塘樣本人工智能有限公司", "K2468018")
#: On the company register only (not an eligible institution).
TRADING = ("21812345", "Tai Man Demo Trading Company Limited", "大文示範貿易有限公司", "A1234563")

ANSWERS = {
    "organisation": {"category": "university", "non_profit": True},
    "project": {"project_title_en": "Cantonese speech model", "project_title_zh": "粵語語音模型",
                "project_summary": "A speech model for Cantonese."},
    "team": {"team": "Five researchers.", "track_record": "Two published speech models."},
    "compute": {"service_class": "h800", "compute_months": [{"month": "2027-01", "nodes": 4},
                                                            {"month": "2027-02", "nodes": 6}]},
    "justification": {"model_size": "7 billion parameters", "dataset": "2 trillion tokens", "precision": "bf16",
                      "workload": "training", "justification": "Pre-training takes 2 months on 4–6 nodes."},
    "costs": {"cost_items": [{"description": "Computing power", "amount": 2000000, "other_funding": False}]},
    "declaration": {"declaration": True},
}  # fmt: skip


def setup_scheme(settings, tmp_path):
    """The catalogue, the company register, the eligibility register and the demo call."""
    from tungban.credentials import catalogue as credential_catalogue
    from tungban.payments import services as payments

    settings.TUNGBAN_ESERVICES_FILES = tmp_path / "files"
    credential_catalogue.register_bundled()
    payments.load_fees()
    eservices.load_catalogue()
    corpid.load_register(REGISTER)
    eligibility.load_institutions()
    return intake.load_demo_scheme()


def director_of(officer, org):
    """The organisation's director, with its CorpID set up (every service and action)."""
    person = make_resident(officer, hkid=org[3])
    mandate = corpid.bootstrap(person, org[0])
    return person, mandate


def secretariat(username="cyberport-officer"):
    return department_user(username, intake.SECRETARIAT, "approver")


def apply(person, mandate, org, *, category="university", changes=None, submit=True):
    """An application for ``org`` by ``person`` under ``mandate``, page by page, submitted."""
    company = Company(org[0], org[1], org[2], "org-pairwise-test", str(mandate.public_id))
    service = eservices.get_service(intake.SLUG)
    app = eservices.start_application(person, service, portal_sub="s", for_company=company)
    pages = copy.deepcopy(ANSWERS)
    pages["organisation"]["category"] = category
    doc = eservices.add_attachment(app, person, "evidence", "evidence.png", PNG)
    pages["organisation"]["evidence"] = str(doc.id)
    pages["attachments"] = {"proposal": str(eservices.add_attachment(app, person, "proposal", "p.pdf", PDF).id)}
    if category == "strategic_enterprise":
        pages["strategic"] = {"hk_base": True, "professionals_employed": 25, "contribution": "Landing an AI lab."}
    for page, values in (changes or {}).items():
        pages.setdefault(page, {}).update(values)
    order = ["organisation", "strategic", "project", "team", "compute", "justification", "costs", "attachments",
             "declaration"]  # fmt: skip
    for page in order:
        if page in pages:
            eservices.save_page(app, person, pages[page], page=page)
    if submit:
        app = eservices.submit(app, person)
    return app
