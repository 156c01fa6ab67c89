"""Binding with a counter's activation code, as a resident does it (issue 16 items 1 and 2):

* the CLI app checks everything it can locally (PIN rules, its state directory, whether it is
  already bound, a terminal to ask for the PIN) before it sends the code;
* a binding that fails after the platform accepted the code can be retried with the same code
  while the code is valid: the code is used up only when a binding completes, so a second
  phone still cannot bind with a used code;
* after too many wrong codes the platform says the code is locked and what to do
  (``activation_code_locked``), in the resident's language; spaces and hyphens typed inside
  the code are ignored.
"""

import io
import json

import pytest
import requests
from joserfc import jws
from joserfc.jwk import ECKey

from tungban.core.errors import DomainError
from tungban.testing.factories import PIN, make_resident
from tungban.wallet import cli
from tungban.wallet import services as wallet
from tungban.wallet.client import WalletClient
from tungban.wallet.models import ActivationCode, Device

pytestmark = pytest.mark.django_db
BINDINGS = "/api/v1/wallet/bindings"


def _bind_cli(app_home, issuer, *args):
    return cli.main(["--home", str(app_home), "--server", issuer, "bind", *args])


def _complete(binding, key=None):
    key = key or ECKey.generate_key("P-256")
    proof = jws.serialize_compact(
        {"alg": "ES256"}, json.dumps({"binding_id": str(binding.id), "nonce": binding.nonce}).encode(), key
    )
    return wallet.complete_binding(str(binding.id), public_jwk=key.as_dict(private=False), proof=proof, platform="cli")


# --- Item 1: the CLI checks locally first; the server lets a failed binding be retried ------------


def test_a_short_pin_is_refused_before_the_code_is_sent(issuer, resident, app_home, capsys):
    code = wallet.issue_activation_code(resident)
    assert _bind_cli(app_home, issuer, "--hkid", resident.hkid, "--code", code, "--pin", "123") == 2
    err = capsys.readouterr().err
    assert "weak_pin" in err and "6 digits" in err
    assert not wallet.has_been_bound(resident)  # nothing reached the platform
    assert _bind_cli(app_home, issuer, "--hkid", resident.hkid, "--code", code, "--pin", PIN) == 0
    assert Device.objects.filter(resident=resident, status="active").count() == 1


def test_an_already_bound_app_is_refused_before_the_code_is_sent(issuer, officer, app_home, tmp_path, capsys):
    first, second = make_resident(officer), make_resident(officer)
    assert (
        _bind_cli(app_home, issuer, "--hkid", first.hkid, "--code", wallet.issue_activation_code(first), "--pin", PIN)
        == 0
    )
    code = wallet.issue_activation_code(second)
    assert _bind_cli(app_home, issuer, "--hkid", second.hkid, "--code", code, "--pin", PIN) == 2
    assert "already_bound" in capsys.readouterr().err
    assert not wallet.has_been_bound(second)
    assert _bind_cli(tmp_path / "other", issuer, "--hkid", second.hkid, "--code", code, "--pin", PIN) == 0


def test_an_unwritable_state_directory_is_refused_before_the_code_is_sent(issuer, resident, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code = wallet.issue_activation_code(resident)
    assert _bind_cli(blocker / "app", issuer, "--hkid", resident.hkid, "--code", code, "--pin", PIN) == 2
    err = capsys.readouterr().err
    assert "app_home_unusable" in err and "--home" in err
    assert not wallet.has_been_bound(resident)


def test_without_pin_and_without_a_terminal_it_says_to_pass_pin(issuer, resident, app_home, monkeypatch, capsys):
    code = wallet.issue_activation_code(resident)
    monkeypatch.delenv("TUNGBAN_APP_PIN", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal (a pipe, cron, CI)
    assert _bind_cli(app_home, issuer, "--hkid", resident.hkid, "--code", code) == 2
    err = capsys.readouterr().err
    assert "pin_required" in err and "--pin" in err and "TUNGBAN_APP_PIN" in err
    assert "Traceback" not in err
    assert not wallet.has_been_bound(resident)
    assert _bind_cli(app_home, issuer, "--hkid", resident.hkid, "--code", code, "--pin", PIN) == 0


def test_a_binding_that_fails_after_the_code_was_accepted_can_be_retried_with_the_same_code(issuer, resident):
    code = wallet.issue_activation_code(resident)
    first = wallet.start_binding(resident.hkid, code)
    # The phone fails to finish (crash, lost network, bad proof): the code was accepted ...
    with pytest.raises(DomainError):
        wallet.complete_binding(
            str(first.id), public_jwk=ECKey.generate_key("P-256").as_dict(private=False), proof="x.y.z", platform="cli"
        )
    # ... and the same code opens a new binding, which completes.
    again = wallet.start_binding(resident.hkid, code)
    device = _complete(again)
    assert device.resident == resident
    assert ActivationCode.objects.get(resident=resident).used_at is not None


def test_a_used_code_binds_no_second_phone(issuer, resident, tmp_path):
    code = wallet.issue_activation_code(resident)
    phone_a = wallet.start_binding(resident.hkid, code)
    phone_b = wallet.start_binding(resident.hkid, code)  # started before phone A finished
    _complete(phone_a)
    with pytest.raises(DomainError) as err:
        _complete(phone_b)
    assert err.value.code == "bad_activation_code"
    with pytest.raises(DomainError) as err:
        wallet.start_binding(resident.hkid, code)
    assert err.value.code == "bad_activation_code"
    assert Device.objects.filter(resident=resident).count() == 1


def test_a_new_code_from_the_counter_withdraws_bindings_started_with_the_old_one(issuer, resident):
    old = wallet.issue_activation_code(resident)
    started = wallet.start_binding(resident.hkid, old)
    wallet.issue_activation_code(resident)
    with pytest.raises(DomainError) as err:
        _complete(started)
    assert err.value.code == "bad_activation_code"
    assert not Device.objects.filter(resident=resident).exists()


def test_the_cli_retries_with_the_same_code_after_the_platform_accepted_it(issuer, resident, app_home, monkeypatch):
    """The platform accepted the code, then finishing failed (here: the network, once)."""
    code = wallet.issue_activation_code(resident)
    app = WalletClient(app_home, issuer)
    real = app._call
    failures = []

    def flaky(method, path, *args, **kwargs):
        if path.endswith("/complete") and not failures:
            failures.append(path)
            raise requests.ConnectionError("connection reset")
        return real(method, path, *args, **kwargs)

    monkeypatch.setattr(app, "_call", flaky)
    with pytest.raises(requests.ConnectionError):
        app.bind(resident.hkid, code, PIN)
    assert not (app_home / "device-key.json").exists()
    result = WalletClient(app_home, issuer).bind(resident.hkid, code, PIN)
    assert Device.objects.get(pk=result["device_id"]).resident == resident


# --- Item 2: locked codes say so; spaces and hyphens inside the code are ignored -----------------


def test_spaces_and_hyphens_inside_the_code_are_ignored(issuer, resident):
    code = wallet.issue_activation_code(resident)
    typed = f" {code[:4].lower()} - {code[4:]}　"  # a full-width space as a Chinese keyboard types it
    binding = wallet.start_binding(resident.hkid, typed)
    assert binding.resident == resident
    assert ActivationCode.objects.get(resident=resident).failed_attempts == 0


def test_after_five_wrong_codes_the_code_is_locked_and_the_resident_is_told_what_to_do(issuer, resident, app_home):
    code = wallet.issue_activation_code(resident)
    for _ in range(5):
        wrong = requests.post(issuer + BINDINGS, json={"hkid": resident.hkid, "activation_code": "WRONG123"})
        assert wrong.status_code == 403 and wrong.json()["error"] == "bad_activation_code"
    en = requests.post(
        issuer + BINDINGS, json={"hkid": resident.hkid, "activation_code": code}, headers={"Accept-Language": "en"}
    )
    assert en.status_code == 429 and int(en.headers["Retry-After"]) >= 1
    body = en.json()
    assert body["error"] == "activation_code_locked"
    assert "locked" in body["message"] and "counter" in body["message"] and "new code" in body["message"]
    assert body["details"]["retry_after"] == int(en.headers["Retry-After"])
    zh = requests.post(
        issuer + BINDINGS, json={"hkid": resident.hkid, "activation_code": code}, headers={"Accept-Language": "zh-HK"}
    ).json()
    assert zh["error"] == "activation_code_locked" and "鎖" in zh["message"] and "櫃位" in zh["message"]
    # The CLI app shows it too.
    with pytest.raises(Exception) as err:
        WalletClient(app_home, issuer).bind(resident.hkid, code, PIN)
    assert err.value.code == "activation_code_locked"
    # A new code from the counter is not locked.
    WalletClient(app_home, issuer).bind(resident.hkid, wallet.issue_activation_code(resident), PIN)
    assert Device.objects.filter(resident=resident, status="active").count() == 1
