"""Issue 17 (walkthrough): the demo's staff can use the e-services workbench without the shell —
``officer`` processes SWD, FSD and FEHD applications, ``supervisor`` approves them and ``issuer``
gives the temporary hawker licence's second approval (README step 10)."""

import io
import json

import pytest
from django.core.management import call_command

from tungban.eservices import errors, services
from tungban.eservices.models import Service
from tungban.eservices.tests.helpers import fill_senior_card
from tungban.identity.models import Resident
from tungban.setup.demo import hkid_of, seed

pytestmark = pytest.mark.django_db


def _login(client, written, username):
    person = next(s for s in written["staff"] if s["username"] == username)
    code = io.StringIO()
    call_command("demo_totp", username, stdout=code)
    resp = client.post(
        "/admin/login/",
        {"username": username, "password": person["password"], "otp_token": code.getvalue().strip(), "next": "/"},
    )
    assert resp.status_code == 302


def test_demo_staff_work_the_departments_of_readme_step_10(tmp_path, settings, client):
    settings.VAR_DIR = tmp_path
    settings.TUNGBAN_ESERVICES_FILES = tmp_path / "files"  # the photo below: not in the checkout's var/
    out = seed(var_dir=tmp_path)
    seed(var_dir=tmp_path)  # idempotent: a second `tungban demo` keeps one role per department
    written = json.loads((tmp_path / "demo-credentials.json").read_text())
    roles = {s["username"]: s["role"] for s in out["staff"]}
    assert "officer of SWD" in roles["officer"] and "approver of FEHD" in roles["supervisor"]
    assert "approver of FEHD" in roles["issuer"] and "e-services" not in roles["admin"]

    from django.contrib.auth import get_user_model

    User = get_user_model()
    officer, supervisor, issuer = (User.objects.get(username=u) for u in ("officer", "supervisor", "issuer"))
    for code in ("SWD", "FSD", "FEHD", "IRD"):  # IRD: the business e-service (README step 15)
        services.require_officer(officer, code)
        with pytest.raises(errors.NotApprover):
            services.require_officer(officer, code, approver=True)
        services.require_officer(supervisor, code, approver=True)
    services.require_officer(issuer, "FEHD", approver=True)  # the hawker licence's second approver
    # Reconciliation's second reconciler (README step 13): admin and supervisor, no one else.
    assert supervisor.has_perm("payments.reconcile") and "reconciliation" in roles["supervisor"]
    assert not officer.has_perm("payments.reconcile") and not issuer.has_perm("payments.reconcile")
    assert Service.objects.get(slug="temporary-hawker-licence").second_approval
    with pytest.raises(errors.NotOfficer):
        services.require_officer(issuer, "SWD")

    # The workbench pages, logged in as README step 10 says (password + `tungban demo_totp`).
    _login(client, written, "officer")
    home = client.get("/staff/eservices/")
    assert home.status_code == 200
    for code in ("SWD", "FSD", "FEHD"):
        assert client.get(f"/staff/eservices/{code}/").status_code == 200

    # The demo resident's Senior Citizen Card: the officer may not approve, the supervisor does.
    resident = Resident.objects.by_hkid(hkid_of("A123456")).get()  # the demo resident: CHAN Tai Man, born 1958
    app = services.start_application(resident, Service.objects.get(slug="senior-citizen-card"))
    fill_senior_card(services, app, resident)
    app = services.submit(app, resident)
    with pytest.raises(errors.NotApprover):
        services.approve(app, officer)
    assert services.approve(app, supervisor).state in {"approved", "licence_issued"}
