"""Cross-device approval phishing (issue 13 item 6; IETF draft-ietf-oauth-cross-device-security
§6.1.4 user-transferred session data and §6.1.7 contextual information): the sign-in page shows a
2-digit number that the resident types in the app; the platform refuses an approval that does
not carry it, and the app is told where the request came from (service, browser, time, network
address). A victim sent an attacker's QR code or link does not see that number."""

import json
import re

import pytest
import requests
from joserfc import jws

from tungban.testing.factories import (
    PIN,
    authorize_params,
    bind_cli,
    code_from,
    complete_authorization,
    make_client,
    pkce,
    start_authorization_with_code,
)
from tungban.wallet import services as wallet
from tungban.wallet.client import AppError, decision_payload
from tungban.wallet.models import ApprovalRequest, RequestStatus

pytestmark = pytest.mark.django_db
RP = "https://rp-a.example/cb"
FIREFOX_ON_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:133.0) Gecko/20100101 Firefox/133.0"


@pytest.fixture
def rp(db):
    return make_client("svc-a", RP, name_en="Harbour Library", name_zh="海港圖書館")


@pytest.fixture
def app(issuer, resident, app_home):
    app = bind_cli(issuer, resident, app_home)
    app.code_prompt = None  # nobody reads the screen for it here: each test types (or not)
    return app


def _start(issuer):
    browser = requests.Session()
    browser.headers["User-Agent"] = FIREFOX_ON_MAC
    _, challenge = pkce()
    rid, code = start_authorization_with_code(browser, issuer, authorize_params("svc-a", RP, challenge))
    return browser, rid, code


def _leaves(value) -> list:
    """Every value in a JSON document (not the keys)."""
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _decide_raw(app, rid, payload):
    key = app.load_key(PIN)
    signature = jws.serialize_compact({"alg": "ES256", "kid": app.meta["device_id"]}, json.dumps(payload).encode(), key)
    return app._call("POST", f"/api/v1/wallet/requests/{rid}/decision", {"signature": signature}, device_key=key)


def test_page_shows_a_two_digit_code_that_the_app_is_not_told(issuer, rp, app):
    browser, rid, code = _start(issuer)
    assert re.fullmatch(r"\d\d", code)
    details = app.show(rid, PIN)
    assert details["code_required"] is True
    # As text: an integer leaf (a count, a flag) may equal a code such as 00 by chance.
    assert code not in _leaves(details)
    assert "user_code" not in json.dumps(details) and "code_attempts" not in json.dumps(details)
    # Where the request came from: the service, the browser that opened the page, when, from where.
    origin = details["origin"]
    assert details["requester"]["name_en"] == "Harbour Library"
    assert origin["browser"] == "Firefox" and origin["os"] == "Mac OS X"
    assert origin["ip"] == "127.0.0.1"
    assert origin["started_at"] == ApprovalRequest.objects.get(pk=rid).created_at.isoformat()


def test_approval_without_the_code_or_with_a_wrong_one_is_refused(issuer, rp, app):
    browser, rid, code = _start(issuer)
    with pytest.raises(AppError) as err:  # the CLI app asks for it before signing anything
        app.decide(rid, PIN, "approve")
    assert err.value.code == "code_required"
    details = app.show(rid, PIN)
    phished = decision_payload(details, "approve", [])
    assert "code" not in phished
    with pytest.raises(AppError) as err:  # an app that does not send it: the platform refuses
        _decide_raw(app, rid, phished)
    assert err.value.code == "wrong_code" and err.value.status == 403
    wrong = f"{(int(code) + 1) % 100:02d}"
    with pytest.raises(AppError) as err:
        app.decide(rid, PIN, "approve", code=wrong)
    assert err.value.code == "wrong_code"
    assert ApprovalRequest.objects.get(pk=rid).status == RequestStatus.PENDING
    assert complete_authorization(browser, issuer, rid).status_code == 200  # still waiting, no code
    # The number on the screen (typed with full-width digits, as a Chinese keyboard may give).
    typed = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert app.decide(rid, PIN, "approve", code=f" {typed} ")["status"] == "approved"
    assert "code" in code_from(complete_authorization(browser, issuer, rid))


def test_three_wrong_codes_cancel_the_request(issuer, rp, app):
    browser, rid, code = _start(issuer)
    wrong = f"{(int(code) + 50) % 100:02d}"
    for attempt in range(wallet.MAX_CODE_ATTEMPTS):
        with pytest.raises(AppError) as err:
            app.decide(rid, PIN, "approve", code=wrong)
        expected = "wrong_code" if attempt < wallet.MAX_CODE_ATTEMPTS - 1 else "code_attempts_exceeded"
        assert err.value.code == expected
    req = ApprovalRequest.objects.get(pk=rid)
    assert req.status == RequestStatus.FAILED and req.failure_code == "code_attempts_exceeded"
    with pytest.raises(AppError) as err:
        app.decide(rid, PIN, "approve", code=code)
    assert err.value.code == "request_already_decided"
    page = complete_authorization(browser, issuer, rid)
    assert page.status_code == 200 and "Location" not in page.headers
    assert "號碼不相符" in page.text and "access_denied" in page.text  # "the number did not match"; link back
    english = browser.get(
        f"{issuer}/oidc/authorize/{rid}/complete", headers={"Accept-Language": "en"}, allow_redirects=False
    )
    assert "The number did not match" in english.text


def test_declining_needs_no_code(issuer, rp, app):
    browser, rid, _ = _start(issuer)
    assert app.decide(rid, PIN, "decline")["status"] == "declined"


def test_requests_not_shown_on_a_screen_need_no_code(issuer, resident, app):
    """Requests addressed to the resident's own app by a service (signing, consents) are not
    opened from a shared page: no code, no origin."""
    req = wallet.create_request(
        kind="sampledomain.pledge",
        requester_id="svc",
        requester_name_en="S",
        requester_name_zh="S",
        requested_claims=[],
        binds={"pledge": "ab12"},
        resident=resident,
    )
    details = app.show(str(req.id), PIN)
    assert details["code_required"] is False and details["origin"] is None
    assert app.decide(str(req.id), PIN, "approve")["status"] == "approved"


def test_command_line_app_says_where_from_and_asks_for_the_number(issuer, rp, app, app_home, capsys):
    from tungban.wallet import cli

    browser, rid, code = _start(issuer)
    base = ["--home", str(app_home), "--server", issuer]
    assert cli.main([*base, "show", rid, "--pin", PIN]) == 0
    shown = capsys.readouterr().out
    assert "Harbour Library" in shown and "in Firefox on Mac OS X, from network address 127.0.0.1" in shown
    assert "number shown on that page" in shown
    # No terminal to ask in (as under pytest) and no --code: refused before anything is signed.
    assert cli.main([*base, "approve", rid, "--pin", PIN]) == 2
    assert "code_required" in capsys.readouterr().err
    assert cli.main([*base, "approve", rid, "--pin", PIN, "--code", f"{(int(code) + 3) % 100:02d}"]) == 2
    assert "wrong_code" in capsys.readouterr().err
    assert cli.main([*base, "approve", rid, "--pin", PIN, "--code", code]) == 0
    assert ApprovalRequest.objects.get(pk=rid).status == RequestStatus.APPROVED


def test_only_the_browser_family_is_kept_not_the_user_agent(issuer, rp, app):
    _, rid, _ = _start(issuer)
    stored = ApprovalRequest.objects.get(pk=rid).context["origin"]
    assert stored == {"browser": "Firefox", "os": "Mac OS X", "ip": "127.0.0.1"}
    assert "Gecko" not in json.dumps(ApprovalRequest.objects.get(pk=rid).context)
