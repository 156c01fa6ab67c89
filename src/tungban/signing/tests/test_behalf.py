"""Signing for an organisation, signing's side alone (issue 19; signing never imports CorpID):
a checker registered in :mod:`tungban.signing.behalf` decides, at the request, at the approval
and in the job; the organisation's seal certificate is a legal person's (ETSI EN 319 412-3) and
goes into the signing CA's CRL when revoked; a request without a checker's consent stores
nothing."""

from __future__ import annotations

import base64

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from tungban.core.errors import DomainError, Forbidden
from tungban.signing import behalf, ca, seal, services, verify
from tungban.signing.models import AuthorityRole, BehalfSigning, CredentialStatus, SigningRequest
from tungban.testing.tasks import run_queued_tasks

from .test_external_tools import verify_page
from .test_verify import make_pdf

SCHEME = "tests.behalf"
NotAllowed = Forbidden.define("tests_not_allowed", "Not allowed (a test checker's refusal).")
allowed: dict[str, bool] = {}


def checker(resident, organisation: str, service: str) -> behalf.Authority:
    if not allowed.get(str(resident.pk)):
        raise NotAllowed()
    return behalf.Authority(
        organisation_identifier=f"NTRHK-{organisation}",
        name_en="Example Trading Limited",
        name_zh="示例貿易有限公司",
        mandate_id="m-0001",
    )


@pytest.fixture(autouse=True)
def _checker():
    behalf.register(SCHEME, checker)
    allowed.clear()
    yield


def pdfs() -> list[dict]:
    return [{"name": "contract.pdf", "pdf": base64.b64encode(make_pdf("Contract")).decode()}]


def open_for(resident, client):
    return services.create_request_on_behalf(
        client.client_id, resident, pdfs(), scheme=SCHEME, organisation="12345678", service="svc"
    )


def test_the_checker_decides_at_the_request_the_approval_and_in_the_job(issuer, signer_app, signing_client):
    resident, app = signer_app
    client, _secret = signing_client
    with pytest.raises(DomainError) as caught:
        open_for(resident, client)
    assert caught.value.code == "tests_not_allowed" and SigningRequest.objects.count() == 0

    allowed[str(resident.pk)] = True
    req = open_for(resident, client)
    assert BehalfSigning.objects.get(request=req).mandate_id == "m-0001"
    app.decide(str(req.approval_id), "246810", "approve")
    allowed.clear()  # withdrawn after the approval: the job asks again
    run_queued_tasks()
    req = SigningRequest.objects.get(pk=req.pk)
    assert req.status() == "failed" and req.failure_code() == "tests_not_allowed"
    assert not req.documents.filter(result__isnull=False).exists()

    allowed[str(resident.pk)] = True
    req = open_for(resident, client)
    app.decide(str(req.approval_id), "246810", "approve")
    run_queued_tasks()
    req = SigningRequest.objects.get(pk=req.pk)
    assert req.status() == "signed"
    signed = bytes(req.documents.get().result)
    report = verify.verify_pdf(signed)
    assert report["valid"] and report["statements"][0].endswith("(NTRHK-12345678) under mandate m-0001")
    page = verify_page(issuer, signed)  # the public verification page says it too
    assert "signed for Example Trading Limited" in page and "under mandate m-0001" in page


@pytest.mark.django_db
def test_the_organisation_seal_is_a_legal_persons_certificate_and_revocation_reaches_the_crl():
    made = seal.organisation_seal_for("NTRHK-12345678", "Example Trading Limited", "示例貿易有限公司")
    assert seal.organisation_seal_for("NTRHK-12345678", "Example Trading Limited", "示例貿易有限公司").pk == made.pk
    cert = x509.load_der_x509_certificate(bytes(made.certificate_der))
    names = {a.oid: a.value for a in cert.subject}
    assert names[NameOID.ORGANIZATION_IDENTIFIER] == "NTRHK-12345678"
    assert names[NameOID.ORGANIZATION_NAME] == "Example Trading Limited" and names[NameOID.COUNTRY_NAME] == "HK"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment

    renamed = seal.organisation_seal_for("NTRHK-12345678", "Example Trading (HK) Limited", "示例貿易有限公司")
    made.refresh_from_db()
    assert renamed.pk != made.pk and made.revocation_reason == "superseded"  # the name changed
    assert services.revoke_organisation_seal("NTRHK-12345678", reason="privilege_withdrawn") == 1
    renamed.refresh_from_db()
    assert renamed.status == CredentialStatus.REVOKED
    crl = x509.load_der_x509_crl(ca.current_crl(AuthorityRole.SIGNING))
    for revoked in (made, renamed):
        assert crl.get_revoked_certificate_by_serial_number(int(revoked.serial, 16)) is not None
