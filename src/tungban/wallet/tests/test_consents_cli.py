"""The CLI app and data-sharing consents (授權數據交換): showing a consent request's terms,
approving with the terms' digest signed, listing and revoking consents, and the history of
who used the resident's data (releases to services and exchanges between organisations).

Over HTTP: the platform in-process (:mod:`tungban.testing.http`), a data user with its own
key (``examples/data_user.py``), ``tungban app``; the test that fetches data runs a live server
for the Water Supplies Department's demo provider, a separate process.
"""

from __future__ import annotations

import json

import pytest

from examples.data_user import DataUserError
from tungban.exchange import catalogue
from tungban.exchange.models import Consent
from tungban.exchange.tests.conftest import make_data_user
from tungban.oidc import services as oidc
from tungban.oidc.models import Client
from tungban.testing.factories import PIN, bind_cli, jwt_claims, login, make_resident, userinfo
from tungban.wallet.cli import AppError, duration_text, main, uses_text

pytestmark = pytest.mark.django_db

WSD = "wsd.registered-address.v1"
PURPOSE = "Pre-fill the vehicle licence renewal form"
TAI_MAN = "A1234563"  # in the demo providers' records


@pytest.fixture
def td(issuer):
    catalogue.register_bundled({})
    return make_data_user(issuer, "td", name_en="Transport Department", name_zh="運輸署")


@pytest.fixture
def tai_man(officer):
    return make_resident(officer, hkid=TAI_MAN)


@pytest.fixture
def app(issuer, tai_man, app_home):
    return bind_cli(issuer, tai_man, app_home)


def cli(capsys, app_home, *args) -> tuple[int, str, str]:
    """Run ``tungban app --home <home> ARGS --pin PIN`` (options such as ``--json`` first);
    returns (exit code, stdout, stderr)."""
    code = main(["--home", str(app_home), *args, "--pin", PIN])
    out, err = capsys.readouterr()
    return code, out, err


def ask(td, resident, *, duration=30 * 86400, max_uses=1) -> dict:
    sub = oidc.pairwise_sub(resident, Client.objects.get(client_id=td.client_id))
    consent = td.request_consent(WSD, PURPOSE, duration, max_uses=max_uses, sub=sub)
    assert consent["status"] == "requested" and consent["approval_uri"]
    return consent


def test_duration_and_uses_in_words():
    assert duration_text(30 * 86400) == "30 days"
    assert duration_text(3600) == "1 hour"
    assert duration_text(5400) == "1 hour 30 minutes"
    assert duration_text(86400 + 61) == "1 day 1 minute"
    assert uses_text(1) == "once" and uses_text(3) == "up to 3 times"
    assert uses_text(None) == "any number of times while valid"


@pytest.mark.live_http  # the provider, another process, checks the gateway's keys over HTTP
@pytest.mark.django_db(transaction=True)
def test_show_approve_list_use_revoke_and_history(issuer, td, tai_man, app, app_home, capsys):
    from examples.providers.launch import running_provider

    # A login to the data user's own service: a release in the history, and the pairwise sub.
    tokens = login(issuer, app, td.client_id, td.client_secret, td.redirect_uri, scope="openid profile")
    sub = jwt_claims(tokens["id_token"])["sub"]
    assert userinfo(issuer, tokens["access_token"]).status_code == 200  # recorded as a release
    assert sub == oidc.pairwise_sub(tai_man, Client.objects.get(client_id=td.client_id))
    asked = ask(td, tai_man)

    # show: who asks, from whom, which data (with the fields), why, how long, how often.
    code, out, _ = cli(capsys, app_home, "show", asked["approval_uri"])
    assert code == 0, out
    assert "asks for your consent" in out
    assert "data user (who asks):      Transport Department (運輸署)" in out
    assert "data provider (from whom): Water Supplies Department (水務署)" in out
    assert "Address registered with the Water Supplies Department" in out and WSD in out
    assert "- Residential address / 住址" in out and "- Registered since / 登記日期" in out
    assert f"purpose:                   {PURPOSE}" in out
    assert "valid for:                 30 days once given" in out
    assert "uses:                      once" in out
    assert f"revoke-consent {asked['id']}" in out
    shown = app.show(asked["approval_uri"], PIN)
    assert shown["kind"] == "consent" and len(shown["terms_sha256"]) == 64
    assert f"terms SHA-256: {shown['terms_sha256']}" in out

    # approve: the device signs the terms' digest; the consent is active with its artefact.
    code, out, err = cli(capsys, app_home, "approve", asked["approval_uri"])
    assert code == 0, err
    assert json.loads(out)["status"] == "approved"
    granted = td.consent(asked["id"])
    assert granted["status"] == "active" and granted["artefact"] and granted["sub"] == sub

    # consents: text and JSON.
    code, out, _ = cli(capsys, app_home, "consents")
    assert code == 0
    assert (
        f"{asked['id']}  [active]  Transport Department ← Water Supplies Department: Address registered with the Water Supplies Department"
        in out
    )
    assert f"purpose: {PURPOSE}" in out and "used 0 of 1" in out
    code, out, _ = cli(capsys, app_home, "--json", "consents")
    listed = json.loads(out)
    assert [(c["id"], c["status"], c["uses"], c["max_uses"]) for c in listed] == [(asked["id"], "active", 0, 1)]
    assert listed[0]["data_user"]["name_zh"] == "運輸署" and listed[0]["product"]["id"] == WSD
    assert app.consents(PIN) == listed

    # The data user obtains the address once (a delivered exchange) ...
    with running_provider("wsd", issuer) as url:
        catalogue.register_bundled({"wsd": url})
        answer = td.fetch(asked["id"], WSD)
        assert answer["data"]["address"]
    # ... which spends its single use.
    code, out, _ = cli(capsys, app_home, "consents")
    assert f"{asked['id']}  [exhausted]" in out and "used 1 of 1" in out
    assert Consent.objects.get(pk=asked["id"]).effective_status() == "exhausted"

    # A second consent, any number of uses for an hour: revoked in the CLI, refused after.
    again = ask(td, tai_man, duration=3600, max_uses=None)
    code, out, _ = cli(capsys, app_home, "show", again["approval_uri"])
    assert (
        "valid for:                 1 hour once given" in out
        and "uses:                      any number of times while valid" in out
    )
    assert cli(capsys, app_home, "approve", again["approval_uri"])[0] == 0
    assert td.consent(again["id"])["status"] == "active"
    code, out, err = cli(capsys, app_home, "revoke-consent", again["id"])
    assert code == 0, err
    assert (
        f"Consent {again['id']} is revoked: Transport Department can no longer obtain Address registered with the Water Supplies Department."
        in out
    )
    assert td.consent(again["id"])["status"] == "revoked"
    with pytest.raises(DataUserError) as refused:
        td.fetch(again["id"], WSD)
    assert (refused.value.code, refused.value.status) == ("consent_revoked", 403)
    code, out, _ = cli(capsys, app_home, "consents")
    assert f"{again['id']}  [revoked]" in out and "revoked 20" in out

    # exchanges: newest first, delivered and refused.
    exchanges = app.exchanges(PIN)
    assert [(x["outcome"], x["delivered"], x["consent_id"]) for x in exchanges] == [
        ("consent_revoked", False, again["id"]),
        ("delivered", True, asked["id"]),
    ]
    code, out, _ = cli(capsys, app_home, "exchanges")
    lines = out.strip().splitlines()
    assert lines[0].endswith(
        f"Transport Department asked for Address registered with the Water Supplies Department from Water Supplies Department — purpose: {PURPOSE} — refused (consent revoked) — in the public log (entry 2, verified)"
    )
    assert lines[1].endswith(
        f"Transport Department received Address registered with the Water Supplies Department from Water Supplies Department — purpose: {PURPOSE} — delivered — in the public log (entry 1, verified)"
    )

    # history: the login's release and both exchanges, merged newest first.
    code, out, _ = cli(capsys, app_home, "history")
    lines = out.strip().splitlines()
    assert len(lines) == 3, out
    assert "refused (consent revoked)" in lines[0] and lines[1].endswith(
        "— delivered — in the public log (entry 1, verified)"
    )
    assert "Transport Department (login): " in lines[2]
    code, out, _ = cli(capsys, app_home, "--json", "history")
    both = json.loads(out)
    assert len(both["releases"]) == 1 and [x["id"] for x in both["exchanges"]] == [x["id"] for x in exchanges]


def test_decline_and_revoke_errors(issuer, td, tai_man, officer, app, app_home, capsys):
    asked = ask(td, tai_man)
    code, out, err = cli(capsys, app_home, "decline", asked["approval_uri"])
    assert code == 0, err
    assert td.consent(asked["id"])["status"] == "declined"
    code, out, _ = cli(capsys, app_home, "consents")
    assert f"{asked['id']}  [declined]" in out and "valid" not in out
    # Revoking a declined consent changes nothing; unknown and malformed ids are refused.
    assert app.revoke_consent(asked["id"], PIN)["status"] == "declined"
    code, out, err = cli(capsys, app_home, "revoke-consent", "00000000-0000-4000-8000-000000000000")
    assert code == 2 and "unknown_consent" in err
    with pytest.raises(AppError) as bad:
        app.revoke_consent("not-an-id", PIN)
    assert bad.value.code == "bad_reference"
    # Another resident cannot see or revoke this resident's consents.
    other = bind_cli(issuer, make_resident(officer), app_home.parent / "other")
    assert other.consents(PIN) == []
    with pytest.raises(AppError) as foreign:
        other.revoke_consent(asked["id"], PIN)
    assert (foreign.value.code, foreign.value.status) == ("unknown_consent", 404)
    # Nothing happened between organisations: no exchanges, nothing shared.
    assert app.exchanges(PIN) == []
    code, out, _ = cli(capsys, app_home, "history")
    assert out.strip() == "Nothing has been shared yet."


def test_the_app_checks_its_exchanges_are_in_the_public_log(issuer, td, tai_man, app, app_home, capsys):
    """Issue 14 item 10: each exchange in the app's history comes with its leaf in the
    transparency log and an inclusion proof against a signed tree head; the app verifies the
    head's signature, that the leaf fixes what it shows, and the proof, and says so."""
    from tungban.exchange.models import ExchangeRecord
    from tungban.ledger.models import LogLeaf

    asked = ask(td, tai_man)
    assert cli(capsys, app_home, "decline", asked["approval_uri"])[0] == 0
    for _ in range(2):
        with pytest.raises(DataUserError):
            td.fetch(asked["id"], WSD)
    exchanges = app.exchanges(PIN)
    assert [x["log"]["leaf_index"] for x in exchanges] == [1, 0]
    assert all(x["log_check"] == {"verified": True, "problem": None} for x in exchanges), exchanges
    code, out, _ = cli(capsys, app_home, "exchanges")
    lines = out.strip().splitlines()
    assert len(lines) == 2 and lines[0].endswith("— in the public log (entry 1, verified)"), out
    assert lines[1].endswith("— in the public log (entry 0, verified)"), out

    # The record changed after it was logged: the app sees the log does not back it.
    newest = ExchangeRecord.objects.get(id=exchanges[0]["id"])
    ExchangeRecord.objects.filter(pk=newest.pk).update(outcome="delivered")
    code, out, _ = cli(capsys, app_home, "exchanges")
    lines = out.strip().splitlines()
    assert "NOT VERIFIED in the public log: the logged record differs from what is shown" in lines[0], out
    assert lines[1].endswith("(entry 0, verified)")
    # The leaf itself rewritten: its inclusion proof fails against the signed head.
    leaf = LogLeaf.objects.get(index=0)
    LogLeaf.objects.filter(index=0).update(body=leaf.body.replace('"kind":"exchange"', '"kind":"exchange","x":1'))
    code, out, _ = cli(capsys, app_home, "exchanges")
    assert "NOT VERIFIED in the public log" in out.strip().splitlines()[1], out
