"""The app's cross-boundary bindings (issue 23): ``/api/v1/federation/app/…`` (device calls).
Part fop. Errors have the platform's shape (:class:`tungban.core.api.ErrorOut`)."""

from __future__ import annotations

import datetime as dt
import uuid

from ninja import Field, Router, Schema

from tungban.core.api import error_responses
from tungban.wallet.auth import device_auth

from .services import bindings

router = Router(tags=["federation"])

#: What a device call may answer besides its own errors (the wallet's device authentication).
DEVICE_ERRORS = error_responses(401, 403)


class PartnerOut(Schema):
    entity_id: str = Field(description="The partner platform's entity identifier (OpenID Federation 1.0 §1.2)")
    name_en: str
    name_zh: str
    jurisdiction: str = Field(description="ISO 3166-2 code, e.g. CN-GD")
    legal_basis_en: str
    legal_basis_zh: str
    filing_reference: str = Field(description="The GBA standard contract's filing reference")


class BindingOut(Schema):
    id: uuid.UUID
    partner: PartnerOut
    claims: list[str] = Field(description="Claims that may cross beyond the pairwise sub and the acr")
    created_at: dt.datetime
    removed_at: dt.datetime | None = None


@router.get(
    "/bindings",
    response={200: list[BindingOut], **DEVICE_ERRORS},
    auth=device_auth,
    summary="(device) This account's live cross-boundary bindings",
)
def list_bindings(request):
    return bindings.bindings_of(request.auth.resident)


@router.delete(
    "/bindings/{binding_id}",
    response={200: BindingOut, **DEVICE_ERRORS, **error_responses(404)},
    auth=device_auth,
    summary="(device) Remove a cross-boundary binding: the partner's tokens are revoked, the next login asks again",
)
def remove_binding(request, binding_id: uuid.UUID):
    return bindings.remove(request.auth.resident, binding_id)
