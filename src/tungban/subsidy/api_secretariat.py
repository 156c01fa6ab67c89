"""The scheme's JSON API for the secretariat's own system (issue 20, branch tapi):
Cyberport's case-management system, a department system of ``CYBERPORT`` calling with
``Authorization: Bearer`` and a ``client_credentials`` token of scope ``subsidy``
(:mod:`tungban.subsidy.services.systems`), acting as the secretariat's officers do on
``/staff/subsidy/``.

* ``GET /secretariat/queue``: applications by batch (and state), oldest first, with the
  2-month clock (seed 002 ITIB239).
* ``POST /secretariat/applications/{reference}/complete``: the information is complete —
  ``submitted → complete``, the clock starts (seed 002 ITIB239). ``Idempotency-Key`` required:
  a retry gets the first answer; a refusal stores nothing.
"""

from __future__ import annotations

from ninja import Field, Query, Router, Schema

from tungban.core.api import error_responses
from tungban.core.idempotency import idempotent
from tungban.oidc.resource import ScopedBearer

from . import errors
from .api_applicant import ApplicationOut, application_out
from .constants import ApplicationState
from .models import Application, Batch
from .services import intake, systems

router = Router(tags=["subsidy"])
ERRORS = error_responses(400, 401, 403, 404, 409, 422)


class SecretariatBearer(ScopedBearer):
    """``request.auth``: the secretariat's :class:`~tungban.eservices.models.DepartmentSystem`.

    :raises DomainError: as :class:`ScopedBearer`, ``not_department_system`` and
        ``not_secretariat_system`` (403)."""

    def authorize(self, request, token):
        return systems.system_for_token(token)


bearer = SecretariatBearer(systems.SCOPE)


def caller(request) -> str:
    return f"client:{request.auth.client.client_id}"


class QueueFilter(Schema):
    call: str = Field("", description="A call's code; with `batch`, one batch")
    batch: int | None = Field(None, ge=1, description="The batch's number in the call")
    state: ApplicationState | None = Field(None, description="One application state, e.g. submitted")


def _batch(filters: QueueFilter) -> Batch | None:
    if filters.batch is None and not filters.call:
        return None
    found = Batch.objects.select_related("call").filter(call__code=filters.call, number=filters.batch or 0).first()
    if found is None:
        raise errors.SubsidyBatchUnknown()
    return found


@router.get(
    "/secretariat/queue",
    response={200: list[ApplicationOut], **ERRORS},
    auth=bearer,
    summary="(secretariat system) The queue: applications by batch and state, with the 2-month clock",
)
def queue(request, filters: Query[QueueFilter]):
    """Every application (or one batch's, one state's), oldest submission first, each with its
    clock (seed 002 ITIB239: 2 months from complete information; ``alert`` from 80%). Errors:
    ``subsidy_batch_unknown`` (422: ``call`` and ``batch`` name no batch),
    ``invalid_request`` (422: an unknown state)."""
    batch = _batch(filters)
    return [application_out(a) for a in intake.queue(batch=batch, state=filters.state or "")]


@router.post(
    "/secretariat/applications/{reference}/complete",
    response={200: ApplicationOut, **ERRORS},
    auth=bearer,
    summary="(secretariat system) Mark an application's information complete: the 2-month clock starts",
)
@idempotent(
    caller=caller,
    required=True,
    description="Required: a retry with the same key and body answers what the first call did, never acting twice.",
)
def mark_complete(request, reference: str):
    """``submitted → complete``: ``complete_at`` is now and the secretariat's 2-month clock
    starts (seed 002 ITIB239: counted from complete information, not from submission); the
    e-services application goes into review, assigned to the system's service account.
    Errors: ``subsidy_application_unknown`` (404), ``subsidy_state_refused`` (409: not
    ``submitted``), ``not_secretariat_system`` (403), idempotency errors; nothing is stored when
    refused."""
    app = Application.objects.filter(reference=reference).first()
    if app is None:
        raise errors.SubsidyApplicationUnknown()
    systems.mark_complete(app, request.auth)
    done = (
        Application.objects.select_related("batch__call", "service_class")
        .prefetch_related("requested_months")
        .get(pk=app.pk)
    )
    return application_out(done)
