"""Acceptance 3 of issue 17 (PostgreSQL): two workers, each with its own database connection,
approving the same application at the same moment cannot both approve it — exactly one
succeeds, the other gets ``transition_not_allowed`` (409 in the API), and one ``approved``
event is recorded. The services lock the row (``SELECT … FOR UPDATE``) and django-fsm-2's
``ConcurrentTransitionMixin`` refuses a save from a state that changed underneath."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from tungban.core.errors import DomainError
from tungban.eservices import services
from tungban.eservices.models import ApplicationEvent, State
from tungban.eservices.tests.helpers import department_user
from tungban.eservices.tests.staffing import submitted_senior_cards

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="acceptance 3 is a PostgreSQL test"),
]


@pytest.mark.parametrize("round_", range(3))
def test_two_workers_cannot_both_approve(catalogue, resident, round_):
    (app,) = submitted_senior_cards(resident, 1)
    first = department_user(f"swd-a-{round_}", "SWD", "approver")
    second = department_user(f"swd-b-{round_}", "SWD", "approver")
    services.assign(app, first)  # in review: both may approve
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def worker(officer):
        try:
            barrier.wait(timeout=30)
            services.approve(services.get_application(app.reference), officer)
            outcomes[officer.username] = "approved"
        except DomainError as exc:
            outcomes[officer.username] = exc.code
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=worker, args=(o,)) for o in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes.values()) == ["approved", "transition_not_allowed"], outcomes
    app.refresh_from_db()
    assert app.state in (State.APPROVED, State.LICENCE_ISSUED)
    assert ApplicationEvent.objects.filter(application=app, action="approved").count() == 1
