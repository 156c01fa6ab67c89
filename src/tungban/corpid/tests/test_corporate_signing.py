"""Signing for a company (issue 19: the company chop's replacement). An authorised person whose
mandate includes ``sign`` for the service signs PDFs with their tungban+ certificate after a
fresh app approval; under joint approval a second authorised person approves too; then the
company's seal (an ETSI EN 319 412-3 legal-person certificate, ``organizationIdentifier``
``NTRHK-<BRN>``) covers their signatures. The result validates with poppler's ``pdfsig`` (NSS
trusting only the tungban root) and with pyHanko's validator, and the platform's verifier says
who signed for which company under which mandate. Each bad input is its documented error with
nothing stored, and a mandate revoked between the request and the approval, or between the
approval and the signing job, makes the signature fail with nothing signed."""

from __future__ import annotations

import base64
import datetime as dt
import re
from io import BytesIO

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from tungban.core.errors import DomainError
from tungban.corpid import services
from tungban.corpid.models import AuditEvent, Mandate, Organisation
from tungban.corpid.services import corporate_signing
from tungban.signing import ca, verify
from tungban.signing import services as signing
from tungban.signing.models import (
    AuthorityRole,
    BehalfSigning,
    CredentialStatus,
    OrganisationSeal,
    SigningDocument,
    SigningRequest,
)
from tungban.signing.tests.test_seal import pdfsig, require
from tungban.signing.tests.test_verify import make_pdf
from tungban.testing.factories import make_client
from tungban.testing.tasks import run_queued_tasks
from tungban.wallet.client import AppError
from tungban.wallet.models import ApprovalRequest

from .conftest import KEUNG_KEE_BRN, TAI_MAN_BRN, offer

SERVICE = "filing-svc"
IDENTIFIER = f"NTRHK-{TAI_MAN_BRN}"


@pytest.fixture
def service(db):
    return make_client(SERVICE, "https://filing.example/cb", allowed_scopes=["openid", "profile", "signing"])


@pytest.fixture
def company(director, app_of):
    """Tai Man's company set up by him (administrator: every service and action), his app bound."""
    services.bootstrap(director, TAI_MAN_BRN)
    return app_of(director)


def mandate_for(holder, director, app_of, *, actions=("view", "sign"), services_=(SERVICE,), **kw):
    """A mandate offered by the director and accepted in the holder's app; returns the app."""
    mandate = offer(director, holder, actions=actions, services_=services_, **kw)
    app = app_of(holder)
    app.accept(services.ask_holder(holder, mandate.public_id)["approval_id"])
    mandate.refresh_from_db()
    assert mandate.state == "active"
    return app


def documents(text: str = "Annual return NAR1") -> list[dict]:
    return [{"name": "annual-return.pdf", "pdf": base64.b64encode(make_pdf(text)).decode()}]


def counts():
    return (
        SigningRequest.objects.count(),
        BehalfSigning.objects.count(),
        ApprovalRequest.objects.filter(kind="sign").count(),
        AuditEvent.objects.filter(action="signing_requested").count(),
        OrganisationSeal.objects.count(),
    )


def refused(code: str, *args, **kwargs) -> DomainError:
    before = counts()
    with pytest.raises(DomainError) as caught:
        corporate_signing.open_request(*args, **kwargs)
    assert caught.value.code == code, caught.value.code
    assert counts() == before, "nothing stored"
    return caught.value


def signed_pdf(req) -> bytes:
    data, media_type, _name = signing.document_result(SigningRequest.objects.get(pk=req.pk), 0)
    assert media_type == "application/pdf"
    return data


def pyhanko_statuses(data: bytes):
    """pyHanko's own validator on every signature, trusting only the tungban root, with its CRLs."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    context = ValidationContext(
        trust_roots=[ca.asn1(ca.certificate(AuthorityRole.ROOT))],
        other_certs=[ca.asn1(ca.certificate(AuthorityRole.SIGNING))],
        crls=[ca.current_crl(AuthorityRole.SIGNING), ca.current_crl(AuthorityRole.ROOT)],
        allow_fetching=False,
        revocation_mode="hard-fail",
    )
    sigs = PdfFileReader(BytesIO(data)).embedded_signatures
    return [(sig.field_name, validate_pdf_signature(sig, context)) for sig in sigs]


def check_with_pdfsig(nss: str, tmp_path, data: bytes, expected: int) -> str:
    require("pdfsig")
    path = tmp_path / "signed-for-company.pdf"
    path.write_bytes(data)
    out = pdfsig(nss, path)
    assert out.count("Signature is Valid") == expected, out
    assert out.count("Certificate is Trusted") == expected, out
    assert "Total document signed" in out, out  # the last signature (the seal) covers the whole file
    return out


# --- signing for a company ----------------------------------------------------------------------


def test_an_authorised_person_signs_for_the_company_and_pdfsig_and_pyhanko_accept_both_signatures(
    company, director, employee, service, app_of, nss_db, tmp_path
):
    app = mandate_for(employee, director, app_of)
    req = corporate_signing.open_request(employee, TAI_MAN_BRN, SERVICE, documents(), reason="Annual return 2026")
    mandate = Mandate.objects.get(holder=employee)
    assert not corporate_signing.second_signatory_needed(req)
    assert corporate_signing.approval_ids(req) == [str(req.approval_id)]
    assert AuditEvent.objects.filter(action="signing_requested", mandate=mandate).count() == 1
    trail = company("GET", f"/organisations/{TAI_MAN_BRN}").json()["events"]  # the administrators see it
    assert trail[0]["action"] == "signing_requested" and trail[0]["detail"]["request"] == str(req.id)

    app.accept(str(req.approval_id))  # a fresh approval in the person's app
    run_queued_tasks()
    result = signing.request_result(signing.get_request(req.client, req.pk))
    assert result["status"] == "signed", result
    org = result["organisation"]
    assert (org["identifier"], org["mandate_id"], org["joint_approval"]) == (IDENTIFIER, str(mandate.public_id), False)
    assert org["seal"] and org["seal"]["name"].startswith("Tai Man Demo Trading")

    data = signed_pdf(req)
    out = check_with_pdfsig(nss_db, tmp_path, data, expected=2)
    signatures = out.split("Signature #")[1:]
    # Person first (their tungban+ certificate), the organisation's seal second, covering it.
    assert "WONG, Siu Ling" in signatures[0] and f"for {IDENTIFIER} under mandate {mandate.public_id}" in signatures[0]
    assert "Tai Man Demo Trading" in signatures[1] and IDENTIFIER in signatures[1], out
    assert "O=Tai Man Demo Trading" in signatures[1], out

    statuses = pyhanko_statuses(data)
    assert len(statuses) == 2
    for _field, status in statuses:
        assert status.bottom_line and status.intact and status.valid and status.trusted, status
        assert status.timestamp_validity is not None and status.timestamp_validity.trusted  # PAdES B-T

    report = verify.verify_pdf(data)
    assert report["valid"] is True, report
    person, seal = report["signatures"]
    assert (
        seal["signer"]["organisation_identifier"] == IDENTIFIER and person["signer"]["organisation_identifier"] is None
    )
    assert person["on_behalf"] == {
        "organisation": seal["signer"]["common_name"],
        "organisation_identifier": IDENTIFIER,
        "mandate_id": str(mandate.public_id),
        "sealed": True,
    }
    assert report["statements"] == [
        f"{person['signer']['common_name']} signed for {seal['signer']['common_name']} ({IDENTIFIER}) "
        f"under mandate {mandate.public_id}"
    ]
    assert f"under mandate {mandate.public_id}" in person["reason"] and "Annual return 2026" in person["reason"]


def test_the_seal_certificate_is_a_legal_persons_made_once_and_revoked_when_the_company_is_suspended(
    company, director, employee, service, app_of
):
    app = mandate_for(employee, director, app_of)
    for _ in range(2):
        req = corporate_signing.open_request(employee, TAI_MAN_BRN, SERVICE, documents())
        app.accept(str(req.approval_id))
        run_queued_tasks()
        assert SigningRequest.objects.get(pk=req.pk).status() == "signed"
    seal = OrganisationSeal.objects.get()  # made on first use, used again
    cert = x509.load_der_x509_certificate(bytes(seal.certificate_der))
    subject = {a.oid: a.value for a in cert.subject}
    assert subject[NameOID.ORGANIZATION_IDENTIFIER] == IDENTIFIER  # ETSI EN 319 412-1 §5.1.4
    assert subject[NameOID.COUNTRY_NAME] == "HK" and subject[NameOID.ORGANIZATION_NAME].startswith("Tai Man Demo")
    assert cert.issuer == ca.certificate(AuthorityRole.SIGNING).subject
    assert seal.keystore in ("pkcs11", "software")

    # No administrator in force: the company is suspended and its seal revoked, in its CRL.
    Mandate.objects.filter(holder=director).update(valid_until=services.today() - dt.timedelta(days=1))
    org = Organisation.objects.get(br_number=TAI_MAN_BRN)
    assert services.refresh_status(org) == "suspended"
    seal.refresh_from_db()
    assert seal.status == CredentialStatus.REVOKED and seal.revocation_reason == "privilege_withdrawn"
    crl = x509.load_der_x509_crl(ca.current_crl(AuthorityRole.SIGNING))
    assert crl.get_revoked_certificate_by_serial_number(int(seal.serial, 16)) is not None
    assert AuditEvent.objects.filter(organisation=org, action="seal_revoked").exists()
    refused("organisation_suspended", employee, TAI_MAN_BRN, SERVICE, documents())


def test_joint_approval_needs_a_second_authorised_person_before_the_seal(
    company, director, employee, service, app_of, nss_db, tmp_path
):
    app = mandate_for(employee, director, app_of, joint_approval=True)
    req = corporate_signing.open_request(employee, TAI_MAN_BRN, SERVICE, documents())
    app.accept(str(req.approval_id))
    run_queued_tasks()

    req = signing.get_request(req.client, req.pk)
    assert req.status() == "pending" and corporate_signing.second_signatory_needed(req)
    result = signing.request_result(req)
    assert result["organisation"]["second_signatory_needed"] is True
    first, second = corporate_signing.approval_ids(req)
    assert result["organisation"]["second_approval_uri"].endswith(f"/app/approve/{second}")
    with pytest.raises(DomainError) as caught:  # one approver: the documents cannot be collected
        signing.document_result(req, 0)
    assert caught.value.code == "second_signatory_required" and caught.value.status == 409
    assert not SigningDocument.objects.filter(request=req, result__isnull=False).exists()
    assert OrganisationSeal.objects.count() == 0  # no seal before both

    company.accept(second)  # the director: an administrator, sign for every service
    run_queued_tasks()
    req = signing.get_request(req.client, req.pk)
    assert req.status() == "signed" and not corporate_signing.second_signatory_needed(req)
    director_mandate = Mandate.objects.get(holder=director)
    assert signing.request_result(req)["organisation"]["second_mandate_id"] == str(director_mandate.public_id)

    data = signed_pdf(req)
    out = check_with_pdfsig(nss_db, tmp_path, data, expected=3)
    signatures = out.split("Signature #")[1:]
    assert "WONG, Siu Ling" in signatures[0] and "CHAN, Tai Man" in signatures[1] and IDENTIFIER in signatures[2], out
    assert all(status.bottom_line for _f, status in pyhanko_statuses(data))
    report = verify.verify_pdf(data)
    assert report["valid"] is True and len(report["statements"]) == 2, report
    assert str(director_mandate.public_id) in report["statements"][1]


def test_the_second_approver_cannot_be_the_first_signatory(company, director, employee, service, app_of):
    app = mandate_for(employee, director, app_of, joint_approval=True)
    req = corporate_signing.open_request(employee, TAI_MAN_BRN, SERVICE, documents())
    app.accept(str(req.approval_id))
    second = corporate_signing.approval_ids(signing.get_request(req.client, req.pk))[1]
    with pytest.raises(AppError) as caught:
        app.accept(second)
    assert caught.value.code == "same_signatory"
    run_queued_tasks()
    req = signing.get_request(req.client, req.pk)
    result = signing.request_result(req)
    assert result["status"] == "failed" and result["error"] == "same_signatory", result
    assert not SigningDocument.objects.filter(request=req, result__isnull=False).exists()
    assert OrganisationSeal.objects.count() == 0


def test_a_second_approver_without_a_sign_mandate_is_refused(company, director, employee, third, service, app_of):
    app = mandate_for(employee, director, app_of, joint_approval=True)
    other = mandate_for(third, director, app_of, actions=("view", "apply"))
    req = corporate_signing.open_request(employee, TAI_MAN_BRN, SERVICE, documents())
    app.accept(str(req.approval_id))
    second = corporate_signing.approval_ids(signing.get_request(req.client, req.pk))[1]
    with pytest.raises(AppError) as caught:
        other.accept(second)
    assert caught.value.code == "mandate_out_of_scope"
    assert signing.request_result(signing.get_request(req.client, req.pk))["error"] == "mandate_out_of_scope"


# --- revocation counts from the next request ------------------------------------------------------


def test_a_mandate_revoked_between_the_request_and_the_approval_fails_the_signature(
    company, director, employee, service, app_of
):
    app = mandate_for(employee, director, app_of)
    req = corporate_signing.open_request(employee, TAI_MAN_BRN, SERVICE, documents())
    mandate = Mandate.objects.get(holder=employee)
    services.revoke(director, TAI_MAN_BRN, mandate.public_id)
    with pytest.raises(AppError) as caught:
        app.accept(str(req.approval_id))
    assert caught.value.code == "mandate_revoked"
    run_queued_tasks()
    req = signing.get_request(req.client, req.pk)
    result = signing.request_result(req)
    assert result["status"] == "failed" and result["error"] == "mandate_revoked", result
    assert result["job"] is None  # no signing job was queued
    with pytest.raises(DomainError) as refused_:
        signing.document_result(req, 0)
    assert refused_.value.code == "not_signed"
    assert OrganisationSeal.objects.count() == 0


def test_a_mandate_revoked_between_the_approval_and_the_signing_job_fails_it_with_nothing_signed(
    company, director, employee, service, app_of
):
    app = mandate_for(employee, director, app_of)
    req = corporate_signing.open_request(employee, TAI_MAN_BRN, SERVICE, documents())
    app.accept(str(req.approval_id))
    services.revoke(director, TAI_MAN_BRN, Mandate.objects.get(holder=employee).public_id)
    run_queued_tasks()  # the job asks CorpID again
    req = signing.get_request(req.client, req.pk)
    result = signing.request_result(req)
    assert result["status"] == "failed" and result["error"] == "mandate_revoked", result
    assert not SigningDocument.objects.filter(request=req, result__isnull=False).exists()


# --- bad input: each a documented error, nothing stored -------------------------------------------


def test_no_mandate(company, third, service, app_of):
    app_of(third)
    refused("no_mandate", third, TAI_MAN_BRN, SERVICE, documents())
    refused("no_mandate", third, KEUNG_KEE_BRN, SERVICE, documents())  # a company without CorpID


def test_a_mandate_without_sign_or_for_another_service(company, director, employee, service, app_of):
    mandate_for(employee, director, app_of, actions=("view", "apply"))
    refused("mandate_out_of_scope", employee, TAI_MAN_BRN, SERVICE, documents())
    make_client("other-svc", "https://other.example/cb", allowed_scopes=["openid", "signing"])
    refused("mandate_out_of_scope", employee, TAI_MAN_BRN, "other-svc", documents())


def test_an_expired_or_revoked_mandate(company, director, employee, service, app_of):
    mandate_for(employee, director, app_of)
    mandate = Mandate.objects.get(holder=employee)
    Mandate.objects.filter(pk=mandate.pk).update(valid_until=services.today() - dt.timedelta(days=1))
    refused("mandate_expired", employee, TAI_MAN_BRN, SERVICE, documents())
    Mandate.objects.filter(pk=mandate.pk).update(valid_until=services.today())
    services.revoke(director, TAI_MAN_BRN, mandate.public_id)
    refused("mandate_revoked", employee, TAI_MAN_BRN, SERVICE, documents())


def test_a_suspended_organisation(company, director, employee, service, app_of):
    mandate_for(employee, director, app_of)
    Organisation.objects.filter(br_number=TAI_MAN_BRN).update(status="suspended")
    refused("organisation_suspended", employee, TAI_MAN_BRN, SERVICE, documents())


def test_digests_a_bad_br_number_and_an_unknown_client(company, director, employee, service, app_of):
    mandate_for(employee, director, app_of)
    refused("pdf_required", employee, TAI_MAN_BRN, SERVICE, [{"name": "x", "sha256": "ab" * 32}])
    refused("br_number_format", employee, "2181234", SERVICE, documents())
    refused("signing_not_allowed", employee, TAI_MAN_BRN, SERVICE, documents(), client_id="no-such-client")


def test_the_first_party_portal_signs_for_an_e_service_slug(company, director, employee, app_of, settings):
    """The e-services portal (a first-party client) asks for an e-service's slug: the mandate
    must cover the slug, and the client is the portal."""
    make_client("tungban-eservices", "https://portal.example/cb", allowed_scopes=["openid"])
    app = mandate_for(employee, director, app_of, services_=("business-registration",))
    req = corporate_signing.open_request(
        employee, TAI_MAN_BRN, "business-registration", documents(), client_id="tungban-eservices"
    )
    assert req.client.client_id == "tungban-eservices" and req.behalf.service == "business-registration"
    app.accept(str(req.approval_id))
    run_queued_tasks()
    assert SigningRequest.objects.get(pk=req.pk).status() == "signed"
    assert re.search(r"NTRHK-21812345", verify.verify_pdf(signed_pdf(req))["statements"][0])


# --- the signing API for online services ---------------------------------------------------------


def test_the_api_opens_a_request_for_the_company_with_the_persons_login_token(
    issuer, company, director, employee, service, app_of
):
    import requests

    from tungban.signing.tests.conftest import client_token
    from tungban.testing.factories import login

    client, secret = service
    app = mandate_for(employee, director, app_of)
    token = login(issuer, app.app, SERVICE, secret, "https://filing.example/cb", scope="openid signing")["access_token"]
    url = f"{issuer}/api/v1/corpid/signing/requests"
    body = {"br_number": TAI_MAN_BRN, "documents": documents(), "reason": "Annual return"}
    created = requests.post(
        url, json=body, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": '"corp-sign-1"'}
    )
    assert created.status_code == 201, created.text
    made = created.json()
    assert made["status"] == "pending" and made["organisation"]["identifier"] == IDENTIFIER
    assert made["organisation"]["mandate_id"] == str(Mandate.objects.get(holder=employee).public_id)
    again = requests.post(
        url, json=body, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": '"corp-sign-1"'}
    )
    assert again.json()["id"] == made["id"]  # a retry gets the same request

    app.accept(made["approval_uri"])
    run_queued_tasks()
    result = requests.get(
        f"{issuer}/api/v1/signing/requests/{made['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert result.json()["status"] == "signed" and result.json()["organisation"]["seal"]["serial"]
    pdf = requests.get(
        f"{issuer}/api/v1/signing/requests/{made['id']}/documents/0", headers={"Authorization": f"Bearer {token}"}
    )
    assert pdf.status_code == 200 and verify.verify_pdf(pdf.content)["statements"]

    # The service's own token names no person; a company the person has no mandate for.
    own = client_token(issuer, SERVICE, secret)
    before = counts()
    refused_ = requests.post(url, json=body, headers={"Authorization": f"Bearer {own}"})
    assert refused_.status_code == 403 and refused_.json()["error"] == "login_required", refused_.text
    other = requests.post(url, json={**body, "br_number": KEUNG_KEE_BRN}, headers={"Authorization": f"Bearer {token}"})
    assert other.status_code == 403 and other.json()["error"] == "no_mandate", other.text
    assert counts() == before
