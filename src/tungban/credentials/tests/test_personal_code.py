"""The personal code (個人碼, issue 16): a per-verifier credential from the platform, a QR made
on the device with a key-binding JWT, checked offline against the platform's published keys."""

from __future__ import annotations

import json
import secrets
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey
from jwcrypto.jwk import JWK
from sd_jwt.holder import SDJWTHolder

from tungban.credentials import services
from tungban.credentials.services import personal_code as pc
from tungban.keys import services as keys
from tungban.testing.factories import make_resident

pytestmark = pytest.mark.django_db

#: Upper bound of a personal code showing every claim (the QR's bytes): the e-licence QR was about 1.5 KB.
MAX_QR_BYTES = 1300


def _key():
    private = ec.generate_private_key(ec.SECP256R1())
    return private, ECKey.import_key(private.public_key()).as_dict(private=False)


def _present(sd_jwt: str, private, aud: str, names, *, iat: float | None = None) -> str:
    holder = SDJWTHolder(sd_jwt)
    if iat is not None:
        from unittest import mock

        with mock.patch("sd_jwt.holder.time", return_value=iat):
            holder.create_presentation(
                {n: True for n in names}, secrets.token_urlsafe(12), aud, JWK.from_pyca(private), "ES256"
            )
    else:
        holder.create_presentation(
            {n: True for n in names}, secrets.token_urlsafe(12), aud, JWK.from_pyca(private), "ES256"
        )
    return holder.sd_jwt_presentation


@pytest.fixture
def resident(officer):
    return make_resident(officer, name_zh="陳大文")


def test_code_verifies_offline_with_the_published_keys_only(resident, django_assert_num_queries):
    private, public = _key()
    made = services.issue_personal_code(resident, "counter", public)
    code = _present(made["sd_jwt"], private, "counter", ["name", "tier"])
    jwks = keys.public_jwks()
    with django_assert_num_queries(0):  # offline: no database, no platform call
        check = services.verify_personal_code(code, jwks, "counter")
    assert check.valid, check.problems
    assert check.claims == {"name": resident.name_en, "tier": resident.tier}
    assert "name_zh" not in check.claims  # not chosen, not shown
    assert check.sub == made["sub"] and len(check.sub) >= 16
    assert made["max_age"] <= 60


def test_unlinkable_across_verifiers_stable_for_one(resident):
    a_priv, a_pub = _key()
    b_priv, b_pub = _key()
    at_counter = services.issue_personal_code(resident, "counter", a_pub)
    at_library = services.issue_personal_code(resident, "hkpl", b_pub)
    assert at_counter["sub"] != at_library["sub"]
    assert services.issue_personal_code(resident, "counter", _key()[1])["sub"] == at_counter["sub"]
    one = _present(at_counter["sd_jwt"], a_priv, "counter", [])
    two = _present(at_library["sd_jwt"], b_priv, "hkpl", [])
    # Nothing identifying in common: no shared identifier, key or signature part.
    import base64
    import json

    def payload(code):
        part = code.split("~")[0].split(".")[1]
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))

    p1, p2 = payload(one), payload(two)
    assert p1["sub"] != p2["sub"] and p1["cnf"] != p2["cnf"] and not set(p1["_sd"]) & set(p2["_sd"])


def test_made_for_another_verifier_is_refused(resident):
    private, public = _key()
    made = services.issue_personal_code(resident, "hkpl", public)
    code = _present(made["sd_jwt"], private, "hkpl", ["name"])
    check = services.verify_personal_code(code, keys.public_jwks(), "counter")
    assert not check.valid and check.codes() == ["wrong_verifier"]


def test_older_than_60_seconds_is_stale(resident):
    private, public = _key()
    made = services.issue_personal_code(resident, "counter", public)
    code = _present(made["sd_jwt"], private, "counter", ["name"], iat=time.time() - 70)
    assert services.verify_personal_code(code, keys.public_jwks(), "counter").codes() == ["presentation_stale"]


def test_replay_is_refused_with_a_cache(resident):
    private, public = _key()
    made = services.issue_personal_code(resident, "counter", public)
    code = _present(made["sd_jwt"], private, "counter", ["name"])
    seen = services.replay_cache()
    assert services.verify_personal_code(code, keys.public_jwks(), "counter", seen=seen).valid
    assert services.verify_personal_code(code, keys.public_jwks(), "counter", seen=seen).codes() == [
        "presentation_replayed"
    ]


#: The order of P-256 (SEC 2 §2.4.2): (r, s) and (r, n - s) are both valid ECDSA signatures.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _high_s(code: str) -> str:
    """The same code with its KB-JWT's signature s replaced by n - s (ECDSA malleability)."""
    import base64

    head, kb = code.rsplit("~", 1)
    h, p, sig = kb.split(".")
    raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    s = P256_ORDER - int.from_bytes(raw[32:], "big")
    other = base64.urlsafe_b64encode(raw[:32] + s.to_bytes(32, "big")).rstrip(b"=").decode()
    return f"{head}~{h}.{p}.{other}"


def test_replay_with_a_malleated_signature_is_refused(resident):
    """Issue 16 security review M2: the replay cache keys on what the holder signed, not on
    the signature's text, so the same code with s -> n - s is a replay."""
    private, public = _key()
    made = services.issue_personal_code(resident, "counter", public)
    code = _present(made["sd_jwt"], private, "counter", ["name"])
    seen = services.replay_cache()
    assert services.verify_personal_code(code, keys.public_jwks(), "counter", seen=seen).valid
    altered = _high_s(code)
    assert altered != code
    assert services.verify_personal_code(altered, keys.public_jwks(), "counter").valid  # a valid signature
    assert services.verify_personal_code(altered, keys.public_jwks(), "counter", seen=seen).codes() == [
        "presentation_replayed"
    ]


def test_another_key_or_altered_detail_is_refused(resident):
    private, public = _key()
    made = services.issue_personal_code(resident, "counter", public)
    thief, _ = _key()
    stolen = _present(made["sd_jwt"], thief, "counter", ["name"])
    assert services.verify_personal_code(stolen, keys.public_jwks(), "counter").codes() == ["holder_binding_invalid"]
    assert services.verify_personal_code("nonsense", keys.public_jwks(), "counter").codes() == ["malformed"]
    no_kb = made["sd_jwt"]
    assert services.verify_personal_code(no_kb, keys.public_jwks(), "counter").codes() == ["holder_binding_missing"]
    assert services.verify_personal_code(
        _present(made["sd_jwt"], private, "counter", ["name"]), {"keys": []}, "counter"
    ).codes() == ["issuer_key_unknown"]


def test_the_qr_is_small(resident):
    private, public = _key()
    made = services.issue_personal_code(resident, "counter", public)
    everything = _present(made["sd_jwt"], private, "counter", list(pc.CLAIMS))
    assert len(everything.encode()) <= MAX_QR_BYTES, len(everything)


def test_unknown_verifier_and_bad_key(resident):
    from tungban.core.errors import DomainError

    with pytest.raises(DomainError) as err:
        services.issue_personal_code(resident, "nowhere", _key()[1])
    assert err.value.code == "verifier_unknown" and err.value.status == 404
    for bad in ({}, {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}, {"kty": "RSA"}, "x"):
        with pytest.raises(DomainError) as err:
            services.issue_personal_code(resident, "counter", bad)
        assert err.value.code == "holder_key_invalid"


def _cli(capsys, app_home, *args, pin=True) -> tuple[int, str, str]:
    from tungban.testing.factories import PIN
    from tungban.wallet.cli import main

    code = main(["--home", str(app_home), *args, *(["--pin", PIN] if pin else [])])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_makes_and_verifies_offline(app, senior, app_home, capsys, tmp_path):
    """``tungban app personal-code``: list verifiers, make a code showing the name, keep the
    platform's keys, verify the code with them (and refuse it as another verifier)."""
    code, out, _ = _cli(capsys, app_home, "personal-code", "verifiers")
    assert code == 0 and "counter:" in out and "hkpl:" in out
    code, out, err = _cli(capsys, app_home, "--json", "personal-code", "--verifier", "counter", "--show", "name")
    assert code == 0, err
    made = json.loads(out)
    assert made["shown"] == ["name"] and made["max_age"] <= 60 and len(made["code"]) <= MAX_QR_BYTES
    keys_file = tmp_path / "keys.json"
    code, out, _ = _cli(capsys, app_home, "personal-code", "keys", "-o", str(keys_file), pin=False)
    assert code == 0 and keys_file.exists()
    code, out, _ = _cli(
        capsys,
        app_home,
        "personal-code",
        "verify",
        made["code"],
        "--verifier",
        "counter",
        "--jwks",
        str(keys_file),
        pin=False,
    )
    assert code == 0 and out.startswith("VALID") and f"name: {senior.name_en}" in out
    code, out, _ = _cli(
        capsys,
        app_home,
        "personal-code",
        "verify",
        made["code"],
        "--verifier",
        "hkpl",
        "--jwks",
        str(keys_file),
        pin=False,
    )
    assert "NOT VALID" in out and "wrong_verifier" in out
    code, _, err = _cli(capsys, app_home, "personal-code", "--verifier", "counter", "--show", "hkid")
    assert code == 2 and "claim_unknown" in err


# --- Issue 16 security review L1: proof of possession of holder_jwk ---------------------------

PC_API = "/api/v1/credentials/app/personal-code"


def _pop(private, verifier: str, device_id: str, *, iat: float | None = None) -> str:
    """The app's proof that it holds ``private``: a JWS by it over the verifier and this device."""
    from joserfc import jws
    from joserfc.jwk import ECKey as _EC

    payload = {"aud": verifier, "device": device_id, "iat": int(time.time() if iat is None else iat)}
    return jws.serialize_compact(
        {"alg": "ES256", "typ": pc.POP_TYP}, json.dumps(payload).encode(), _EC.import_key(private), algorithms=["ES256"]
    )


def test_the_holder_key_is_bound_only_with_a_proof_of_possession(app, senior):
    """The platform binds a personal-code credential to ``holder_jwk`` only when the call also
    carries a signature by that key over the verifier and the calling device (``holder_proof``):
    a key the caller does not hold (someone else's) is refused, as is a proof for another
    verifier or device, or a stale one."""
    from tungban.testing.factories import PIN
    from tungban.wallet.client import AppError

    device_key, device_id = app.load_key(PIN), app.meta["device_id"]
    private, public = _key()
    other, _other_public = _key()

    def call(**body):
        return app._call("POST", PC_API, {"verifier": "counter", "holder_jwk": public, **body}, device_key=device_key)

    made = call(holder_proof=_pop(private, "counter", device_id))
    assert services.verify_personal_code(
        _present(made["sd_jwt"], private, "counter", ["name"]), keys.public_jwks(), "counter"
    ).valid
    for bad in (
        {},
        {"holder_proof": _pop(other, "counter", device_id)},
        {"holder_proof": _pop(private, "hkpl", device_id)},
        {"holder_proof": _pop(private, "counter", "another-device")},
        {"holder_proof": _pop(private, "counter", device_id, iat=time.time() - 3600)},
        {"holder_proof": "not-a-jws"},
    ):
        with pytest.raises(AppError) as refused:
            call(**bad)
        assert refused.value.code in ("holder_proof_invalid", "invalid_request"), (bad, refused.value.code)


def test_an_issued_credential_stays_valid_offline_for_its_ttl_only(resident, settings):
    """Issue 16 review L2 (documented): verifying is offline, with no status check, so a
    credential issued before a suspension keeps working until its ``exp``; the default TTL
    that bounds that window is 6 hours, and a code past it is refused."""
    from tungban.identity import services as identity

    assert settings.TUNGBAN_PERSONAL_CODE_TTL <= 6 * 3600
    private, public = _key()
    issued_at = time.time()
    made = services.issue_personal_code(resident, "counter", public, now=issued_at)
    identity.set_status(resident, "suspended", reason="phone reported lost", actor=None)
    code = _present(made["sd_jwt"], private, "counter", ["name"])
    assert services.verify_personal_code(code, keys.public_jwks(), "counter").valid  # offline: no status check
    later = issued_at + settings.TUNGBAN_PERSONAL_CODE_TTL + 60
    old = _present(made["sd_jwt"], private, "counter", ["name"], iat=later)
    assert "credential_expired" in services.verify_personal_code(old, keys.public_jwks(), "counter", now=later).codes()
