"""A kept exchange answer is replayed only while its consent still allows it (issue 14 review
M1): the resident's data is not served again, nor kept, after the consent is revoked or
expires or the resident's account is suspended (PDPO DPP2: not kept longer than needed)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import requests
from django.utils import timezone

from tungban.core import retention
from tungban.core.idempotency import REPLAYED_HEADER
from tungban.core.models import IdempotencyRecord
from tungban.exchange import services as exchange
from tungban.exchange.models import Consent, ExchangeRecord

from .test_attempts import ADDRESS, WSD, data_user, make_consent, provider, resident  # noqa: F401

pytestmark = pytest.mark.django_db


def post(td, body):
    return requests.post(
        f"{td.issuer}/api/v1/exchange/requests",
        json=body,
        headers={"Authorization": f"Bearer {td.token()}"},
        timeout=30,
    )


def kept(request_id: str) -> IdempotencyRecord:
    return IdempotencyRecord.objects.get(key=request_id)


def delivered(td, data_user, resident, request_id, **consent_options):  # noqa: F811
    consent = make_consent(data_user, resident, **consent_options)
    body = {"consent_id": str(consent.id), "product": WSD, "request_id": request_id}
    first = post(td, body)
    assert first.status_code == 200, first.text
    assert first.json()["data"] == ADDRESS
    assert "Flat 12A" in kept(request_id).body  # the answer is kept for retries while allowed
    return consent, body


def assert_refused_and_forgotten(td, body, code: str) -> None:
    again = post(td, body)
    assert again.status_code == 403, again.text
    assert again.json()["error"] == code
    assert "data" not in again.json()
    record = kept(body["request_id"])
    assert "Flat 12A" not in record.body and record.status == 403  # the data is gone
    third = post(td, body)  # and stays refused the same way
    assert (third.status_code, third.json()["error"]) == (403, code)


def test_replay_after_revocation_is_refused_and_the_answer_deleted_at_revocation(td, data_user, resident, provider):  # noqa: F811
    consent, body = delivered(td, data_user, resident, "review-0001")
    exchange.revoke(resident, consent.id)
    assert Consent.objects.get(pk=consent.pk).status == "revoked"
    record = kept("review-0001")  # the revocation itself deleted the stored answer
    assert "Flat 12A" not in record.body and record.status == 403
    fresh = post(td, {**body, "request_id": "review-0002"})
    assert (fresh.status_code, fresh.json()["error"]) == (403, "consent_revoked")
    assert_refused_and_forgotten(td, body, "consent_revoked")
    assert ExchangeRecord.objects.filter(request_id="review-0001", outcome="delivered").count() == 1


def test_replay_after_expiry_is_refused(td, data_user, resident, provider):  # noqa: F811
    consent, body = delivered(td, data_user, resident, "expiry-0001")
    Consent.objects.filter(pk=consent.pk).update(valid_until=timezone.now() - dt.timedelta(seconds=1))
    assert_refused_and_forgotten(td, body, "consent_expired")


def test_replay_after_suspension_is_refused(td, data_user, resident, provider):  # noqa: F811
    _consent, body = delivered(td, data_user, resident, "suspend-0001")
    type(resident).objects.filter(pk=resident.pk).update(status="suspended")
    assert_refused_and_forgotten(td, body, "account_suspended")


def test_replay_of_the_last_use_still_answers_while_the_consent_lives(td, data_user, resident, provider, caplog):  # noqa: F811
    _consent, body = delivered(td, data_user, resident, "lastuse-0001", max_uses=1)
    with caplog.at_level(logging.INFO, logger="tungban.exchange"):
        again = post(td, body)  # the consent is used up by this very request: its retry still gets it
    assert again.status_code == 200, again.text
    assert again.headers.get(REPLAYED_HEADER) == "true"
    assert again.json()["data"] == ADDRESS
    # not a new disclosure: one delivery in the log and history, the replay in the operations log
    assert ExchangeRecord.objects.filter(request_id="lastuse-0001").count() == 1
    assert any(
        "Exchange answer replayed" in r.getMessage() and "lastuse-0001" in r.getMessage() for r in caplog.records
    )


def test_purge_deletes_the_answers_of_expired_consents(td, data_user, resident, provider):  # noqa: F811
    consent, _body = delivered(td, data_user, resident, "purge-0001")
    _other, _ = delivered(td, data_user, resident, "purge-0002")
    Consent.objects.filter(pk=consent.pk).update(valid_until=timezone.now() - dt.timedelta(seconds=1))
    retention.purge_all()
    assert "Flat 12A" not in kept("purge-0001").body
    assert "Flat 12A" in kept("purge-0002").body  # a live consent's answer stays for its retries


def test_purge_deletes_the_answers_of_suspended_residents(td, data_user, resident, provider):  # noqa: F811
    _consent, body = delivered(td, data_user, resident, "purgesus-0001")
    type(resident).objects.filter(pk=resident.pk).update(status="suspended")
    retention.purge_all()
    record = kept("purgesus-0001")
    assert "Flat 12A" not in record.body and record.status == 403
    assert post(td, body).json()["error"] == "account_suspended"


def test_revoking_a_used_up_consent_deletes_its_kept_answers_too(td, data_user, resident, provider):  # noqa: F811
    consent, body = delivered(td, data_user, resident, "usedup-0001", max_uses=1)
    exchange.revoke(resident, consent.id)  # used up, so it stays "exhausted": the withdrawal still counts
    assert "Flat 12A" not in kept("usedup-0001").body
    assert_refused_and_forgotten(td, body, "consent_exhausted")
