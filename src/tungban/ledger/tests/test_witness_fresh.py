"""The witness checks the log is still being published, and tells an outage from an
inconsistency (issue 14 review: findings H1 (a) and L4).

H1 (a): an operator serving a frozen list of heads must not get "OK" forever: the newest
published head may be at most ``--max-age`` seconds old (default 2 × TUNGBAN_TREE_HEAD_INTERVAL).
L4: the platform answering an error (e.g. 503) is "cannot run" (exit 2), not an inconsistency.
"""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from tungban.keys import services as keys
from tungban.ledger import transparency, witness
from tungban.ledger.models import PublishedHead
from tungban.testing.logs import run_witness as run

pytestmark = pytest.mark.django_db


def append(n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        with transaction.atomic():
            transparency.log_append("test.entry", f"ref-{i}", {"n": i})


def age_heads(seconds: int) -> None:
    """Every published head as if made ``seconds`` earlier (a frozen list of heads)."""
    for head in PublishedHead.objects.all():
        ts = head.timestamp - seconds * 1000
        PublishedHead.objects.filter(pk=head.pk).update(
            timestamp=ts, signature=transparency._sign_head(head.tree_size, bytes(head.root_hash), ts)
        )


def test_a_log_no_longer_published_is_stale(tmp_path):
    state = tmp_path / "witness.json"
    append(3)
    age_heads(3600)  # no head for an hour, with heads due every 5 minutes
    # A bound of its own: an hour and a half is fine.
    code, text = run(state, "--max-age", "5400")
    assert code == witness.EXIT_OK, text
    code, text = run(state)
    assert code == witness.EXIT_INCONSISTENT, text
    assert "STALE" in text, text
    assert run(state)[0] == witness.EXIT_INCONSISTENT  # every later run fails too


def test_stale_on_the_first_run_too(tmp_path):
    append(2)
    age_heads(3600)
    code, text = run(tmp_path / "witness.json")
    assert code == witness.EXIT_INCONSISTENT and "STALE" in text, text


def test_the_default_bound_is_twice_the_head_interval(tmp_path, monkeypatch):
    """The scheduled head is due every TUNGBAN_TREE_HEAD_INTERVAL but made by the worker's run
    every TUNGBAN_PURGE_INTERVAL: the interval is the larger one (no false alarm by default)."""
    state = tmp_path / "witness.json"
    append(1)
    age_heads(1000)
    monkeypatch.delenv("TUNGBAN_TREE_HEAD_INTERVAL", raising=False)
    monkeypatch.delenv("TUNGBAN_PURGE_INTERVAL", raising=False)
    assert witness.default_max_age() == 1200  # 2 × max(300, 600), the platform's defaults
    assert run(state)[0] == witness.EXIT_OK
    monkeypatch.setenv("TUNGBAN_PURGE_INTERVAL", "60")
    monkeypatch.setenv("TUNGBAN_TREE_HEAD_INTERVAL", "300")  # bound 600 s
    code, text = run(state)
    assert code == witness.EXIT_INCONSISTENT and "STALE" in text, text
    monkeypatch.setenv("TUNGBAN_TREE_HEAD_INTERVAL", "900")  # bound 1800 s
    assert run(state)[0] == witness.EXIT_OK


class Down:
    """A platform that answers 503 to everything but its JWKS."""

    def get(self, url, params=None, timeout=None):
        class Answer:
            def __init__(self, status, body):
                self.status_code, self.body = status, body

            def json(self):
                return self.body

        if url.endswith("/oidc/jwks"):
            return Answer(200, keys.public_jwks())
        return Answer(503, {"error": "service_unavailable"})


def test_platform_outage_is_cannot_run_not_inconsistent(tmp_path):
    state = tmp_path / "w.json"
    kept = {"seq": 1, "tree_size": 1, "root_hash": "AA==", "timestamp": 1, "signature": "x"}
    state.write_text(json.dumps(kept))
    lines: list[str] = []
    code = witness.main(["--base", "https://t.example", "--state", str(state)], http=Down(), out=lines.append)
    assert code == witness.EXIT_ERROR, lines
    assert "503" in "\n".join(lines) and "ERROR" in "\n".join(lines), lines
    assert json.loads(state.read_text()) == kept


def test_management_command_reports_stale(tmp_path, settings):
    from django.core.management import CommandError, call_command

    from tungban.testing.http import TEST_ORIGIN, route_requests

    settings.TUNGBAN_TREE_HEAD_INTERVAL, settings.TUNGBAN_PURGE_INTERVAL = 300, 60
    append(2)
    age_heads(3600)
    with route_requests(), pytest.raises(CommandError) as failed:
        call_command("witness", "--base", TEST_ORIGIN, "--state", str(tmp_path / "w.json"))
    assert failed.value.returncode == witness.EXIT_INCONSISTENT and str(failed.value).startswith("STALE"), failed.value
