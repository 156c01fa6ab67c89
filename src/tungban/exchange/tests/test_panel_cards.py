"""The exchange gateway's personal-assistant cards (issue 16): the water-bill balance from WSD
through the gateway, only with the resident's consent; recent data uses."""

from __future__ import annotations

import pytest

from examples.providers import water_bill
from tungban.exchange import cards
from tungban.exchange.models import Consent, ExchangeRecord
from tungban.testing.factories import PIN, make_resident
from tungban.wallet import cards as panel_cards
from tungban.wallet import panel

from .test_gateway import consented

API = "/api/v1/wallet/panel"


def _call(app, method, path, body=None):
    return app._call(method, path, body, device_key=app.load_key(PIN))


def _card(app, kind):
    return next(c for c in _call(app, "GET", API)["cards"] if c["kind"] == kind)


def test_the_gateway_registers_its_card_kinds(db):
    assert panel_cards.get("exchange.water-bill").act is cards.water_bill_action
    assert panel_cards.get("exchange.recent-uses").act is None


def test_the_water_bill_needs_the_residents_consent(issuer, officer, providers, app_of):
    resident = make_resident(officer)  # not in the providers' seeded records: every HKID has a bill
    providers("wsd")
    app = app_of(resident)
    _call(app, "PUT", API, {"cards": ["exchange.water-bill"]})

    # No consent: nothing is fetched, the card asks for one.
    card = _card(app, "exchange.water-bill")
    assert card["state"] == "consent_needed" and card["action"] and not card["items"] and not card["sources"]
    assert not ExchangeRecord.objects.exists()

    # The card's action opens a consent request for this resident (asked twice: the same one).
    first = _call(app, "POST", API + "/cards/exchange.water-bill/action")
    assert _call(app, "POST", API + "/cards/exchange.water-bill/action") == first
    consent = Consent.objects.get(resident=resident)
    assert (consent.consumer_id, consent.product_id, str(consent.approval_id)) == (
        "tungban-assistant",
        "wsd.water-bill.v1",
        first["approval_id"],
    )
    assert _card(app, "exchange.water-bill")["message"] == "Waiting for your consent in this app."
    details = app.show(first["approval_id"], PIN)
    assert details["kind"] == "consent" and details["consent"]["product"]["id"] == "wsd.water-bill.v1"

    # Approved: the balance comes from WSD through the gateway, with its source.
    app.decide(first["approval_id"], PIN, "approve")
    card = _card(app, "exchange.water-bill")
    bill = water_bill.record(resident.hkid)
    assert card["state"] == "ok", card
    values = {i["label"]: i["value"] for i in card["items"]}
    assert values["Balance due"] == f"HK${bill['balance_hkd']}"
    assert values["Water account"] == bill["account_number"]
    (source,) = card["sources"]
    assert (source["department"], source["product"]) == ("Water Supplies Department", "Water bill balance")
    rec = ExchangeRecord.objects.get(resident=resident)
    assert rec.outcome == "delivered" and rec.consumer_id == "tungban-assistant"
    assert source["fetched_at"] == rec.at.isoformat()

    # Revoked: nothing more is fetched.
    app.revoke_consent(str(consent.pk), PIN)
    assert _card(app, "exchange.water-bill")["state"] == "consent_needed"
    assert ExchangeRecord.objects.filter(resident=resident).count() == 1


def test_a_declined_consent_fetches_nothing(issuer, officer, app_of, catalogue_registered):
    resident = make_resident(officer)
    app = app_of(resident)
    _call(app, "PUT", API, {"cards": ["exchange.water-bill"]})
    asked = _call(app, "POST", API + "/cards/exchange.water-bill/action")
    app.decide(asked["approval_id"], PIN, "decline")
    assert _card(app, "exchange.water-bill")["state"] == "consent_needed"
    assert not ExchangeRecord.objects.exists()


def test_the_action_needs_the_card_on_the_panel(issuer, officer, app_of, catalogue_registered):
    app = app_of(make_resident(officer))
    with pytest.raises(Exception) as exc:
        _call(app, "POST", API + "/cards/exchange.water-bill/action")
    assert getattr(exc.value, "code", None) == "no_card_action"
    assert not Consent.objects.exists()


def test_recent_uses_show_releases_and_exchanges(issuer, officer, providers, td, app_of):
    from tungban.wallet import services as wallet

    resident = make_resident(officer, hkid="A1234563")
    providers("wsd")
    app = app_of(resident)
    assert panel.panel(resident)["cards"] == []
    panel.choose(resident, ["exchange.recent-uses"])
    assert panel.panel(resident)["cards"][0]["state"] == "empty"
    wallet.record_release(
        resident,
        requester_id="svc",
        requester_name_en="Sample Service",
        requester_name_zh="示範服務",
        kind="login",
        claims=["name_en"],
    )
    granted = consented(td, app, resident)
    td.fetch(granted["id"], "wsd.registered-address.v1")
    card = _card(app, "exchange.recent-uses")
    assert card["state"] == "ok"
    labels = [i["label"] for i in card["items"]]
    assert labels[0] == "Transport Department" and "Sample Service" in labels
    assert card["items"][0]["value"].startswith("Address registered with the Water Supplies Department")
    assert card["sources"][0]["department"] == "tungban 通辦"


def test_recent_uses_name_a_release_without_claims_by_its_kind(issuer, officer, app_of):
    """A signature releases no e-ME fields: the card says "Sign documents", as the app's history
    does, never "Sign-in only" (issue 16 walkthrough: a legal signature shown as a sign-in)."""
    from tungban.wallet import services as wallet

    resident = make_resident(officer, hkid="A1234563")
    app = app_of(resident)
    panel.choose(resident, ["exchange.recent-uses"])
    for kind in ("sign", "login"):
        wallet.record_release(
            resident,
            requester_id="svc",
            requester_name_en=f"Service {kind}",
            requester_name_zh="示範服務",
            kind=kind,
            claims=[],
        )
    items = {i["label"]: i["value"] for i in _card(app, "exchange.recent-uses")["items"]}
    assert items["Service sign"].startswith("Sign documents")
    assert items["Service login"].startswith("Sign-in only")
