"""The declaration signed with tungban+ (issue 17): the application's PDF signed PAdES
through the signing service after the resident approves in the app; a changed answer drops
the signature; a service that requires it refuses a submission without it."""

from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from tungban.core.errors import DomainError
from tungban.eservices import portal
from tungban.eservices.models import Service
from tungban.eservices.services import signature
from tungban.eservices.tests.helpers import PDF
from tungban.testing.factories import PIN, bind_cli, make_resident


@pytest.fixture
def signer(issuer, officer, catalogue, tmp_path):
    portal.ensure_portal()
    resident = make_resident(officer)  # at the counter: tungban+
    return resident, bind_cli(issuer, resident, tmp_path / "app")


def _fsd_draft(s, resident):
    app = s.start_application(resident, Service.objects.get(slug="fire-service-installation-certificate"))
    s.save_draft(app, resident, {"family_name": "CHAN", "given_name": "Tai Man", "phone": "91234567"}, page="owner")
    s.save_draft(
        app,
        resident,
        {
            "premises_address": {"lines": ["Shop 3, 18 Nathan Road"], "district": "Yau Tsim Mong", "region": "KLN"},
            "premises_use": "commercial",
        },
        page="premises",
    )
    s.save_draft(
        app,
        resident,
        {
            "installations": [{"kind": "sprinkler", "location": "G/F"}, {"kind": "hose-reel", "location": "1/F"}],
            "inspection_date": "2026-11-30",
            "contractor_number": "1234",
        },
        page="inspection",
    )
    report = s.add_attachment(app, resident, "report", "fs251.pdf", PDF)
    s.save_draft(app, resident, {"report": str(report.id)}, page="documents")
    s.save_draft(app, resident, {"declaration": True}, page="declaration")
    return app


def test_the_declaration_is_signed_in_the_app_and_kept(catalogue, signer, run_tasks):
    s = catalogue
    resident, app_cli = signer
    app = _fsd_draft(s, resident)
    signature.request(app, resident)
    app.refresh_from_db()
    state = signature.status(app)
    assert state["status"] == "pending" and state["approval_uri"].endswith(state["approval_uri"].rsplit("/", 1)[1])
    assert signature.collect(app, resident) is None  # not approved yet
    app_cli.decide(state["approval_uri"], PIN, "approve")
    run_tasks()
    doc = signature.collect(app, resident)
    assert doc.field == "signed_declaration" and doc.content_type == "application/pdf"
    reader = PdfFileReader(io.BytesIO(s.read_attachment(doc)))
    assert len(reader.embedded_signatures) == 1
    app = s.submit(app, resident)
    assert app.attachments.filter(field="signed_declaration").count() == 1  # kept with the application


def test_a_changed_answer_drops_the_signature_and_required_means_required(catalogue, signer, run_tasks):
    s = catalogue
    resident, app_cli = signer
    Service.objects.filter(slug="fire-service-installation-certificate").update(signature="required")
    app = _fsd_draft(s, resident)
    with pytest.raises(DomainError) as caught:
        s.submit(app, resident)
    assert caught.value.code == "signature_required"
    signature.request(app, resident)
    app.refresh_from_db()
    app_cli.decide(signature.status(app)["approval_uri"], PIN, "approve")
    run_tasks()
    assert signature.collect(app, resident) is not None
    s.save_draft(app, resident, {"phone": "98765432"})  # the signed PDF no longer says this
    assert not app.attachments.filter(field="signed_declaration").exists()
    with pytest.raises(DomainError) as caught:
        s.submit(app, resident)
    assert caught.value.code == "signature_required"


def test_a_basic_account_cannot_sign(catalogue, issuer, tmp_path):
    s = catalogue
    portal.ensure_portal()

    resident = make_resident()
    resident.refresh_from_db()
    resident.tier = "basic"
    resident.save(update_fields=["tier"])
    app = _fsd_draft(s, resident)
    with pytest.raises(DomainError) as caught:
        signature.request(app, resident)
    assert caught.value.code == "plus_required"
