"""Security review M5 (fixb): the water-bill card keeps its last answer (encrypted, per
resident) and fetches again only after ``TUNGBAN_ASSISTANT_REFRESH_SECONDS`` or when the
resident taps "Refresh"; the card says when it was fetched. "Recent uses" shows the
assistant's own fetches as one line, so releases to real services are not pushed out."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from examples.providers import water_bill
from tungban.exchange.models import AssistantAnswer, ExchangeRecord
from tungban.testing.factories import PIN, make_resident
from tungban.wallet import services as wallet

API = "/api/v1/wallet/panel"


def _call(app, method, path, body=None):
    return app._call(method, path, body, device_key=app.load_key(PIN))


def _card(app, kind):
    return next(c for c in _call(app, "GET", API)["cards"] if c["kind"] == kind)


def _consented(app):
    _call(app, "PUT", API, {"cards": ["exchange.water-bill", "exchange.recent-uses"]})
    asked = _call(app, "POST", API + "/cards/exchange.water-bill/action")
    app.decide(asked["approval_id"], PIN, "approve")


def _age(resident, seconds):
    AssistantAnswer.objects.filter(resident=resident).update(
        fetched_at=AssistantAnswer.objects.get(resident=resident).fetched_at - dt.timedelta(seconds=seconds)
    )


def test_the_water_bill_is_kept_then_fetched_again(issuer, officer, providers, app_of, settings):
    settings.TUNGBAN_ASSISTANT_REFRESH_SECONDS = 3600
    resident = make_resident(officer)
    providers("wsd")
    app = app_of(resident)
    _consented(app)
    bill = water_bill.record(resident.hkid)

    cards = [_card(app, "exchange.water-bill") for _ in range(6)]
    assert ExchangeRecord.objects.filter(resident=resident).count() == 1
    rec = ExchangeRecord.objects.get(resident=resident)
    for card in cards:  # every load shows the kept answer, with where and when it came from
        assert card["state"] == "ok" and card["action"] == "Refresh"
        assert {i["label"]: i["value"] for i in card["items"]}["Water account"] == bill["account_number"]
        assert card["sources"][0]["fetched_at"] == rec.at.isoformat()

    # Kept encrypted at rest.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT data FROM {AssistantAnswer._meta.db_table}")
        (raw,) = cursor.fetchone()
    assert bill["account_number"] not in raw and bill["balance_hkd"] not in raw

    # After the period: fetched again.
    _age(resident, 3601)
    assert _card(app, "exchange.water-bill")["state"] == "ok"
    assert ExchangeRecord.objects.filter(resident=resident).count() == 2

    # "Refresh": fetched again at once (the answer opens no approval), then kept.
    assert _call(app, "POST", API + "/cards/exchange.water-bill/action").get("approval_id") is None
    assert ExchangeRecord.objects.filter(resident=resident).count() == 3
    newest = ExchangeRecord.objects.filter(resident=resident).order_by("-at").first()
    assert _card(app, "exchange.water-bill")["sources"][0]["fetched_at"] == newest.at.isoformat()
    assert ExchangeRecord.objects.filter(resident=resident).count() == 3


def test_a_revoked_consent_drops_the_kept_answer(issuer, officer, providers, app_of):
    from tungban.exchange.models import Consent

    resident = make_resident(officer)
    providers("wsd")
    app = app_of(resident)
    _consented(app)
    assert _card(app, "exchange.water-bill")["state"] == "ok"
    app.revoke_consent(str(Consent.objects.get(resident=resident).pk), PIN)
    card = _card(app, "exchange.water-bill")
    assert card["state"] == "consent_needed" and not card["items"]
    assert not AssistantAnswer.objects.exists()


def test_recent_uses_group_the_assistants_fetches(issuer, officer, providers, app_of):
    resident = make_resident(officer)
    providers("wsd")
    app = app_of(resident)
    _consented(app)
    wallet.record_release(
        resident,
        requester_id="svc-bank",
        requester_name_en="Harbour Bank",
        requester_name_zh="海港銀行",
        kind="login",
        claims=["hkid", "name_en"],
    )
    for _ in range(6):  # the resident taps "Refresh" six times
        _call(app, "POST", API + "/cards/exchange.water-bill/action")
    assert ExchangeRecord.objects.filter(resident=resident).count() == 6
    recent = _card(app, "exchange.recent-uses")
    labels = [i["label"] for i in recent["items"]]
    assert "Harbour Bank" in labels
    assert labels.count("tungban 通辦 personal assistant") == 1
    line = next(i for i in recent["items"] if i["label"] == "tungban 通辦 personal assistant")
    assert line["value"].startswith("Water bill balance, for your panel: 6 times")
