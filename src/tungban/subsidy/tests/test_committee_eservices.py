"""A committee decision moves the e-services application of the same reference (approve or
reject with the reasons, ``via="committee"``), so the applicant's status page shows it; when
the e-services side refuses, the whole decision is undone. The scheme's e-service (part D's
catalogue entry) is loaded with the catalogue."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from tungban.core.errors import DomainError
from tungban.eservices import services as eservices
from tungban.eservices.models import Application as EApplication
from tungban.eservices.models import ApplicationEvent, Service, State
from tungban.subsidy import committee
from tungban.subsidy.constants import ApplicationState
from tungban.subsidy.models import Award
from tungban.subsidy.services import awards

from .conftest import terms

GOOD = awards.terms_to_dict(terms())


@pytest.fixture
def e_application(application, director):
    from tungban.credentials import catalogue as credential_catalogue
    from tungban.payments.services import load_fees

    credential_catalogue.register_bundled()
    load_fees()
    eservices.load_catalogue()
    service = Service.objects.get(slug=awards.SERVICE_SLUG)  # part D's catalogue entry
    return EApplication.objects.create(
        reference=application.reference,
        service=service,
        form_version=service.form.versions.order_by("-pk").first(),
        resident=director,
        state=State.SUBMITTED,
        submitted_at=timezone.now(),
    )


def _decide(application, outcome, terms_=None):
    with transaction.atomic():
        committee.decided_application(
            str(application.public_id),
            outcome,
            terms_ or {},
            "the committee's reasons",
            "委員會的理由",
            timezone.now(),
            "chair",
        )


def test_approval_moves_the_eservices_application(application, e_application):
    _decide(application, "approve", GOOD)
    e_application.refresh_from_db()
    assert e_application.state == State.APPROVED
    event = ApplicationEvent.objects.get(application=e_application, action="approved")
    assert event.actor_id == "client:committee" and event.reason_zh == "委員會的理由"


def test_rejection_moves_the_eservices_application(application, e_application):
    _decide(application, "reject")
    e_application.refresh_from_db()
    assert e_application.state == State.REJECTED
    assert (
        ApplicationEvent.objects.get(application=e_application, action="rejected").reason_en
        == "the committee's reasons"
    )


def test_when_the_eservices_side_refuses_the_decision_is_undone(application, e_application):
    EApplication.objects.filter(pk=e_application.pk).update(state=State.WITHDRAWN)
    with pytest.raises(DomainError):
        _decide(application, "approve", GOOD)
    application.refresh_from_db()
    assert application.state == ApplicationState.ON_AGENDA and not Award.objects.exists()
