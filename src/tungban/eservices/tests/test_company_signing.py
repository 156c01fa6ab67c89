"""The declaration of a company's application signed for the company (CorpID's corporate
signing, issue 19): the person's tungban+ signature, under joint approval a second authorised
person's (the sign page links their approval; nothing can be collected before it), then the
company's seal; a mandate without ``sign`` opens nothing."""

from __future__ import annotations

import io
import uuid

import pytest
from django.utils import translation
from pyhanko.pdf_utils.reader import PdfFileReader

from tungban.core.errors import DomainError
from tungban.corpid import services as corpid
from tungban.eservices import portal
from tungban.eservices.services.company import Company
from tungban.eservices.tests.conftest import BRN, NAME_EN, NAME_ZH, SLUG
from tungban.eservices.tests.test_company import logged_in, start
from tungban.testing.factories import PIN, bind_cli
from tungban.testing.tasks import run_queued_tasks

ANSWERS = {
    "company": {
        "company_name_en": NAME_EN,
        "company_name_zh": NAME_ZH,
        "br_number": BRN,
        "company_number": "0812345",
        "incorporated_on": "1989-09-15",
        "business_address": "Unit 5, 10/F, Example Industrial Building, 1 Demo Street, Kwun Tong, Kowloon",
    },
    "tax": {
        "last_year_of_assessment": "2025/26",
        "profits_tax_return_filed": True,
        "br_valid_until": "2027-09-14",
        "no_outstanding_tax": True,
    },
    "claim": {
        "arrangement": "mainland",
        "calendar_years": "2026",
        "income": "Service fees",
        "nature_of_business": "Trading",
    },
    "contact": {"contact_family_name": "WONG", "contact_given_name": "Siu Ling", "contact_phone": "9123 4567"},
    "declaration": {"declaration": True},
}


@pytest.fixture
def apps(issuer, tmp_path):
    """``apps(resident)``: the resident's bound CLI app."""

    def make(resident):
        return bind_cli(issuer, resident, tmp_path / f"app-{uuid.uuid4().hex[:8]}")

    return make


def _mandated(director, holder, app, *, actions, joint_approval=False):
    start_day = corpid.today()
    mandate = corpid.grant(
        director,
        BRN,
        holder_hkid=holder.hkid,
        role="user",
        services=[SLUG],
        actions=list(actions),
        valid_from=start_day,
        valid_until=corpid.years_later(start_day, 1),
        joint_approval=joint_approval,
    )
    app.decide(corpid.ask_holder(holder, mandate.public_id)["approval_id"], PIN, "approve")
    mandate.refresh_from_db()
    return mandate


def _filled(catalogue, resident, mandate):
    app = start(catalogue, resident, Company(BRN, NAME_EN, NAME_ZH, "org-1", str(mandate.public_id)))
    for page, answers in ANSWERS.items():
        catalogue.save_draft(app, resident, answers, page=page)
    return app


def test_joint_approval_the_second_person_approves_then_the_seal(client, catalogue, director, employee, apps, settings):
    portal.ensure_portal()
    employee_app, director_app = apps(employee), apps(director)
    mandate = _mandated(director, employee, employee_app, actions=("view", "apply", "sign"), joint_approval=True)
    app = _filled(catalogue, employee, mandate)

    request_id = catalogue.signature.request(app, employee)
    app.refresh_from_db()
    assert app.signing_request_id == request_id
    first = catalogue.signature.status(app)
    assert first["second_approval_id"] == ""  # opened once the first signatory approved
    employee_app.decide(first["approval_uri"].rstrip("/").rsplit("/", 1)[1], PIN, "approve")
    run_queued_tasks()

    waiting = catalogue.signature.status(app)
    assert waiting["second_approval_id"]
    assert catalogue.signature.collect(app, employee) is None  # one approver: nothing to keep yet
    browser = logged_in(client, employee, Company(BRN, NAME_EN, NAME_ZH, "org-1", str(mandate.public_id)))
    client.cookies["tungban_language"] = "en"
    with translation.override("en"):
        page = browser.get(f"/services/my/{app.reference}/sign").content.decode()
    assert 'id="second-signatory"' in page
    assert f"{settings.TUNGBAN_ISSUER}/app/approve/{waiting['second_approval_id']}" in page
    assert "for Tai Man Demo Trading Company Limited" in page

    director_app.decide(waiting["second_approval_id"], PIN, "approve")  # an administrator: may sign
    run_queued_tasks()
    doc = catalogue.signature.collect(app, employee)
    assert doc is not None
    reader = PdfFileReader(io.BytesIO(catalogue.read_attachment(doc)))
    assert len(reader.embedded_signatures) == 3  # the person, the second signatory, the company's seal


def test_a_mandate_without_sign_opens_no_signature(catalogue, director, employee, apps):
    portal.ensure_portal()
    mandate = _mandated(director, employee, apps(employee), actions=("view", "apply"))
    app = _filled(catalogue, employee, mandate)
    with pytest.raises(DomainError) as refused:
        catalogue.signature.request(app, employee)
    assert refused.value.code == "mandate_out_of_scope"
    app.refresh_from_db()
    assert app.signing_request_id == ""
