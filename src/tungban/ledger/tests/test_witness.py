"""A witness keeps the last signed tree head it saw and checks every new one against it
(issue 14 item 10, acceptance 3): a log cut back or rewritten after a head was published is
detected, with only the public endpoints and the log's public keys.

The witness runs here against the platform in-process (:class:`InProcessSession`), exactly as
it runs outside against ``https://…`` (``tungban witness`` / ``python -m tungban.ledger.witness``).
"""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from tungban.keys import services as keys
from tungban.ledger import transparency
from tungban.ledger.models import PublishedHead
from tungban.testing.logs import cut_back, rebuild, stored_entries
from tungban.testing.logs import run_witness as run

pytestmark = pytest.mark.django_db


def append(n: int, start: int = 0, kind: str = "test.entry") -> None:
    for i in range(start, start + n):
        with transaction.atomic():
            transparency.log_append(kind, f"ref-{i}", {"n": i})


def test_witness_follows_a_log_that_only_grows(tmp_path):
    state = tmp_path / "witness.json"
    append(3)
    code, text = run(state)
    assert code == 0, text
    assert json.loads(state.read_text())["tree_size"] == 3
    append(5, start=3)
    code, text = run(state)
    assert code == 0, text
    assert "consistent" in text
    assert json.loads(state.read_text())["tree_size"] == 8
    code, text = run(state)  # nothing new: still fine
    assert code == 0, text


def test_every_head_is_published_when_made_and_stays(tmp_path):
    append(4)
    sizes = list(PublishedHead.objects.order_by("seq").values_list("tree_size", flat=True))
    assert sizes == [1, 2, 3, 4]
    # The on-demand re-signing of a stale head adds a head; it never rewrites one.
    before = list(PublishedHead.objects.order_by("seq").values_list("signature", flat=True))
    keys.rotate()
    head = transparency.signed_tree_head()
    after = list(PublishedHead.objects.order_by("seq").values_list("signature", flat=True))
    assert after[:4] == before and len(after) == 5 and head["signature"] == after[-1]


def test_log_cut_back_after_a_published_head_is_detected(tmp_path):
    state = tmp_path / "witness.json"
    append(10)
    assert run(state)[0] == 0
    cut_back(7)  # the last three entries erased, the head reset
    code, text = run(state)
    assert code != 0
    assert "ROLLBACK" in text or "INCONSISTENT" in text, text
    # The state keeps the head the witness trusts: running again still fails.
    assert json.loads(state.read_text())["tree_size"] == 10
    assert run(state)[0] != 0


def test_log_cut_back_and_regrown_is_detected(tmp_path):
    state = tmp_path / "witness.json"
    append(10)
    assert run(state)[0] == 0
    cut_back(7)
    append(6, start=100)  # grown past the old size again, with other entries
    code, text = run(state)
    assert code != 0 and "INCONSISTENT" in text, text


def test_old_entry_rewritten_with_the_tree_recomputed_is_detected(tmp_path):
    state = tmp_path / "witness.json"
    append(9)
    assert run(state)[0] == 0
    entries = stored_entries()
    kind, ref, body = entries[2]
    entries[2] = (kind, ref, body.replace('"n":2', '"n":222'))
    rebuild(entries)  # same size, new root, a validly signed new head
    code, text = run(state)
    assert code != 0 and "INCONSISTENT" in text, text
    append(3, start=50)  # and after more appends
    code, text = run(state)
    assert code != 0 and "INCONSISTENT" in text, text


def test_published_history_rewritten_is_detected(tmp_path):
    state = tmp_path / "witness.json"
    append(5)
    assert run(state)[0] == 0
    PublishedHead.objects.all().delete()  # the history of heads wiped
    code, text = run(state)
    assert code != 0 and "no longer published" in text, text


def test_a_head_with_a_bad_signature_is_refused(tmp_path):
    state = tmp_path / "witness.json"
    append(2)
    assert run(state)[0] == 0
    append(1, start=2)
    latest = PublishedHead.objects.order_by("-seq").first()
    other = PublishedHead.objects.order_by("seq").first()
    PublishedHead.objects.filter(pk=latest.pk).update(signature=other.signature)
    code, text = run(state)
    assert code != 0 and "BAD SIGNATURE" in text, text


def test_witness_with_pinned_keys_file(tmp_path):
    state, jwks = tmp_path / "w.json", tmp_path / "jwks.json"
    jwks.write_text(json.dumps(keys.public_keyset().as_dict()))
    append(2)
    code, text = run(state, "--keys", str(jwks))
    assert code == 0, text


def test_scheduled_head_is_published_without_writes(settings):
    from tungban.core import retention

    settings.TUNGBAN_TREE_HEAD_INTERVAL = 0
    retention.purge_all()  # the worker's periodic run makes the scheduled head
    assert PublishedHead.objects.count() == 1
    assert transparency.publish_head_if_due() is True  # an empty log gets heads too
    assert set(PublishedHead.objects.values_list("tree_size", flat=True)) == {0}
    append(1)
    settings.TUNGBAN_TREE_HEAD_INTERVAL = 3600
    assert transparency.publish_head_if_due() is False  # the append's head is recent


def test_heads_endpoint_pages_and_caches(client, settings):
    append(3)
    settings.TUNGBAN_TREE_HEAD_INTERVAL = 0
    for _ in range(100):  # 103 heads: a full page and the last one
        assert transparency.publish_head_if_due()
    first = PublishedHead.objects.order_by("seq").values_list("seq", flat=True)[0]  # sequences outlive rollbacks
    r = client.get("/api/v1/log/heads")
    page = r.json()
    assert r.status_code == 200 and len(page["heads"]) == 100
    assert page["next"] == first + 100 and page["latest"] == first + 102
    assert [h["seq"] for h in page["heads"]] == list(range(first, first + 100))
    assert r["Cache-Control"] == "public, max-age=31536000, immutable"  # a full page never changes
    r = client.get("/api/v1/log/heads", {"start": page["next"]})
    last = r.json()
    assert [h["seq"] for h in last["heads"]] == [first + 100, first + 101, first + 102] and last["next"] is None
    assert r["Cache-Control"] == "public, max-age=10"
    assert set(last["heads"][0]) == {"seq", "tree_size", "root_hash", "timestamp", "signature"}
    assert client.get("/api/v1/log/heads", {"start": "x"}).status_code == 422


def test_witness_management_command_exits_non_zero_on_a_rollback(tmp_path):
    from django.core.management import CommandError, call_command

    from tungban.testing.http import TEST_ORIGIN, route_requests

    state = tmp_path / "w.json"
    append(4)
    with route_requests():
        call_command("witness", "--base", TEST_ORIGIN, "--state", str(state))
        cut_back(2)
        with pytest.raises(CommandError) as failed:
            call_command("witness", "--base", TEST_ORIGIN, "--state", str(state))
    assert failed.value.returncode == 1 and "INCONSISTENT" in str(failed.value)


def test_first_run_from_start_checks_the_whole_history(tmp_path):
    append(5)
    code, text = run(tmp_path / "w.json", "--from-start")
    assert code == 0 and "5 new head(s) checked" in text, text
    # A history whose early head was replaced by one of another tree fails from the start.
    first = PublishedHead.objects.order_by("seq").first()
    PublishedHead.objects.filter(pk=first.pk).update(root_hash=b"\x07" * 32)
    code, text = run(tmp_path / "other.json", "--from-start")
    assert code != 0 and "BAD SIGNATURE" in text, text


def test_witness_runs_without_django():
    import subprocess
    import sys
    from pathlib import Path

    src = Path(transparency.__file__).parents[2]
    code = "import sys, tungban.ledger.witness as w; assert 'django' not in sys.modules; sys.exit(w.main(['--help']))"
    done = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(src)!r}); {code}"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "--state" in done.stdout, done.stderr
