"""The tamper-evident log (acceptance 3): the verification command detects an exchange
record modified or deleted after it was logged, an altered entry and a log cut back."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from tungban.core.errors import DomainError
from tungban.exchange import catalogue
from tungban.exchange import services as exchange
from tungban.exchange.models import ExchangeRecord
from tungban.keys import services as keys
from tungban.ledger import chain as ledger
from tungban.ledger.models import Entry
from tungban.testing.factories import make_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def records():
    """Five refused attempts (metadata only), each logged."""
    from joserfc.jwk import ECKey

    catalogue.register_bundled({})
    key = ECKey.generate_key("P-256", auto_kid=True)
    client, _ = make_client("bank-a", jwks={"keys": [key.as_dict(private=False)]})
    org = exchange.register_organisation(id="bank-a", name_en="Bank A", name_zh="甲銀行", kind="bank", client=client)
    for _ in range(5):
        with pytest.raises(DomainError):
            exchange.exchange(
                org, consent_id=str(uuid.uuid4()), product_id="cr.company-particulars.v1", request_id=uuid.uuid4().hex
            )
    return list(ExchangeRecord.objects.order_by("ledger_seq"))


def verify(*args) -> tuple[bool, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_exchange_log", *args, stdout=out, stderr=err)
        return True, out.getvalue()
    except CommandError as exc:
        return False, err.getvalue() + str(exc)


def test_untouched_log_verifies(records):
    assert [r.ledger_seq for r in records] == [1, 2, 3, 4, 5]
    ok, text = verify()
    assert ok, text
    assert "5 entries" in text
    assert all(r.outcome == "unknown_consent" for r in records)


def test_modified_record_is_detected(records):
    ExchangeRecord.objects.filter(pk=records[2].pk).update(outcome="delivered")
    ok, text = verify()
    assert not ok
    assert f"exchange {records[2].id} (entry 3): 'outcome' altered" in text


def test_deleted_record_is_detected(records):
    ExchangeRecord.objects.filter(pk=records[1].pk).delete()
    ok, text = verify()
    assert not ok
    assert f"entry 2: exchange {records[1].id} is missing" in text


def test_deleted_record_and_entry_break_the_chain(records):
    ExchangeRecord.objects.filter(pk=records[3].pk).delete()
    Entry.objects.filter(seq=4).delete()
    ok, text = verify()
    assert not ok
    assert "entry 4: missing" in text
    assert "entry 5: previous hash does not match" in text


def test_rewritten_entry_and_record_are_detected(records):
    # The attacker changes both the record and its entry's body: the chain hash gives it away.
    ExchangeRecord.objects.filter(pk=records[0].pk).update(request_id="forged-request")
    entry = Entry.objects.get(seq=1)
    Entry.objects.filter(seq=1).update(body=entry.body.replace(records[0].request_id, "forged-request"))
    ok, text = verify()
    assert not ok
    assert "entry 1: hash mismatch" in text


def test_log_cut_back_is_detected_with_a_held_head(records):
    held = ledger.head()
    assert held["size"] == 5
    ok, _ = verify("--expect", f"{held['size']}:{held['head_hash']}")
    assert ok
    # Remove the last two records and entries and move the head back: self-consistent…
    last = Entry.objects.get(seq=3)
    ExchangeRecord.objects.filter(ledger_seq__gt=3).delete()
    Entry.objects.filter(seq__gt=3).delete()
    from tungban.ledger.models import Head

    Head.objects.filter(name="main").update(size=3, head_hash=last.entry_hash)
    assert verify()[0]
    # …but not against the head an auditor kept.
    ok, text = verify("--expect", f"{held['size']}:{held['head_hash']}")
    assert not ok
    assert "entries were removed" in text


@pytest.mark.django_db(transaction=True)
def test_append_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        ledger.append("exchange", "x", {})
    with transaction.atomic():
        entry = ledger.append("test", "x", {"a": "是"})
    assert entry.seq == 1 and ledger.body_of(entry)["a"] == "是"


def test_signed_head_verifies_with_the_platform_jwks(records):
    from joserfc import jwt

    head = ledger.signed_head()
    token = jwt.decode(head["signature"], keys.public_keyset(), algorithms=["ES256"])
    assert token.header["typ"] == "log-head+jwt"
    assert token.claims["size"] == 5 and token.claims["head_hash"] == head["head_hash"]
