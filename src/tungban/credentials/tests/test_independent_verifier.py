"""Issue #5, acceptance 1: a credential issued by tungban verifies with an independent SD-JWT
implementation that the platform does not use.

The independent implementation is the OpenWallet Foundation's TypeScript one
(``@sd-jwt/sd-jwt-vc`` with ``@sd-jwt/crypto-nodejs`` and ``@sd-jwt/jwt-status-list``), run by
``independent/verify.mjs`` under Node.js; tungban issues with the Python ``sd-jwt`` library
(jwcrypto) and signs status lists with joserfc. The versions are pinned in
``independent/package-lock.json``; the session fixture :func:`ts_verifier` installs them with
``npm ci --ignore-scripts`` (no package code runs at install) into pytest's cache directory
(``.pytest_cache/d/independent-sd-jwt-<hash>``, git-ignored; a temporary directory with
``-p no:cacheprovider``), reused while package.json, the lockfile and Node's version are
the same. Node.js 20+
and npm are required: without them these tests fail, they do not skip (acceptance 1 must
not pass silently).

Why 0.19.0 and not 0.20.0: @sd-jwt/sd-jwt-vc 0.20.0 and @sd-jwt/core 0.20.0 depend on
``@owf/token-status-list`` / ``@owf/identity-common`` ``^0.1.0-alpha-20260312123226``, which
are not on the npm registry (only 0.2.0 and 0.3.0-alpha are), so 0.20.0 cannot be installed
as published (``npm install`` fails with ETARGET). 0.19.0 is the newest release whose
dependency tree installs as published. verify.mjs and these tests also pass with 0.20.0
forced with npm ``overrides`` to the 0.3.0 alphas (tried, not pinned: those pull in cbor-x
and its optional native packages, and ``npm ci`` rejects the resulting lockfile).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import subprocess
from pathlib import Path

import pytest

from tungban.testing import npm

from .conftest import make_holder

INDEPENDENT = Path(__file__).with_name("independent")
NODE_TIMEOUT = 60


@pytest.fixture(scope="session")
def ts_verifier(request, tmp_path_factory) -> Path:
    """The path of ``verify.mjs`` in a directory where the pinned npm packages are installed."""
    return npm.pinned_script(
        request,
        tmp_path_factory,
        INDEPENDENT,
        "verify.mjs",
        name="sd-jwt",
        installed="@sd-jwt/sd-jwt-vc",
        purpose="Acceptance 1 (independent SD-JWT verifier)",
    )


def run_node(script: Path, job: dict) -> dict:
    proc = subprocess.run(
        ["node", str(script)], input=json.dumps(job), capture_output=True, text=True, timeout=NODE_TIMEOUT
    )
    assert proc.stdout.strip(), f"verify.mjs printed nothing (exit {proc.returncode}):\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def job_for(credential, presentation: str, *, nonce: str | None = None, aud: str | None = None, **extra) -> dict:
    """What a verifier needs, as published by tungban: the issuer's JWKS (JWT VC Issuer
    Metadata), the Status List Token at the credential's ``status.status_list.uri`` and the
    Type Metadata at its ``vct``."""
    from tungban.credentials import services

    token, status_list = services.status_list_token(credential.issuer_id, credential.status_list.number)
    ctype = credential.credential_type
    job = {
        "presentation": presentation,
        "issuer": services.issuer_url(credential.issuer),
        "issuer_jwks": services.issuer_metadata(credential.issuer)["jwks"],
        "status_list_tokens": {services.status_list_url(status_list): token},
        "type_metadata": {services.vct_url(ctype): services.type_metadata(ctype)},
    }
    if nonce is not None:
        job["expected"] = {"aud": aud or services.verifier_audience(), "nonce": nonce}
    job.update(extra)
    return job


def _swap_disclosure(presentation: str, claim: str, value) -> str:
    """The presentation with ``claim``'s disclosure re-encoded with a new value (same salt)."""
    jwt, *disclosures, kb = presentation.split("~")
    out = []
    for d in disclosures:
        salt, name, old = json.loads(_unb64url(d))
        out.append(_b64url(json.dumps([salt, name, value if name == claim else old]).encode()) if name == claim else d)
    assert out != disclosures
    return "~".join([jwt, *out, kb])


def _alter_payload(presentation: str, **changes) -> str:
    """The presentation with the issuer-signed JWT's payload changed (signature kept)."""
    jwt, rest = presentation.split("~", 1)
    header, payload, signature = jwt.split(".")
    claims = json.loads(_unb64url(payload))
    claims.update(changes)
    return "~".join([f"{header}.{_b64url(json.dumps(claims).encode())}.{signature}", rest])


# --------------------------------------------------------------------------- the tests


def test_full_presentation_verifies_with_the_typescript_library(ts_verifier, holder, senior_card):
    from tungban.credentials import services
    from tungban.credentials.verify import DatabaseTrust, verify_presentation

    nonce = secrets.token_urlsafe(12)
    presentation = holder.present(senior_card.sd_jwt, None, nonce=nonce)
    out = run_node(ts_verifier, job_for(senior_card, presentation, nonce=nonce))

    assert out["verified"], out
    assert out["error"] is None and out["stage"] == "done"
    assert out["library"]["@sd-jwt/sd-jwt-vc"], out["library"]
    issued = services.issued_claims(senior_card)
    assert set(issued) == {"family_name", "given_name", "name_zh", "birthdate", "age_over_65", "card_number"}
    assert out["claims"] == issued
    payload = out["payload"]
    assert payload["iss"] == services.issuer_url("swd")
    assert payload["vct"] == services.vct_url("senior-citizen-card")
    device_jwk = senior_card.holder_device.public_jwk
    assert {k: payload["cnf"]["jwk"][k] for k in ("kty", "crv", "x", "y")} == {
        k: device_jwk[k] for k in ("kty", "crv", "x", "y")
    }
    assert out["status"] == {
        "uri": services.status_list_url(senior_card.status_list),
        "idx": senior_card.status_index,
        "value": 0,
    }
    assert out["kb"]["payload"]["nonce"] == nonce and out["kb"]["payload"]["aud"] == services.verifier_audience()
    assert out["kb"]["header"]["typ"] == "kb+jwt"
    # The library parsed tungban's Type Metadata document with its own schema.
    assert out["type_metadata"]["vct"] == services.vct_url("senior-citizen-card")
    assert out["type_metadata"]["name"] == "Senior Citizen Card"

    # And tungban agrees about the same presentation.
    ours = verify_presentation(presentation, DatabaseTrust(), expected_nonce=nonce)
    assert ours.valid, ours.problems
    assert ours.claims == out["claims"]


def test_selective_presentation_reveals_only_the_chosen_claim(ts_verifier, holder, senior_card):
    nonce = secrets.token_urlsafe(12)
    presentation = holder.present(senior_card.sd_jwt, ["age_over_65"], nonce=nonce)
    out = run_node(ts_verifier, job_for(senior_card, presentation, nonce=nonce))

    assert out["verified"], out
    assert out["claims"] == {"age_over_65": True}
    hidden = {"family_name", "given_name", "name_zh", "birthdate", "card_number"}
    assert not hidden & set(out["payload"]), out["payload"]


def test_paper_copy_without_key_binding_verifies(ts_verifier, holder, senior_card):
    """No KB-JWT (a printed QR code): the issuer's signature, disclosures and status still verify."""
    presentation = holder.present(senior_card.sd_jwt, ["given_name", "card_number"], bind=False)
    assert presentation.endswith("~")
    out = run_node(ts_verifier, job_for(senior_card, presentation))
    assert out["verified"], out
    assert out["claims"] == {"given_name": "Tai Man", "card_number": "SC12345678"}


# ``error`` is matched against "<stage>: <error>" from verify.mjs (the stage is the last
# check that ran). The patterns also accept @sd-jwt 0.20's own messages.
@pytest.mark.parametrize(
    "tamper, error",
    [
        # The KB-JWT's sd_hash covers every disclosure: the library rejects the altered one.
        ("disclosure", r"sd_hash|Unreferenced disclosure"),
        # Without a KB-JWT, @sd-jwt 0.19 drops a disclosure it cannot match instead of rejecting
        # it; verify.mjs rejects it (RFC 9901 §7.1 step 3.3), as @sd-jwt 0.20 does itself.
        ("disclosure_unbound", r"^disclosures: .*not referenced|Unreferenced disclosure"),
        # The issuer's signature no longer matches the payload.
        ("payload", r"^issuer_signature: .*Invalid JWT Signature"),
        ("payload_cnf", r"^issuer_signature: .*Invalid JWT Signature"),
        # A KB-JWT signed with another key than cnf.jwk, or for another nonce or audience.
        ("holder_key", r"^key_binding: .*Invalid JWT Signature"),
        ("nonce", r"Invalid Nonce"),
        ("aud", r"^checks: .*KB-JWT aud https://elsewhere.example is not"),
    ],
)
def test_altered_presentations_are_rejected(ts_verifier, holder, senior_card, tamper, error):
    from joserfc.jwk import ECKey

    from tungban.credentials import services
    from tungban.credentials.verify import DatabaseTrust, verify_presentation

    nonce = secrets.token_urlsafe(12)
    aud = None
    if tamper == "disclosure":
        presentation = _swap_disclosure(
            holder.present(senior_card.sd_jwt, None, nonce=nonce), "birthdate", "1990-01-01"
        )
    elif tamper == "disclosure_unbound":
        presentation = _swap_disclosure(holder.present(senior_card.sd_jwt, None, bind=False), "birthdate", "1990-01-01")
        nonce = None
    elif tamper == "payload":
        presentation = _alter_payload(
            holder.present(senior_card.sd_jwt, None, nonce=nonce), iss=services.issuer_url("csb")
        )
    elif tamper == "payload_cnf":
        other = make_holder()
        jwk = ECKey.import_key(other.private_key.public_key()).as_dict(private=False)
        presentation = _alter_payload(other.present(senior_card.sd_jwt, None, nonce=nonce), cnf={"jwk": jwk})
    elif tamper == "holder_key":
        presentation = make_holder(with_device=False).present(senior_card.sd_jwt, None, nonce=nonce)
    elif tamper == "nonce":
        presentation = holder.present(senior_card.sd_jwt, None, nonce="another-nonce")
    elif tamper == "aud":
        presentation = holder.present(senior_card.sd_jwt, None, nonce=nonce, aud="https://elsewhere.example")
    out = run_node(ts_verifier, job_for(senior_card, presentation, nonce=nonce, aud=aud))
    assert not out["verified"], out
    assert re.search(error, f"{out['stage']}: {out['error']}"), out
    assert out["claims"] == {}

    # tungban's own verifier rejects them too.
    ours = verify_presentation(presentation, DatabaseTrust(), expected_nonce=nonce)
    assert not ours.valid


def test_status_list_entries_are_read_the_same_way(ts_verifier, holder, bundled):
    """Revoked (1) and suspended (2) entries of tungban's 2-bit, zlib-compressed Status List
    Token read by @sd-jwt/jwt-status-list; positions not on a byte boundary check the bit order."""
    from tungban.credentials import services

    ctype = services.get_type("senior-citizen-card")
    cards = [
        services.issue(ctype, holder.resident, {"card_number": f"SC{10000000 + i}"}, issued_by="officer:test")
        for i in range(7)
    ]
    assert sorted(c.status_index for c in cards) == list(range(cards[0].status_index, cards[0].status_index + 7))
    revoked, suspended, valid = cards[5], cards[6], cards[4]
    assert revoked.status_index % 4 and suspended.status_index % 4
    before, _ = services.status_list_token("swd", revoked.status_list.number)
    services.change_status(revoked, "revoked", reason="test", changed_by="officer:test")
    services.change_status(suspended, "suspended", reason="test", changed_by="officer:test")

    def check(card, token=None):
        nonce = secrets.token_urlsafe(12)
        job = job_for(card, holder.present(card.sd_jwt, ["age_over_65"], nonce=nonce), nonce=nonce)
        if token:
            job["status_list_tokens"] = dict.fromkeys(job["status_list_tokens"], token)
        return run_node(ts_verifier, job)

    out = check(revoked)
    assert not out["verified"] and out["stage"] == "status", out
    assert out["status"]["value"] == 1, out
    assert "status is 1" in out["error"]

    out = check(suspended)
    assert not out["verified"] and out["stage"] == "status", out
    assert out["status"]["value"] == 2, out

    out = check(valid)
    assert out["verified"], out
    assert out["status"]["value"] == 0

    # The token from before the revocation said valid: the new token is what changed.
    assert check(revoked, before)["verified"]

    # A forged list (the revoked entry set back to valid, the issuer's signature kept) is
    # rejected by the status list token's signature check.
    after, _ = services.status_list_token("swd", revoked.status_list.number)
    header, payload, signature = after.split(".")
    claims = json.loads(_unb64url(payload))
    claims["status_list"]["lst"] = json.loads(_unb64url(before.split(".")[1]))["status_list"]["lst"]
    forged = f"{header}.{_b64url(json.dumps(claims).encode())}.{signature}"
    out = check(revoked, forged)
    assert not out["verified"] and out["stage"] == "status_signature", out
    assert "Status List JWT verification failed" in out["error"], out


def test_key_binding_made_by_the_typescript_library_verifies_with_tungban(ts_verifier, holder, senior_card):
    """The other direction: a holder wallet built on the TypeScript library presents a tungban
    credential (its own KB-JWT, its own selection) and tungban's verifier accepts it."""
    from joserfc.jwk import ECKey

    from tungban.credentials import services
    from tungban.credentials.verify import DatabaseTrust, verify_presentation

    nonce = secrets.token_urlsafe(12)
    made = run_node(
        ts_verifier,
        {
            "mode": "present",
            "sd_jwt": senior_card.sd_jwt,
            "disclose": ["age_over_65", "given_name"],
            "holder_private_jwk": ECKey.import_key(holder.private_key).as_dict(private=True),
            "aud": services.verifier_audience(),
            "nonce": nonce,
        },
    )
    presentation = made["presentation"]
    assert presentation.count("~") == 3  # JWT~2 disclosures~KB-JWT

    ours = verify_presentation(presentation, DatabaseTrust(), expected_nonce=nonce)
    assert ours.valid, ours.problems
    assert ours.claims == {"age_over_65": True, "given_name": "Tai Man"}
    assert ours.holder_binding == "verified"
    assert ours.undisclosed == 4

    # ... and with a wrong nonce it does not.
    assert not verify_presentation(presentation, DatabaseTrust(), expected_nonce="other").valid
    # The TypeScript verifier agrees on its own presentation.
    assert run_node(ts_verifier, job_for(senior_card, presentation, nonce=nonce))["verified"]
