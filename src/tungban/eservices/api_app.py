"""The resident's applications for the tungban app (issue 17: drafts "resumable from the app
or web"): ``GET /api/v1/eservices/app/applications``, device-authenticated like the app's other
APIs (:mod:`tungban.wallet.auth`). The same list as the panel card (:mod:`.cards`), each
with the portal page that continues it."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Router, Schema

from tungban.core.api import error_responses
from tungban.wallet.auth import device_auth

from . import cards

router = Router(tags=["eservices"])
APP_ERRORS = error_responses(401, 403)


class PaymentDueOut(Schema):
    amount: str = Field(description="The amount due, e.g. HK$350")
    reference: str = Field(description="The bill reference (grouped in fours) the payer quotes")
    expires_at: dt.datetime = Field(description="The payment request can be paid until then")
    state: str = Field(description="The payment order's state (awaiting_transfer, success, expired, …)")


class MyApplicationOut(Schema):
    reference: str
    service: str = Field(description="The service's name, in the request's language")
    department: str = Field(description="The department's name, in the request's language")
    group: Literal["information", "draft", "open", "issued"] = Field(
        description="information: the department waits for the resident's answer; draft: to continue; "
        "open: in progress; issued: the e-licence is in the app"
    )
    state: str = Field(description="The application's state (issue 17, Lifecycle)")
    state_label: str
    request: str = Field(description="The open information request's message, or empty")
    draft_expires_at: dt.datetime | None = Field(description="A draft is kept until then")
    credential_id: str = Field(description="The e-licence issued, or empty")
    payment: PaymentDueOut | None = Field(
        None, description="The payment the application awaits (state awaiting_payment), once requested"
    )
    url: str = Field(description="The portal page that continues it (a path on the platform)")


@router.get(
    "/applications",
    response={200: list[MyApplicationOut], **APP_ERRORS},
    auth=device_auth,
    summary="(device) My e-services applications: those needing my answer, drafts, in progress, licences issued",
)
def my_applications(request):
    """Most urgent first (an information request, then drafts, then the others, then the
    licences issued); newest first within each. Rejected, withdrawn and expired applications
    are on the portal only."""
    return cards.summaries(request.auth.resident)
