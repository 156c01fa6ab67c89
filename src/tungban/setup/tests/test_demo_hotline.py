"""Issue 22 in the demo: `tungban setup --demo` runs `seed_hotline` (by name: setup may not
import floor 8); the printed Highways Department case officer logs in with password and TOTP and
finds their department's cases; the demo resident owns three sample cases; a second set-up adds
no case."""

import io

import pytest
from django.core.management import call_command

from tungban.hotline import seed as hotline_seed
from tungban.hotline.models import Case
from tungban.setup.demo import seed

pytestmark = pytest.mark.django_db


def test_demo_seeds_1823_and_its_officers_log_in(tmp_path, settings, client):
    settings.VAR_DIR = tmp_path
    settings.TUNGBAN_OPENDATA_FILES = tmp_path / "opendata"
    settings.TUNGBAN_HOTLINE_FILES = tmp_path / "hotline"
    out = seed(var_dir=tmp_path)
    assert out["hotline"]["cases"] == Case.objects.count() == len(hotline_seed.SAMPLES)
    assert Case.objects.exclude(resident=None).count() == 3
    hyd = next(s for s in out["staff"] if s["username"] == "hyd-case-officer")
    code = io.StringIO()
    call_command("demo_totp", "hyd-case-officer", stdout=code)
    resp = client.post(
        "/admin/login/",
        {
            "username": "hyd-case-officer",
            "password": hyd["password"],
            "otp_token": code.getvalue().strip(),
            "next": "/staff/1823/",
        },
    )
    assert resp.status_code == 302
    page = client.get("/staff/1823/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert any(c.reference in page for c in Case.objects.filter(department_id="HYD", state="accepted"))
    again = seed(var_dir=tmp_path)
    assert again["hotline"]["cases"] == 0 and Case.objects.count() == len(hotline_seed.SAMPLES)
