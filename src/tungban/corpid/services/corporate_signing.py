"""Signing for a company (issue 19: the company chop's replacement): an authorised person signs
PDFs with their tungban+ certificate and the organisation's seal covers their signature.

The PAdES signatures, the seal certificate (ETSI EN 319 412-3, ``organizationIdentifier``
``NTRHK-<BRN>``) and the approvals are signing's (:func:`tungban.signing.services.create_request_on_behalf`);
what CorpID adds is who may sign. :func:`check` is registered with signing
(:mod:`tungban.signing.behalf`, scheme ``corpid``) and answers from
:func:`~tungban.corpid.services.authority` with the action ``sign`` each time signing asks:
when the request is made, at each app approval, and in the signing job before and after it
signs. So a mandate revoked, expired or out of scope, or an organisation suspended, between the
request and the signature makes the signature fail with that documented error, and nothing
is signed.

Decisions (anchor study ``corpid-federation-app.md`` A10, A11):

* **The seal certificate is made on first use**, in the signing job, not when the organisation
  is set up: a key is never made inside a transaction (issue 14 item 3), and an organisation
  that never signs needs none. It is **revoked when the organisation is suspended** (no
  administrator in force: reason ``privilege_withdrawn``), in the suspension's transaction;
  the next signature after a director sets it up again makes a new one. Documents sealed
  before stay valid at their time-stamped signing time.
* **Joint approval** (the mandate's ``joint_approval``): the first signatory's approval opens a
  second approval that any other authorised person (a mandate in force with ``sign`` for the
  service) approves in their app; the same person is refused (``same_signatory``), and so is
  a person whose mandate the first signatory delegated, or who delegated the first's; the seal
  is applied only after both, and until then the result cannot be collected
  (``second_signatory_required``).
* Every signature for a company needs a fresh app approval: each request opens its own.
"""

from __future__ import annotations

from django.db import transaction

from tungban.identity.models import Resident
from tungban.signing import behalf
from tungban.signing import services as signing
from tungban.signing.models import SigningRequest

from .. import brn
from ..constants import Action
from .authority import authority
from .mandates import record_event

#: The scheme under which CorpID's checker is registered with signing.
SCHEME = "corpid"
organisation_identifier = brn.organisation_identifier


def check(resident: Resident, br_number: str, service: str) -> behalf.Authority:
    """Signing's checker (scheme ``corpid``): the mandate under which ``resident`` may sign for
    the company in ``service`` now.

    :raises DomainError: as :func:`~tungban.corpid.services.authority` with the action ``sign``:
        ``no_mandate``, ``mandate_out_of_scope`` (no ``sign``, or another service),
        ``mandate_expired``, ``mandate_revoked``, ``mandate_not_accepted``,
        ``organisation_suspended``, ``company_not_live``, ``account_suspended``, …
    """
    mandate = authority(resident, br_number, service, Action.SIGN)
    org = mandate.organisation
    sources, source = [], mandate.parent
    while source is not None:  # a delegated mandate's chain (in force: authority checked it)
        sources.append(str(source.public_id))
        source = source.parent
    return behalf.Authority(
        organisation_identifier=organisation_identifier(org.br_number),
        name_en=org.name_en,
        name_zh=org.name_zh,
        mandate_id=str(mandate.public_id),
        joint_approval=mandate.joint_approval,
        sources=tuple(sources),
    )


def open_request(
    resident: Resident,
    br_number: str,
    service: str,
    documents: list[dict],
    *,
    reason: str = "",
    client_id: str | None = None,
) -> SigningRequest:
    """Ask ``resident`` to sign ``documents`` (PDFs, as
    :func:`tungban.signing.services.parse_documents` takes them: ``[{"name", "pdf": base64}]``)
    for the company with ``br_number`` in ``service``, audited in the company's trail. The app
    approval goes to the resident; fetch the result as for any signing request
    (:func:`tungban.signing.services.request_result`, ``document_result``).

    :param service: what the mandate must cover: an online service's client id or an
        e-service's slug.
    :param client_id: the requesting client (default ``service``); a first-party client (the
        e-services portal) or one registered with the ``signing`` scope.
    :raises DomainError: ``br_number_format``, the refusals of :func:`check`, signing's
        ``signing_not_allowed``, ``pdf_required``, ``plus_required``, ``no_device``,
        ``certificate_revoked`` and the document errors. Nothing is stored.
    """
    br_number = brn.normalize(br_number)
    with transaction.atomic():
        req = signing.create_request_on_behalf(
            client_id or service,
            resident,
            documents,
            scheme=SCHEME,
            organisation=br_number,
            service=service,
            reason=reason,
        )
        mandate = authority(resident, br_number, service, Action.SIGN)
        record_event(
            mandate.organisation,
            "signing_requested",
            resident,
            mandate,
            request=str(req.id),
            service=service,
            documents=[d["name"] for d in req.documents.values("name")],
            joint_approval=mandate.joint_approval,
        )
    return req


def second_signatory_needed(req: SigningRequest) -> bool:
    """Whether ``req`` still waits for a second authorised person (joint approval): show them
    the last of :func:`approval_ids`."""
    return signing.second_signatory_needed(req)


def approval_ids(req: SigningRequest) -> list[str]:
    """The app approvals to show, as links or QR codes: the signatory's, then (joint approval,
    once the first approved) the second signatory's."""
    return signing.approval_ids(req)
