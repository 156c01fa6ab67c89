"""A resident's cross-boundary bindings (跨境綁定, issue 23; design study §1(b): Guangdong's
「經個人授權同意完成…賬號的綁定」). Part fop.

A binding is made by the resident's signed approval of their first login to any service of a
partner platform (:func:`on_approval_decided`, the wallet's ``approval_decided`` signal: the
decision repeats the consent, ``binds["cross_boundary"]``), once per resident and partner. With a
live binding that covers what a service asks, the next login shows the usual approval
(:func:`waiver`). The resident removes it in the app (:func:`remove`): the partner's services'
tokens of that resident are revoked and the next login asks again.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from tungban.identity.models import Resident
from tungban.oidc.models import Token
from tungban.wallet.models import RequestStatus

from .. import errors
from ..models import Binding, Partner
from .registration import BASE_CLAIMS, BIND


def bindings_of(resident: Resident) -> list[Binding]:
    """The resident's live bindings, newest first, with their partner."""
    return list(Binding.objects.select_related("partner").filter(resident=resident, removed_at__isnull=True))


def live(resident_id, partner_entity_id: str) -> Binding | None:
    """The live binding of the resident ``resident_id`` with the partner ``partner_entity_id``."""
    return Binding.objects.filter(
        resident_id=resident_id, partner__entity_id=partner_entity_id, removed_at__isnull=True
    ).first()


def _extra_claims(value: dict) -> list[str]:
    return [c for c in value.get("claims") or [] if c not in BASE_CLAIMS]


def waiver(req, resident_id) -> bool:
    """The wallet's waiver of the ``cross_boundary`` bind (:func:`tungban.wallet.kinds.register_waiver`):
    ``True`` when the resident already has a live binding with the request's partner that
    covers the claims the service asks for (no new consent)."""
    value = (req.context.get("binds") or {}).get(BIND) or {}
    binding = live(resident_id, value.get("partner") or "")
    return binding is not None and set(_extra_claims(value)) <= set(binding.claims)


def on_approval_decided(sender, request, **kwargs) -> None:
    """Make or widen the binding when the resident approved a login carrying the cross-boundary
    consent (in the decision's transaction; a refusal fails the request).

    :raises DomainError: ``unknown_partner`` (the partner was deactivated meanwhile)."""
    value = (request.context.get("binds") or {}).get(BIND)
    if not value or request.status != RequestStatus.APPROVED:
        return
    partner = Partner.objects.filter(entity_id=value.get("partner"), is_active=True).first()
    if partner is None:
        raise errors.UnknownPartner()
    extra = _extra_claims(value)
    binding = (
        Binding.objects.select_for_update()
        .filter(resident=request.resident, partner=partner, removed_at__isnull=True)
        .first()
    )
    if binding is None:
        Binding.objects.create(resident=request.resident, partner=partner, claims=extra, approval=request)
    elif not set(extra) <= set(binding.claims):
        binding.claims = [*binding.claims, *(c for c in extra if c not in binding.claims)]
        binding.approval = request
        binding.save(update_fields=["claims", "approval"])


def remove(resident: Resident, binding_id) -> Binding:
    """Remove the resident's live binding ``binding_id``: marked removed and every live token of
    the resident at the partner's services revoked, in one transaction; the next login to any of
    them asks for the binding again.

    :raises DomainError: ``binding_unknown`` (404: no such live binding of this resident)."""
    with transaction.atomic():
        binding = (
            Binding.objects.select_for_update()
            .select_related("partner")
            .filter(pk=binding_id, resident=resident, removed_at__isnull=True)
            .first()
        )
        if binding is None:
            raise errors.BindingUnknown()
        now = timezone.now()
        binding.removed_at = now
        binding.save(update_fields=["removed_at"])
        Token.objects.filter(
            resident=resident, client__federation__partner=binding.partner, revoked_at__isnull=True
        ).update(revoked_at=now)
    return binding
