"""Issue 16 (staff16): the counter's pages as officers expect them.

Item 1: post/redirect/get for the activation code, shown again only to the officer who issued
it while it is valid. Item 2: suspending an account needs a confirmation step and a reason.
Item 3: a staff header on every staff page. Item 5: readable history. Item 6: form errors
tied to their fields, all at once, no preselected gender.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from tungban.identity.models import Resident
from tungban.testing.factories import login_staff, make_officer, staff_user
from tungban.wallet.models import ActivationCode

FORM = {
    "hkid": "A123456(3)",
    "family_name_en": "Chan",
    "given_name_en": "Tai Man",
    "name_zh": "陳大文",
    "date_of_birth": "1960-05-17",
    "gender": "male",
    "card_checked": "on",
}


@pytest.fixture
def staff_client(client, officer):
    login_staff(client, officer)
    client.cookies["tungban_language"] = "en"
    return client


def _code_in(resp) -> str | None:
    m = re.search(r'id="activation-code">([^<]+)<', resp.content.decode())
    return m.group(1).strip() if m else None


# --- item 1: post/redirect/get --------------------------------------------------------------


def test_registration_redirects_to_a_code_page_that_reloads_without_reposting(staff_client):
    resp = staff_client.post("/staff/residents/new", FORM)
    resident = Resident.objects.get()
    page = f"/staff/residents/{resident.public_id}/activation-code"
    assert resp.status_code == 302 and resp["Location"] == page
    first = staff_client.get(page)
    code = _code_in(first)
    assert first.status_code == 200 and code
    again = staff_client.get(page)  # a reload: the same code, nothing registered or issued again
    assert _code_in(again) == code
    assert Resident.objects.count() == 1 and ActivationCode.objects.filter(resident=resident).count() == 1
    assert again["Cache-Control"].startswith("no-store") or "no-store" in again["Cache-Control"]
    # The resident's page links to it while the code is valid.
    detail = staff_client.get(f"/staff/residents/{resident.public_id}").content.decode()
    assert f'href="{page}"' in detail


def test_code_page_is_only_for_the_officer_who_issued_it(staff_client):
    from django.test import Client

    staff_client.post("/staff/residents/new", FORM)
    resident = Resident.objects.get()
    other = login_staff(Client(), make_officer())
    resp = other.get(f"/staff/residents/{resident.public_id}/activation-code")
    assert resp.status_code == 404 and _code_in(resp) is None
    assert "activation-code" not in other.get(f"/staff/residents/{resident.public_id}").content.decode()


@pytest.mark.parametrize("end", ["used", "expired", "withdrawn"])
def test_code_is_not_shown_after_it_was_used_or_expired(staff_client, end):
    staff_client.post("/staff/residents/new", FORM)
    resident = Resident.objects.get()
    page = f"/staff/residents/{resident.public_id}/activation-code"
    if end == "used":
        ActivationCode.objects.update(used_at=timezone.now())
    elif end == "expired":
        ActivationCode.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    else:  # another code replaced it
        from tungban.wallet import services as wallet

        wallet.issue_activation_code(resident, make_officer())
    resp = staff_client.get(page)
    assert resp.status_code == 404 and _code_in(resp) is None
    assert f'href="{page}"' not in staff_client.get(f"/staff/residents/{resident.public_id}").content.decode()


def test_new_code_for_a_never_bound_account_uses_post_redirect_get(staff_client, officer):
    from tungban.testing.factories import make_resident

    resident = make_resident(officer)
    Resident.objects.filter(pk=resident.pk).update(tier="basic")
    resp = staff_client.post(f"/staff/residents/{resident.public_id}/activation", {})
    assert resp.status_code == 302 and resp["Location"].endswith("/activation-code")
    assert _code_in(staff_client.get(resp["Location"]))


# --- item 2: suspending needs a confirmation and a reason ----------------------------------------


def test_suspend_without_a_reason_changes_nothing(staff_client, resident):
    resp = staff_client.post(f"/staff/residents/{resident.public_id}/suspend", {"reason": "  "})
    resident.refresh_from_db()
    assert resident.status == "active"
    assert resp.status_code == 200 and 'aria-invalid="true"' in resp.content.decode()


def test_suspend_is_a_confirmation_page_stating_the_consequence(staff_client, resident):
    page = staff_client.get(f"/staff/residents/{resident.public_id}/suspend")
    text = page.content.decode()
    assert page.status_code == 200 and 'id="suspend-confirm"' in text
    assert "signed out of every online service" in text and "bind the app again" in text
    resident.refresh_from_db()
    assert resident.status == "active"  # the GET changed nothing
    resp = staff_client.post(f"/staff/residents/{resident.public_id}/suspend", {"reason": "Card reported stolen"})
    assert resp.status_code == 302
    resident.refresh_from_db()
    assert resident.status == "suspended"
    event = resident.audit_events.filter(action="status_suspended").get()
    assert event.detail.get("reason") == "Card reported stolen"
    history = staff_client.get(f"/staff/residents/{resident.public_id}").content.decode()
    assert "Card reported stolen" in history


# --- item 3: the staff header -------------------------------------------------------------------


def test_every_counter_page_has_the_staff_header(staff_client, officer, resident):
    officer.first_name, officer.last_name = "Mei", "Wong"
    officer.save()
    for path in ["/staff/", "/staff/residents/new", f"/staff/residents/{resident.public_id}"]:
        html = staff_client.get(path).content.decode()
        header = re.search(r'<nav[^>]*id="staff-header".*?</nav>', html, re.S)
        assert header, path
        header = header.group(0)
        assert "Mei Wong" in header and "Counter officer" in header, path
        assert 'href="/staff/"' in header, path
        assert re.search(r'<form[^>]*method="post"[^>]*action="/staff/logout"', header), path


def test_the_staff_header_lists_roles_with_each_languages_separator(staff_client, officer):
    officer.is_superuser = True  # administrator and counter supervisor: two roles
    officer.save()
    staff_client.cookies["tungban_language"] = "en"
    en = re.search(r'<span id="staff-role">(.*?)</span>', staff_client.get("/staff/").content.decode()).group(1)
    assert en == "Administrator, Counter supervisor"
    staff_client.cookies["tungban_language"] = "zh-hant"
    zh = re.search(r'<span id="staff-role">(.*?)</span>', staff_client.get("/staff/").content.decode()).group(1)
    assert "、" in zh and "," not in zh and not re.search(r"[A-Za-z]", zh), zh


def test_log_out_from_the_staff_header_ends_the_session(staff_client):
    resp = staff_client.post("/staff/logout")
    assert resp.status_code == 302
    assert staff_client.get("/staff/").status_code == 302  # to the login page


def test_credential_officer_pages_have_the_staff_header(client, db):
    officer = staff_user("credential_officer")
    login_staff(client, officer)
    client.cookies["tungban_language"] = "en"
    html = client.get("/staff/credentials/").content.decode()
    assert 'id="staff-header"' in html and "Credential officer" in html


# --- item 5: history labels ---------------------------------------------------------------------


def test_history_shows_readable_labels_not_codes(staff_client, resident):
    from tungban.wallet import services as wallet

    wallet.issue_activation_code(resident, make_officer())

    def history_text():
        html = staff_client.get(f"/staff/residents/{resident.public_id}").content.decode()
        section = re.search(r'<section id="history".*?</section>', html, re.S).group(0)
        return re.sub(r"<[^>]+>", "", section)

    text = history_text()
    assert "activation_code_issued" not in text
    assert "Activation code issued" in text and "Account registered" in text
    staff_client.cookies["tungban_language"] = "zh-hant"
    text = history_text()
    assert "已發出啟動碼" in text and "Account registered" not in text


# --- item 6: registration form errors ----------------------------------------------------------


def test_every_error_at_once_and_tied_to_its_field(staff_client):
    bad = dict(FORM, hkid="A123456(4)", family_name_en="", card_checked="", date_of_birth="")
    del bad["gender"]
    html = staff_client.post("/staff/residents/new", bad).content.decode()
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    invalid = re.findall(r"<(?:input|select|textarea)[^>]*aria-invalid=\"true\"[^>]*>", html)
    names = {re.search(r'name="([^"]+)"', tag).group(1) for tag in invalid}
    # The HKID check digit is reported in the same round as the missing fields.
    assert {"hkid", "family_name_en", "date_of_birth", "gender", "card_checked"} <= names
    for tag in invalid:
        described = re.search(r'aria-describedby="([^"]+)"', tag)
        assert described, tag
        for ref in described.group(1).split():
            assert ref in ids, (ref, tag)
    assert "check digit" in html


def test_every_aria_describedby_points_at_an_element(staff_client, resident):
    for path in ["/staff/", "/staff/residents/new", f"/staff/residents/{resident.public_id}"]:
        html = staff_client.get(path).content.decode()
        ids = set(re.findall(r'\bid="([^"]+)"', html))
        for ref in re.findall(r'aria-describedby="([^"]+)"', html):
            assert set(ref.split()) <= ids, (path, ref)


def test_gender_is_not_preselected(staff_client):
    html = staff_client.get("/staff/residents/new").content.decode()
    select = re.search(r'<select name="gender".*?</select>', html, re.S).group(0)
    assert re.search(r'<option value=""[^>]*>', select)
    assert not re.search(r'<option value="[^"]+"[^>]*selected', select)


def test_the_suspend_service_refuses_a_blank_reason(resident, officer):
    from tungban.core.errors import DomainError
    from tungban.counter import services

    with pytest.raises(DomainError) as raised:
        services.suspend_account(resident, actor=officer, reason=" ")
    assert raised.value.code == "suspend_reason_required"
    resident.refresh_from_db()
    assert resident.status == "active" and not resident.audit_events.filter(action="status_suspended").exists()


def test_the_kept_code_is_encrypted_in_the_session_table(staff_client):
    from django.contrib.sessions.models import Session

    staff_client.post("/staff/residents/new", FORM)
    resident = Resident.objects.get()
    code = _code_in(staff_client.get(f"/staff/residents/{resident.public_id}/activation-code"))
    assert code and not any(code in s.get_decoded().__repr__() for s in Session.objects.all())
