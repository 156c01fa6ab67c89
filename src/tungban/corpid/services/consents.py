"""A company's consent to share its data (issue 19, second wave: pre-fill with the company's
authorisation, HKMA Commercial Data Interchange 商業數據通).

The exchange gateway (``tungban.exchange``) keeps the consents; it learns about organisations
only through its registry of data-subject kinds, which :func:`register_subject_kind` fills
with kind ``"organisation"`` (BR number) and the check it calls when a consent for a company is
asked for, approved, and before every exchange (:func:`authorise_subject`): the person giving
it holds a mandate in force for the company with the action ``apply`` covering the service,
the same mandate as when it was given, and the organisation is not suspended. Nothing is
cached: revoking the mandate (or the consent) refuses the next exchange.

The company's administrators see every consent about the company and every exchange of its
data, and revoke any consent (:func:`company_consents`, :func:`company_exchanges`,
:func:`revoke_company_consent`).

Sources: the seeds (``002`` ITIB031: 「讓企業授權政府透過數據互通的方法提取…資料作預填表格」,
「商業數據通…讓銀行在獲得企業授權下更易獲得其數據」); Singapore Myinfo Business (consent through
Corppass, anchor study §2.1, A12).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tungban.exchange import services as exchange
from tungban.exchange import subjects
from tungban.exchange.models import Consent, ExchangeAttempt, ExchangeRecord
from tungban.exchange.models import Organisation as DataUser
from tungban.identity.models import Resident

from .. import errors
from ..constants import Action, Role
from .authority import authority
from .mandates import covers, managed, organisation, record_event

#: The exchange's kind of data subject for a company, by its BR number.
SUBJECT_KIND = "organisation"
#: The action a mandate must allow to give a consent for the company (the contract of issue 19).
CONSENT_ACTION = Action.APPLY


def authorise_subject(
    br_number: str, resident: Resident | None, service: str, *, given_under: str | None = None
) -> subjects.Authority:
    """The exchange's check of a consent for a company (:mod:`tungban.exchange.subjects`):
    ``resident`` may consent for the company with ``br_number`` in ``service`` — a mandate in
    force with the action ``apply`` covering it (:func:`~.authority.authority`) — and, with
    ``given_under``, that mandate is the one the consent was given under.

    :returns: the company's canonical BRN and names, and the mandate's public id.
    :raises DomainError: ``no_mandate`` (also for nobody), ``mandate_revoked`` (also when the
        mandate in force is not ``given_under``: that one was revoked and replaced),
        ``mandate_expired``, ``mandate_not_accepted``, ``mandate_not_yet_valid``,
        ``mandate_out_of_scope``, ``organisation_suspended`` (403), ``account_suspended``,
        ``br_number_format`` (400), ``br_number_not_registered`` (404), ``company_not_live`` (409),
        ``joint_approval_required`` (403: the mandate needs a second person for each action,
        and a consent has no second approval; docs/integrators.md §12).
    """
    if resident is None:
        raise errors.NoMandate()
    mandate = authority(resident, br_number, service, CONSENT_ACTION)
    if mandate.joint_approval:  # one person cannot act alone where the company asked for two
        raise errors.JointApprovalRequired()
    if given_under and str(mandate.public_id) != given_under:
        raise errors.MandateRevoked()
    org = mandate.organisation
    return subjects.Authority(
        subject_id=org.br_number, name_en=org.name_en, name_zh=org.name_zh, given_under=str(mandate.public_id)
    )


def describe_subject(br_number: str) -> subjects.Authority:
    """The company with CorpID set up and this BRN, for an open consent request (whoever
    approves it is checked then).

    :raises DomainError: ``br_number_format``, ``br_number_not_registered``, ``no_organisation``.
    """
    org = organisation(br_number)
    return subjects.Authority(subject_id=org.br_number, name_en=org.name_en, name_zh=org.name_zh, given_under="")


def token_claims(br_number: str) -> dict:
    """What the provider's request token carries to find the company: ``{"brn": <8 digits>}``."""
    return {"brn": br_number}


def register_subject_kind() -> None:
    """Tell the exchange about organisations (called from ``CorpidConfig.ready()``)."""
    subjects.register(
        SUBJECT_KIND,
        _("Organisation (by Business Registration number)"),
        authorise=authorise_subject,
        describe=describe_subject,
        token_claims=token_claims,
        app="corpid",
    )


def company_consent(
    resident: Resident,
    br_number: str,
    data_user: DataUser,
    *,
    product_id: str,
    purpose: str,
    duration_seconds: int,
    max_uses: int | None = None,
    service: str,
) -> Consent:
    """Ask ``resident`` (in the app) for the company's consent to ``data_user`` obtaining
    ``product_id`` about the company; they must hold a mandate in force for the company with
    ``apply`` covering ``service`` (an e-service's slug, an online service's client id). Then
    ``exchange.services.exchange(data_user, consent_id=..., product_id=..., request_id=...)``
    as for any consent, once they approved it in the app.

    :returns: the exchange's :class:`~tungban.exchange.models.Consent` (``requested``; its
        ``approval`` is the app's request, for ``resident`` only).
    :raises DomainError: as :func:`authorise_subject`, and the exchange's ``unknown_product``,
        ``no_subject_form`` (the product has no form for an organisation), ``invalid_purpose``,
        ``invalid_duration``, ``invalid_max_uses``. Nothing is stored when refused.
    """
    return exchange.request_consent(
        data_user,
        product_id=product_id,
        purpose=purpose,
        duration_seconds=duration_seconds,
        max_uses=max_uses,
        subject=(SUBJECT_KIND, br_number),
        given_by=resident,
        service=service,
    )


def _in_scope(own, service: str) -> bool:
    """Whether a manager's mandate ``own`` reaches a consent for ``service``: an administrator's
    every consent, a sub-administrator's only those it could have given itself (``apply`` for
    the service: Corppass's assignment profile; review crev finding 5)."""
    return own.role == Role.ADMINISTRATOR or covers(own, service, CONSENT_ACTION)


def company_consents(actor: Resident, br_number: str) -> list[Consent]:
    """Every consent about the company, newest first, for its administrators; a
    sub-administrator (:func:`~.mandates.managed`) sees those within its scope.

    :raises DomainError: ``no_organisation``, ``not_an_administrator`` (403), ``br_number_format``.
    """
    org, own = managed(actor, br_number)
    return [c for c in exchange.consents_about(SUBJECT_KIND, org.br_number) if _in_scope(own, c.service)]


def company_exchanges(actor: Resident, br_number: str) -> list[ExchangeRecord | ExchangeAttempt]:
    """Every exchange of the company's data, newest first, for its administrators; a
    sub-administrator sees those under consents within its scope.

    :raises DomainError: as :func:`company_consents`.
    """
    org, own = managed(actor, br_number)
    return [x for x in exchange.history_about(SUBJECT_KIND, org.br_number) if _in_scope(own, x.consent.service)]


@transaction.atomic
def revoke_company_consent(actor: Resident, br_number: str, consent_id) -> Consent:
    """An administrator revokes a consent about the company: refused from the data user's next
    request on (as the exchange's own revocation); audited in the company's trail. A
    sub-administrator revokes only a consent for a service its mandate covers with ``apply``.

    :raises DomainError: ``no_organisation``, ``not_an_administrator`` (403: also a
        sub-administrator's for a consent outside its scope), ``unknown_consent``
        (404: no such consent about this company — another company's included). Nothing is stored.
    """
    org, own = managed(actor, br_number)
    if own.role != Role.ADMINISTRATOR:
        # A sub-administrator revokes only a consent it could have given itself: for a
        # service its own mandate covers with ``apply`` (Corppass: the assignment profile).
        try:
            service = (
                Consent.objects.filter(subject_kind=SUBJECT_KIND, subject_id=org.br_number, pk=consent_id)
                .values_list("service", flat=True)
                .first()
            )
        except (ValueError, ValidationError):
            service = None  # not a consent id: the exchange answers unknown_consent
        if service is not None and not _in_scope(own, service):
            raise errors.NotAnAdministrator()
    started = timezone.now()
    consent = exchange.revoke_about(SUBJECT_KIND, org.br_number, consent_id, actor)
    if consent.revoked_at and consent.revoked_at >= started:  # revoked now (not before): audited once
        record_event(
            org,
            "consent_revoked",
            actor,
            consent=str(consent.id),
            data_user=consent.consumer_id,
            product=consent.product_id,
        )
    return consent
