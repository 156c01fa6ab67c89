"""Credentials that only the platform issues (issue 19: the CorpID platform's mandates): no
officer or department system may issue or revoke them; a credential may end on a given date
(``expires_at``); lists and named values are displayed as text; the summaries registry."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tungban.core.errors import DomainError
from tungban.credentials import services, summaries
from tungban.credentials.models import Issuer


def test_a_department_system_cannot_be_registered_for_the_platforms_issuer(bundled):
    from tungban.testing.factories import make_client

    client, _secret = make_client("corpid-system")
    with pytest.raises(DomainError) as caught:
        services.register_issuer_system(Issuer.objects.get(id="corpid"), client)
    assert caught.value.code == "not_an_issuer"
    # Nor does a client already linked to it by hand get through.
    Issuer.objects.filter(id="corpid").update(client=client)
    with pytest.raises(DomainError) as caught:
        services.issuer_for_client(client)
    assert caught.value.code == "not_an_issuer"


def test_expires_at_replaces_the_types_validity(holder):
    ctype = services.get_type("senior-citizen-card")  # validity_days null: would not expire
    end = timezone.now() + dt.timedelta(days=10)
    card = services.issue(ctype, holder.resident, {"card_number": "SC12345678"}, issued_by="t", expires_at=end)
    assert card.expires_at == end
    payload = services.issued_claims(card)  # the claims are unchanged
    assert payload["card_number"] == "SC12345678"
    for bad in (timezone.now() - dt.timedelta(seconds=1), dt.datetime(2030, 1, 1)):
        with pytest.raises(DomainError) as caught:
            services.issue(ctype, holder.resident, {"card_number": "SC12345678"}, issued_by="t", expires_at=bad)
        assert caught.value.code == "expires_at_invalid"


def test_lists_and_named_values_are_displayed_as_text(bundled):
    ctype = services.get_type("corpid-mandate")
    claims = {"role": "sub_administrator", "actions": ["view", "sign"], "services": ["a", "b"], "may_delegate": True}
    from django.utils import translation

    with translation.override("en"):
        en = {c["name"]: c["value"] for c in services.displayed_claims(ctype, claims, "en")}
    with translation.override("zh-hant"):
        zh = {c["name"]: c["value"] for c in services.displayed_claims(ctype, claims, "zh-hant")}
    assert en == {"role": "Sub-administrator", "actions": "view, sign", "services": "a, b", "may_delegate": "Yes"}
    assert zh["role"] == "副管理員" and zh["actions"] == "查閱、簽署" and zh["services"] == "a、b"


def test_summaries_registry():
    summaries.register("test-type", describe=lambda claims, lang: f"{lang}:{claims['x']}", title=None)
    assert summaries.describe("test-type", {"x": 1}, "en") == "en:1"
    assert summaries.describe("test-type", {}, "en") is None  # a missing claim is no error
    assert summaries.title("test-type", {"x": 1}, "en") is None
    assert summaries.describe("other-type", {"x": 1}, "en") is None
