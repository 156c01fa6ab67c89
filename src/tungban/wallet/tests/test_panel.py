"""The personal assistant panel's registry and choices (issue 16): apps register card kinds;
the resident adds, removes and reorders cards; one failing card does not take the panel down."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from tungban.testing.factories import PIN, bind_cli
from tungban.wallet import cards, panel
from tungban.wallet.client import AppError
from tungban.wallet.models import PanelCard

API = "/api/v1/wallet/panel"


@pytest.fixture
def test_kinds():
    cards.register("test.ok", "OK card", load=lambda r: {"state": "ok", "items": [{"label": "A", "value": "1"}]})
    cards.register("test.broken", "Broken card", load=lambda r: 1 / 0)
    yield
    cards.unregister("test.ok")
    cards.unregister("test.broken")


def test_registry_checks_and_is_idempotent():
    def load(r):
        return {"state": "empty"}

    kind = cards.register("test.kind", "Kind", load=load, app="tests")
    assert cards.register("test.kind", "Kind", load=load, app="tests") is not None
    assert cards.get("test.kind") == kind
    with pytest.raises(ImproperlyConfigured):
        cards.register("test.kind", "Other", load=load, app="other")
    with pytest.raises(ImproperlyConfigured):
        cards.register("Bad Id", "Kind", load=load)
    with pytest.raises(ImproperlyConfigured):
        cards.register("test.noload", "Kind", load=None)
    cards.unregister("test.kind")
    assert cards.get("test.kind") is None


def test_start_cards_are_registered_by_their_apps():
    owners = {k.id: k.app for k in cards.all_kinds()}
    assert owners["exchange.water-bill"] == "exchange"
    assert owners["exchange.recent-uses"] == "exchange"
    assert owners["credentials.expiring"] == "credentials"


def test_add_remove_reorder(resident, test_kinds):
    panel.choose(resident, ["test.ok", "test.broken"])
    assert panel.chosen(resident) == ["test.ok", "test.broken"]
    panel.choose(resident, ["test.broken", "test.ok"])
    assert panel.chosen(resident) == ["test.broken", "test.ok"]
    panel.choose(resident, ["test.ok"])
    assert panel.chosen(resident) == ["test.ok"]
    assert PanelCard.objects.filter(resident=resident).count() == 1


@pytest.mark.parametrize(
    ("kinds", "code"),
    [(["test.ok", "nothere"], "unknown_card_kind"), (["test.ok", "test.ok"], "repeated_card")],
)
def test_bad_choices_are_refused_and_nothing_changes(resident, test_kinds, kinds, code):
    panel.choose(resident, ["test.broken"])
    with pytest.raises(Exception) as exc:
        panel.choose(resident, kinds)
    assert exc.value.code == code
    assert panel.chosen(resident) == ["test.broken"]


def test_a_failing_card_is_unavailable_and_the_others_load(resident, test_kinds):
    panel.choose(resident, ["test.broken", "test.ok"])
    loaded = panel.panel(resident)["cards"]
    assert [(c["kind"], c["state"]) for c in loaded] == [("test.broken", "unavailable"), ("test.ok", "ok")]
    assert loaded[1]["items"] == [{"label": "A", "value": "1", "href": ""}]
    assert loaded[0]["message"]


def test_an_item_links_only_to_a_page_on_the_platform(resident):
    hrefs = ["/services/my/X/", "https://elsewhere.example/", "//elsewhere.example/", "/\\elsewhere", "javascript:x"]
    cards.register(
        "test.links",
        "Links",
        load=lambda r: {"state": "ok", "items": [{"label": h, "value": "v", "href": h} for h in hrefs]},
    )
    try:
        panel.choose(resident, ["test.links"])
        (card,) = panel.panel(resident)["cards"]
    finally:
        cards.unregister("test.links")
    assert [i["href"] for i in card["items"]] == ["/services/my/X/", "", "", "", ""]


def test_the_api(issuer, resident, test_kinds, tmp_path):
    app = bind_cli(issuer, resident, tmp_path / "phone")

    def call(method, body=None):
        return app._call(method, API, body, device_key=app.load_key(PIN))

    first = call("GET")
    assert first["cards"] == [] and {"test.ok", "exchange.water-bill"} <= {k["kind"] for k in first["offered"]}
    put = call("PUT", {"cards": ["test.ok"]})
    assert [c["kind"] for c in put["cards"]] == ["test.ok"] and put["cards"][0]["label"] == "OK card"
    with pytest.raises(AppError) as exc:
        call("PUT", {"cards": ["nothere"]})
    assert (exc.value.code, exc.value.status) == ("unknown_card_kind", 400)
