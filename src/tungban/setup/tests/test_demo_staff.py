"""Issue 13 items 1 and 3 in the demo: the demo officer is no superuser, only a counter
officer; every staff account has a TOTP second factor whose secret the demo writes to var/."""

import io
import json

import pytest
from django.core.management import call_command

from tungban.counter import roles
from tungban.hotline.seed import DEMO_OFFICERS as DEMO_HOTLINE_OFFICERS
from tungban.setup.demo import DEMO_COMMITTEE_LOGINS, DEMO_DATA_OFFICERS, seed

pytestmark = pytest.mark.django_db


def test_demo_staff_have_one_role_each_and_a_second_factor(tmp_path, settings, client):
    settings.VAR_DIR = tmp_path
    out = seed(var_dir=tmp_path)
    from django.contrib.auth import get_user_model

    User = get_user_model()
    officer = User.objects.get(username="officer")
    assert not officer.is_superuser and officer.is_staff
    assert list(officer.groups.values_list("name", flat=True)) == [roles.COUNTER_OFFICERS]
    assert officer.has_perm(roles.USE_COUNTER) and not officer.has_perm(roles.APPROVE_REBIND)
    assert not officer.credential_issuers.exists()
    assert User.objects.get(username="supervisor").has_perm(roles.APPROVE_REBIND)
    assert User.objects.filter(is_superuser=True).values_list("username", flat=True).get() == "admin"

    written = json.loads((tmp_path / "demo-credentials.json").read_text())
    assert {s["username"] for s in written["staff"]} == {"officer", "supervisor", "issuer", "admin"} | set(
        DEMO_COMMITTEE_LOGINS
    ) | {d[0] for d in DEMO_DATA_OFFICERS} | {d[0] for d in DEMO_HOTLINE_OFFICERS}
    assert written["officer"]["totp_uri"].startswith("otpauth://totp/")
    assert out["officer"]["password"] == written["officer"]["password"]

    # The README's steps: password, then the code `tungban demo_totp officer` prints.
    code = io.StringIO()
    call_command("demo_totp", "officer", stdout=code)
    resp = client.post(
        "/admin/login/",
        {
            "username": "officer",
            "password": written["officer"]["password"],
            "otp_token": code.getvalue().strip(),
            "next": "/staff/",
        },
    )
    assert resp.status_code == 302 and resp["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200


def test_demo_loads_the_scheme_committee_and_its_chair_can_log_in(tmp_path, settings, client):
    """Issue 20 part E: the demo calls ``load_committee`` (the bundled committee, seed 000
    §12–13); the chair logs in with the printed password and TOTP and sees the meetings page."""
    from tungban.committees.models import Committee

    settings.VAR_DIR = tmp_path
    out = seed(var_dir=tmp_path)
    committee = Committee.objects.get(code="ai-subsidy-scheme")
    assert committee.members.count() == 5 and committee.criteria.count() == 4
    chair = next(s for s in out["staff"] if s["username"] == "committee-chair")
    code = io.StringIO()
    call_command("demo_totp", "committee-chair", stdout=code)
    resp = client.post(
        "/admin/login/",
        {
            "username": "committee-chair",
            "password": chair["password"],
            "otp_token": code.getvalue().strip(),
            "next": "/staff/committees/",
        },
    )
    assert resp.status_code == 302 and resp["Location"] == "/staff/committees/"
    assert client.get("/staff/committees/", HTTP_ACCEPT_LANGUAGE="en").status_code == 200
