"""No private key in the HSM that the platform does not know about (issue 14 item 3).

A worker killed between making a key in the PKCS#11 token (SoftHSM2) and committing the row
that records it used to leave an orphan key. Now the key's label is recorded (``pending``)
in a transaction of its own before the key is made, and ``tungban sweep_keys`` (also run by
the scheduled purge) destroys token objects with no row and pending keys never used.

The kill is simulated in-process (an exception that nothing catches, raised where
``killpoint("keys.generated")`` is) and done for real: a ``tungban worker`` subprocess
SIGKILLs itself at that point.
"""

from __future__ import annotations

import shutil

import pytest
from django.db import transaction

from tungban.signing import keystore, services
from tungban.signing.models import SigningCredential, SigningRequest
from tungban.testing.factories import PIN
from tungban.testing.tasks import start_worker, wait_for
from tungban.wallet import services as wallet

from .test_signing_api import digest_doc, get, post

pytestmark = pytest.mark.skipif(not shutil.which("softhsm2-util"), reason="softhsm2 not installed")


class Killed(BaseException):
    """SIGKILL, in-process: no ``except Exception`` sees it, nothing after it runs."""


@pytest.fixture
def hsm(monkeypatch):
    monkeypatch.setattr(keystore, "_keystore", None)
    store = keystore.get_keystore()
    assert store.kind == "pkcs11"
    yield store
    keystore._keystore = None


def token_labels(store) -> set[str]:
    """Labels of every private key object in the token (SoftHSM2's, shared by this run)."""
    from pkcs11 import Attribute, ObjectClass

    return {o[Attribute.LABEL] for o in store.session().get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})}


def known_labels() -> set[str]:
    """Every key label a committed row names: credentials, and the key register."""
    labels = set(SigningCredential.objects.values_list("key_label", flat=True))
    try:
        from tungban.keys.models import TokenKey, TokenKeyState
    except ImportError:  # before the key register existed
        return labels
    return labels | set(TokenKey.objects.exclude(state=TokenKeyState.DESTROYED).values_list("label", flat=True))


def kill_after_generating(monkeypatch, store) -> list[str]:
    """Make the next key generation die right after the key exists; returns the labels made
    (the token is shared with the other tests of this run: count only ours)."""
    real, made = type(store).generate, []

    def generate_then_die(self, label):
        real(self, label)
        made.append(label)
        raise Killed("keys.generated")

    monkeypatch.setattr(type(store), "generate", generate_then_die)
    return made


def test_a_kill_after_the_key_is_made_leaves_no_unknown_key_and_the_sweep_clears_it(hsm, signer_app, monkeypatch):
    """Fails before the fix: the key was made inside the transaction that would record it."""
    resident, _app = signer_app
    device = wallet.active_device(resident)
    generated = kill_after_generating(monkeypatch, hsm)
    with pytest.raises(Killed):
        services.ensure_credential(resident, device)
    monkeypatch.undo()
    keystore._keystore = hsm

    made = set(generated)
    assert len(made) == 1 and made <= token_labels(hsm)  # the key exists in the token
    assert not SigningCredential.objects.exists()  # its credential never committed
    assert made <= known_labels(), "a key in the HSM that no committed row knows"

    # The sweep gives up the key that was never used, once the grace period is over.
    from tungban.keys.models import TokenKey

    assert services.sweep_keys(grace=3600)["keys_tokenkey abandoned"] == 0  # still within the grace period
    assert made <= token_labels(hsm)
    counts = services.sweep_keys(grace=0)
    assert counts["keys_tokenkey abandoned"] == 1
    assert not made & token_labels(hsm) and not TokenKey.objects.exists()

    # The next attempt makes a key that is recorded and active.
    credential = services.ensure_credential(resident, device)
    assert hsm.labels(token_prefix()) == {credential.key_label}
    assert TokenKey.objects.get().state == "active" and TokenKey.objects.get().label == credential.key_label
    assert services.sweep_keys(grace=0) == {
        "pkcs11 orphan keys": 0,
        "keys_tokenkey abandoned": 0,
        "keys_tokenkey retired": 0,
    }
    assert hsm.labels(token_prefix()) == {credential.key_label}  # a used key is never swept


def token_prefix() -> str:
    from tungban.keys import token

    return token.prefix()


def test_the_sweep_destroys_objects_no_row_knows_and_only_this_databases(hsm, db):
    from tungban.keys import token
    from tungban.keys.models import TokenKey

    mine = f"{token.prefix()}no-row"
    hsm.generate(mine)  # e.g. made before a crash by a version without the register
    others = "tungban-another-platform-key"
    hsm.generate(others)
    try:
        counts = services.sweep_keys(grace=3600)
        assert counts["pkcs11 orphan keys"] == 1
        assert mine not in token_labels(hsm) and others in token_labels(hsm)
    finally:
        hsm.destroy_label(others)
    # A key whose revocation could not destroy it (HSM outage) is destroyed by the sweep.
    label = token.reserve("test")
    hsm.generate(label)
    token.activate(label)
    token.retire(label)
    assert services.sweep_keys(grace=3600)["keys_tokenkey retired"] == 1
    assert label not in token_labels(hsm) and TokenKey.objects.get(label=label).state == "destroyed"


def test_a_key_swept_before_it_is_used_cannot_be_activated(hsm, db):
    from tungban.keys import token

    label = token.reserve("test")
    services.sweep_keys(grace=0)  # the worker took longer than the grace period to make the key
    hsm.generate(label)  # ... and made it after the sweep had given it up
    with pytest.raises(token.KeyAbandoned), transaction.atomic():
        token.activate(label)
    token.discard(hsm, label)  # what the refused caller does (services._discard_key)
    assert label not in token_labels(hsm)
    # discard never destroys a key in use
    used = token.reserve("test")
    hsm.generate(used)
    token.activate(used)
    token.discard(hsm, used)
    assert used in token_labels(hsm)


def test_revoking_destroys_the_key_and_says_so_in_the_register(hsm, signer_app, django_capture_on_commit_callbacks):
    from tungban.keys.models import TokenKey

    resident, _app = signer_app
    credential = services.ensure_credential(resident, wallet.active_device(resident))
    assert credential.key_label in token_labels(hsm)
    with django_capture_on_commit_callbacks(execute=True):
        services.revoke(credential, reason="key_compromise")
        assert TokenKey.objects.get(label=credential.key_label).state == "retiring"
    assert TokenKey.objects.get(label=credential.key_label).state == "destroyed"
    assert credential.key_label not in token_labels(hsm)


@pytest.mark.live_http  # a worker subprocess must see the committed request
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_after_making_the_key_leaves_no_unknown_key(
    issuer, signer_app, signing_client, hsm, tmp_path, monkeypatch
):
    """A real ``tungban worker`` SIGKILLs itself at ``keys.generated`` (the key is in the
    token, its credential not committed); the token holds no key that no row knows; a second
    worker signs with a new key; the sweep then destroys the abandoned one."""
    from tungban.keys import token
    from tungban.keys.models import TokenKey
    from tungban.signing.tests.conftest import client_token

    _, app = signer_app
    client, secret = signing_client
    bearer = client_token(issuer, client.client_id, secret)
    created = post(issuer, bearer, {"documents": [digest_doc()]}).json()
    app.decide(created["approval_uri"], PIN, "approve")
    prefix = token.prefix()
    assert hsm.labels(prefix) == set()

    log = tmp_path / "worker.log"
    (tmp_path / "killed").mkdir()
    monkeypatch.setenv("TUNGBAN_KILLPOINTS", "keys.generated")
    monkeypatch.setenv("TUNGBAN_KILLPOINT_DIR", str(tmp_path / "killed"))
    first = start_worker(log_path=log)
    try:
        first.wait(timeout=300)  # it kills itself at the point
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == -9, log.read_text(errors="replace")[-3000:]
    made = hsm.labels(prefix)
    assert len(made) == 1 and not SigningCredential.objects.exists()
    assert made <= known_labels()  # the key is known: its row committed before it was made
    assert TokenKey.objects.get().state == "pending"

    second = start_worker(log_path=log)  # the point fired once: this one passes it
    try:
        wait_for(
            lambda: get(issuer, bearer, created["id"]).json()["status"] == "signed",
            timeout=300,
            what="the signature",
            process=second,
        )
    finally:
        second.terminate()
        second.wait(timeout=60)
    credential = SigningRequest.objects.get(pk=created["id"]).credential
    assert hsm.labels(prefix) == made | {credential.key_label}
    assert hsm.labels(prefix) <= known_labels()
    counts = services.sweep_keys(grace=0)
    assert counts["keys_tokenkey abandoned"] == 1 and counts["pkcs11 orphan keys"] == 0
    assert hsm.labels(prefix) == {credential.key_label}
    assert list(TokenKey.objects.values_list("label", "state")) == [(credential.key_label, "active")]


@pytest.mark.live_http
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_after_signing_before_the_commit_leaves_the_request_pending_then_signed_once(
    issuer, signer_app, signing_client, tmp_path, monkeypatch
):
    """``signing.signed``: the documents are signed, the request's commit is lost. The
    request stays ``pending`` (no half-delivered result); the next worker finishes it with
    the results stored before the kill, one signature per document, one key in the token."""
    from tungban.keys import token
    from tungban.signing.models import SigningDocument
    from tungban.signing.tests.conftest import client_token

    _, app = signer_app
    client, secret = signing_client
    bearer = client_token(issuer, client.client_id, secret)
    docs = [digest_doc(f"d{i}.txt", bytes([65 + i])) for i in range(2)]
    created = post(issuer, bearer, {"documents": docs}).json()
    app.decide(created["approval_uri"], PIN, "approve")

    log = tmp_path / "worker.log"
    (tmp_path / "killed").mkdir()
    monkeypatch.setenv("TUNGBAN_KILLPOINTS", "signing.signed")
    monkeypatch.setenv("TUNGBAN_KILLPOINT_DIR", str(tmp_path / "killed"))
    first = start_worker(log_path=log)
    try:
        first.wait(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == -9, log.read_text(errors="replace")[-3000:]
    assert get(issuer, bearer, created["id"]).json()["status"] == "pending"
    before = {d.index: bytes(d.result) for d in SigningDocument.objects.filter(request_id=created["id"])}
    assert len(before) == 2 and all(before.values())  # each result was stored as it was made

    second = start_worker(log_path=log)
    try:
        wait_for(
            lambda: get(issuer, bearer, created["id"]).json()["status"] == "signed",
            timeout=300,
            what="the signature",
            process=second,
        )
    finally:
        second.terminate()
        second.wait(timeout=60)
    after = {d.index: bytes(d.result) for d in SigningDocument.objects.filter(request_id=created["id"])}
    assert after == before  # not signed again
    credential = SigningRequest.objects.get(pk=created["id"]).credential
    assert SigningCredential.objects.count() == 1
    store = keystore.get_keystore()
    assert store.labels(token.prefix()) == {credential.key_label}


def test_sweep_keys_command_and_the_scheduled_purge_run_the_sweep(hsm, db):
    from io import StringIO

    from django.core.management import call_command

    from tungban.core import retention
    from tungban.keys import token

    orphan = f"{token.prefix()}left-by-a-crash"
    hsm.generate(orphan)
    out = StringIO()
    call_command("sweep_keys", "--grace", "3600", stdout=out)
    assert "pkcs11 orphan keys: 1" in out.getvalue() and orphan not in token_labels(hsm)
    hsm.generate(orphan)
    assert retention.purge_all()["pkcs11 orphan keys"] == 1 and orphan not in token_labels(hsm)


def test_the_scheduled_purge_runs_the_sweep_outside_a_transaction(hsm, transactional_db, monkeypatch):
    """The sweep commits each row change before it destroys a key: inside the purge's
    transaction those commits would be savepoints (review of issue 14, L2)."""
    from tungban.core import retention
    from tungban.keys import token

    seen = []
    monkeypatch.setattr(
        token, "sweep", lambda *args, **kwargs: seen.append(transaction.get_connection().in_atomic_block) or {}
    )
    monkeypatch.setattr(retention, "_registry", {"signing_keys": retention.registered()["signing_keys"]})
    retention.purge_all()
    assert seen == [False]
