"""Tests of the vehicle-licence demo's own logic; the OpenID Provider is faked."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from examples.vehicle_licence.claims import CLAIM_FIELDS, claims_to_form, prefilled_fields
from examples.vehicle_licence.forms import validate_form
from examples.vehicle_licence.i18n import STRINGS, both, normalise_language, translate
from examples.vehicle_licence.tests.fake_op import (
    BASE_URL,
    CLAIMS,
    CLIENT_ID,
    ISSUER,
    METADATA,
    make_app,
)

REDIRECT_URI = f"{BASE_URL}/callback"
VALID_FORM = {
    "name_en": "CHAN Tai Man",
    "name_zh": "陳大文",
    "hkid": "A123456(3)",
    "birthdate": "1980-02-29",
    "gender": "male",
    "address": "1 Harbour Road, Wan Chai",
    "phone": "+852 9123 4567",
    "email": "taiman@example.hk",
    "billing_address": "",
    "registration_mark": "ab 1234",
    "period": "12",
}


def query(url: str) -> dict[str, str]:
    """Query parameters of ``url`` as a flat dict."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def html(resp) -> str:
    return resp.get_data(as_text=True)


def input_value(page: str, field: str) -> str:
    """Value of an ``<input>``/``<textarea>``/``<select>`` with id ``field``."""
    m = re.search(rf'<input id="{field}"[^>]*\svalue="([^"]*)"', page)
    if m:
        return m.group(1)
    m = re.search(rf'<textarea id="{field}"[^>]*>(.*?)</textarea>', page, re.S)
    if m:
        return m.group(1)
    m = re.search(rf'<select id="{field}".*?</select>', page, re.S)
    if m:
        sel = re.search(r'<option value="([^"]*)" selected', m.group(0))
        return sel.group(1) if sel else ""
    raise AssertionError(f"no input {field}")


def csrf(client) -> str:
    page = html(client.get("/form"))
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def login(client, fake_op, path="/login"):
    """Run the whole login dance against the fake OP; return the final response."""
    resp = client.get(path)
    assert resp.status_code == 302, html(resp)
    callback = fake_op.authorize(resp.headers["Location"])
    return client.get(callback.removeprefix(BASE_URL))


# --------------------------------------------------------------------------- claims


class TestClaimsToForm:
    def test_full_claims(self):
        values = claims_to_form(CLAIMS)
        assert values == {
            "name_en": "CHAN Tai Man",
            "name_zh": "陳大文",
            "hkid": "A123456(3)",
            "birthdate": "1980-02-29",
            "gender": "male",
            "address": "Flat A, 10/F, 1 Harbour Road\nWan Chai\nHong Kong",
            "phone": "+852 9123 4567",
            "email": "taiman@example.hk",
            # no ``formatted``: joined from its parts, one per line
            "billing_address": "Room 5, 2/F, 8 Nathan Road\nTsim Sha Tsui\nKowloon\nHK",
        }
        assert prefilled_fields(values) == set(CLAIM_FIELDS)

    def test_missing_claims_stay_empty(self):
        values = claims_to_form({"sub": "x", "hkid": "A123456(3)"})
        assert set(values) == set(CLAIM_FIELDS)
        assert values["hkid"] == "A123456(3)"
        assert all(values[name] == "" for name in CLAIM_FIELDS if name != "hkid")
        assert prefilled_fields(values) == {"hkid"}

    @pytest.mark.parametrize("claims", [None, {}])
    def test_no_claims(self, claims):
        assert claims_to_form(claims) == {name: "" for name in CLAIM_FIELDS}

    def test_name_from_family_and_given(self):
        values = claims_to_form({"family_name": "CHAN", "given_name": "Tai Man"})
        assert values["name_en"] == "CHAN Tai Man"

    def test_other_chinese_name_tag(self):
        assert claims_to_form({"name#zh-HK": "陳小文"})["name_zh"] == "陳小文"
        both_tags = {"name#zh-HK": "陳小文", "name#zh-Hant": "陳大文"}
        assert claims_to_form(both_tags)["name_zh"] == "陳大文"

    def test_address_variants(self):
        assert claims_to_form({"address": "1 Queen's Road"})["address"] == "1 Queen's Road"
        parts = {"formatted": "", "street_address": "1 Queen's Road", "country": "HK"}
        assert claims_to_form({"address": parts})["address"] == "1 Queen's Road\nHK"
        assert claims_to_form({"address": {}})["address"] == ""
        assert claims_to_form({"address": ["not", "an", "object"]})["address"] == ""

    @pytest.mark.parametrize(
        "given, expected",
        [("male", "male"), ("Female", "female"), ("other", "other"), ("F", "female"), ("?", "")],
    )
    def test_gender(self, given, expected):
        assert claims_to_form({"gender": given})["gender"] == expected

    @pytest.mark.parametrize("given", ["1980", "0000-02-29", "29/02/1980", 1980])
    def test_partial_or_odd_birthdate_not_prefilled(self, given):
        assert claims_to_form({"birthdate": given})["birthdate"] == ""


# --------------------------------------------------------------------------- validation


class TestValidation:
    def test_valid_form_normalises_registration_mark(self):
        values, errors = validate_form(VALID_FORM)
        assert errors == {}
        assert values["registration_mark"] == "AB1234"

    def test_required_fields(self):
        _, errors = validate_form({})
        assert errors == {
            name: "err_required" for name in ("name_en", "hkid", "birthdate", "address", "registration_mark", "period")
        }

    def test_hkid_blank_spaces_is_missing(self):
        _, errors = validate_form({**VALID_FORM, "hkid": "   "})
        assert errors == {"hkid": "err_required"}

    @pytest.mark.parametrize("mark", ["A1234", "AB12345", "AB0123", "12AB", "AB-12", "ABC123"])
    def test_bad_registration_mark(self, mark):
        _, errors = validate_form({**VALID_FORM, "registration_mark": mark})
        assert errors == {"registration_mark": "err_registration_mark"}

    @pytest.mark.parametrize(
        "field, value, key",
        [
            ("period", "6", "err_period"),
            ("gender", "unknown", "err_gender"),
            ("birthdate", "1980-02-30", "err_birthdate"),
            ("birthdate", "19800101", "err_birthdate"),
            ("birthdate", "2999-01-01", "err_birthdate"),
            ("email", "not-an-email", "err_email"),
            ("phone", "call me", "err_phone"),
        ],
    )
    def test_format_errors(self, field, value, key):
        _, errors = validate_form({**VALID_FORM, field: value})
        assert errors == {field: key}

    def test_every_error_key_is_translated(self):
        keys = {
            "err_required",
            "err_registration_mark",
            "err_period",
            "err_gender",
            "err_birthdate",
            "err_email",
            "err_phone",
        }
        for key in keys:
            assert set(STRINGS[key]) == {"zh-HK", "en"}

    def test_post_with_errors_shows_them(self, client):
        token = csrf(client)
        resp = client.post(
            "/form?lang=en", data={**VALID_FORM, "hkid": "", "registration_mark": "XYZ", "csrf_token": token}
        )
        assert resp.status_code == 400
        page = html(resp)
        assert 'id="error-summary"' in page
        assert 'id="hkid-error"' in page and "This field is required." in page
        assert 'id="registration_mark-error"' in page and "AB1234" in page
        assert re.search(r'<input id="hkid"[^>]*aria-invalid="true"', page)
        # what the user typed is kept
        assert input_value(page, "name_en") == "CHAN Tai Man"
        assert input_value(page, "registration_mark") == "XYZ"

    def test_post_errors_in_chinese(self, client):
        token = csrf(client)
        page = html(client.post("/form", data={"csrf_token": token}))
        assert "請填寫此欄。" in page

    def test_post_without_csrf_is_rejected(self, client):
        resp = client.post("/form", data=VALID_FORM)
        assert resp.status_code == 400
        assert "表格已逾時" in html(resp) and "The form has expired" in html(resp)

    def test_valid_post_shows_bilingual_confirmation(self, client):
        token = csrf(client)
        resp = client.post("/form", data={**VALID_FORM, "csrf_token": token})
        assert resp.status_code == 302
        page = html(client.get(resp.headers["Location"]))
        assert "已收到你的申請" in page and "Application received" in page
        ref = re.search(r'<strong id="reference">(VL-\d{8}-[0-9A-F]{6})</strong>', page)
        assert ref, page
        assert ">AB1234<" in page

    def test_confirmation_of_other_session_is_not_found(self, app, client):
        token = csrf(client)
        location = client.post("/form", data={**VALID_FORM, "csrf_token": token}).headers["Location"]
        other = app.test_client()
        resp = other.get(location)
        assert resp.status_code == 404
        assert "找不到此頁。" in html(resp) and "Page not found." in html(resp)


# --------------------------------------------------------------------------- language


class TestLanguage:
    def test_default_is_traditional_chinese(self, client):
        page = html(client.get("/"))
        assert '<html lang="zh-Hant-HK">' in page
        assert "以 tungban 通辦登入" in page
        assert 'id="lang-switch"' in page and 'href="/?lang=en"' in page

    def test_switch_to_english_sets_cookie(self, client):
        resp = client.get("/?lang=en")
        page = html(resp)
        assert '<html lang="en">' in page
        assert "Log in with tungban" in page
        assert "Fill form without logging in" in page
        assert "vl_lang=en" in resp.headers.get("Set-Cookie", "")
        # the cookie keeps English on the next page
        page = html(client.get("/form"))
        assert "Vehicle licence renewal application" in page
        assert 'href="/form?lang=zh-HK"' in page

    def test_switch_back_to_chinese(self, client):
        client.get("/?lang=en")
        page = html(client.get("/form?lang=zh-HK"))
        assert "車輛牌照續期申請表" in page

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("en-GB,en;q=0.9", '<html lang="en">'),
            ("fr-FR,en-AU;q=0.8,zh-HK;q=0.5", '<html lang="en">'),
            ("zh-HK,zh;q=0.9,en;q=0.8", '<html lang="zh-Hant-HK">'),
            ("fr", '<html lang="zh-Hant-HK">'),
        ],
    )
    def test_browser_language_is_followed_without_a_choice(self, client, header, expected):
        """Issue 16, polish16 item 6: an en-GB browser opened the service in Chinese."""
        resp = client.get("/", headers={"Accept-Language": header})
        assert expected in html(resp)
        assert "Accept-Language" in resp.headers.get("Vary", "")

    def test_a_chosen_language_beats_the_browser_language(self, client):
        client.get("/?lang=zh-HK")
        assert '<html lang="zh-Hant-HK">' in html(client.get("/", headers={"Accept-Language": "en-GB"}))

    def test_unknown_language_ignored(self, client):
        assert '<html lang="zh-Hant-HK">' in html(client.get("/?lang=fr"))

    @pytest.mark.parametrize("path", ["/", "/form", "/callback?error=access_denied", "/nowhere"])
    def test_switch_link_on_every_page(self, client, path):
        assert 'id="lang-switch"' in html(client.get(path))

    def test_switch_link_keeps_only_harmless_parameters(self, client):
        page = html(client.get("/form?_external=1&_scheme=javascript&x=1"))
        assert 'href="/form?lang=en"' in page
        page = html(client.get("/callback?error=access_denied&code=c&state=s"))
        assert 'href="/callback?error=access_denied&amp;lang=en"' in page
        page = html(client.get("/callback?code=c&state=s"))
        assert 'href="/?lang=en"' in page

    def test_helpers(self):
        assert normalise_language("en-GB") == "en"
        assert normalise_language("zh_hk") == "zh-HK"
        assert normalise_language("fr") is None
        assert translate("no-such-key", "en") == "no-such-key"
        assert [code for code, _ in both("btn_login", first="en")] == ["en", "zh-HK"]
        for key, entry in STRINGS.items():
            assert entry.get("zh-HK") and entry.get("en"), key


# --------------------------------------------------------------------------- login request


class TestLoginRequest:
    def test_login_redirects_with_pkce_nonce_claims(self, client):
        resp = client.get("/login")
        assert resp.status_code == 302
        location = resp.headers["Location"]
        assert location.startswith(METADATA["authorization_endpoint"] + "?")
        params = query(location)
        assert params["response_type"] == "code"
        assert params["client_id"] == CLIENT_ID
        assert params["redirect_uri"] == REDIRECT_URI
        # ``signing``: the login's access token may ask the resident to sign the declaration.
        assert params["scope"].split() == [
            "openid",
            "profile",
            "hkid",
            "address",
            "phone",
            "email",
            "billing_address",
            "signing",
        ]
        assert params["code_challenge_method"] == "S256"
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", params["code_challenge"])
        assert params["nonce"] and params["state"]
        assert json.loads(params["claims"]) == {"userinfo": {"name": {"essential": True}, "hkid": {"essential": True}}}
        assert params["ui_locales"] == "zh-HK"
        assert "prompt" not in params and "max_age" not in params

    def test_ui_locales_follows_page_language(self, client):
        client.get("/?lang=en")
        assert query(client.get("/login").headers["Location"])["ui_locales"] == "en"

    def test_prompt_login_and_max_age(self, client):
        params = query(client.get("/login?prompt=login&max_age=300").headers["Location"])
        assert params["prompt"] == "login"
        assert params["max_age"] == "300"
        assert "prompt" not in query(client.get("/login?prompt=none").headers["Location"])

    def test_max_age_from_settings(self):
        client = make_app(VL_MAX_AGE="60").test_client()
        assert query(client.get("/login").headers["Location"])["max_age"] == "60"

    def test_each_login_gets_fresh_values(self, client):
        a = query(client.get("/login").headers["Location"])
        b = query(client.get("/login").headers["Location"])
        for key in ("state", "nonce", "code_challenge"):
            assert a[key] != b[key]

    def test_anonymous_request_has_no_openid(self, client):
        resp = client.get("/anonymous")
        assert resp.status_code == 302
        params = query(resp.headers["Location"])
        assert "openid" not in params["scope"].split()
        assert params["scope"].split() == ["profile", "hkid", "address", "phone", "email", "billing_address"]
        assert params["code_challenge_method"] == "S256" and params["code_challenge"]
        assert "nonce" not in params and "claims" not in params
        assert params["redirect_uri"] == REDIRECT_URI

    def test_session_cookie_name(self, client):
        resp = client.get("/login")
        assert resp.headers["Set-Cookie"].startswith("vl_session=")
        assert "HttpOnly" in resp.headers["Set-Cookie"]

    def test_discovery_by_server_metadata_url(self, fake_op):
        client = make_app(VL_SERVER_METADATA=None).test_client()
        resp = client.get("/login")
        assert resp.headers["Location"].startswith(METADATA["authorization_endpoint"])
        assert any(r.url == f"{ISSUER}/.well-known/openid-configuration" for r in fake_op.requests)

    def test_discovery_issuer_mismatch(self, fake_op):
        fake_op.metadata["issuer"] = "http://evil.test"
        client = make_app(VL_SERVER_METADATA=None).test_client()
        resp = client.get("/login")
        assert resp.status_code == 502
        assert "discovery" in html(resp)

    def test_op_unreachable(self, fake_op):
        fake_op.reachable = False
        client = make_app(VL_SERVER_METADATA=None).test_client()
        resp = client.get("/login")
        assert resp.status_code == 502
        page = html(resp)
        assert "未能連接 tungban 通辦" in page and "Cannot reach tungban" in page
        assert "Traceback" not in page

    def test_missing_secret_shows_config_error(self, tmp_path):
        client = make_app(VL_CLIENT_SECRET=None).test_client()
        assert 'id="config-warning"' in html(client.get("/"))
        resp = client.get("/login")
        assert resp.status_code == 503
        assert "VL_CLIENT_SECRET" in html(resp) and "VL_CLIENT_CONFIG" in html(resp)

    def test_client_config_file(self, tmp_path, fake_op):
        path = tmp_path / "client.json"
        path.write_text(json.dumps({"client_id": CLIENT_ID, "client_secret": "test-secret"}))
        client = make_app(VL_CLIENT_SECRET=None, VL_CLIENT_ID="ignored", VL_CLIENT_CONFIG=str(path)).test_client()
        resp = login(client, fake_op)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/form")

    def test_client_config_file_written_after_start(self, tmp_path, fake_op):
        path = tmp_path / "client.json"
        client = make_app(VL_CLIENT_SECRET=None, VL_CLIENT_CONFIG=str(path)).test_client()
        assert client.get("/login").status_code == 503
        path.write_text(json.dumps({"client_id": CLIENT_ID, "client_secret": "test-secret"}))
        assert login(client, fake_op).status_code == 302


# --------------------------------------------------------------------------- callback


class TestCallback:
    def test_access_denied_error_page(self, client):
        state = query(client.get("/login").headers["Location"])["state"]
        resp = client.get(f"/callback?error=access_denied&error_description=User+said+no&state={state}")
        assert resp.status_code == 400
        page = html(resp)
        assert "你已取消，或未有批准向本服務提供資料" in page
        assert "You cancelled, or did not approve sharing your data" in page
        assert '<code id="error-code" translate="no">access_denied</code>' in page
        assert "User said no" not in page  # the OP's English text is logged, not shown (issue 16)
        assert "Traceback" not in page
        assert not any(k.startswith("_state_") for k in _session(client))

    def test_error_description_is_escaped(self, client):
        page = html(client.get("/callback?error=server_error&error_description=<script>x</script>"))
        assert "<script>x</script>" not in page and "&lt;script&gt;" not in page  # not shown at all (issue 16)

    def test_unknown_error_code(self, client):
        resp = client.get("/callback?error=weird_error")
        assert resp.status_code == 400
        assert "tungban returned an error" in html(resp)

    def test_unknown_state(self, client):
        resp = client.get("/callback?code=abc&state=forged")
        assert resp.status_code == 400
        assert "The login request has expired or is not valid" in html(resp)

    def test_login_prefills_form(self, client, fake_op):
        resp = login(client, fake_op)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/form")
        # client_secret_basic and the PKCE verifier went to the token endpoint
        token_request = fake_op.token_requests[-1]
        assert token_request["authorization"].startswith("Basic ")
        assert token_request["form"]["code_verifier"]
        assert "client_secret" not in token_request["form"]
        page = html(client.get("/form"))
        assert input_value(page, "name_en") == "CHAN Tai Man"
        assert input_value(page, "name_zh") == "陳大文"
        assert input_value(page, "hkid") == "A123456(3)"
        assert input_value(page, "birthdate") == "1980-02-29"
        assert input_value(page, "gender") == "male"
        assert input_value(page, "address") == "Flat A, 10/F, 1 Harbour Road\nWan Chai\nHong Kong"
        assert input_value(page, "phone") == "+852 9123 4567"
        assert input_value(page, "email") == "taiman@example.hk"
        assert input_value(page, "billing_address").startswith("Room 5, 2/F")
        assert input_value(page, "registration_mark") == ""
        assert input_value(page, "period") == ""
        for name in CLAIM_FIELDS:
            assert f'id="{name}-source"' in page, name
        assert '<code id="sub">pairwise-sub-123</code>' in page
        assert '<code id="acr">urn:tungban:acr:plus</code>' in page
        assert "通辦+" in page
        assert 'id="missing-essential"' not in page

    @pytest.mark.parametrize("fake_op", ["ES256"], indirect=True)
    def test_es256_id_token(self, fake_op):
        # the platform signs ID tokens with ES256 and says so in discovery
        client = make_app(VL_SERVER_METADATA=None).test_client()
        resp = login(client, fake_op)
        assert resp.status_code == 302, html(resp)
        assert '<code id="sub">pairwise-sub-123</code>' in html(client.get("/form"))

    def test_untick_optional_fields(self, client, fake_op):
        fake_op.claims = {"sub": CLAIMS["sub"], "name": "CHAN Tai Man", "hkid": "A123456(3)"}
        fake_op.acr = "urn:tungban:acr:basic"
        login(client, fake_op)
        page = html(client.get("/form?lang=en"))
        assert input_value(page, "email") == "" and 'id="email-source"' not in page
        assert input_value(page, "address") == ""
        assert 'id="hkid-source"' in page
        assert "basic account (not tungban+)" in page

    def test_missing_essential_claims_noted(self, client, fake_op):
        fake_op.claims = {"sub": CLAIMS["sub"], "email": "a@b.hk"}
        login(client, fake_op)
        page = html(client.get("/form?lang=en"))
        assert 'id="missing-essential"' in page
        assert "Name in English, HKID number" in page

    def test_edited_field_loses_note(self, client, fake_op):
        login(client, fake_op)
        token = csrf(client)
        page = html(
            client.post(
                "/form", data={**VALID_FORM, "email": "other@example.hk", "registration_mark": "", "csrf_token": token}
            )
        )
        assert 'id="email-source"' not in page
        assert 'id="hkid-source"' in page

    def test_submit_after_login(self, client, fake_op):
        login(client, fake_op)
        token = csrf(client)
        resp = client.post("/form", data={**VALID_FORM, "csrf_token": token})
        assert resp.status_code == 302
        assert 'id="reference"' in html(client.get(resp.headers["Location"]))

    def test_wrong_nonce_rejected(self, client, fake_op):
        fake_op.nonce_override = "not-the-nonce"
        resp = login(client, fake_op)
        assert resp.status_code == 400
        assert "ID token" in html(resp)
        assert 'id="sub"' not in html(client.get("/form"))

    def test_userinfo_sub_mismatch_rejected(self, client, fake_op):
        fake_op.id_token_sub = CLAIMS["sub"]
        fake_op.claims = {**CLAIMS, "sub": "someone-else"}
        resp = login(client, fake_op)
        assert resp.status_code == 502
        assert "sub_mismatch" in html(resp)

    def test_code_replay_fails_cleanly(self, client, fake_op):
        resp = client.get("/login")
        callback = fake_op.authorize(resp.headers["Location"]).removeprefix(BASE_URL)
        assert client.get(callback).status_code == 302
        again = client.get(callback)
        assert again.status_code == 400
        assert "Traceback" not in html(again)

    def test_max_age_too_old(self, client, fake_op):
        fake_op.auth_time -= 3600
        resp = login(client, fake_op, "/login?max_age=60")
        assert resp.status_code == 400
        assert "older than this service allows" in html(resp)

    def test_anonymous_form_filling(self, client, fake_op):
        resp = login(client, fake_op, "/anonymous")
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/form")
        assert any(r.url == METADATA["tungban_formdata_endpoint"] for r in fake_op.requests)
        assert not any(r.url == METADATA["userinfo_endpoint"] for r in fake_op.requests)
        page = html(client.get("/form"))
        assert input_value(page, "hkid") == "A123456(3)"
        assert 'id="sub"' not in page and "pairwise-sub-123" not in page
        assert 'id="anonymous-note"' in page

    def test_anonymous_default_formdata_endpoint(self, fake_op):
        metadata = {k: v for k, v in METADATA.items() if k != "tungban_formdata_endpoint"}
        client = make_app(VL_SERVER_METADATA=metadata).test_client()
        login(client, fake_op, "/anonymous")
        assert any(r.url == f"{ISSUER}/oidc/formdata" for r in fake_op.requests)


# --------------------------------------------------------------------------- logout


class TestLogout:
    def test_rp_initiated_logout(self, client, fake_op):
        login(client, fake_op)
        id_token = next(iter(client.application.extensions["vl_store"]._data.values()))[1]["id_token"]
        resp = client.post("/logout")
        assert resp.status_code == 302
        location = resp.headers["Location"]
        assert location.startswith(METADATA["end_session_endpoint"] + "?")
        params = query(location)
        assert params["id_token_hint"] == id_token
        assert params["post_logout_redirect_uri"] == f"{BASE_URL}/"
        assert params["client_id"] == CLIENT_ID
        assert params["state"]
        # the OP sends the browser back with the state
        page = html(client.get(f"/?state={params['state']}"))
        assert 'id="message"' in page and "你已登出本服務及 tungban 通辦。" in page
        assert 'id="sub"' not in html(client.get("/form"))

    def test_logout_without_login_just_clears(self, client):
        resp = client.get("/logout")
        assert resp.status_code == 302
        assert urlsplit(resp.headers["Location"]).path == "/"

    def test_anonymous_clear_stays_local(self, client, fake_op):
        login(client, fake_op, "/anonymous")
        resp = client.post("/logout")
        assert not resp.headers["Location"].startswith(ISSUER)
        assert input_value(html(client.get("/form")), "hkid") == ""


def _session(client) -> dict:
    """Decode the test client's Flask session."""
    with client.session_transaction() as sess:
        return dict(sess)
