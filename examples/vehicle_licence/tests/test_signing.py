"""Tests of the "sign the declaration" step: the declaration PDF, the signing API calls (the
platform is faked by :class:`FakeOP`), the signing page and its error messages."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from examples.vehicle_licence.app import hk_time, signing_error_key
from examples.vehicle_licence.declaration import DEFAULT_FONT, build_declaration, file_name
from examples.vehicle_licence.signing import SigningError, signed_document
from examples.vehicle_licence.tests.fake_op import CLIENT_ID, CLIENT_SECRET, ISSUER, make_app
from examples.vehicle_licence.tests.test_app import VALID_FORM, csrf, html, login

SIGNING_API = f"{ISSUER}/api/v1/signing/requests"
HKT = dt.timezone(dt.timedelta(hours=8))


def signing_app(**config):
    """The demo app for these tests: no throttling of the platform polls (every status check
    asks the fake platform) and, for speed, the declaration without the 5 MB CJK font
    (:class:`TestDeclaration` covers the font)."""
    return make_app(**{"VL_SIGNING_POLL_SECONDS": 0, "VL_PDF_FONT": "", **config})


@pytest.fixture
def app():
    return signing_app()


def pdf_text(data: bytes, tmp_path) -> str:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) not installed")
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def submit(client) -> str:
    """Submit a valid form; returns the reference number."""
    resp = client.post("/form", data={**VALID_FORM, "csrf_token": csrf(client)})
    assert resp.status_code == 302, html(resp)
    return resp.headers["Location"].rsplit("/", 1)[1]


def start_signing(client, reference: str):
    return client.post(f"/sign/{reference}", data={"csrf_token": csrf(client)})


def signing_calls(fake_op, method: str = "POST") -> list:
    return [r for r in fake_op.requests if r.url.startswith(SIGNING_API) and r.method == method]


# --------------------------------------------------------------------------- the declaration PDF


class TestDeclaration:
    values = {"name_en": "CHAN Tai Man", "name_zh": "陳大文", "registration_mark": "AB1234", "period": "12"}
    when = dt.datetime(2025, 3, 4, 10, 0, tzinfo=HKT)

    def test_bilingual_declaration(self, tmp_path):
        if not Path(DEFAULT_FONT).exists():
            pytest.skip("CJK font not installed (fonts-wqy-microhei)")
        data = build_declaration(self.values, "VL-20250304-ABCDEF", when=self.when)
        assert data.startswith(b"%PDF-")
        text = pdf_text(data, tmp_path)
        for expected in (
            "VL-20250304-ABCDEF",
            "CHAN Tai Man",
            "陳大文",
            "AB1234",
            "12 months",
            "12 個月",
            "declare that the information",
            "本人",
            "聲明",
            "真實",
            "Date: 2025-03-04",
            "2025年3月4日",
        ):
            assert expected in text, expected

    def test_without_the_font_english_only(self, tmp_path, caplog):
        data = build_declaration(
            self.values, "VL-20250304-ABCDEF", when=self.when, font_path=str(tmp_path / "missing.ttc")
        )
        text = pdf_text(data, tmp_path)
        assert "CHAN Tai Man" in text and "AB1234" in text and "Date: 2025-03-04" in text
        assert "Chinese text omitted" in text
        assert "陳大文" not in text
        assert "missing.ttc" in caplog.text

    def test_non_latin_text_without_the_font_does_not_break(self, tmp_path):
        values = {**self.values, "name_en": "CHAN Tai Man 陳"}
        assert build_declaration(values, "VL-1", font_path=None).startswith(b"%PDF-")

    def test_one_page(self):
        # One page: the platform puts the signature stamp at the bottom of the last page.
        assert b"/Count 1" in build_declaration(self.values, "VL-1", when=self.when)

    def test_file_name(self):
        assert file_name("VL-20250304-ABCDEF") == "declaration-VL-20250304-ABCDEF.pdf"


# --------------------------------------------------------------------------- signing after login


class TestSigningAfterLogin:
    def test_confirmation_offers_signing(self, client, fake_op):
        login(client, fake_op)
        reference = submit(client)
        page = html(client.get(f"/confirmation/{reference}?lang=en"))
        assert 'id="sign-declaration"' in page and "Sign the declaration" in page
        assert "tungban+" in page
        assert 'id="sign-basic-warning"' not in page  # acr is plus
        assert f'href="/declaration/{reference}.pdf"' in page

    def test_preview_is_the_document_that_is_signed(self, client, fake_op):
        login(client, fake_op)
        reference = submit(client)
        preview = client.get(f"/declaration/{reference}.pdf")
        assert preview.status_code == 200 and preview.mimetype == "application/pdf"
        assert preview.data.startswith(b"%PDF-")
        start_signing(client, reference)
        sent = json.loads(signing_calls(fake_op)[-1].body)
        assert base64.b64decode(sent["documents"][0]["pdf"]) == preview.data

    def test_sign_approve_and_download(self, client, fake_op):
        login(client, fake_op)
        reference = submit(client)
        resp = start_signing(client, reference)
        assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/sign/{reference}")

        # The platform got the declaration PDF with the resident's own access token.
        call = signing_calls(fake_op)[-1]
        login_token = next(iter(fake_op.tokens))
        assert call.headers["Authorization"] == f"Bearer {login_token}"
        body = json.loads(call.body)
        assert [d["name"] for d in body["documents"]] == [f"declaration-{reference}.pdf"]
        assert reference in body["reason"]
        pdf = base64.b64decode(body["documents"][0]["pdf"])
        rid = next(iter(fake_op.signing))

        page = html(client.get(f"/sign/{reference}?lang=en"))
        assert "Approve the signature in your tungban app" in page and "請在 tungban 通辦 app 批准簽署" in page
        assert f'id="open-app" class="button primary" href="{ISSUER}/app/approve/{rid}"' in page
        assert "<svg" in page  # the QR code
        digest = hashlib.sha256(pdf).hexdigest()
        shown = re.search(r'<code id="document-sha256"[^>]*>(.*?)</code>', page, re.S).group(1)
        assert re.sub(r"<[^>]+>", "", shown) == digest
        assert 'id="sign-status"' in page and "Waiting for your approval" in page
        assert 'src="/static/sign.js"' in page
        assert client.get(f"/sign/{reference}/status").get_json() == {"status": "pending", "problem": False}
        assert client.get(f"/sign/{reference}/signed.pdf").status_code == 404

        fake_op.answer(rid, "signed")
        assert client.get(f"/sign/{reference}/status").get_json()["status"] == "signed"
        page = html(client.get(f"/sign/{reference}?lang=en"))
        assert "Signed by CHAN Tai Man 陳大文 at 2025-01-02 11:04:05 HKT" in page
        assert "已由 CHAN Tai Man 陳大文 於 2025-01-02 11:04:05 HKT 簽署" in page
        assert 'id="download-signed"' in page and "5ca1ab1e" in page

        download = client.get(f"/sign/{reference}/signed.pdf")
        assert download.status_code == 200 and download.mimetype == "application/pdf"
        assert download.headers["Content-Disposition"] == f'attachment; filename="declaration-{reference}-signed.pdf"'
        assert download.data.startswith(pdf) and len(download.data) > len(pdf)
        # Signed: the confirmation page links to the result; signing again just shows it.
        assert 'id="sign-result-link"' in html(client.get(f"/confirmation/{reference}"))
        before = len(signing_calls(fake_op))
        assert start_signing(client, reference).headers["Location"].endswith(f"/sign/{reference}")
        assert len(signing_calls(fake_op)) == before

    def test_pending_request_is_reused(self, client, fake_op):
        login(client, fake_op)
        reference = submit(client)
        start_signing(client, reference)
        start_signing(client, reference)
        assert len(signing_calls(fake_op)) == 1

    def test_status_is_not_asked_more_often_than_the_poll_interval(self, fake_op):
        client = signing_app(VL_SIGNING_POLL_SECONDS=60).test_client()
        login(client, fake_op)
        reference = submit(client)
        start_signing(client, reference)
        for _ in range(3):
            client.get(f"/sign/{reference}/status")
        assert signing_calls(fake_op, "GET") == []

    @pytest.mark.parametrize(
        "status, error, expected_en, expected_zh, retry",
        [
            ("declined", None, "You declined to sign in the app", "你已在 app 拒絕簽署", True),
            ("expired", None, "The signing request expired", "簽署要求已逾時", True),
            (
                "failed",
                "certificate_revoked",
                "Your signing certificate has been revoked",
                "你的簽署證書已被撤銷",
                True,
            ),
            ("failed", "plus_required", "Signing needs a tungban+ account", "數碼簽署需要通辦+帳戶", False),
            ("failed", "something_new", "tungban could not sign the declaration", "tungban 通辦未能簽署聲明", True),
        ],
    )
    def test_not_signed(self, client, fake_op, status, error, expected_en, expected_zh, retry):
        login(client, fake_op)
        reference = submit(client)
        start_signing(client, reference)
        fake_op.answer(status=status, error=error)
        assert client.get(f"/sign/{reference}/status").get_json()["status"] == status
        page = html(client.get(f"/sign/{reference}?lang=en"))
        assert "The declaration is not signed" in page and "聲明未有簽署" in page
        assert expected_en in page and expected_zh in page
        assert 'id="sign-error"' in page and 'role="alert"' in page
        assert ('id="sign-again"' in page) is retry
        if error:
            assert f'<code id="error-code" translate="no">{error}</code>' in page
        if retry:  # signing again opens a new request
            start_signing(client, reference)
            assert len(fake_op.signing) == 2

    def test_tampered_result_is_refused(self, client, fake_op):
        login(client, fake_op)
        reference = submit(client)
        start_signing(client, reference)
        fake_op.sign_tamper = True
        fake_op.answer()
        assert client.get(f"/sign/{reference}/status").get_json()["status"] == "error"
        page = html(client.get(f"/sign/{reference}?lang=en"))
        assert "does not match the declaration" in page
        assert client.get(f"/sign/{reference}/signed.pdf").status_code == 404

    def test_platform_down_while_polling_keeps_waiting(self, client, fake_op):
        login(client, fake_op)
        reference = submit(client)
        start_signing(client, reference)
        fake_op.reachable = False
        assert client.get(f"/sign/{reference}/status").get_json() == {"status": "pending", "problem": True}
        assert 'id="sign-problem"' in html(client.get(f"/sign/{reference}"))
        fake_op.reachable = True
        fake_op.answer()
        assert client.get(f"/sign/{reference}/status").get_json()["status"] == "signed"


class TestSigningRefused:
    def _refused(self, client, fake_op, refusal):
        login(client, fake_op)
        reference = submit(client)
        fake_op.sign_refusal = refusal
        return reference, start_signing(client, reference)

    def test_basic_tier_needs_tungban_plus(self, client, fake_op):
        fake_op.acr = "urn:tungban:acr:basic"
        login(client, fake_op)
        reference = submit(client)
        page = html(client.get(f"/confirmation/{reference}?lang=en"))
        assert 'id="sign-basic-warning"' in page and 'id="plus-explained"' in page
        fake_op.sign_refusal = (
            403,
            "plus_required",
            "Signing needs a tungban+ account: upgrade at a registration counter.",
        )
        resp = start_signing(client, reference)
        assert resp.status_code == 403
        page = html(resp)
        assert "數碼簽署需要通辦+帳戶" in page and "Signing needs a tungban+ account" in page
        assert "registration counter" in page and "登記處" in page
        assert '<code id="error-code" translate="no">plus_required</code>' in page

    def test_service_not_allowed(self, client, fake_op):
        _ref, resp = self._refused(
            client, fake_op, (403, "signing_not_allowed", "This service is not allowed to request signatures.")
        )
        assert resp.status_code == 403
        assert "not authorised by tungban to request signatures" in html(resp)

    def test_login_without_signing_scope(self, fake_op):
        client = signing_app(VL_LOGIN_SCOPE="openid profile hkid").test_client()
        login(client, fake_op)
        reference = submit(client)
        resp = start_signing(client, reference)
        assert resp.status_code == 403
        assert "no_signing_scope" in html(resp)
        assert signing_calls(fake_op) == []

    def test_login_too_old_offers_login_again(self, client, fake_op):
        reference, resp = self._refused(
            client,
            fake_op,
            (
                401,
                "insufficient_user_authentication",
                "The login is too old for signing: log in again.",
                {"max_age": 300},
            ),
        )
        assert resp.status_code == 401
        page = html(resp)
        assert "Log in again, then sign" in page and "請重新登入" in page
        link = re.search(r'<a id="error-action"[^>]*href="([^"]+)"', page).group(1).replace("&amp;", "&")
        params = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
        assert urlsplit(link).path == "/login"
        assert params == {"prompt": "login", "next": f"/confirmation/{reference}", "max_age": "300"}

    def test_expired_login_token(self, client, fake_op):
        login(client, fake_op)
        reference = submit(client)
        store = client.application.extensions["vl_store"]
        next(iter(store._data.values()))[1]["token"]["expires_at"] = 1
        resp = start_signing(client, reference)
        assert resp.status_code == 401
        assert 'id="error-action"' in html(resp)
        assert signing_calls(fake_op) == []

    def test_platform_unreachable(self, client, fake_op):
        login(client, fake_op)
        reference = submit(client)
        fake_op.reachable = False
        resp = start_signing(client, reference)
        assert resp.status_code == 502
        page = html(resp)
        assert "未能連接 tungban 通辦的簽署服務" in page and "Cannot reach tungban&#39;s signing service" in page

    def test_approval_link_to_another_site_is_refused(self, client, fake_op):
        fake_op.approval_base = "https://phishing.example/app/approve/"
        login(client, fake_op)
        reference = submit(client)
        resp = start_signing(client, reference)
        assert resp.status_code == 502
        assert "phishing.example" not in html(resp)
        assert "phishing.example" not in html(client.get(f"/sign/{reference}"))


class TestLoginAgainToSign:
    def test_next_returns_to_the_application_of_the_same_person(self, client, fake_op):
        login(client, fake_op)
        reference = submit(client)
        resp = login(client, fake_op, f"/login?prompt=login&next=/confirmation/{reference}")
        assert resp.status_code == 302 and resp.headers["Location"] == f"/confirmation/{reference}"
        assert client.get(f"/confirmation/{reference}").status_code == 200

    def test_another_person_does_not_see_the_application(self, client, fake_op):
        login(client, fake_op)
        reference = submit(client)
        fake_op.claims = {**fake_op.claims, "sub": "someone-else"}
        fake_op.id_token_sub = "someone-else"
        login(client, fake_op, f"/login?next=/confirmation/{reference}")
        assert client.get(f"/confirmation/{reference}").status_code == 404

    @pytest.mark.parametrize(
        "target", ["//evil.example/x", "https://evil.example/", "/form/../admin", "/confirmation/a/b"]
    )
    def test_next_only_to_our_pages(self, client, fake_op, target):
        resp = login(client, fake_op, f"/login?next={target}")
        assert resp.headers["Location"].endswith("/form")


# --------------------------------------------------------------------------- anonymous signing


class TestAnonymousSigning:
    def test_without_login_the_service_token_is_used(self, client, fake_op):
        reference = submit(client)  # filled in by hand, not logged in
        page = html(client.get(f"/confirmation/{reference}?lang=en"))
        assert 'id="sign-anonymous-note"' in page
        resp = start_signing(client, reference)
        assert resp.status_code == 303, html(resp)
        grant = fake_op.token_requests[-1]
        assert grant["form"] == {"grant_type": "client_credentials", "scope": "signing"}
        assert grant["authorization"] == "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        assert signing_calls(fake_op)[-1].headers["Authorization"] == "Bearer svc-0"
        fake_op.answer()
        assert "Signed by CHAN Tai Man" in html(client.get(f"/sign/{reference}?lang=en"))
        # The service token is reused while valid.
        other = submit(client)
        start_signing(client, other)
        assert len([r for r in fake_op.token_requests if r["form"].get("grant_type") == "client_credentials"]) == 1

    def test_service_without_signing_scope(self, client, fake_op):
        fake_op.client_credentials_scope = ""
        reference = submit(client)
        resp = start_signing(client, reference)
        assert resp.status_code == 403
        page = html(resp)
        assert (
            "not authorised by tungban to request signatures" in page
            and "本服務未獲 tungban 通辦授權要求數碼簽署" in page
        )
        assert signing_calls(fake_op) == []


# --------------------------------------------------------------------------- guards and helpers


class TestGuards:
    def test_sign_needs_csrf(self, client, fake_op):
        login(client, fake_op)
        reference = submit(client)
        assert client.post(f"/sign/{reference}").status_code == 400
        assert signing_calls(fake_op) == []

    def test_other_sessions_cannot_see_or_sign(self, app, client, fake_op):
        login(client, fake_op)
        reference = submit(client)
        start_signing(client, reference)
        fake_op.answer()
        other = app.test_client()
        for path in (
            f"/sign/{reference}",
            f"/sign/{reference}/status",
            f"/sign/{reference}/signed.pdf",
            f"/declaration/{reference}.pdf",
        ):
            assert other.get(path).status_code == 404, path

    def test_sign_page_without_request_goes_to_confirmation(self, client, fake_op):
        reference = submit(client)
        resp = client.get(f"/sign/{reference}")
        assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/confirmation/{reference}")

    def test_language_switch_stays_on_the_sign_page(self, client, fake_op):
        login(client, fake_op)
        reference = submit(client)
        start_signing(client, reference)
        assert f'href="/sign/{reference}?lang=en"' in html(client.get(f"/sign/{reference}"))

    def test_scopes_are_configurable(self, fake_op):
        client = signing_app(VL_LOGIN_SCOPE="openid  profile\nhkid", VL_FORMFILL_SCOPE="hkid").test_client()
        location = client.get("/login").headers["Location"]
        assert parse_qs(urlsplit(location).query)["scope"] == ["openid profile hkid"]
        location = client.get("/anonymous").headers["Location"]
        assert parse_qs(urlsplit(location).query)["scope"] == ["hkid"]

    def test_signed_document_checks(self):
        original = b"%PDF-1.7\noriginal"
        result = {
            "documents": [
                {
                    "sha256": hashlib.sha256(original).hexdigest(),
                    "signed_pdf": base64.b64encode(original + b"\nsig").decode(),
                }
            ]
        }
        assert signed_document(result, original) == original + b"\nsig"
        with pytest.raises(SigningError) as exc:
            signed_document({"documents": [{**result["documents"][0], "sha256": "0" * 64}]}, original)
        assert exc.value.code == "document_mismatch"
        with pytest.raises(SigningError) as exc:
            signed_document({"documents": [{"sha256": "x", "signed_pdf": None}]}, original)
        assert exc.value.code == "result_missing"

    def test_helpers(self):
        assert hk_time("2025-01-02T03:04:05Z")[0] == "2025-01-02 11:04:05 HKT"
        assert (
            hk_time("2025-01-02T03:04:05.5+00:00")[1]
            == dt.datetime(2025, 1, 2, 3, 4, 5, 500000, tzinfo=dt.UTC).timestamp()
        )
        assert hk_time("not a time") == ("not a time", None)
        assert signing_error_key("plus_required") == "sign_err_plus_required"
        assert signing_error_key("insufficient_scope") == "sign_err_not_allowed"
        assert signing_error_key("invalid_token") == "sign_err_login_again"
        assert signing_error_key(None) == "sign_err_failed"
