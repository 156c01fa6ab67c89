"""The CLI app and e-licences (電子證照): listing the resident's credentials, presenting one
with only the chosen claims and a key-binding JWT signed by the app's key, and 認證易
checking the presentation; altered disclosures and proofs by another key are refused.

Over HTTP (in-process, :mod:`tungban.testing.http`) with ``tungban app`` (:mod:`tungban.wallet.cli`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.jwk import ECKey

from tungban.credentials import services
from tungban.credentials.verify import DatabaseTrust, verify_presentation
from tungban.testing.factories import PIN, bind_cli
from tungban.wallet.cli import AppError, main

pytestmark = pytest.mark.django_db

BIRTHDATE = "1950-03-02"


def cli(capsys, app_home, *args) -> tuple[int, str, str]:
    code = main(["--home", str(app_home), *args, "--pin", PIN])
    out, err = capsys.readouterr()
    return code, out, err


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def disclosures(presentation: str) -> list[list]:
    return [json.loads(b64d(d)) for d in presentation.split("~")[1:-1]]


def kb_jwt(sd_jwt_part: str, key: ECKey, *, aud: str, nonce: str = "n-1", iat: int | None = None) -> str:
    """A key-binding JWT (SD-JWT §4.3) over ``sd_jwt_part`` (``<jwt>~<disclosures>~``)."""
    payload = {
        "iat": iat or int(time.time()),
        "aud": aud,
        "nonce": nonce,
        "sd_hash": b64e(hashlib.sha256(sd_jwt_part.encode("ascii")).digest()),
    }
    return jws.serialize_compact({"alg": "ES256", "typ": "kb+jwt"}, json.dumps(payload).encode(), key)


def test_list_credentials(card, app_home, capsys):
    code, out, err = cli(capsys, app_home, "--lang", "en", "credentials")
    assert code == 0, err
    assert str(card.id) in out and "[valid]" in out
    assert "Senior Citizen Card — Social Welfare Department" in out
    assert "Aged 65 or over: Yes  [age_over_65]" in out and "SC12345678" in out

    code, out, err = cli(capsys, app_home, "--lang", "zh-hant", "credentials")
    assert code == 0, err
    assert "長者咭 — 社會福利署" in out and "年滿六十五歲" in out

    code, out, err = cli(capsys, app_home, "--json", "credentials")
    [listed] = json.loads(out)
    assert listed["id"] == str(card.id) and listed["holder_bound"] is True and listed["sd_jwt"] == card.sd_jwt


def test_present_only_age_over_65(issuer, card, app_home, capsys):
    code, out, err = cli(capsys, app_home, "present", str(card.id), "--disclose", "age_over_65", "--qr")
    assert code == 0, err
    presentation = next(line for line in out.splitlines() if line.count("~") >= 2 and not line.startswith("Open"))
    assert f"Open in 認證易: {issuer}/verify/#vc={presentation}" in out
    assert "Claims shown: age_over_65" in out
    assert "█" in out or "▀" in out or "▄" in out  # the terminal QR code

    # Only the chosen disclosure travels: no date of birth, no name, no card number.
    assert [d[1:] for d in disclosures(presentation)] == [["age_over_65", True]]
    birthdate = next(d for d in card.sd_jwt.split("~")[1:] if d and json.loads(b64d(d))[1] == "birthdate")
    assert birthdate not in presentation and BIRTHDATE not in presentation and "SC12345678" not in presentation

    result = verify_presentation(presentation, DatabaseTrust())
    assert result.valid, result.problems
    assert result.holder_binding == "verified"
    assert result.claims == {"age_over_65": True}
    assert result.undisclosed == 5 and result.status == "valid"

    # The same through the link, as 認證易 receives it from a scanned QR code.
    assert verify_presentation(f"{issuer}/verify/#vc={presentation}", DatabaseTrust()).valid


def test_present_api_defaults_and_verifier_nonce(issuer, app, card):
    named = app.present(str(card.id), PIN)  # by default only the holder's name
    result = verify_presentation(named, DatabaseTrust())
    assert result.valid, result.problems
    assert set(result.claims) == {"family_name", "given_name", "name_zh"} and result.undisclosed == 3

    nothing = app.present(str(card.id)[:8], PIN, [])  # a unique start of the id; no claim
    result = verify_presentation(nothing, DatabaseTrust())
    assert result.valid and result.claims == {} and result.holder_binding == "verified"

    # A verifier that gave its own audience and nonce.
    mine = app.present(str(card.id), PIN, ["given_name"], aud="https://shop.example", nonce="abc123")
    result = verify_presentation(mine, DatabaseTrust(), expected_aud="https://shop.example", expected_nonce="abc123")
    assert result.valid, result.problems
    assert not verify_presentation(
        mine, DatabaseTrust(), expected_aud="https://shop.example", expected_nonce="other"
    ).valid
    assert not verify_presentation(mine, DatabaseTrust()).valid  # not addressed to 認證易

    with pytest.raises(AppError) as exc:
        app.present(str(card.id), PIN, ["date_of_birth"])
    assert exc.value.code == "claim_unknown" and "birthdate" in exc.value.message
    with pytest.raises(AppError) as exc:
        app.present("00000000-0000-4000-8000-000000000000", PIN)
    assert exc.value.code == "credential_unknown"


def test_altered_disclosure_fails(issuer, app, card):
    presentation = app.present(str(card.id), PIN, ["age_over_65"])
    jwt_part, disclosure, _kb = presentation.split("~")
    salt, name, _value = json.loads(b64d(disclosure))
    # The holder changes a value and even signs a fresh key-binding JWT over it with the
    # right key: the issuer never signed that disclosure.
    forged = b64e(json.dumps([salt, "birthdate", "1999-01-01"]).encode())
    part = f"{jwt_part}~{forged}~"
    result = verify_presentation(part + kb_jwt(part, app.load_key(PIN), aud=f"{issuer}/verify"), DatabaseTrust())
    assert not result.valid
    assert "disclosure_invalid" in result.codes()

    # Changing a disclosure after the proof was made breaks the proof as well.
    tampered = presentation.replace(disclosure, b64e(json.dumps([salt, name, False]).encode()))
    assert not verify_presentation(tampered, DatabaseTrust()).valid


def test_proof_by_another_key_fails(issuer, app, card):
    presentation = app.present(str(card.id), PIN, ["age_over_65"])
    part = presentation[: presentation.rindex("~") + 1]
    stranger = ECKey.import_key(ec.generate_private_key(ec.SECP256R1()))
    result = verify_presentation(part + kb_jwt(part, stranger, aud=f"{issuer}/verify"), DatabaseTrust())
    assert not result.valid
    assert result.codes() == ["holder_binding_invalid"]
    assert result.holder_binding != "verified"

    # The right key, but the proof is older than TUNGBAN_PRESENTATION_MAX_AGE.
    old = kb_jwt(part, app.load_key(PIN), aud=f"{issuer}/verify", iat=int(time.time()) - 3600)
    assert "presentation_stale" in verify_presentation(part + old, DatabaseTrust()).codes()


def test_revoked_card_no_longer_verifies(issuer, app, card, app_home, capsys):
    presentation = app.present(str(card.id), PIN, ["age_over_65"])
    services.change_status(card, "revoked", reason="test", changed_by="officer:test")
    result = verify_presentation(presentation, DatabaseTrust())
    assert not result.valid and result.status == "revoked" and "credential_revoked" in result.codes()
    code, out, _err = cli(capsys, app_home, "credentials")
    assert code == 0 and "[revoked]" in out


def test_card_issued_before_binding(issuer, bundled, senior, app_home):
    """A card issued before the app was bound carries no app key: presented without a proof."""
    unbound = services.issue(
        services.get_type("senior-citizen-card"), senior, {"card_number": "SC87654321"}, issued_by="officer:test"
    )
    app = bind_cli(issuer, senior, app_home)
    presentation = app.present(str(unbound.id), PIN, ["age_over_65"])
    assert presentation.endswith("~")
    result = verify_presentation(presentation, DatabaseTrust())
    assert result.valid and result.holder_binding == "unbound"


def test_card_bound_to_a_previous_device(issuer, app, card, senior, tmp_path):
    """After the resident moves to a new device, the card still names the old key: the app
    says so instead of making a proof 認證易 would refuse."""
    app.unbind(PIN)
    new_app = bind_cli(issuer, senior, tmp_path / "new-phone")
    with pytest.raises(AppError) as exc:
        new_app.present(str(card.id), PIN, ["age_over_65"])
    assert exc.value.code == "credential_bound_elsewhere"


def test_errors(app, card, app_home, capsys):
    code, _out, err = cli(capsys, app_home, "present", str(card.id), "--disclose", "hkid")
    assert code == 2 and "claim_unknown" in err
    code, _out, err = cli(capsys, app_home, "present", "nope")
    assert code == 2 and "credential_unknown" in err
