"""The CLI app's device key at rest (issue 13 item 9): a memory-hard KDF (Argon2id) between
the PIN and the key, old PBKDF2-protected PEM files still read and migrated on unlock.

Every test runs with a cheap KDF (``TUNGBAN_APP_KDF_*``, set by the suite's conftest), so
only :func:`test_default_kdf_is_memory_hard_and_costly` looks at the real defaults."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tungban.testing.factories import PIN, bind_cli
from tungban.wallet import client as sdk
from tungban.wallet.client import AppError, WalletClient


def test_default_kdf_is_memory_hard_and_costly(monkeypatch):
    """Without the test override the app uses Argon2id with 256 MiB and 3 passes (≈0.7 s on
    the development machine): a 6-digit PIN is no longer found in minutes."""
    for name in ("TUNGBAN_APP_KDF_MEMORY_KIB", "TUNGBAN_APP_KDF_ITERATIONS"):
        monkeypatch.delenv(name, raising=False)
    params = sdk.kdf_params()
    assert params["alg"] == "argon2id"
    assert params["memory_cost"] >= 256 * 1024  # KiB
    assert params["iterations"] >= 3
    assert params == sdk.DEFAULT_KDF


def test_kdf_cost_is_configurable_for_tests(monkeypatch):
    monkeypatch.setenv("TUNGBAN_APP_KDF_MEMORY_KIB", "64")
    monkeypatch.setenv("TUNGBAN_APP_KDF_ITERATIONS", "1")
    assert sdk.kdf_params() == {**sdk.DEFAULT_KDF, "memory_cost": 64, "iterations": 1}


def test_bound_key_is_sealed_with_argon2id(issuer, resident, app_home):
    app = bind_cli(issuer, resident, app_home)
    assert not (app_home / "device-key.pem").exists()
    sealed = json.loads((app_home / "device-key.json").read_text())
    assert sealed["kdf"] == {**sdk.kdf_params(), "salt": sealed["kdf"]["salt"]}
    assert "PRIVATE KEY" not in json.dumps(sealed)
    assert (app_home / "device-key.json").stat().st_mode & 0o077 == 0
    with pytest.raises(AppError) as err:
        app.load_key("000000")
    assert err.value.code == "wrong_pin"
    assert app.load_key(PIN).as_dict(private=False)["crv"] == "P-256"


def _legacy_home(home, pin=PIN):
    """An app home as the CLI wrote it before: PKCS#8 PEM under PBKDF2 (2,048 iterations)."""
    home.mkdir(parents=True)
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(pin.encode()),
    )
    (home / "device-key.pem").write_bytes(pem)
    (home / "device.json").write_text(json.dumps({"server": "http://localhost", "device_id": "d-1", "resident": {}}))
    return private


def test_old_pbkdf2_key_file_is_read_and_migrated_on_unlock(tmp_path):
    private = _legacy_home(tmp_path / "app")
    app = WalletClient(tmp_path / "app")
    with pytest.raises(AppError) as err:
        app.load_key("000000")
    assert err.value.code == "wrong_pin"
    assert (tmp_path / "app" / "device-key.pem").exists()  # a wrong PIN migrates nothing
    key = app.load_key(PIN)
    public = private.public_key().public_numbers()
    assert int.from_bytes(sdk._b64d(key.as_dict(private=False)["x"]), "big") == public.x
    assert not (tmp_path / "app" / "device-key.pem").exists()
    sealed = json.loads((tmp_path / "app" / "device-key.json").read_text())
    assert sealed["kdf"]["alg"] == "argon2id"
    again = WalletClient(tmp_path / "app").load_key(PIN)
    assert again.as_dict(private=False) == key.as_dict(private=False)


def test_key_sealed_with_weaker_parameters_is_resealed(tmp_path, monkeypatch):
    _legacy_home(tmp_path / "app")
    WalletClient(tmp_path / "app").load_key(PIN)  # sealed with the suite's cheap parameters
    monkeypatch.setenv("TUNGBAN_APP_KDF_MEMORY_KIB", "128")
    monkeypatch.setenv("TUNGBAN_APP_KDF_ITERATIONS", "2")
    WalletClient(tmp_path / "app").load_key(PIN)
    kdf = json.loads((tmp_path / "app" / "device-key.json").read_text())["kdf"]
    assert (kdf["memory_cost"], kdf["iterations"]) == (128, 2)
