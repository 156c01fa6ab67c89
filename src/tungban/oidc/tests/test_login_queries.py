"""Queries per step of a complete login (issue 15 acceptance 2): the authorization page, the
app's read of the request, its signed approval, the browser's completion. Each step was
several ORM queries; the limits are what the step needs (one indexed read or write per row
it touches, the session, the transaction's savepoints)."""

import pytest

from tungban.testing.login_steps import STEPS, LoginSteps, StepMeter, setup_login

pytestmark = pytest.mark.django_db

#: The most queries each step may make (BEGIN, COMMIT, savepoints and the session included).
#: Before issue 15: authorize 8, app_request 5, decision 13, complete 15; app_request 3 and decision
#: 10 after its first round. The app's calls now: one read of device, resident and request, then
#: the proof's jti; the decision's jti and writes in one transaction (BEGIN, jti, request,
#: device, COMMIT; on PostgreSQL the three writes are one statement: 4 in all).
LIMITS = {"authorize": 7, "app_request": 2, "decision": 6, "complete": 10}


@pytest.fixture
def steps():
    client_id, secret, devices = setup_login()
    meter = StepMeter()
    return LoginSteps(client_id, secret, devices[0], measure=meter), meter


def test_a_login_completes_and_each_step_stays_within_its_queries(steps):
    driver, meter = steps
    driver.login()  # the first login warms caches (client, keys); the second is measured
    meter.queries = {s: [] for s in STEPS}
    info = driver.login()
    assert info["sub"]
    counts = {s: len(meter.queries[s][0]) for s in STEPS}
    print(counts)
    for step, limit in LIMITS.items():
        assert counts[step] <= limit, (step, counts[step], meter.queries[step][0])


def test_the_nonce_replay_check_is_an_index_lookup():
    """The authorization page and the completion ask whether a code of the client already
    used the nonce (OIDC Core §15.5.2): with a code per login, that table grows without end."""
    from tungban.oidc.models import AuthorizationCode

    indexed = [list(i.fields) for i in AuthorizationCode._meta.indexes]
    assert ["client", "nonce"] in indexed
