"""Issue 16, e-Licence defects on 認證易 (/verify/): a stale proof is "too old, refresh it",
never "not bound to an app"."""

from __future__ import annotations

import time
from unittest import mock

import pytest


def _en(client):
    client.cookies["tungban_language"] = "en"
    return client


def _zh(client):
    client.cookies["tungban_language"] = "zh-hant"
    return client


def _stale(holder, senior_card, settings) -> str:
    past = time.time() - settings.TUNGBAN_PRESENTATION_MAX_AGE - 120
    with mock.patch("sd_jwt.holder.time", return_value=past):
        return holder.present(senior_card.sd_jwt, ["age_over_65"])


def _region(html: str) -> str:
    return html.split('<section id="verification"', 1)[1].split("</section>", 1)[0]


@pytest.mark.django_db
def test_stale_proof_says_too_old_and_refresh_not_unbound(client, senior_card, holder, settings):
    html = _en(client).post("/verify/", {"credential": _stale(holder, senior_card, settings)}).content.decode()
    region = _region(html)
    assert 'data-valid="false"' in html and 'data-code="presentation_stale"' in region
    assert "Not bound to an app" not in region
    assert 'data-binding="stale"' in region
    assert "too old" in region and "refresh" in region.lower()


@pytest.mark.django_db
def test_stale_proof_in_chinese(client, senior_card, holder, settings):
    html = _zh(client).post("/verify/", {"credential": _stale(holder, senior_card, settings)}).content.decode()
    region = _region(html)
    assert 'data-binding="stale"' in region and "未與應用程式綁定" not in region
    assert "更新" in region


#: The 認證易 link of a Senior Citizen Card showing only "Aged 65 or over" (the one-tap preset).
#: Before issue 16 the app's default (the name, 3 claims) made 1734 bytes and this 1582.
MAX_PRESET_LINK_BYTES = 1530


@pytest.mark.django_db
def test_elicence_qr_is_smaller(senior_card, holder):
    import base64
    import json

    from tungban.credentials import services

    jwt = senior_card.sd_jwt.split("~")[0]
    header, payload = (base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)).decode() for p in jwt.split(".")[:2])
    assert ", " not in header and ": " not in payload  # compact JSON
    assert "_sd_alg" not in json.loads(payload)  # SHA-256, the default (SD-JWT §4.1.1)
    link = f"{services.verifier_audience()}/#vc=" + holder.present(senior_card.sd_jwt, ["age_over_65"])
    assert len(link.encode()) <= MAX_PRESET_LINK_BYTES, len(link)
