"""Issue 13 acceptance 4: every staff page and every admin page and action, tried by a user of
every staff role; only the intended roles get through.

The pages are enumerated from the URLconf (everything under ``/staff/`` and ``/admin/``) and
the admin actions from the admin registry, so a new page or action is covered as soon as it
exists. A page in a namespace :data:`POLICY` does not know, or with a URL parameter
:func:`_samples` cannot fill, fails the test: decide who may use it and add it here.

Each attempt runs in a transaction that is rolled back, so one role's attempt (suspending an
account, approving a re-binding…) does not change what the next role finds.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from joserfc.jwk import ECKey

from tungban.counter import services as counter
from tungban.credentials import services as credentials
from tungban.credentials.models import IssuanceBatch
from tungban.signing import services as signing
from tungban.testing.factories import STAFF_ROLES, login_staff, make_client, make_resident, staff_user
from tungban.wallet.models import Device

pytestmark = pytest.mark.django_db

COUNTER = {"counter_officer", "counter_supervisor", "admin"}
#: URL name (or namespace) → the roles that may use it. Everything else is refused.
POLICY = {
    "counter": COUNTER,
    "counter:approve-rebind": {"counter_supervisor", "admin"},  # a second officer: a supervisor
    "counter:reject-rebind": {"counter_supervisor", "admin"},
    # Only the officer who asked for the re-binding (none of the users tried here) issues its code.
    "counter:issue-rebind-code": set(),
    # The activation code page shows a code only to the officer who issued it (none here: 404).
    "counter:activation-code": set(),
    "credentials": {"credential_officer", "admin"},
    # e-Services officers are department members (DepartmentOfficer), a role none of these
    # users has, administrators included: eservices/tests/test_workbench.py tries them.
    "eservices-staff": set(),
    # Payments' refunds and counter (issue 18) are for the same department members:
    # payments/tests/test_counter.py and test_refunds.py try them.
    "payments-staff": set(),
    # Reconciliation is Treasury-wide: the permission payments.reconcile, which of these users
    # only the superuser has (payments/tests/test_reconciliation_pages.py tries the rest).
    "payments-recon": {"admin"},
    # An import and an exception are tried here by ids that do not exist (404 for everyone, the
    # superuser included); test_reconciliation_pages.py opens real ones by permission.
    "payments-recon:import": set(),
    "payments-recon:import-action": set(),
    "payments-recon:refund-file": set(),
    "payments-recon:exception": set(),
    "payments-recon:resolve": set(),
    # The AI Subsidy Scheme (issue 20): its secretariat and funder are department members
    # (CYBERPORT, DPO) and its committee members are committees.Member rows, roles none of these
    # users has: subsidy/tests (test_secretariat, test_pages, test_report_pages, test_recommend,
    # test_committee_review for /staff/subsidy/committee/) and committees/tests/test_pages.py try them.
    "subsidy_staff": set(),
    "committees": set(),
    # Open data (issue 21): data officers and Departmental Data Officers are opendata.DataOfficer
    # rows, a role none of these users has: opendata/tests try them.
    "opendata_staff": set(),
    "opendata_catalogue": set(),
    # The one search's best bets (issue 22): search editors are search.SearchEditor rows, a role
    # none of these users has: search/tests/test_search.py tries them.
    "search_staff": set(),
    "admin": {"admin"},
}
#: Pages every visitor may open: logging in and out, the admin's translations catalogue.
PUBLIC = {"admin:login", "admin:logout", "admin:jsi18n", "counter:logout"}
#: ``<slug:action>`` of the counter's resident actions.
RESIDENT_ACTIONS = ["suspend", "reinstate", "unbind", "activation", "unknown"]


def _walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), f"{namespace}{p.name or ''}", p


def staff_patterns() -> list[tuple[str, str, URLPattern]]:
    """Every URL pattern under ``staff/`` and ``admin/`` (route, name, pattern)."""
    found = [(r, n, p) for r, n, p in _walk(get_resolver().url_patterns) if r.startswith(("staff/", "admin/"))]
    assert len(found) > 20  # the URLconf was really walked
    return found


@pytest.fixture
def world(db):
    """One of everything the staff pages show: a plus resident with a bound phone and a
    signing certificate, a pending re-binding, an issued e-licence and a bulk batch."""
    officer = staff_user("counter_officer")
    resident = make_resident(officer)
    key = ECKey.generate_key("P-256")
    device = Device.objects.create(
        resident=resident, platform="cli", public_jwk=key.as_dict(private=False), jwk_thumbprint=key.thumbprint()
    )
    with transaction.atomic():
        certificate = signing.ensure_credential(resident, device)
    rebind = counter.request_rebind(
        resident, officer, reason="lost phone", document_type="hkid_card", document_reference="1234"
    )
    from tungban.credentials import catalogue

    catalogue.register_bundled()
    ctype = credentials.get_type("senior-citizen-card")
    holder = make_resident(officer, date_of_birth=resident.date_of_birth.replace(year=1950))
    licence = credentials.issue(ctype, holder, {"card_number": "SC12345678"}, issued_by="officer:test")
    batch = IssuanceBatch.objects.create(credential_type=ctype, issued_by="officer:test")
    make_client("svc-matrix", "https://rp.example/cb")  # the admin's client actions have a row
    return {
        "public_id": resident.public_id,
        "serial": certificate.serial,
        "pk": rebind.pk,
        "type_id": ctype.id,
        "credential_id": licence.id,
        "batch_id": batch.id,
        "new_status": "suspended",
        "code": "SWD",
        "reference": "SWD-0000-00000",
        "attachment_id": 1,
        "name": "volumes",
        "refund_id": "00000000-0000-4000-8000-000000000000",
        "file_id": 1,
        "import_id": "00000000-0000-4000-8000-000000000001",
        "exception_id": "00000000-0000-4000-8000-000000000002",
        "day": "2026-12-05",
        "batch": 1,
        "fy": "2024-25",
        "kind": "pdf",
        "report": "00000000-0000-4000-8000-000000000003",
        "meeting_id": 1,
        "item_id": 1,
        "conflict_id": 1,
        # tcommittee: a reallocation proposal of the fund's page
        "proposal": "00000000-0000-4000-8000-000000000004",
        # opages: a resource of a dataset on the data officers' desk
        "resource_id": "00000000-0000-4000-8000-000000000005",
    }


def _samples(route: str, name: str, pattern: URLPattern, world: dict) -> list[dict]:
    """Values for the URL's parameters (one dict per URL to try)."""
    keys = list(pattern.pattern.converters) or list(pattern.pattern.regex.groupindex)
    if name.startswith("admin:"):
        # object_id / id / pk: an existing row of the page's model (or a missing one).
        model = next(
            (m for m in admin.site._registry if name.startswith(f"admin:{m._meta.app_label}_{m._meta.model_name}_")),
            None,
        )
        obj = model._default_manager.first() if model is not None else None
        object_keys = [k for k in keys if k in ("object_id", "id", "pk")]
        if object_keys and obj is None:
            return []  # no row to open (the world fixture makes rows for the models that matter)
        values = {k: str(obj.pk) for k in object_keys}
        if "app_label" in keys:
            return [
                {**values, "app_label": label} for label in sorted({m._meta.app_label for m in admin.site._registry})
            ]
        if "content_type_id" in keys:
            return []  # admin:view_on_site redirects to the object's public page
        missing = set(keys) - set(values)
        assert not missing, f"{name}: no sample value for {missing}"
        return [values]
    if "action" in keys:
        return [{**{k: world[k] for k in keys if k != "action"}, "action": a} for a in RESIDENT_ACTIONS]
    missing = set(keys) - set(world)
    assert not missing, f"{route} ({name}): add a sample value for {missing} to the world fixture"
    return [{k: world[k] for k in keys}]


def _allowed(name: str) -> set[str]:
    if name in POLICY:
        return POLICY[name]
    namespace = name.split(":", 1)[0]
    assert namespace in POLICY, f"{name}: a staff page in a namespace the policy does not know"
    return POLICY[namespace]


def _url(route_name: str, kwargs: dict) -> str:
    from django.urls import reverse

    return reverse(route_name, kwargs={k: str(v) for k, v in kwargs.items()})


def _try(client, method: str, url: str, data=None):
    """One attempt, rolled back afterwards."""
    with transaction.atomic():
        resp = client.get(url) if method == "GET" else client.post(url, data or {})
        transaction.set_rollback(True)
    return resp


def _refused(resp) -> bool:
    return resp.status_code == 403 or (resp.status_code == 302 and resp["Location"].startswith("/admin/login/"))


def _pages(world):
    for route, name, pattern in staff_patterns():
        if name in PUBLIC or name == "admin:":
            continue  # the admin's unnamed <object_id>/ only redirects to the (covered) change page
        assert ":" in name and not name.endswith(":"), f"{route}: every staff URL needs a name"
        for kwargs in _samples(route, name, pattern, world):
            yield name, _url(name, kwargs)


def _admin_actions():
    """``(changelist URL, action name, a selected pk)`` of every action of every ModelAdmin."""
    superuser = staff_user("admin")
    request = RequestFactory().get("/admin/")
    request.user = superuser
    for model, model_admin in admin.site._registry.items():
        obj = model._default_manager.first()
        if obj is None:
            continue  # nothing to select (the world fixture makes rows for the models that matter)
        for action in model_admin.get_actions(request):
            changelist = _url(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist", {})
            yield changelist, action, obj.pk


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_every_staff_page_lets_in_only_its_roles(client, role, world):
    login_staff(client, staff_user(role))
    wrong, closed = [], []
    tried = opened = 0
    for name, url in _pages(world):
        # Admin pages are tried with GET; their forms' POSTs are the admin's own (and the
        # actions, below). Staff pages with both, empty POSTs included.
        for method in ("GET",) if name.startswith("admin:") else ("GET", "POST"):
            resp = _try(client, method, url)
            if resp.status_code == 405:
                continue
            tried += 1
            assert resp.status_code < 500, (method, url, resp.status_code)
            ok = not _refused(resp) and resp.status_code != 404
            if role == "admin" and name.startswith("admin:") and resp.status_code == 403:
                closed.append(url)  # the ModelAdmin allows this to nobody (e.g. adding log entries)
                continue
            if ok != (role in _allowed(name)):
                wrong.append((method, url, resp.status_code, resp.get("Location", "")))
            opened += ok
    assert tried > 100
    assert not wrong, f"{role}: {wrong}"
    if role == "admin":
        assert opened > 100 and len(closed) < opened / 2, closed


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_every_admin_action_is_for_administrators_only(client, role, world):
    login_staff(client, staff_user(role))
    actions = list(_admin_actions())
    assert {a for _url, a, _pk in actions} >= {"delete_selected", "new_secret"}
    for changelist, action, pk in actions:
        resp = _try(client, "POST", changelist, {"action": action, "_selected_action": [str(pk)], "index": "0"})
        assert resp.status_code < 500, (changelist, action)
        assert _refused(resp) == (role != "admin"), (role, changelist, action, resp.status_code)
