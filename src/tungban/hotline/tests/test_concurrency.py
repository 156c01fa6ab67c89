"""Two officers act on the same case at once: the row lock serialises them, exactly one
acceptance is recorded and the other is refused with ``transition_not_allowed``."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tungban.hotline import errors
from tungban.hotline.constants import EventKind
from tungban.hotline.services import cases

from .conftest import lamp_case, officer_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_accepts_at_once_record_one(hotline):
    first = officer_of("HYD", "hyd-one")
    second = officer_of("HYD", "hyd-two")
    case, _ = lamp_case()
    barrier = threading.Barrier(2)
    outcome: list[str] = []

    def act(user):
        try:
            barrier.wait()
            cases.accept(case.reference, user)
            outcome.append("accepted")
        except errors.TransitionNotAllowed:
            outcome.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=act, args=(u,)) for u in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcome) == ["accepted", "refused"]
    assert case.events.filter(kind=EventKind.ACCEPTED).count() == 1
