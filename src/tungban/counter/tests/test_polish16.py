"""Issue 16, polish16: wording and flow defects on the officers' pages found in a walkthrough."""

import pytest

from tungban.counter.tests.test_staff_signing import issue_credential
from tungban.testing.factories import login_staff


@pytest.fixture
def staff_client(client, officer):
    login_staff(client, officer)
    return client


def suspend_page(client, resident) -> str:
    resp = client.get(f"/staff/residents/{resident.public_id}/suspend", HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 200
    return resp.content.decode()


CERT_SENTENCE = "is revoked permanently"


def test_suspend_confirmation_says_the_signing_certificate_is_revoked(staff_client, resident):
    """Item 2: suspending revokes the resident's signing certificate for good; the
    confirmation says so when the account has one."""
    issue_credential(resident)
    html = suspend_page(staff_client, resident)
    assert CERT_SENTENCE in html


def test_suspend_confirmation_says_nothing_of_a_certificate_when_there_is_none(staff_client, resident):
    assert CERT_SENTENCE not in suspend_page(staff_client, resident)
