"""Issue 21 in the demo: `tungban setup --demo` loads the open-data portal's datasets and the
departmental data catalogues, and the printed Transport Department DDO logs in with password
and TOTP, finds the catalogues' progress and has a publication request waiting."""

import io

import pytest
from django.core.management import call_command

from tungban.opendata.constants import DatasetState, SubmissionState
from tungban.opendata.models import Dataset, Group, Submission
from tungban.opendata.services import publishing
from tungban.setup.demo import seed

pytestmark = pytest.mark.django_db


def test_demo_seeds_open_data_and_its_officers_log_in(tmp_path, settings, client):
    settings.VAR_DIR = tmp_path
    settings.TUNGBAN_OPENDATA_FILES = tmp_path / "opendata"
    out = seed(var_dir=tmp_path)
    assert Dataset.objects.filter(state=DatasetState.ACTIVE).count() >= 200
    assert Group.objects.count() == 19
    ddo = next(s for s in out["staff"] if s["username"] == "td-ddo")
    code = io.StringIO()
    call_command("demo_totp", "td-ddo", stdout=code)
    resp = client.post(
        "/admin/login/",
        {
            "username": "td-ddo",
            "password": ddo["password"],
            "otp_token": code.getvalue().strip(),
            "next": "/staff/data/catalogue/progress/",
        },
    )
    assert resp.status_code == 302
    page = client.get("/staff/data/catalogue/progress/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and 'data-organization="hk-td"' in page.content.decode()
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="td-ddo")
    waiting = publishing.pending_for(user)
    assert [s.dataset.name for s in waiting] == ["cross-harbour-tunnel-traffic"]
    assert waiting[0].state == SubmissionState.PENDING
    # Idempotent: a second set-up adds no dataset.
    again = seed(var_dir=tmp_path)
    assert again["opendata"]["datasets"] == 0
    assert Submission.objects.filter(state=SubmissionState.PENDING).count() == 1
