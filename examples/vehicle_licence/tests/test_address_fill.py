"""Tests of 填表通 through the Consented Data Exchange Gateway: "Fill my address from the
Water Supplies Department". The gateway (tokens by ``private_key_jwt``, consents, data
requests) is played by :class:`FakeOP`; the service uses the real :class:`DataUser`."""

from __future__ import annotations

import json
import re

import pytest

from examples.vehicle_licence.address import (
    CONSENT_SECONDS,
    PURPOSES,
    WSD_PRODUCT,
    error_key,
    format_address,
    load_private_jwk,
    resolve_private_jwk,
)
from examples.vehicle_licence.tests.fake_op import CLIENT_ID, ISSUER, data_user_key, make_app
from examples.vehicle_licence.tests.test_app import VALID_FORM, html, input_value, login

FILLED = "Flat 12A, 8 Nathan Road\nTsim Sha Tsui\nYau Tsim Mong, Kowloon"
NOTE_EN = "Supplied by the Water Supplies Department through the Consented Data Exchange Gateway"
NOTE_ZH = "由水務署經授權數據交換閘提供"
CONSENTS = f"{ISSUER}/api/v1/exchange/consents"


def private_jwk() -> dict:
    return data_user_key().as_dict(private=True)


def gateway_app(**config):
    """The demo app with the service's gateway key; no throttling of the gateway polls."""
    return make_app(**{"VL_CDEG_PRIVATE_JWK": json.dumps(private_jwk()), "VL_SIGNING_POLL_SECONDS": 0, **config})


@pytest.fixture
def app():
    return gateway_app()


def form_csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def ask_for_address(client, **typed):
    """Press "Fill my address from the Water Supplies Department" on the form."""
    page = html(client.get("/form"))
    values = {name: input_value(page, name) for name in VALID_FORM}
    return client.post("/address/wsd", data={**values, **typed, "csrf_token": form_csrf(page)})


def gateway_calls(fake_op, path: str = "", method: str | None = None) -> list:
    return [
        r
        for r in fake_op.requests
        if r.url.startswith(f"{ISSUER}/api/v1/exchange{path}") and (method is None or r.method == method)
    ]


def address_error(page: str) -> str:
    match = re.search(r'<div id="address-fill-error".*?</div>', page, re.S)
    assert match, "no #address-fill-error"
    return match.group(0)


# --------------------------------------------------------------------------- pure helpers


class TestHelpers:
    def test_format_address(self):
        data = {
            "address": {
                "lines": ["Flat 12A, 8 Nathan Road", "Tsim Sha Tsui"],
                "district": "Yau Tsim Mong",
                "region": "KLN",
            }
        }
        assert format_address(data) == FILLED
        # A line naming the district is not repeated; regions are written out.
        assert (
            format_address(
                {"address": {"lines": [" 1 Main Street ", "", "Sha Tin"], "district": "sha tin", "region": "NT"}}
            )
            == "1 Main Street\nSha Tin\nNew Territories"
        )
        assert format_address({"address": {"lines": ["1 Queen's Road"], "region": "HK"}}) == "1 Queen's Road\nHong Kong"
        for bad in (
            None,
            {},
            {"address": {}},
            {"address": {"lines": []}},
            {"address": {"lines": "x"}},
            {"address": {"lines": [1, " "]}},
        ):
            with pytest.raises(ValueError):
                format_address(bad)

    def test_error_keys(self):
        assert error_key("declined") == "addr_err_declined"
        assert error_key("expired") == "addr_err_expired"
        assert error_key("error", "no_record") == "addr_err_no_record"
        assert (
            error_key("error", "provider_timeout") == error_key("error", "provider_unavailable") == "addr_err_provider"
        )
        assert error_key("error", "not_a_data_user") == "addr_err_not_allowed"
        assert error_key("error", "something_new") == "addr_err_failed"

    def test_private_key_sources(self, tmp_path):
        key = private_jwk()
        assert load_private_jwk(json.dumps(key)) == key
        assert load_private_jwk(key) == key
        assert load_private_jwk(data_user_key().as_dict(private=False)) is None  # a public key will not do
        assert load_private_jwk("not json") is None and load_private_jwk("") is None and load_private_jwk(None) is None
        config = tmp_path / "clients.json"
        config.write_text(json.dumps({"client_id": CLIENT_ID, "client_secret": "s", "cdeg_private_jwk": key}))
        assert resolve_private_jwk({"VL_CLIENT_CONFIG": str(config)}) == key
        assert resolve_private_jwk({"VL_CLIENT_CONFIG": str(tmp_path / "missing.json")}) is None
        other = {**key, "kid": "direct"}
        assert resolve_private_jwk({"VL_CDEG_PRIVATE_JWK": json.dumps(other), "VL_CLIENT_CONFIG": str(config)}) == other


# --------------------------------------------------------------------------- the button


class TestOffer:
    def test_button_after_login_with_a_key(self, client, fake_op):
        login(client, fake_op)
        page = html(client.get("/form?lang=en"))
        assert 'id="fill-address-wsd"' in page and "Fill my address from the Water Supplies Department" in page
        assert 'formaction="/address/wsd"' in page and "formnovalidate" in page
        # Enter in a text box submits the application, not the address request.
        assert (
            page.index('<button type="submit" hidden') < page.index('id="fill-address-wsd"') < page.index('id="submit"')
        )
        assert "從水務署取得我的地址" in html(client.get("/form?lang=zh-HK"))

    def test_no_button_without_a_key(self, fake_op):
        client = make_app().test_client()
        login(client, fake_op)
        page = html(client.get("/form"))
        assert 'id="fill-address-wsd"' not in page and 'id="address-fill"' not in page

    def test_no_button_without_login(self, client, fake_op):
        assert 'id="fill-address-wsd"' not in html(client.get("/form"))

    def test_key_from_the_client_config_file(self, tmp_path, fake_op):
        config = tmp_path / "demo-clients.json"
        config.write_text(
            json.dumps({"client_id": CLIENT_ID, "client_secret": "test-secret", "cdeg_private_jwk": private_jwk()})
        )
        client = make_app(VL_CLIENT_SECRET=None, VL_CLIENT_CONFIG=str(config), VL_SIGNING_POLL_SECONDS=0).test_client()
        login(client, fake_op)
        assert 'id="fill-address-wsd"' in html(client.get("/form"))
        assert ask_for_address(client).status_code == 303
        assert len(fake_op.consents) == 1


# --------------------------------------------------------------------------- the whole flow


class TestFill:
    def test_consent_approval_and_filled_form(self, client, fake_op):
        login(client, fake_op)
        resp = ask_for_address(client, registration_mark="AB1234", address="typed before")
        assert resp.status_code == 303 and resp.headers["Location"].endswith("/address/wsd")

        # private_key_jwt at the token endpoint, then the consent request.
        jwt_grant = [t for t in fake_op.token_requests if "client_assertion" in t["form"]]
        assert len(jwt_grant) == 1 and jwt_grant[0]["authorization"] == ""
        assert jwt_grant[0]["form"]["scope"] == "cdeg"
        [asked] = gateway_calls(fake_op, "/consents", "POST")
        assert json.loads(asked.body) == {
            "product": WSD_PRODUCT,
            # In the page's language only (issue 16, polish16 item 8): here the default, Chinese.
            "purpose": PURPOSES["zh-HK"],
            "duration_seconds": CONSENT_SECONDS,
            "max_uses": 1,
            "sub": "pairwise-sub-123",
        }
        assert CONSENT_SECONDS == 600
        [consent] = fake_op.consents.values()

        # The waiting page: approval link and QR code, polling the service's own status.
        page = html(client.get("/address/wsd?lang=en"))
        assert "Approve in your tungban app" in page and "請在通辦 app 批准" in page
        assert f'id="open-app" class="button primary" href="{consent["approval_uri"]}"' in page
        assert '<div class="qr"><svg' in page
        assert 'data-status-url="/address/wsd/status"' in page and "sign.js" in page
        assert "Water Supplies Department" in page and PURPOSES["en"] in page
        assert PURPOSES["zh-HK"] not in page
        assert client.get("/address/wsd/status").get_json() == {"status": "pending", "problem": False}
        assert gateway_calls(fake_op, "/requests") == []

        # The resident approves in the app: the next poll fetches the address, once.
        fake_op.decide("active")
        assert client.get("/address/wsd/status").get_json()["status"] == "filled"
        assert client.get("/address/wsd/status").get_json()["status"] == "filled"
        [fetched] = gateway_calls(fake_op, "/requests", "POST")
        body = json.loads(fetched.body)
        assert body["consent_id"] == consent["id"] and body["product"] == WSD_PRODUCT and len(body["request_id"]) >= 8
        resp = client.get("/address/wsd")
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/form#address")

        page = html(client.get("/form?lang=en"))
        assert input_value(page, "address") == FILLED
        assert re.search(
            rf'<span class="prefilled cdeg" id="address-source" data-source="cdeg" data-exchange-id="x-1">{NOTE_EN}</span>',
            page,
        )
        assert 'aria-describedby="address-source"' in page
        assert input_value(page, "registration_mark") == "AB1234"  # what was typed is kept
        assert input_value(page, "name_en") == "CHAN Tai Man" and 'id="name_en-source"' in page
        assert 'id="address-fill-error"' not in page
        assert re.search(r'<textarea id="address" name="address"[^>]*>', page).group(0).find("readonly") < 0
        assert NOTE_ZH in html(client.get("/form?lang=zh-HK"))

        # Submitting keeps the address's source with the application, then starts afresh.
        page = html(client.get("/form"))
        values = {name: input_value(page, name) for name in VALID_FORM}
        resp = client.post("/form", data={**values, "period": "12", "csrf_token": form_csrf(page)})
        assert resp.status_code == 302, html(resp)
        page = html(client.get("/form"))
        assert input_value(page, "address") != FILLED and 'id="address-source" data-source="cdeg"' not in page

    def test_changed_address_loses_the_note(self, client, fake_op):
        login(client, fake_op)
        ask_for_address(client)
        fake_op.decide("active")
        client.get("/address/wsd/status")
        page = html(client.get("/form"))
        values = {name: input_value(page, name) for name in VALID_FORM}
        resp = client.post(
            "/form",
            data={**values, "address": "Somewhere else", "registration_mark": "", "csrf_token": form_csrf(page)},
        )
        assert resp.status_code == 400
        page = html(resp)
        assert input_value(page, "address") == "Somewhere else" and 'data-source="cdeg"' not in page

    def test_pressing_again_while_waiting_reuses_the_request(self, client, fake_op):
        login(client, fake_op)
        ask_for_address(client)
        resp = ask_for_address(client)
        assert resp.status_code == 303 and resp.headers["Location"].endswith("/address/wsd")
        assert len(fake_op.consents) == 1
        assert 'id="address-pending-note"' in html(client.get("/form"))

    def test_cancel(self, client, fake_op):
        login(client, fake_op)
        ask_for_address(client)
        page = html(client.get("/address/wsd"))
        resp = client.post("/address/wsd/cancel", data={"csrf_token": form_csrf(page)})
        assert resp.status_code == 303 and resp.headers["Location"].endswith("/form#address")
        page = html(client.get("/form"))
        assert 'id="address-pending-note"' not in page and 'id="address-fill-error"' not in page
        assert client.get("/address/wsd").status_code == 302


# --------------------------------------------------------------------------- declined, expired, errors


class TestNotFilled:
    @pytest.mark.parametrize(
        ("answer", "english", "chinese"),
        [
            ("declined", "You declined in the app", "你已在 app 拒絕提供地址"),
            ("expired", "The request expired before it was approved", "要求在你批准前已逾時"),
        ],
    )
    def test_declined_or_expired(self, client, fake_op, answer, english, chinese):
        login(client, fake_op)
        ask_for_address(client)
        fake_op.decide(answer)
        assert client.get("/address/wsd/status").get_json()["status"] == answer
        page = html(client.get("/form?lang=en"))
        box = address_error(page)
        assert f'data-status="{answer}"' in box and english in box and chinese in box
        assert (
            input_value(page, "address") == "Flat A, 10/F, 1 Harbour Road\nWan Chai\nHong Kong"
        )  # still the user's to edit
        assert 'data-source="cdeg"' not in page and 'id="fill-address-wsd"' in page
        assert gateway_calls(fake_op, "/requests") == []

    @pytest.mark.parametrize(
        ("status", "code", "english"),
        [
            (404, "no_record", "has no address registered in your name"),
            (502, "provider_unavailable", "could not provide your address just now"),
            (504, "provider_timeout", "could not provide your address just now"),
            (403, "consent_revoked", "could not be obtained"),
        ],
    )
    def test_data_request_refused(self, client, fake_op, status, code, english):
        login(client, fake_op)
        ask_for_address(client)
        fake_op.exchange_refusal = (status, code)
        fake_op.decide("active")
        assert client.get("/address/wsd/status").get_json()["status"] == "error"
        page = html(client.get("/form?lang=en"))
        box = address_error(page)
        assert f'data-code="{code}"' in box and f'<code id="address-fill-code">{code}</code>' in box
        if code != "consent_revoked":
            assert english in box
        assert len(re.findall(r"<p lang=", box)) == 2  # both languages
        assert 'data-source="cdeg"' not in page

    def test_retry_after_a_provider_problem_uses_the_same_consent(self, client, fake_op):
        login(client, fake_op)
        ask_for_address(client)
        fake_op.exchange_refusal = (504, "provider_timeout")
        fake_op.decide("active")
        client.get("/address/wsd/status")
        fake_op.exchange_refusal = None
        resp = ask_for_address(client)
        assert resp.status_code == 303 and resp.headers["Location"].endswith("/form#address")
        assert len(fake_op.consents) == 1 and len(gateway_calls(fake_op, "/requests")) == 2
        assert input_value(html(client.get("/form")), "address") == FILLED

    def test_consent_request_refused(self, client, fake_op):
        login(client, fake_op)
        fake_op.consent_refusal = (404, "unknown_subject")
        resp = ask_for_address(client)
        assert resp.status_code == 303 and resp.headers["Location"].endswith("/form#address")
        box = address_error(html(client.get("/form?lang=en")))
        assert "log in with tungban again" in box and 'data-code="unknown_subject"' in box

    def test_gateway_unreachable(self, client, fake_op):
        login(client, fake_op)
        fake_op.reachable = False
        resp = ask_for_address(client)
        fake_op.reachable = True
        assert resp.status_code == 303
        box = address_error(html(client.get("/form?lang=en")))
        assert 'data-code="unreachable"' in box and "Cannot reach tungban" in box

    def test_unreachable_while_waiting_keeps_waiting(self, client, fake_op):
        login(client, fake_op)
        ask_for_address(client)
        fake_op.reachable = False
        assert client.get("/address/wsd/status").get_json() == {"status": "pending", "problem": True}
        assert 'id="address-problem"' in html(client.get("/address/wsd"))
        fake_op.reachable = True
        fake_op.decide("active")
        assert client.get("/address/wsd/status").get_json()["status"] == "filled"

    def test_wrong_key_is_refused_at_the_token_endpoint(self, fake_op):
        from joserfc.jwk import ECKey

        other = ECKey.generate_key("P-256", {"alg": "ES256", "kid": "other"}).as_dict(private=True)
        client = gateway_app(VL_CDEG_PRIVATE_JWK=other).test_client()
        login(client, fake_op)
        ask_for_address(client)
        box = address_error(html(client.get("/form?lang=en")))
        assert 'data-code="invalid_client"' in box and "not authorised" in box

    def test_approval_link_to_another_site_is_not_shown(self, client, fake_op):
        login(client, fake_op)
        fake_op.approval_uri_base = "https://evil.example/app/approve/"
        resp = ask_for_address(client)
        assert resp.headers["Location"].endswith("/form#address")
        assert 'data-code="bad_response"' in address_error(html(client.get("/form")))


# --------------------------------------------------------------------------- guards


class TestGuards:
    def test_needs_csrf(self, client, fake_op):
        login(client, fake_op)
        assert client.post("/address/wsd", data={}).status_code == 400
        assert gateway_calls(fake_op) == []

    def test_needs_login(self, client, fake_op):
        page = html(client.get("/form"))
        resp = client.post("/address/wsd?lang=en", data={"csrf_token": form_csrf(page)})
        assert resp.status_code == 401 and "log in with tungban again" in html(resp)
        assert 'href="/login"' in html(resp)
        assert gateway_calls(fake_op) == []

    def test_other_sessions_see_nothing(self, app, client, fake_op):
        login(client, fake_op)
        ask_for_address(client)
        other = app.test_client()
        assert other.get("/address/wsd/status").status_code == 404
        assert other.get("/address/wsd").status_code == 302

    def test_language_switch_stays_on_the_address_page(self, client, fake_op):
        login(client, fake_op)
        ask_for_address(client)
        assert 'href="/address/wsd?lang=en"' in html(client.get("/address/wsd"))
