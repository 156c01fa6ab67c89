"""Verifier codes on 認證易 (issue 13 item 12): a QR code shown once could be replayed for
``TUNGBAN_PRESENTATION_MAX_AGE`` (5 min) because the page accepted any nonce. The page now
offers a verifier code (a nonce stored in the database, single use, short-lived) that the
holder's app puts in its proof; such a proof is accepted once. Without a code the result
says so clearly."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from tungban.credentials import pdf, services
from tungban.credentials.models import VerifierNonce
from tungban.credentials.verify import DatabaseTrust, verify_presentation

NO_CODE = "No verifier code was used"


def _en(client):
    client.cookies["tungban_language"] = "en"
    return client


def _verify(client, presentation: str, code: str = ""):
    return client.post("/verify/", {"credential": presentation, "verifier_code": code})


def _code(html: str) -> str:
    match = re.search(r'id="verifier-code"[^>]*>([A-Z0-9-]+)<', html)
    assert match, "no verifier code on the page"
    return match.group(1)


def _nonce_state(html: str) -> str | None:
    match = re.search(r'data-nonce="([a-z_]+)"', html)
    return match.group(1) if match else None


def _problems(html: str) -> list[str]:
    return re.findall(r'data-code="([a-z_]+)"', html)


@pytest.mark.django_db
def test_the_page_offers_a_single_use_code(client, bundled):
    page = _en(client).post("/verify/", {"action": "code"})
    assert page.status_code == 200
    html = page.content.decode()
    code = _code(html)
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    assert f'name="verifier_code" value="{code}"' in html  # the check form carries it
    assert "Ask the holder to enter this code in the app" in html
    stored = VerifierNonce.objects.get(value=code.replace("-", ""))
    assert stored.used_at is None and stored.expires_at > timezone.now()
    assert _code(client.post("/verify/", {"action": "code"}).content.decode()) != code


@pytest.mark.django_db
def test_a_proof_with_the_code_is_accepted_once(client, holder, senior_card):
    code = _code(_en(client).post("/verify/", {"action": "code"}).content.decode())
    # the app normalises what the holder types ("k7q2 m9xd" -> "K7Q2M9XD")
    presentation = holder.present(senior_card.sd_jwt, ["card_number"], nonce=code.replace("-", ""))
    first = _verify(client, presentation, code).content.decode()
    assert 'data-valid="true"' in first and _nonce_state(first) == "verifier_code"
    assert "made this proof for your verifier code" in first and NO_CODE not in first
    assert VerifierNonce.objects.get(value=code.replace("-", "")).used_at is not None

    replay = _verify(client, presentation, code).content.decode()
    assert 'data-valid="false"' in replay and "presentation_replayed" in _problems(replay)
    # also when replayed through a #vc= link (no code on that page)
    replay = _verify(client, presentation).content.decode()
    assert 'data-valid="false"' in replay and "presentation_replayed" in _problems(replay)


@pytest.mark.django_db
def test_without_a_code_the_result_says_so(client, holder, senior_card):
    presentation = holder.present(senior_card.sd_jwt, ["card_number"])  # the app's own random nonce
    html = _verify(_en(client), presentation).content.decode()
    assert 'data-valid="true"' in html and _nonce_state(html) == "none"
    assert NO_CODE in html and "shown in the last 5 minutes" in html
    client.cookies["tungban_language"] = "zh-hant"
    html = _verify(client, presentation).content.decode()
    assert "沒有使用核實碼" in html


@pytest.mark.django_db
def test_a_proof_without_the_offered_code_is_refused(client, holder, senior_card):
    code = _code(_en(client).post("/verify/", {"action": "code"}).content.decode())
    presentation = holder.present(senior_card.sd_jwt, ["card_number"])  # made for no code
    html = _verify(client, presentation, code).content.decode()
    assert 'data-valid="false"' in html and "verifier_code_missing" in _problems(html)
    assert code in html  # the code is still offered, unused
    assert VerifierNonce.objects.get(value=code.replace("-", "")).used_at is None
    paper = _verify(client, pdf.qr_payload(senior_card), code)
    assert "holder_binding_missing" in _problems(paper.content.decode())


@pytest.mark.django_db
def test_an_expired_code_is_refused(holder, senior_card, settings):
    nonce = services.new_verifier_nonce()
    VerifierNonce.objects.filter(value=nonce.value).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    presentation = holder.present(senior_card.sd_jwt, None, nonce=nonce.value)
    result = verify_presentation(presentation, DatabaseTrust())
    assert not result.valid and "verifier_code_expired" in result.codes()


@pytest.mark.django_db
def test_codes_are_short_lived(bundled, settings):
    settings.TUNGBAN_VERIFIER_NONCE_TTL = 120
    nonce = services.new_verifier_nonce()
    assert dt.timedelta(seconds=119) <= nonce.expires_at - nonce.created_at <= dt.timedelta(seconds=121)
