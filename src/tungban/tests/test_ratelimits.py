"""Rate limits on anonymous, guessable and expensive endpoints (issue 13 items 2, 8, 12),
and the guardian check of self-registration (item 2).

Requests come from Django's test client with chosen ``REMOTE_ADDR``s, so "another client"
is another address; the counters are the rate limiter's rows in the test database.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from django.test import Client

from tungban.identity import hkid
from tungban.identity import services as identity
from tungban.identity.models import PopulationRecord, Resident
from tungban.testing.factories import valid_hkid
from tungban.wallet import services as wallet

ATTACKER, RESIDENT = "203.0.113.7", "198.51.100.20"


@pytest.fixture
def low_limits(settings):
    """Every group allows 3 attempts an hour (the production rates are larger), but for the
    ceiling per HKID from any client, larger than the limit per client as in production."""
    settings.TUNGBAN_RATELIMITS = {**dict.fromkeys(settings.TUNGBAN_RATELIMITS, "3/h"), "binding_hkid": "20/h"}
    return 3


def _client(ip: str, language: str = "en") -> Client:
    return Client(REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE=language)


def _years_ago(years: int, days: int = 10) -> dt.date:
    today = dt.date.today()
    return today.replace(year=today.year - years) - dt.timedelta(days=days)


def _register(hk: str, family: str, given: str, born: dt.date, gender: str = "female") -> PopulationRecord:
    return PopulationRecord.objects.create(
        hkid=hkid.normalize(hk), family_name_en=family, given_name_en=given, date_of_birth=born, gender=gender
    )


def _registration(entry: PopulationRecord, **over) -> dict:
    body = {
        "hkid": hkid.display(entry.hkid),
        "family_name_en": entry.family_name_en,
        "given_name_en": entry.given_name_en,
        "date_of_birth": entry.date_of_birth.isoformat(),
        "gender": entry.gender,
    }
    body.update(over)
    return body


def _assert_429(response, error="rate_limited"):
    assert response.status_code == 429, response.content
    assert int(response["Retry-After"]) >= 1
    body = response.json()
    assert body["error"] == error and body["details"]["retry_after"] == int(response["Retry-After"])
    return body


REGISTRATIONS = "/api/v1/wallet/registrations"
BINDINGS = "/api/v1/wallet/bindings"


# --- Item 2: self-registration ----------------------------------------------------------------


def test_proofing_is_limited_per_hkid_across_clients(db, low_limits):
    """Guessing a date of birth: after 3 tries on one HKID number, from any client, the
    next is refused with 429 before it is checked, even with the right details."""
    entry = _register(valid_hkid("K", "234567"), "LEE", "Ka Yan", dt.date(1985, 11, 20))
    for i in range(low_limits):
        wrong = _registration(entry, date_of_birth=dt.date(1985, 1, 1 + i).isoformat())
        r = _client(f"192.0.2.{i + 1}").post(REGISTRATIONS, wrong, content_type="application/json")
        assert r.status_code == 400 and r.json()["error"] == "proofing_failed"
    r = _client("192.0.2.99").post(REGISTRATIONS, _registration(entry), content_type="application/json")
    body = _assert_429(r)
    assert "Too many attempts" in body["message"]
    assert not Resident.objects.exists()


def test_proofing_is_limited_per_client(db, low_limits):
    """One client trying many HKID numbers is stopped too."""
    for i in range(low_limits):
        body = {
            "hkid": valid_hkid("G", f"{100000 + i}"),
            "family_name_en": "CHAN",
            "given_name_en": "Tai Man",
            "date_of_birth": "1980-01-01",
            "gender": "male",
        }
        assert _client(ATTACKER).post(REGISTRATIONS, body, content_type="application/json").status_code == 400
    body["hkid"] = valid_hkid("G", "200000")
    r = _client(ATTACKER, "zh-hant").post(REGISTRATIONS, body, content_type="application/json")
    assert "嘗試次數過多" in _assert_429(r)["message"]  # in the client's language


def test_minor_guardian_is_checked_against_the_register(db):
    """A 15-year-old's guardian must be an adult in the register with the name given."""
    minor = _register(valid_hkid("Y", "345678"), "WONG", "Siu Ming", _years_ago(15))
    parent = _register(valid_hkid("P", "456789"), "WONG", "Tai Wah", _years_ago(45), gender="male")
    data = dict(
        hkid=minor.hkid,
        family_name_en="WONG",
        given_name_en="Siu Ming",
        date_of_birth=minor.date_of_birth,
        gender="female",
    )
    # A made-up guardian (valid HKID number, not in the register) is refused.
    for made_up in (
        identity.Guardian("CHAN Tai Man", valid_hkid("A", "999999"), "father"),
        identity.Guardian("LEE Siu Fong", hkid.display(parent.hkid), "father"),  # wrong name
        identity.Guardian("WONG Siu Ming", hkid.display(minor.hkid), "father"),  # the minor
    ):
        with pytest.raises(identity.errors.ProofingFailed):
            identity.self_register(guardian=made_up, **data)
    assert not Resident.objects.exists()
    resident = identity.self_register(guardian=identity.Guardian("wong, TAI wah", parent.hkid, "father"), **data)
    assert resident.guardian_consent.guardian_hkid == parent.hkid


def test_minor_guardian_must_be_an_adult(db):
    minor = _register(valid_hkid("Y", "345670"), "WONG", "Siu Ming", _years_ago(15))
    sibling = _register(valid_hkid("P", "456780"), "WONG", "Siu Wah", _years_ago(16))
    with pytest.raises(identity.errors.ProofingFailed):
        identity.self_register(
            hkid=minor.hkid,
            family_name_en="WONG",
            given_name_en="Siu Ming",
            date_of_birth=minor.date_of_birth,
            gender="female",
            guardian=identity.Guardian("WONG Siu Wah", sibling.hkid, "brother"),
        )


# --- Item 12: guessing does not void the resident's activation code ----------------------------


def test_guessing_delays_but_never_voids_the_activation_code(resident, low_limits):
    code = wallet.issue_activation_code(resident)
    attacker = _client(ATTACKER)
    for _ in range(low_limits):
        r = attacker.post(BINDINGS, {"hkid": resident.hkid, "activation_code": "WRONG123"}, "application/json")
        assert r.status_code == 403 and r.json()["error"] == "bad_activation_code"
    # The attacker is slowed down: even the right code is not checked for this client now ...
    _assert_429(attacker.post(BINDINGS, {"hkid": resident.hkid, "activation_code": code}, "application/json"))
    # ... and the resident, on their own phone, binds with the code from the counter.
    r = _client(RESIDENT).post(BINDINGS, {"hkid": resident.hkid, "activation_code": code}, "application/json")
    assert r.status_code == 201, r.content


def test_activation_guesses_from_many_clients_hit_the_hkid_ceiling(resident, settings):
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "binding_hkid": "4/d"}
    wallet.issue_activation_code(resident)
    for i in range(4):
        r = _client(f"192.0.2.{i + 1}").post(
            BINDINGS, {"hkid": resident.hkid, "activation_code": "WRONG123"}, "application/json"
        )
        assert r.status_code == 403
    # Issue 16 item 2: the resident is told the code is locked and to ask the counter for a new one.
    _assert_429(
        _client("192.0.2.50").post(BINDINGS, {"hkid": resident.hkid, "activation_code": "X"}, "application/json"),
        "activation_code_locked",
    )


# --- Item 8: every anonymous expensive or guessable endpoint ------------------------------------


@pytest.mark.parametrize(
    "path, kwargs",
    [
        (BINDINGS, {"data": {"hkid": "A123456(3)", "activation_code": "AAAA2222"}, "content_type": "application/json"}),
        (
            "/api/v1/wallet/bindings/00000000-0000-4000-8000-000000000000/complete",
            {"data": {"public_jwk": {}, "proof": "x", "platform": "cli"}, "content_type": "application/json"},
        ),
        ("/oidc/token", {"data": {"grant_type": "authorization_code", "code": "x"}, "secure": True}),
        ("/api/v1/signing/verify", {"data": {}}),
        ("/api/v1/credentials/verify", {"data": {"presentation": "x"}, "content_type": "application/json"}),
        ("/signing/verify", {"data": {}}),
        ("/verify/", {"data": {"presentation": "x"}}),
    ],
)
def test_anonymous_endpoints_answer_429_with_retry_after(db, low_limits, path, kwargs):
    client = _client(ATTACKER)
    for _ in range(low_limits):
        assert client.post(path, **kwargs).status_code != 429
    _assert_429(client.post(path, **kwargs))
    assert _client(RESIDENT).post(path, **kwargs).status_code != 429  # another client is not affected


def test_pages_answer_429_in_the_users_language(db, low_limits):
    browser = _client(ATTACKER, "zh-hant")
    for _ in range(low_limits):
        browser.post("/signing/verify", HTTP_ACCEPT="text/html")
    r = browser.post("/signing/verify", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert r.status_code == 429 and int(r["Retry-After"]) >= 1
    assert r["Content-Type"].startswith("text/html")
    assert "嘗試次數過多" in r.content.decode()


@pytest.mark.django_db(transaction=True)
def test_limit_holds_across_processes(settings):
    """Two processes, one database: attempts counted by another process (another web
    worker) count here too."""
    from django.core.cache import caches

    from tungban.testing.tasks import worker_environment

    caches[settings.RATELIMIT_USE_CACHE].clear()
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "verify": "3/h"}
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        f"c = Client(REMOTE_ADDR={ATTACKER!r})\n"
        "print([c.post('/api/v1/credentials/verify', {'presentation': 'x'}, 'application/json').status_code"
        " for _ in range(3)])\n"
    )
    env = {**worker_environment(), "TUNGBAN_RATELIMIT_VERIFY": "3/h"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "429" not in out.stdout, out.stdout
    r = _client(ATTACKER).post("/api/v1/credentials/verify", {"presentation": "x"}, "application/json")
    _assert_429(r)
    caches[settings.RATELIMIT_USE_CACHE].clear()


def test_429_is_documented_in_the_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").json()
    for path in (BINDINGS, REGISTRATIONS, "/api/v1/signing/verify", "/api/v1/credentials/verify"):
        assert doc["paths"][path]["post"]["responses"]["429"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "ErrorOut"
        ), path
    assert "rate_limited" in doc["info"]["description"]


# --- Issue 16 review H1: the per-HKID limits whatever the body's Content-Type ------------------
# ninja parses a JSON body whatever its Content-Type, so the limits must read it the same way.

CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded", ""]


@pytest.mark.parametrize("ctype", CONTENT_TYPES)
def test_activation_guesses_are_counted_whatever_the_content_type(resident, settings, ctype):
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "binding_hkid": "4/d"}
    code = wallet.issue_activation_code(resident)
    for i in range(4):
        body = json.dumps({"hkid": resident.hkid, "activation_code": "WRONG123"})
        r = _client(f"192.0.2.{i + 1}").post(BINDINGS, body, content_type=ctype)
        assert r.status_code == 403, r.content
    right = json.dumps({"hkid": resident.hkid, "activation_code": code})
    _assert_429(_client("192.0.2.50").post(BINDINGS, right, content_type=ctype), "activation_code_locked")


@pytest.mark.parametrize("ctype", CONTENT_TYPES)
def test_proofing_is_limited_per_hkid_whatever_the_content_type(db, low_limits, ctype):
    entry = _register(valid_hkid("K", "234567"), "LEE", "Ka Yan", dt.date(1985, 11, 20))
    for i in range(low_limits):
        wrong = _registration(entry, date_of_birth=dt.date(1985, 1, 1 + i).isoformat())
        r = _client(f"192.0.2.{i + 1}").post(REGISTRATIONS, json.dumps(wrong), content_type=ctype)
        assert r.status_code == 403 or r.status_code == 400, r.content
    right = _client("192.0.2.99").post(REGISTRATIONS, json.dumps(_registration(entry)), content_type=ctype)
    _assert_429(right)
    assert not Resident.objects.exists()


@pytest.mark.parametrize(
    "body, status, error",
    [
        (b"not json", 400, "invalid_request"),
        (b'["A123456(3)"]', 422, "invalid_request"),
        (b'{"activation_code": "X"}', 422, "invalid_request"),
        (b'{"hkid": 1234, "activation_code": "X"}', 422, "invalid_request"),
        (b'{"hkid": "A12", "activation_code": "X"}', 400, "hkid_format"),
    ],
)
def test_a_per_hkid_limit_without_a_readable_hkid_refuses(db, body, status, error):
    """Fail closed: a request whose HKID the limit cannot read is refused, never let through uncounted."""
    r = _client(ATTACKER).post(BINDINGS, body, content_type="text/plain")
    assert r.status_code == status and r.json()["error"] == error, r.content


def test_claimed_hkid_refuses_an_unreadable_body():
    from django.test import RequestFactory

    from tungban.core.errors import DomainError
    from tungban.identity import limits

    request = RequestFactory().post(BINDINGS, b"\xff\xfe", content_type="text/plain")
    with pytest.raises(DomainError):
        limits.claimed_hkid(request)
