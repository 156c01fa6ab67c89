"""The resident's app ties the head it verifies against to what the platform published and
to what it saw before (issue 14 review, finding H1 b and c).

A platform that signs a private fork holding only this resident's exchange, or cuts its log
back, can sign a head for it: the signature alone proves nothing. The app keeps the largest
head it accepted (``log-head.json`` in its home) and needs a consistency proof from it to every
new head, and the head must be listed in ``/api/v1/log/heads`` under the ``seq`` it comes with.
"""

from __future__ import annotations

import json
import time

import pytest

from examples.data_user import DataUserError
from tungban.ledger import services as ledger_services
from tungban.ledger import transparency
from tungban.ledger.merkle import b64, leaf_hash
from tungban.testing.factories import PIN
from tungban.testing.logs import cut_back, rebuild, stored_entries
from tungban.wallet.tests.test_consents_cli import WSD, app, ask, cli, tai_man, td  # noqa: F401

pytestmark = pytest.mark.django_db


def exchanges_logged(td, resident, n: int) -> None:  # noqa: F811
    asked = ask(td, resident)
    for _ in range(n):
        with pytest.raises(DataUserError):
            td.fetch(asked["id"], WSD)  # refused (no consent): an exchange record all the same


def forked(real):
    """proofs_for as a dishonest platform answers it: each leaf in a one-leaf fork of its own,
    under a head it signs with its real key but never publishes."""

    def proofs_for(kind, references):
        out = real(kind, references)
        for proof in out.values():
            root = leaf_hash(proof["leaf_body"])
            ts = int(time.time() * 1000)
            proof["leaf_index"], proof["inclusion_path"] = 0, []
            proof["tree_head"] = {
                "seq": 1,
                "tree_size": 1,
                "root_hash": b64(root),
                "timestamp": ts,
                "signature": transparency._sign_head(1, root, ts),
            }
        return out

    return proofs_for


def test_the_app_refuses_a_head_the_platform_never_published(td, tai_man, app, app_home, capsys, monkeypatch):  # noqa: F811
    exchanges_logged(td, tai_man, 1)
    monkeypatch.setattr(ledger_services, "proofs_for", forked(ledger_services.proofs_for))
    (x,) = app.exchanges(PIN)
    assert x["log_check"]["verified"] is False, x
    assert "not one the platform published" in x["log_check"]["problem"]
    code, out, _ = cli(capsys, app_home, "exchanges")
    assert "NOT VERIFIED in the public log: the signed tree head is not one the platform published" in out, out
    assert not (app_home / "log-head.json").exists()  # nothing kept from a fork


def test_the_app_keeps_its_largest_head_and_needs_consistency_from_it(td, tai_man, app, app_home, capsys):  # noqa: F811
    exchanges_logged(td, tai_man, 2)
    assert all(x["log_check"]["verified"] for x in app.exchanges(PIN))
    assert json.loads((app_home / "log-head.json").read_text())["tree_size"] == 2
    exchanges_logged(td, tai_man, 1)  # the log grows: consistent with the kept head
    assert all(x["log_check"]["verified"] for x in app.exchanges(PIN))
    assert json.loads((app_home / "log-head.json").read_text())["tree_size"] == 3

    # A fork past the kept head: leaf 1 replaced, every head recomputed and published.
    entries = stored_entries()
    entries[1] = ("test.entry", "forged", '{"x":1}')
    rebuild(entries + [("test.entry", "more", '{"n":4}')])
    xs = app.exchanges(PIN)
    assert not any(x["log_check"]["verified"] for x in xs), xs
    xs = [x for x in xs if x.get("log")]  # the exchange whose leaf was replaced is not in it at all
    assert len(xs) == 2 and all("does not extend" in x["log_check"]["problem"] for x in xs), xs
    assert json.loads((app_home / "log-head.json").read_text())["tree_size"] == 3  # still the good one


def test_the_app_refuses_a_log_cut_back_below_its_kept_head(td, tai_man, app, app_home, capsys):  # noqa: F811
    exchanges_logged(td, tai_man, 3)
    assert all(x["log_check"]["verified"] for x in app.exchanges(PIN))
    cut_back(2)  # the newest exchange's leaf erased, the heads past 2 leaves too
    xs = [x for x in app.exchanges(PIN) if x.get("log")]
    assert xs and not any(x["log_check"]["verified"] for x in xs), xs
    assert all("smaller than the head this app accepted before" in x["log_check"]["problem"] for x in xs), xs
    code, out, _ = cli(capsys, app_home, "exchanges")
    assert "NOT VERIFIED in the public log: the log (2 entries) is smaller than the head" in out, out


@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", ("NOT VERIFIED: this app could not confirm", "NOT VERIFIED: the public log is smaller")),
        ("zh-hant", ("未能核實：本應用程式無法確認平台曾公開", "未能核實：公開日誌比本應用程式之前所見的更小")),
    ],
)
def test_the_web_app_says_why_a_head_is_refused_in_both_languages(client, language, expected):
    html = client.get("/app/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    for key in ("log_unpublished", "log_rollback", "log_inconsistent"):
        assert f'data-k="{key}"' in html
    for text in expected:
        assert text in html, text
