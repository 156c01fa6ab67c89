"""The resident's app and its e-licences (電子證照) over the device API: the list shows the
credentials issued to this resident only, in the request's language, with what the app needs
to present them (``aud``, ``presentation_max_age``); the app draws the QR code of a
presentation itself (there is no platform route for it any more, so the platform never learns
what is shown); the PDF route gives the resident's own credential only.

Over HTTP (in-process, :mod:`tungban.testing.http`) with the CLI app bound (device proofs on every call).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import secrets

import pytest
import requests

from tungban.credentials import services
from tungban.testing.factories import PIN, make_resident
from tungban.wallet.client import AppError, WalletClient

pytestmark = pytest.mark.django_db

CREDENTIALS = "/api/v1/credentials/app/credentials"
QR = "/api/v1/credentials/app/qr"  # removed: the app draws its QR codes itself


def has_pdf() -> bool:
    if importlib.util.find_spec("tungban.credentials.pdf") is None:
        return False
    from tungban.credentials import pdf

    return hasattr(pdf, "credential_pdf")


@pytest.fixture
def someone_elses(officer, bundled):
    other = make_resident(
        officer, date_of_birth=dt.date(1948, 1, 1), family_name_en="LEE", given_name_en="Siu Ling", name_zh="李小玲"
    )
    return services.issue(
        services.get_type("senior-citizen-card"), other, {"card_number": "SC99999999"}, issued_by="officer:test"
    )


def call(app: WalletClient, method: str, path: str, **kw) -> requests.Response:
    """A raw device call (status, headers and body as they come)."""
    headers = {
        "Authorization": "Device " + app._proof(app.load_key(PIN), method, app.server + path),
        **kw.pop("headers", {}),
    }
    return requests.request(method, app.server + path, headers=headers, timeout=30, **kw)


def test_lists_own_credentials_only(issuer, app, card, someone_elses, app_home):
    english = WalletClient(app_home, language="en")
    [c] = english.credentials(PIN)
    assert c["id"] == str(card.id) and c["type"] == "senior-citizen-card"
    assert c["type_name"] == "Senior Citizen Card" and c["issuer_name"] == "Social Welfare Department"
    assert c["status"] == "valid" and c["expired"] is False and c["expires_at"] is None
    assert c["background"] == "#7a1f1f" and c["text_color"] == "#ffffff"
    assert c["holder_bound"] is True and c["sd_jwt"] == card.sd_jwt
    assert c["verify_uri"] == f"{issuer}/verify/"
    claims = {x["name"]: (x["label"], x["value"]) for x in c["claims"]}
    assert claims["age_over_65"] == ("Aged 65 or over", "Yes")
    assert claims["birthdate"] == ("Date of birth", "1950-03-02")
    assert claims["card_number"] == ("Card number", "SC12345678")
    assert [x["name"] for x in c["claims"]] == [
        "family_name",
        "given_name",
        "name_zh",
        "birthdate",
        "age_over_65",
        "card_number",
    ]
    assert str(someone_elses.id) not in str(english.credentials(PIN))

    chinese = WalletClient(app_home, language="zh-hant")
    [c] = chinese.credentials(PIN)
    assert c["type_name"] == "長者咭" and c["issuer_name"] == "社會福利署"
    assert {x["name"]: x["label"] for x in c["claims"]}["age_over_65"] == "年滿六十五歲"

    # Without a device proof: refused.
    resp = requests.get(issuer + CREDENTIALS, timeout=30)
    assert resp.status_code == 401 and resp.json()["error"] == "device_auth_required"


def test_status_changes_show_in_the_list(app, card):
    services.change_status(card, "suspended", reason="card reported lost", changed_by="officer:test")
    assert app.credentials(PIN)[0]["status"] == "suspended"
    services.change_status(card, "revoked", reason="", changed_by="officer:test")
    assert app.credentials(PIN)[0]["status"] == "revoked"


def test_presentation_details_and_no_qr_route(issuer, app, card, settings):
    """The list gives the app what it needs to present a credential and draw its QR code
    itself; the platform has no QR route that would see what a resident shows."""
    [c] = app.credentials(PIN)
    assert c["aud"] == f"{issuer}/verify" and c["verify_uri"] == f"{issuer}/verify/"
    assert c["presentation_max_age"] == settings.TUNGBAN_PRESENTATION_MAX_AGE
    presentation = app.present(str(card.id), PIN, ["age_over_65"])
    resp = call(app, "POST", QR, json={"text": f"{issuer}/verify/#vc={presentation}"})
    assert resp.status_code in (404, 405), resp.text


def test_cli_draws_qr_codes_locally(issuer, app, card, monkeypatch):
    """The CLI app draws the QR code itself (segno), without calling the platform."""
    import segno

    link = f"{issuer}/verify/#vc={app.present(str(card.id), PIN)}"  # every claim of the card
    calls = []
    monkeypatch.setattr(requests.Session, "request", lambda self, method, url, *a, **kw: calls.append(url))
    svg = app.qr_svg(link)
    assert not calls  # nothing sent to the platform
    assert svg.startswith(b"<svg") and b'xmlns="http://www.w3.org/2000/svg"' in svg and b"viewBox" in svg
    assert b"<script" not in svg and link.encode() not in svg  # an image, not the text
    assert segno.make(link, error="m", boost_error=False, micro=False).designator.endswith(
        "-M"
    )  # fits with error correction M

    too_much = secrets.token_urlsafe(3000)[:4000]  # more than a QR code holds (2953 bytes)
    with pytest.raises(AppError) as exc:
        app.qr_svg(too_much)
    assert exc.value.code == "qr_too_large"
    assert app.qr_svg("x" * 2900).startswith(b"<svg")  # too much for M (2331 bytes), fits with L


def test_pdf_of_own_credential_only(app, card, someone_elses):
    resp = call(app, "GET", f"{CREDENTIALS}/{someone_elses.id}/pdf")
    assert resp.status_code == 404 and resp.json()["error"] == "credential_unknown"
    resp = call(app, "GET", f"{CREDENTIALS}/not-a-uuid/pdf")
    assert resp.status_code == 404 and resp.json()["error"] == "credential_unknown"
    with pytest.raises(AppError) as exc:
        app.credential_pdf(str(someone_elses.id), PIN)  # not in my list at all
    assert exc.value.code == "credential_unknown"

    if not has_pdf():
        pytest.skip("tungban.credentials.pdf.credential_pdf is not there yet")
    resp = call(app, "GET", f"{CREDENTIALS}/{card.id}/pdf")
    assert resp.status_code == 200, resp.text[:300]
    assert resp.headers["Content-Type"] == "application/pdf"
    assert (
        resp.headers["Content-Disposition"].startswith("attachment;") and ".pdf" in resp.headers["Content-Disposition"]
    )
    assert resp.content.startswith(b"%PDF-")
    assert app.credential_pdf(str(card.id), PIN).startswith(b"%PDF-")


def test_pdf_subcommand(app, card, app_home, tmp_path, capsys):
    from tungban.wallet.cli import main

    if not has_pdf():
        pytest.skip("tungban.credentials.pdf.credential_pdf is not there yet")
    target = tmp_path / "card.pdf"
    assert main(["--home", str(app_home), "pdf", str(card.id), "-o", str(target), "--pin", PIN]) == 0
    assert target.read_bytes().startswith(b"%PDF-")
    assert f"Saved {target}" in capsys.readouterr().out
