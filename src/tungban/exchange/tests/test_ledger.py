"""The exchange log (acceptance 3 of issues 4 and 14): every exchange record is a leaf of the
RFC 9162 transparency log (a digest of its metadata, no personal data); the verification
command detects a record modified or deleted after it was logged, an altered leaf and a log
cut back, and a witness holding an earlier published head detects a log cut back or an old
exchange rewritten with the whole tree recomputed (issue 14 item 10)."""

from __future__ import annotations

import hashlib
import io
import json
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
from tungban.ledger import transparency
from tungban.ledger.canonical import canonical
from tungban.ledger.models import Entry, Head, LogLeaf
from tungban.testing.factories import make_client
from tungban.testing.logs import cut_back, rebuild, run_witness, stored_entries

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
    return list(ExchangeRecord.objects.order_by("at"))


def leaf_of(rec: ExchangeRecord) -> LogLeaf:
    return LogLeaf.objects.get(kind="exchange", reference=str(rec.id))


def verify(*args) -> tuple[bool, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_exchange_log", *args, stdout=out, stderr=err)
        return True, out.getvalue()
    except CommandError as exc:
        return False, err.getvalue() + str(exc)


def test_untouched_log_verifies(records):
    # Each record is a leaf of the transparency log, in order; the retired chain gets nothing.
    assert [leaf_of(r).index for r in records] == [0, 1, 2, 3, 4]
    assert not Entry.objects.exists()
    ok, text = verify()
    assert ok, text
    assert "5 exchange records" in text
    assert all(r.outcome == "unknown_consent" for r in records)


def test_leaves_hold_a_digest_of_the_metadata_not_the_metadata(records):
    rec = records[0]
    body = json.loads(leaf_of(rec).body)
    # merge_by: the deadline a queued leaf carries (PostgreSQL; SQLite appends at once)
    assert set(body) - {"merge_by"} == {"kind", "ref", "at", "record_sha256"}
    assert ("merge_by" in body) == transparency.batching()
    assert body["ref"] == str(rec.id)
    assert body["record_sha256"] == hashlib.sha256(canonical(exchange.record_fields(rec)).encode()).hexdigest()
    assert rec.request_id not in leaf_of(rec).body and "bank-a" not in leaf_of(rec).body


def test_modified_record_is_detected(records):
    ExchangeRecord.objects.filter(pk=records[2].pk).update(outcome="delivered")
    ok, text = verify()
    assert not ok
    assert f"exchange {records[2].id} (leaf 2): altered after logging" in text


def test_deleted_record_is_detected(records):
    ExchangeRecord.objects.filter(pk=records[1].pk).delete()
    ok, text = verify()
    assert not ok
    assert f"leaf 1: exchange {records[1].id} is missing (deleted record)" in text


def test_deleted_record_and_leaf_are_detected(records):
    ExchangeRecord.objects.filter(pk=records[3].pk).delete()
    LogLeaf.objects.filter(index=3).delete()
    ok, text = verify()
    assert not ok
    assert "leaf 3: missing" in text


def test_rewritten_leaf_and_record_are_detected(records):
    # The attacker changes both the record and its leaf's body: the leaf hash and the tree give it away.
    ExchangeRecord.objects.filter(pk=records[0].pk).update(request_id="forged-request")
    forged = exchange.record_fields(ExchangeRecord.objects.get(pk=records[0].pk))
    leaf = leaf_of(records[0])
    body = json.loads(leaf.body)
    body["record_sha256"] = hashlib.sha256(canonical(forged).encode()).hexdigest()
    LogLeaf.objects.filter(index=leaf.index).update(body=canonical(body))
    ok, text = verify()
    assert not ok
    assert "leaf 0: hash does not match its body" in text


def test_log_cut_back_is_detected_with_a_held_head(records):
    held = transparency.signed_tree_head()
    assert held["tree_size"] == 5
    ok, text = verify("--expect", f"{held['tree_size']}:{held['root_hash']}")
    assert ok, text
    # Remove the last two records and leaves and move the head back: self-consistent…
    for rec in records[3:]:
        ExchangeRecord.objects.filter(pk=rec.pk).delete()
    cut_back(3)
    assert verify()[0]
    # …but not against the head an auditor kept.
    ok, text = verify("--expect", f"{held['tree_size']}:{held['root_hash']}")
    assert not ok
    assert "leaves 3–4 were removed" in text


def test_witness_detects_the_last_exchanges_erased_and_the_head_reset(records, tmp_path):
    state = tmp_path / "witness.json"
    assert run_witness(state)[0] == 0  # a witness keeps the published head of 5 exchanges
    for rec in records[2:]:
        ExchangeRecord.objects.filter(pk=rec.pk).delete()
    cut_back(2)
    assert verify()[0]  # the platform's own check passes: nobody inside would notice
    code, text = run_witness(state)
    assert code != 0 and "INCONSISTENT" in text, text


def test_witness_detects_an_old_exchange_rewritten_with_the_tree_recomputed(records, tmp_path):
    state = tmp_path / "witness.json"
    assert run_witness(state)[0] == 0
    # An old refusal becomes a delivery: record, leaf, every node and a new signed head.
    ExchangeRecord.objects.filter(pk=records[1].pk).update(outcome="delivered")
    forged = exchange.record_fields(ExchangeRecord.objects.get(pk=records[1].pk))
    entries = stored_entries()
    kind, ref, body = entries[1]
    changed = json.loads(body)
    changed["record_sha256"] = hashlib.sha256(canonical(forged).encode()).hexdigest()
    entries[1] = (kind, ref, canonical(changed))
    rebuild(entries)
    code, text = run_witness(state)
    assert code != 0 and "INCONSISTENT" in text, text


def test_legacy_chain_still_verifies_and_a_cut_back_is_detected(records):
    # Entries written to the retired hash chain before the move stay verifiable.
    with transaction.atomic():
        for i in range(3):
            ledger.append("exchange.legacy", f"old-{i}", {"n": i})
    held = ledger.head()
    ok, text = verify("--expect", f"{held['size']}:{held['head_hash']}")
    assert ok, text
    last = Entry.objects.get(seq=2)
    Entry.objects.filter(seq__gt=2).delete()
    Head.objects.filter(name="main").update(size=2, head_hash=last.entry_hash)
    ok, text = verify("--expect", f"{held['size']}:{held['head_hash']}")
    assert not ok and "entries were removed" in text


@pytest.mark.django_db(transaction=True)
def test_append_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        ledger.append("exchange", "x", {})
    with transaction.atomic():
        entry = ledger.append("test", "x", {"a": "是"})
    assert entry.seq == 1 and ledger.body_of(entry)["a"] == "是"


def test_signed_head_verifies_with_the_platform_jwks(records):
    from joserfc import jwt

    head = transparency.signed_tree_head()
    token = jwt.decode(head["signature"], keys.public_keyset(), algorithms=["ES256"])
    assert token.header["typ"] == "tree-head+jwt"
    assert token.claims["tree_size"] == 5 and token.claims["root_hash"] == head["root_hash"]


def test_retired_chain_is_anchored_in_the_witnessed_log(records, tmp_path):
    # A chain written before the move: its head goes into the transparency log on the
    # schedule, so cutting the chain back shows without anyone holding a chain head, and
    # removing the anchor too is a transparency log cut back that the witness catches.
    from tungban.core import retention

    with transaction.atomic():
        for i in range(4):
            ledger.append("exchange.legacy", f"old-{i}", {"n": i})
    retention.purge_all()
    retention.purge_all()  # anchored once, not again while the chain does not change
    anchors = LogLeaf.objects.filter(kind="ledger.chain-head")
    assert anchors.count() == 1 and json.loads(anchors.get().body)["size"] == 4
    assert verify()[0]
    state = tmp_path / "witness.json"
    assert run_witness(state)[0] == 0
    last = Entry.objects.get(seq=2)
    Entry.objects.filter(seq__gt=2).delete()
    Head.objects.filter(name="main").update(size=2, head_hash=last.entry_hash)
    ok, text = verify()
    assert not ok and "anchored in the transparency log" in text, text
    cut_back(anchors.get().index)  # the anchor removed as well
    assert run_witness(state)[0] != 0
