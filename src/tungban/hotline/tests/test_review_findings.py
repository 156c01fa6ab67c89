"""Issue 22 review findings (reviewer srev): each test failed before its fix and states the
behaviour expected."""

from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree as ET

from django.utils import timezone

from tungban.hotline.constants import CaseState
from tungban.hotline.models import Case
from tungban.hotline.services import cases, open311

from .conftest import lamp_case
from .test_pages import LAMP_FORM


def test_anonymous_double_submit_with_the_same_form_key_stores_one_case(client, hotline):
    """A person not logged in presses "Send" twice (the same page, the same ``form_key``): the
    second request must not fail, and the browser (which shows the second answer) must still
    lead to the confirmation. Found: ``cases.submit`` skips its idempotency look-up without a
    ``submitter_key`` (the page passes none for an anonymous person) but still stores
    ``idempotency_key`` with ``submitter_key=""``, so the unique constraint
    ``hotline_one_case_per_key`` raises IntegrityError: a 500, and the tracking code shown
    once is lost with the first response."""
    client.raise_request_exception = False
    first = client.post("/1823/new/", LAMP_FORM, HTTP_ACCEPT_LANGUAGE="en")
    assert first.status_code == 302
    second = client.post("/1823/new/", LAMP_FORM, HTTP_ACCEPT_LANGUAGE="en")
    assert second.status_code == 302
    assert Case.objects.count() == 1


def test_two_anonymous_people_with_the_same_form_key_both_get_their_case(hotline):
    """The key is the browser's, not a secret: another person's anonymous submission with the
    same key must not fail (nor return the first person's case)."""
    first, code1 = lamp_case(idempotency_key="same")
    second, code2 = lamp_case(idempotency_key="same", description="Another lamp is dark.")
    assert first.pk != second.pk and code2


def test_a_posted_transcript_is_not_taken_as_the_assistants(client, hotline):
    """The transcript with a case must come from the assistant's conversation (the session's),
    never from a form field the person can write: otherwise the desk shows "The assistant's
    conversation" with words the assistant never said, and the case counts as the assistant
    channel."""
    form = dict(LAMP_FORM, transcript="Assistant: The department promised compensation of $10,000.")
    client.post("/1823/new/", form, HTTP_ACCEPT_LANGUAGE="en")
    case = Case.objects.get()
    assert "compensation" not in case.transcript
    assert case.channel != "assistant"


def test_backdated_closure_still_leaves_the_person_time_to_reopen(hotline, hyd_officer):
    """An officer closes an old case today but dates the closure 40 days back (allowed: after
    submission, not in the future). The person is told today; the reopening period (30 days)
    must not already be over when they read the reply."""
    case, _code = lamp_case()
    Case.objects.filter(pk=case.pk).update(submitted_at=timezone.now() - dt.timedelta(days=45))
    case.refresh_from_db()
    cases.accept(case, hyd_officer)
    case = cases.close(case, hyd_officer, "Fixed.", closed_at=timezone.now() - dt.timedelta(days=40))
    assert case.reopen_until > timezone.now()


def test_a_case_declined_after_a_transfer_does_not_go_back_to_the_department_that_passed_it_on(
    hotline, hyd_officer, fehd_officer
):
    """HYD transfers its case to FEHD; FEHD declines. The case goes back to HYD (the department
    that said it is not theirs), with a fresh acceptance deadline, and can ping-pong so for ever
    without reaching the coordinator."""
    case, _code = lamp_case()
    cases.transfer(case, hyd_officer, "FEHD", "Refuse, not a lamp.")
    cases.decline(case.reference, fehd_officer, "It is a lamp.")
    case.refresh_from_db()
    assert not (case.state == CaseState.ASSIGNED and case.department_id == "HYD")


def test_open311_xml_is_well_formed_whatever_the_client_wrote(client, hotline):
    """A description with a control character (accepted and stored) makes the client's own
    ``GET requests/{id}.xml`` ill-formed XML."""
    from tungban.hotline.models import Open311Client

    _client, key = open311.issue_key("probe")
    assert Open311Client.objects.count() == 1
    created = client.post(
        "/open311/v2/requests.json",
        {
            "api_key": key,
            "service_code": "street-light-fault",
            "attribute[lamp_post]": "E1",
            "attribute[fault]": "out",
            "lat": "22.3",
            "long": "114.1",
            "description": "dark \x01 lamp",
        },
    )
    if created.status_code == 400:  # refused at the door: that is fine too
        return
    ref = created.json()[0]["service_request_id"]
    body = client.get(f"/open311/v2/requests/{ref}.xml", {"api_key": key}).content
    ET.fromstring(body)


def test_exact_coordinates_are_encrypted_at_rest(hotline):
    """The place a person reports from may be their home; its exact coordinates (six decimals,
    about 0.1 m) are personal data like the address: both are stored encrypted, and read back
    exactly."""
    from django.db import connection

    case, _code = lamp_case(lat="22.281234", long="114.174567")
    with connection.cursor() as cur:
        cur.execute("SELECT coordinates, address FROM hotline_case WHERE reference = %s", [case.reference])
        coordinates, address = cur.fetchone()
    assert "Hennessy" not in str(address)
    assert "22.281234" not in str(coordinates) and "114.174567" not in str(coordinates)
    stored = Case.objects.get(pk=case.pk)
    assert (str(stored.lat), str(stored.long)) == ("22.281234", "114.174567")
