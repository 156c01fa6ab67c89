"""Two first set-ups of one company at once (issue 19, first wave's loose end): one is set up
(201), the other is the documented ``organisation_already_set_up`` (409), never a 500, and one
organisation with one administrator is stored."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tungban.core.errors import DomainError
from tungban.corpid import services
from tungban.corpid.models import AuditEvent, Mandate, Organisation

from .conftest import TAI_MAN_BRN


def _race(call, n=2) -> list:
    barrier, answers = threading.Barrier(n), []

    def run():
        try:
            barrier.wait()
            answers.append(call())
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            answers.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


@pytest.mark.django_db(transaction=True)
def test_two_first_set_ups_at_once_give_one_organisation_and_one_documented_refusal(director):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need a server database (SQLite tests share one connection)")
    for _round in range(5):  # a few rounds: the threads meet at a barrier, the order varies
        AuditEvent.objects.all().delete()
        Mandate.objects.all().delete()
        Organisation.objects.all().delete()
        answers = _race(lambda: services.bootstrap(director, TAI_MAN_BRN))
        won = [a for a in answers if isinstance(a, Mandate)]
        lost = [a for a in answers if not isinstance(a, Mandate)]
        assert len(won) == 1, answers
        assert len(lost) == 1 and isinstance(lost[0], DomainError), answers
        assert lost[0].code == "organisation_already_set_up" and lost[0].status == 409
        assert Organisation.objects.filter(br_number=TAI_MAN_BRN).count() == 1
        assert Mandate.objects.filter(role="administrator", state="active").count() == 1
        assert AuditEvent.objects.filter(action="set_up").count() == 1


@pytest.mark.live_http
@pytest.mark.django_db(transaction=True)
def test_two_set_up_requests_at_once_answer_201_and_409(director, app_of):
    """Over the API (two keys, so two operations): one 201, one documented 409."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent requests need a server database (SQLite tests share one connection)")
    boss = app_of(director)
    keys = iter(["race-0001", "race-0002"])
    lock = threading.Lock()

    def call():
        with lock:
            key = next(keys)
        return boss("POST", "/organisations", {"br_number": TAI_MAN_BRN}, key=key)

    answers = _race(call)
    assert sorted(a.status_code for a in answers) == [201, 409], [(a.status_code, a.text[:300]) for a in answers]
    refused = next(a for a in answers if a.status_code == 409).json()
    assert refused["error"] == "organisation_already_set_up"
    assert Organisation.objects.count() == 1
